/**
 * An append-only series of numbers in fixed blocks of Float64Array: the benchmark's own stamps
 * must not feed the garbage collector (a growing JS array of doubles is copied as it grows and
 * scanned by every major GC, whose pauses would then show up as latency of the process measured).
 */
const BLOCK = 16384;

export class Series {
  readonly #blocks: Float64Array[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(value: number): void {
    const i = this.#length % BLOCK;
    if (i === 0) this.#blocks.push(new Float64Array(BLOCK));
    this.#blocks[this.#blocks.length - 1]![i] = value;
    this.#length++;
  }

  at(index: number): number | undefined {
    if (index < 0 || index >= this.#length) return undefined;
    return this.#blocks[Math.floor(index / BLOCK)]![index % BLOCK];
  }

  toArray(): number[] {
    const out = new Array<number>(this.#length);
    for (let i = 0; i < this.#length; i++) out[i] = this.#blocks[Math.floor(i / BLOCK)]![i % BLOCK]!;
    return out;
  }
}
