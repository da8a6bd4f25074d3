/**
 * A bounded ring of the most recent PCM16 samples: when full, the oldest are dropped and counted.
 * Allocated on first use and reused; pushes copy (callers reuse their buffers). Used to hold
 * caller audio while a blocking tool call is unanswered (src/gemini/session.ts) and while a call
 * has no Gemini session during a reconnect (src/call/gemini-link.ts).
 */
export class PcmRing {
  readonly #capacity: number;
  #ring: Int16Array | undefined;
  #start = 0;
  #length = 0;
  /** Samples dropped (oldest first) because the hold was full, since construction. */
  droppedSamples = 0;

  constructor(capacitySamples: number) {
    this.#capacity = Math.max(0, Math.floor(capacitySamples));
  }

  get lengthSamples(): number {
    return this.#length;
  }

  push(pcm: Int16Array): void {
    if (this.#capacity === 0) {
      this.droppedSamples += pcm.length;
      return;
    }
    const ring = (this.#ring ??= new Int16Array(this.#capacity));
    let src = pcm;
    if (src.length > this.#capacity) {
      this.droppedSamples += src.length - this.#capacity;
      src = src.subarray(src.length - this.#capacity);
    }
    const overflow = this.#length + src.length - this.#capacity;
    if (overflow > 0) {
      this.#start = (this.#start + overflow) % this.#capacity;
      this.#length -= overflow;
      this.droppedSamples += overflow;
    }
    const end = (this.#start + this.#length) % this.#capacity;
    const first = Math.min(src.length, this.#capacity - end);
    if (first === src.length) ring.set(src, end); // the usual case: no view to allocate
    else {
      ring.set(src.subarray(0, first), end);
      ring.set(src.subarray(first), 0);
    }
    this.#length += src.length;
  }

  /** Copy of the newest `count` samples (fewer when the ring holds fewer), oldest first. */
  tail(count: number): Int16Array {
    const n = Math.max(0, Math.min(Math.floor(count), this.#length));
    const out = new Int16Array(n);
    const ring = this.#ring;
    if (!ring || n === 0) return out;
    const start = (this.#start + this.#length - n) % this.#capacity;
    const first = Math.min(n, this.#capacity - start);
    out.set(ring.subarray(start, start + first), 0);
    if (first < n) out.set(ring.subarray(0, n - first), first);
    return out;
  }

  /** Hands the held samples to `send` in order, in chunks of at most `chunkSamples`, and empties the hold. */
  drain(chunkSamples: number, send: (chunk: Int16Array) => void): number {
    const ring = this.#ring;
    const total = this.#length;
    if (!ring || total === 0) return 0;
    let done = 0;
    while (done < total) {
      const pos = (this.#start + done) % this.#capacity;
      const n = Math.min(chunkSamples, total - done, this.#capacity - pos);
      send(ring.subarray(pos, pos + n));
      done += n;
    }
    this.clear();
    return total;
  }

  clear(): void {
    this.#start = 0;
    this.#length = 0;
  }
}
