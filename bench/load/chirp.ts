/**
 * The round-trip probe: a 25 ms linear chirp (400 → 3000 Hz, Hann-windowed) at 8 kHz, and a
 * matched filter that finds it again in what the caller heard.
 */
const SAMPLE_RATE_HZ = 8000;
const DURATION_S = 0.025;

export const CHIRP: Int16Array = (() => {
  const n = Math.round(SAMPLE_RATE_HZ * DURATION_S);
  const out = new Int16Array(n);
  const f0 = 400;
  const f1 = 3000;
  for (let i = 0; i < n; i++) {
    const t = i / SAMPLE_RATE_HZ;
    const phase = 2 * Math.PI * (f0 * t + ((f1 - f0) / (2 * DURATION_S)) * t * t);
    const window = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    out[i] = Math.round(12000 * window * Math.sin(phase));
  }
  return out;
})();

const CHIRP_ENERGY = CHIRP.reduce((a, v) => a + v * v, 0);

/**
 * Where the chirp starts in `heard`, searching starts in [from, to); undefined when nothing there
 * correlates with it by at least 0.5 (normalized).
 */
export function findChirp(heard: Int16Array, from: number, to: number): number | undefined {
  let best = -1;
  let bestScore = 0;
  const last = Math.min(to, heard.length - CHIRP.length);
  for (let s = Math.max(0, from); s < last; s++) {
    let dot = 0;
    let energy = 0;
    for (let i = 0; i < CHIRP.length; i++) {
      const v = heard[s + i]!;
      dot += v * CHIRP[i]!;
      energy += v * v;
    }
    if (energy === 0) continue;
    const score = dot / Math.sqrt(energy * CHIRP_ENERGY);
    if (score > bestScore) {
      bestScore = score;
      best = s;
    }
  }
  return bestScore >= 0.5 ? best : undefined;
}
