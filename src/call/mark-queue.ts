/**
 * The playout tracker's pending marks, in send order: a ring of three parallel arrays (name,
 * utterance, audio sent up to the mark) that grows by doubling and is otherwise reused.
 *
 * Why not a Map: a mark lives from its send until the caller has heard the audio before it (100 ms
 * to seconds), about ten a second per call while the bot speaks. A Map that is filled and emptied
 * at that pace reallocates its table every few marks (V8 rehashes a table full of deleted
 * entries and shrinks one that is mostly empty), and each table lives long enough to be promoted
 * to the old generation, where only a full collection frees it (bench/README.md, "Heap allocated
 * per message"). Echoes come in send order, so the match is almost always the oldest entry; a
 * lookup walks from there over the few marks in flight.
 */
export class MarkQueue {
  #names: Array<string | undefined>;
  #utterances: Array<string | undefined>;
  #sentMs: Float64Array;
  #head = 0;
  #size = 0;

  constructor(initialCapacity = 16) {
    const capacity = Math.max(1, initialCapacity);
    this.#names = new Array<string | undefined>(capacity).fill(undefined);
    this.#utterances = new Array<string | undefined>(capacity).fill(undefined);
    this.#sentMs = new Float64Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(name: string, utteranceId: string, sentMs: number): void {
    if (this.#size === this.#names.length) this.#grow();
    const i = (this.#head + this.#size) % this.#names.length;
    this.#names[i] = name;
    this.#utterances[i] = utteranceId;
    this.#sentMs[i] = sentMs;
    this.#size++;
  }

  /** Position of `name` from the oldest (0), or -1 when it is not pending. */
  indexOf(name: string): number {
    const capacity = this.#names.length;
    for (let k = 0; k < this.#size; k++) if (this.#names[(this.#head + k) % capacity] === name) return k;
    return -1;
  }

  /** The k-th oldest pending mark's name, utterance and sent position (k < size). */
  nameAt(k: number): string {
    return this.#names[(this.#head + k) % this.#names.length]!;
  }

  utteranceAt(k: number): string {
    return this.#utterances[(this.#head + k) % this.#names.length]!;
  }

  sentMsAt(k: number): number {
    return this.#sentMs[(this.#head + k) % this.#names.length]!;
  }

  /** Forgets the oldest mark. */
  shift(): void {
    if (this.#size === 0) return;
    this.#names[this.#head] = undefined;
    this.#utterances[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#names.length;
    this.#size--;
  }

  clear(): void {
    while (this.#size > 0) this.shift();
    this.#head = 0;
  }

  #grow(): void {
    const capacity = this.#names.length;
    const names = new Array<string | undefined>(capacity * 2).fill(undefined);
    const utterances = new Array<string | undefined>(capacity * 2).fill(undefined);
    const sentMs = new Float64Array(capacity * 2);
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#head + k) % capacity;
      names[k] = this.#names[i];
      utterances[k] = this.#utterances[i];
      sentMs[k] = this.#sentMs[i]!;
    }
    this.#names = names;
    this.#utterances = utterances;
    this.#sentMs = sentMs;
    this.#head = 0;
  }
}
