/**
 * A mono PCM16 track addressed by sample position on the call clock: writes land at their
 * position, gaps stay silent (zero). Grows by doubling.
 */
export class PcmTrack {
  #data = new Int16Array(8000 * 4);
  #length = 0;

  /** Samples up to the furthest write (or `extendTo`). */
  get length(): number {
    return this.#length;
  }

  /** Writes `samples` starting at sample `position`. */
  write(position: number, samples: Int16Array): void {
    const end = position + samples.length;
    this.#ensure(end);
    this.#data.set(samples, position);
    if (end > this.#length) this.#length = end;
  }

  /** Writes one sample. */
  writeSample(position: number, value: number): void {
    this.#ensure(position + 1);
    this.#data[position] = value;
    if (position + 1 > this.#length) this.#length = position + 1;
  }

  /** Makes the track at least `length` samples long (silence). */
  extendTo(length: number): void {
    this.#ensure(length);
    if (length > this.#length) this.#length = length;
  }

  /** A copy of the first `length` samples (default: all). */
  toArray(length = this.#length): Int16Array {
    this.#ensure(length);
    return this.#data.slice(0, length);
  }

  #ensure(size: number): void {
    if (size <= this.#data.length) return;
    let capacity = this.#data.length;
    while (capacity < size) capacity *= 2;
    const next = new Int16Array(capacity);
    next.set(this.#data.subarray(0, this.#length));
    this.#data = next;
  }
}
