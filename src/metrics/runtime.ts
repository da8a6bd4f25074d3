/**
 * The process's own pauses, for callbridge_event_loop_lag_seconds and callbridge_gc_pause_seconds:
 *
 *   - event loop: perf_hooks.monitorEventLoopDelay (a libuv timer at 10 ms resolution, off the JS
 *     heap); every `windowMs` the longest delay of the window is observed and the window reset;
 *   - GC: a PerformanceObserver on 'gc' entries, one observation per collection, by kind.
 *
 * Both are per metrics instance and stopped by `stop()` (several servers may share a process).
 */
import { constants, monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import type { CallbridgeMetrics } from './metrics.js';

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export interface RuntimeSampler {
  /** Observes the current window now (tests; the timer does it every window). */
  sample(): void;
  stop(): void;
}

export function sampleRuntime(metrics: CallbridgeMetrics, options: { windowMs?: number } = {}): RuntimeSampler {
  const delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const sample = () => {
    // `max` is in nanoseconds; 0 until the first libuv tick of the window.
    if (delay.count > 0) metrics.eventLoopLag.observe(delay.max / 1e9);
    delay.reset();
  };
  const timer = setInterval(sample, options.windowMs ?? 1000);
  timer.unref();
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = GC_KINDS[((entry as { detail?: { kind?: number } }).detail)?.kind ?? -1] ?? 'other';
      metrics.gcPause.observe({ kind }, entry.duration / 1000);
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  return {
    sample,
    stop() {
      clearInterval(timer);
      delay.disable();
      gc.disconnect();
    },
  };
}
