/**
 * G.711 μ-law, whole frames at a time.
 *
 * The code points come from the `alawmulaw` package (the reference implementation we trust); at
 * module load we tabulate its per-sample functions once, so the per-frame work is a table lookup
 * per sample into a caller-provided buffer: no allocation per sample, none per frame when the
 * caller passes `out`.
 */
import alawmulaw from 'alawmulaw';

/** μ-law byte for digital silence (decodes to 0). */
export const MULAW_SILENCE = 0xff;

/** μ-law byte → PCM16 sample. */
const DECODE_TABLE = new Int16Array(256);
/** PCM16 sample + 32768 → μ-law byte (64 KiB, built once). */
const ENCODE_TABLE = new Uint8Array(65536);

for (let code = 0; code < 256; code++) DECODE_TABLE[code] = alawmulaw.mulaw.decodeSample(code);
for (let sample = -32768; sample < 32768; sample++) {
  // encodeSample returns an unmasked number (e.g. -1 for 0xFF); the wire byte is its low 8 bits.
  ENCODE_TABLE[sample + 32768] = alawmulaw.mulaw.encodeSample(sample) & 0xff;
}

/** Decodes μ-law bytes into PCM16. Writes into `out` when given (it must be at least as long). */
export function decodeMulaw(bytes: Uint8Array, out?: Int16Array): Int16Array {
  const n = bytes.length;
  const dst = out ?? new Int16Array(n);
  if (dst.length < n) throw new RangeError(`decodeMulaw: output holds ${dst.length} samples, need ${n}`);
  for (let i = 0; i < n; i++) dst[i] = DECODE_TABLE[bytes[i]!]!;
  return out && n !== dst.length ? dst.subarray(0, n) : dst;
}

/** Encodes PCM16 samples as μ-law bytes. Writes into `out` when given (it must be at least as long). */
export function encodeMulaw(samples: Int16Array, out?: Uint8Array): Uint8Array {
  const n = samples.length;
  const dst = out ?? new Uint8Array(n);
  if (dst.length < n) throw new RangeError(`encodeMulaw: output holds ${dst.length} bytes, need ${n}`);
  for (let i = 0; i < n; i++) dst[i] = ENCODE_TABLE[samples[i]! + 32768]!;
  return out && n !== dst.length ? dst.subarray(0, n) : dst;
}

/** One sample, for tests and tools; frames should use the array functions. */
export function decodeMulawSample(code: number): number {
  return DECODE_TABLE[code & 0xff]!;
}

/** One sample, for tests and tools; frames should use the array functions. */
export function encodeMulawSample(sample: number): number {
  const clamped = sample > 32767 ? 32767 : sample < -32768 ? -32768 : Math.round(sample);
  return ENCODE_TABLE[clamped + 32768]!;
}
