/**
 * Signal measurements used by tests, benchmarks and the end-to-end audio checks: tone generation,
 * least-squares sine fit, THD+N, levels. Pure functions; not used on the audio path.
 */

/** A sine of `frequencyHz` at `amplitude` (full scale = 32767) as PCM16. */
export function sineWave(
  frequencyHz: number,
  sampleRateHz: number,
  durationMs: number,
  amplitude = 16384,
  phaseRad = 0,
): Int16Array {
  const n = Math.round((sampleRateHz * durationMs) / 1000);
  const out = new Int16Array(n);
  const w = (2 * Math.PI * frequencyHz) / sampleRateHz;
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin(w * i + phaseRad));
  return out;
}

/** A linear chirp from `startHz` to `endHz`, PCM16. */
export function chirp(startHz: number, endHz: number, sampleRateHz: number, durationMs: number, amplitude = 16384): Int16Array {
  const n = Math.round((sampleRateHz * durationMs) / 1000);
  const out = new Int16Array(n);
  const seconds = durationMs / 1000;
  for (let i = 0; i < n; i++) {
    const t = i / sampleRateHz;
    const phase = 2 * Math.PI * (startHz * t + ((endHz - startHz) * t * t) / (2 * seconds));
    out[i] = Math.round(amplitude * Math.sin(phase));
  }
  return out;
}

export interface SineFit {
  /** Peak amplitude of the fitted sine. */
  amplitude: number;
  /** Phase (radians) of the fitted sine: signal ≈ amplitude·sin(ω·n + phaseRad) + dc. */
  phaseRad: number;
  dc: number;
  /** Energy of the fitted sine over the window. */
  signalEnergy: number;
  /** Energy of everything else (harmonics, noise, aliases, images) over the window. */
  residualEnergy: number;
  /** 10·log10(signal / residual): THD+N as a positive number of dB. */
  thdnDb: number;
}

/**
 * Fits a·sin(ωn) + b·cos(ωn) + c to `samples[start, end)` by least squares (ω known) and reports
 * the fit and the residual. Sample index n counts from the start of the array, so phases of two
 * signals can be compared.
 */
export function fitSine(
  samples: ArrayLike<number>,
  frequencyHz: number,
  sampleRateHz: number,
  start = 0,
  end = samples.length,
): SineFit {
  const w = (2 * Math.PI * frequencyHz) / sampleRateHz;
  // Normal equations for [sin, cos, 1].
  let ss = 0, sc = 0, s1 = 0, cc = 0, c1 = 0, n1 = 0;
  let ys = 0, yc = 0, y1 = 0;
  for (let i = start; i < end; i++) {
    const s = Math.sin(w * i);
    const c = Math.cos(w * i);
    const y = samples[i]!;
    ss += s * s; sc += s * c; s1 += s; cc += c * c; c1 += c; n1 += 1;
    ys += y * s; yc += y * c; y1 += y;
  }
  const [a, b, dc] = solve3([ss, sc, s1, sc, cc, c1, s1, c1, n1], [ys, yc, y1]);
  let signalEnergy = 0;
  let residualEnergy = 0;
  for (let i = start; i < end; i++) {
    const tone = a * Math.sin(w * i) + b * Math.cos(w * i);
    const r = samples[i]! - tone - dc;
    signalEnergy += tone * tone;
    residualEnergy += r * r;
  }
  return {
    amplitude: Math.hypot(a, b),
    phaseRad: Math.atan2(b, a),
    dc,
    signalEnergy,
    residualEnergy,
    thdnDb: 10 * Math.log10(signalEnergy / Math.max(residualEnergy, 1e-30)),
  };
}

/** Solves a 3×3 linear system (row-major matrix) by Cramer's rule. */
function solve3(m: number[], v: number[]): [number, number, number] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const [x, y, z] = v as [number, number, number];
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (Math.abs(det) < 1e-300) return [0, 0, 0];
  return [
    (x * (e * i - f * h) - b * (y * i - f * z) + c * (y * h - e * z)) / det,
    (a * (y * i - f * z) - x * (d * i - f * g) + c * (d * z - y * g)) / det,
    (a * (e * z - y * h) - b * (d * z - y * g) + x * (d * h - e * g)) / det,
  ];
}

/** THD+N (dB) of a tone, skipping `skipMs` at the start (filter start-up) and the end. */
export function thdnDb(samples: ArrayLike<number>, frequencyHz: number, sampleRateHz: number, skipMs = 20): number {
  const skip = Math.round((sampleRateHz * skipMs) / 1000);
  return fitSine(samples, frequencyHz, sampleRateHz, skip, samples.length - skip).thdnDb;
}

/** Root mean square of `samples[start, end)`. */
export function rms(samples: ArrayLike<number>, start = 0, end = samples.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += samples[i]! * samples[i]!;
  return Math.sqrt(sum / Math.max(1, end - start));
}

/** Ratio in dB of two amplitudes (or RMS values). */
export function ratioDb(value: number, reference: number): number {
  return 20 * Math.log10(Math.max(value, 1e-12) / reference);
}
