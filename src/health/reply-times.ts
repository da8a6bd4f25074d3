/**
 * How long healthy replies take, learned per model for the stall watch (src/call/link/stall-watch.ts).
 * The failure it guards against (docs/gemini-failure-modes.md, seed 002): Gemini accepts a turn —
 * it sends `sessionResumptionUpdate` with `resumable: false`, its signal that it is generating —
 * then sends nothing and closes with 1011 200-3000 ms later. Waiting for that close leaves the
 * caller in silence; the watch declares the session stalled once no content has come for longer
 * than healthy replies ever take.
 *
 * "Healthy" is learned: `ReplyTimes` keeps, per model and pooled over all models, the time from
 * that busy signal to the first content of recent healthy replies (shared by every call of the
 * process). The stall limit is 1.5 × their p99 + 250 ms, between 700 ms and 8 s; until 20 replies
 * have been seen it is the configured default (GEMINI_STALL_TIMEOUT_MS, 1500 ms).
 */

const WINDOW = 200;
const MIN_SAMPLES = 20;
const FLOOR_MS = 700;
const CAP_MS = 8000;

export class ReplyTimes {
  readonly defaultStallMs: number;
  readonly #byModel = new Map<string, number[]>();
  readonly #pooled: number[] = [];

  constructor(defaultStallMs = 1500) {
    this.defaultStallMs = defaultStallMs;
  }

  /** Busy signal → first content of a healthy reply, in ms. */
  record(model: string, ms: number): void {
    let list = this.#byModel.get(model);
    if (!list) this.#byModel.set(model, (list = []));
    for (const l of [list, this.#pooled]) {
      l.push(ms);
      if (l.length > WINDOW) l.shift();
    }
  }

  /** How long a reply on `model` may stay silent after the busy signal before it counts as stalled. */
  stallMs(model: string): number {
    const own = this.#byModel.get(model) ?? [];
    const samples = own.length >= MIN_SAMPLES ? own : this.#pooled.length >= MIN_SAMPLES ? this.#pooled : undefined;
    if (!samples) return this.defaultStallMs;
    const sorted = [...samples].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
    return Math.min(CAP_MS, Math.max(FLOOR_MS, Math.round(p99 * 1.5 + 250)));
  }
}
