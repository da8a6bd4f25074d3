/**
 * The call clock: monotonic (performance.now), scaled. `timeScale` 1 is real time; 0.05 runs the
 * call 20× faster (1 s of call time takes 50 ms). Everything is paced against the clock's origin,
 * never by accumulating timer delays, so timer jitter does not drift the call.
 */
import { performance } from 'node:perf_hooks';

export class CallClock {
  readonly timeScale: number;
  readonly #originWallMs: number;

  constructor(timeScale = 1) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new RangeError('timeScale must be a positive number');
    this.timeScale = timeScale;
    this.#originWallMs = performance.now();
  }

  /** performance.now() at call time 0 (to compare with other in-process clocks). */
  get originPerfMs(): number {
    return this.#originWallMs;
  }

  /** Call time in ms since the clock started. */
  nowMs(): number {
    return (performance.now() - this.#originWallMs) / this.timeScale;
  }

  /** Call time in 8 kHz samples (whole samples elapsed). */
  nowSamples(sampleRateHz = 8000): number {
    return Math.floor((this.nowMs() * sampleRateHz) / 1000);
  }

  /** Wall-clock ms until call time `callMs` (0 when it has passed). */
  wallDelayUntil(callMs: number): number {
    return Math.max(0, (callMs - this.nowMs()) * this.timeScale);
  }
}
