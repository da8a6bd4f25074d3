/**
 * How the load benchmark tells which emulator session carries which call: the driver starts every
 * call with TAG_FRAMES frames of constant μ-law level, one base-TAG_BASE digit of the call's
 * number each. A constant survives G.711 and the bridge's 8 → 16 kHz filter (unity gain at 0 Hz),
 * so the emulator reads the middle sample of each of those frames and the parent decodes them back.
 */
import { decodeMulawSample } from '../../src/audio/mulaw.js';

export const TAG_FRAMES = 3;
export const TAG_BASE = 100;
/** The largest call number a tag holds. */
export const TAG_MAX = TAG_BASE ** TAG_FRAMES - 1;

/** TAG_BASE μ-law codes with distinct positive levels, well clear of silence (largest first). */
const CODES: readonly number[] = (() => {
  const byLevel = new Map<number, number>();
  for (let code = 0; code < 256; code++) {
    const level = decodeMulawSample(code);
    if (level >= 200 && !byLevel.has(level)) byLevel.set(level, code);
  }
  const codes = [...byLevel.entries()].sort((a, b) => b[0] - a[0]).map(([, code]) => code);
  if (codes.length < TAG_BASE) throw new Error(`only ${codes.length} usable μ-law levels`);
  return codes.slice(0, TAG_BASE);
})();
const LEVELS = CODES.map((c) => decodeMulawSample(c));

/** The μ-law byte of frame `frame` (0-based) of call `n`'s tag. */
export function tagCode(n: number, frame: number): number {
  const digit = Math.floor(n / TAG_BASE ** (TAG_FRAMES - 1 - frame)) % TAG_BASE;
  return CODES[digit]!;
}

/** Index (16 kHz, from the start of the stream) of the sample the emulator reads for tag frame `frame`. */
export function tagProbeIndex(frame: number): number {
  return frame * 320 + 160;
}

/** The call number from the probed 16 kHz samples, or undefined when a level is not a tag level. */
export function decodeTag(probes: readonly number[]): number | undefined {
  if (probes.length < TAG_FRAMES) return undefined;
  let n = 0;
  for (const v of probes) {
    let best = 0;
    for (let d = 1; d < LEVELS.length; d++) if (Math.abs(LEVELS[d]! - v) < Math.abs(LEVELS[best]! - v)) best = d;
    // More than a fifth of the way to a neighbouring level is not a clean constant: no tag.
    const step = Math.abs(LEVELS[best]! - (LEVELS[best + 1] ?? LEVELS[best - 1]!));
    if (Math.abs(LEVELS[best]! - v) > step / 5) return undefined;
    n = n * TAG_BASE + best;
  }
  return n;
}
