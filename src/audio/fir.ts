/**
 * Low-pass FIR design: Kaiser-windowed sinc. Runs once per resampling ratio (at first use), never
 * on the audio path.
 */

/** Zeroth-order modified Bessel function of the first kind, by its power series. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Kaiser's β for a stop-band attenuation in dB. */
export function kaiserBeta(attenuationDb: number): number {
  if (attenuationDb > 50) return 0.1102 * (attenuationDb - 8.7);
  if (attenuationDb >= 21) return 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  return 0;
}

/**
 * Stop-band attenuation (dB) that a Kaiser design of `taps` taps reaches for a transition band of
 * `transitionHz` at `sampleRateHz` (Kaiser's formula, solved for A).
 */
export function kaiserAttenuationDb(taps: number, transitionHz: number, sampleRateHz: number): number {
  const transitionRad = (2 * Math.PI * transitionHz) / sampleRateHz;
  return 2.285 * transitionRad * (taps - 1) + 7.95;
}

export interface LowPassSpec {
  /** Number of taps of the filter. */
  taps: number;
  /** Rate the filter runs at. */
  sampleRateHz: number;
  /** Highest frequency to keep flat. */
  passbandHz: number;
  /** Lowest frequency that must be fully attenuated. */
  stopbandHz: number;
  /** Sum of the coefficients (DC gain). */
  gain: number;
}

/** Designs a linear-phase low-pass filter; the cut-off sits half-way between pass and stop band. */
export function designLowPass(spec: LowPassSpec): Float64Array {
  const { taps, sampleRateHz, passbandHz, stopbandHz, gain } = spec;
  const cutoff = (passbandHz + stopbandHz) / 2 / sampleRateHz; // cycles per sample
  const beta = kaiserBeta(kaiserAttenuationDb(taps, stopbandHz - passbandHz, sampleRateHz));
  const centre = (taps - 1) / 2;
  const i0Beta = besselI0(beta);
  const h = new Float64Array(taps);
  let sum = 0;
  for (let i = 0; i < taps; i++) {
    const t = i - centre;
    const sinc = t === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * t) / (Math.PI * t);
    const r = t / centre;
    const window = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta;
    h[i] = sinc * window;
    sum += h[i]!;
  }
  for (let i = 0; i < taps; i++) h[i] = (h[i]! * gain) / sum;
  return h;
}
