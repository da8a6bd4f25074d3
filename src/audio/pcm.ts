/**
 * PCM16 little-endian byte views. On little-endian hosts (every platform Node supports in
 * practice) an Int16Array over the same memory is the PCM; we only copy when the bytes are not
 * 2-byte aligned, which base64-decoded Buffers from Node's pool can be.
 */

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** PCM16 LE bytes → samples (a view when aligned, else a copy). An odd trailing byte is ignored. */
export function bytesToPcm16(bytes: Uint8Array): Int16Array {
  const count = bytes.byteLength >> 1;
  if (littleEndian && (bytes.byteOffset & 1) === 0) return new Int16Array(bytes.buffer, bytes.byteOffset, count);
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++) out[i] = (bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16 >> 16;
  return out;
}

/** Samples → PCM16 LE bytes as a Buffer view over the same memory (no copy on LE hosts). */
export function pcm16ToBytes(samples: Int16Array): Buffer {
  if (littleEndian) return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i]!, 2 * i);
  return out;
}

/** Joins sample arrays into one. */
export function concatPcm16(parts: readonly Int16Array[]): Int16Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Int16Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

type TypedView = Int16Array | Uint8Array | Float32Array;

/**
 * `whole.subarray(start, start + length)`, or `view` itself when it already is exactly that
 * (same memory, offset and length). Hot paths keep their last view and pass it back, so a stream
 * of equal-sized frames allocates no view per frame; a buffer that grew (or a WebAssembly memory
 * that was detached) gets a new view.
 */
export function sameView<T extends TypedView>(view: T | undefined, whole: T, start: number, length: number): T {
  if (view !== undefined && view.length === length && view.buffer === whole.buffer && view.byteOffset === whole.byteOffset + start * whole.BYTES_PER_ELEMENT) return view;
  return (whole as unknown as { subarray(begin: number, end: number): T }).subarray(start, start + length);
}
