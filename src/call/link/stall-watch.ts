/**
 * One session's stall watch: armed by the agent's busy signal, disarmed by content (or the turn
 * ending). When no content comes within the learned limit (src/health/reply-times.ts), the link
 * replaces the session rather than leave the caller in silence.
 */
import type { ReplyTimes } from '../../health/reply-times.js';
import type { Clock, TimerHandle } from '../ports.js';

export class StallWatch {
  readonly #times: ReplyTimes;
  readonly #onStall: (waitedMs: number) => void;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;
  #armedAt = 0;
  #model = '';

  constructor(times: ReplyTimes, clock: Clock, onStall: (waitedMs: number) => void) {
    this.#times = times;
    this.#clock = clock;
    this.#onStall = onStall;
  }

  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** Gemini signalled it is generating; no content yet. */
  arm(model: string): void {
    if (this.#timer) return;
    this.#model = model;
    this.#armedAt = this.#clock.now();
    const limitMs = this.#times.stallMs(model);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#onStall(limitMs);
    }, limitMs);
  }

  /** Content arrived: a healthy reply (its delay is learned). */
  content(): void {
    if (!this.#timer) return;
    this.#times.record(this.#model, this.#clock.now() - this.#armedAt);
    this.disarm();
  }

  disarm(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
