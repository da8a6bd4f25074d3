/**
 * Sampled per-frame timing for the metrics (callbridge_bridge_latency_seconds, docs/metrics.md):
 * wraps the call's two hot-path handlers (caller audio in, agent events out) and times one frame
 * in `every` with the call's clock. Unsampled frames cost one counter increment and compare; a
 * call without a sink gets its handlers back unwrapped. What is timed is callbridge's own work on
 * a frame (conversion, detection, recording, forwarding); the resamplers' group delay (about 2 ms
 * each way, ./audio-path.ts) and time queued behind other work (the event-loop lag) come on top.
 */
import type { AgentEvent } from './ports.js';

/** Receives one sampled frame's handling time, in seconds, per direction. */
export type FrameTimeSink = (direction: 'in' | 'out', seconds: number) => void;

/** One frame in 50: once a second of a caller's 20 ms frames. */
export const FRAME_SAMPLE_EVERY = 50;

export class FrameTimer {
  readonly #sink: FrameTimeSink | undefined;
  readonly #now: () => number;
  readonly #every: number;
  #in = 0;
  #out = 0;

  constructor(sink: FrameTimeSink | undefined, now: () => number, every = FRAME_SAMPLE_EVERY) {
    this.#sink = sink;
    this.#now = now;
    this.#every = every;
  }

  /** The caller-audio handler, timed one frame in `every`. */
  inbound(fn: (payload: Uint8Array, timestampMs: number) => void): (payload: Uint8Array, timestampMs: number) => void {
    const sink = this.#sink;
    if (sink === undefined) return fn;
    return (payload, timestampMs) => {
      if (++this.#in < this.#every) return fn(payload, timestampMs);
      this.#in = 0;
      const t0 = this.#now();
      fn(payload, timestampMs);
      sink('in', (this.#now() - t0) / 1000);
    };
  }

  /** The agent-event handler, timing one audio chunk in `every` (other events are not timed). */
  outbound(fn: (event: AgentEvent) => void): (event: AgentEvent) => void {
    const sink = this.#sink;
    if (sink === undefined) return fn;
    return (event) => {
      if (event.type !== 'audio' || ++this.#out < this.#every) return fn(event);
      this.#out = 0;
      const t0 = this.#now();
      fn(event);
      sink('out', (this.#now() - t0) / 1000);
    };
  }
}
