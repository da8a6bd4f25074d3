/**
 * A clock for "did B follow A at once?" that a busy machine does not break: a 20 ms ticker (one
 * caller frame) in this process, each tick stamped with performance.now(). Count the ticks between
 * two in-process events instead of the milliseconds between them.
 *
 * Why this holds under load: Node runs an overdue interval once, not once per missed period, so a
 * stall of any length (this process waiting for a CPU, a GC pause) adds one tick, not many; a reply
 * sent in the same event-loop turn as the message it answers arrives within a tick or two however
 * long the stall. Why it still catches the bug: on a normal machine the ticker keeps time, so a
 * reply that waited for a timer, a later frame or a later message (≥ 60 ms) is three ticks or more
 * late. Run it only around the events compared (it costs a timer callback every 20 ms).
 */
import { performance } from 'node:perf_hooks';

export const TICK_MS = 20;

export class FrameTicks {
  readonly #stamps: number[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor() {
    this.#timer = setInterval(() => this.#stamps.push(performance.now()), TICK_MS);
  }

  /** Ticks after `fromPerfMs` and no later than `toPerfMs` (performance.now() times of this process). */
  between(fromPerfMs: number, toPerfMs: number): number {
    return this.#stamps.filter((t) => t > fromPerfMs && t <= toPerfMs).length;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
