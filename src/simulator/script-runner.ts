/**
 * Runs the caller's script against a live stream: audio steps go to the microphone, waits are
 * conditions on the call clock and on what the caller has heard, checked on every tick of the
 * stream (and on every inbound message) — never by sleeping.
 */
import type { CallClock } from './clock.js';
import type { CallerMic } from './mic.js';
import type { PlaybackBuffer } from './playback.js';
import type { PreparedStep } from './script.js';
import type { TimelineEvent } from './timeline.js';

/** What the runner needs from the stream session. */
export interface ScriptHost {
  readonly clock: CallClock;
  readonly mic: CallerMic;
  readonly playback: PlaybackBuffer;
  /** True once the stream is ending or over. */
  readonly done: boolean;
  sendDtmf(digit: string): void;
  hangUp(reason: string): void;
  emit(event: TimelineEvent): void;
}

interface Waiter {
  check: () => boolean;
  deadlineMs: number;
  resolve: (ok: boolean) => void;
}

/** Gap between the digits of one `{ dtmf }` step. */
const DIGIT_GAP_MS = 100;

export class ScriptRunner {
  readonly #host: ScriptHost;
  #waiters: Waiter[] = [];

  constructor(host: ScriptHost) {
    this.#host = host;
  }

  /** Re-evaluates pending waits (the session calls this on every tick and inbound message). */
  check(nowMs: number): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.check()) w.resolve(true);
      else if (nowMs >= w.deadlineMs) w.resolve(false);
      else still.push(w);
    }
    this.#waiters = still;
  }

  /** The stream is over: pending waits resolve false. */
  cancel(): void {
    for (const w of this.#waiters) w.resolve(false);
    this.#waiters = [];
  }

  /** Steps run to their end (a call moved to a new stream goes on from the next one). */
  stepsDone = 0;

  async run(steps: readonly PreparedStep[], afterScript: 'hangup' | 'wait'): Promise<void> {
    const h = this.#host;
    const now = () => h.clock.nowMs();
    for (const step of steps) {
      if (h.done) return;
      h.emit({ atMs: now(), kind: 'step', step: step.label });
      switch (step.kind) {
        case 'audio':
          h.mic.enqueue(step.pcm, Math.ceil(now() * 8));
          await this.#until(() => h.mic.queuedSamples === 0);
          break;
        case 'silence': {
          const endMs = now() + step.durationMs;
          await this.#until(() => now() >= endMs);
          break;
        }
        case 'dtmf':
          for (let i = 0; i < step.digits.length && !h.done; i++) {
            if (i > 0) {
              const nextMs = now() + DIGIT_GAP_MS;
              await this.#until(() => now() >= nextMs);
            }
            if (!h.done) h.sendDtmf(step.digits[i]!);
          }
          break;
        case 'wait-speech':
          if (!(await this.#until(() => h.playback.speaking, step.timeoutMs)) && !h.done) {
            h.emit({ atMs: now(), kind: 'wait-timeout', step: step.label });
          }
          break;
        case 'wait-silence': {
          const from = h.playback.cursor;
          const need = step.silenceMs * 8;
          const quiet = () => h.playback.cursor - Math.max(from, h.playback.lastLoudSample + 1) >= need;
          if (!(await this.#until(quiet, step.timeoutMs)) && !h.done) {
            h.emit({ atMs: now(), kind: 'wait-timeout', step: step.label });
          }
          break;
        }
        case 'hangup':
          h.hangUp('caller hung up');
          return;
      }
      if (!h.done) this.stepsDone++;
    }
    if (afterScript === 'hangup' && !h.done) h.hangUp('script finished');
  }

  #until(check: () => boolean, timeoutMs = Infinity): Promise<boolean> {
    if (this.#host.done) return Promise.resolve(false);
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => this.#waiters.push({ check, deadlineMs: this.#host.clock.nowMs() + timeoutMs, resolve }));
  }
}
