/**
 * A goAway hand-over: wanted from the goAway on; due at the deadline less a margin at the latest
 * (the link hands over earlier, at the first quiet moment).
 */
import type { Clock, TimerHandle } from '../ports.js';

/** A goAway hand-over: wanted from the goAway on, due at the deadline less a margin at the latest. */
export class Handover {
  #wanted = false;
  #timer: TimerHandle | undefined;

  constructor(
    readonly clock: Clock,
    readonly marginMs: number,
    readonly due: () => void,
  ) {}

  get wanted(): boolean {
    return this.#wanted;
  }

  plan(timeLeftMs: number | undefined): void {
    this.#wanted = true;
    this.clock.clearTimeout(this.#timer);
    this.#timer = this.clock.setTimeout(this.due, Math.max(0, (timeLeftMs ?? 0) - this.marginMs));
  }

  cancel(): void {
    this.#wanted = false;
    this.clock.clearTimeout(this.#timer);
  }
}
