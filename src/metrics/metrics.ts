/**
 * callbridge's Prometheus metrics (docs/metrics.md): one prom-client Registry per app instance
 * (never prom-client's global one), so several servers in one process (tests, the demo) keep
 * their own figures. Gauges are read when scraped; counters and histograms are fed at call, turn,
 * function-call and close granularity (./call-feed.ts), never per audio frame, and the runtime
 * histograms (./runtime.ts) sample the event loop and the garbage collector.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the scrape-time gauges read (the call manager's and the breakers' own status). */
export interface MetricsSources {
  calls(): { active: number; awaitingStream: number; draining: boolean };
  breakers(): ReadonlyArray<{ model: string; state: 'closed' | 'open' | 'half-open'; quotaWaitMs: number }>;
  /** Labels on callbridge_instance_info (e.g. the WORKERS worker id). */
  instance?: Record<string, string>;
}

/** Latency buckets in seconds: 50 ms to 10 s (first audio, turns, functions). */
const LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
/** Short pauses in seconds: 0.5 ms to 1 s (event-loop lag, GC pauses, per-frame bridge time). */
const PAUSE_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

export const BREAKER_STATES = ['closed', 'half-open', 'open'] as const;

/** Every metric name, for docs/metrics.md, deploy/grafana-dashboard.json and their test. */
export const METRIC_NAMES = [
  'callbridge_active_calls',
  'callbridge_calls_awaiting_stream',
  'callbridge_draining',
  'callbridge_instance_info',
  'callbridge_calls_total',
  'callbridge_gemini_closes_total',
  'callbridge_reconnects_total',
  'callbridge_bridge_latency_seconds',
  'callbridge_first_audio_seconds',
  'callbridge_turn_latency_seconds',
  'callbridge_function_duration_seconds',
  'callbridge_function_errors_total',
  'callbridge_breaker_state',
  'callbridge_breaker_quota_wait_seconds',
  'callbridge_event_loop_lag_seconds',
  'callbridge_gc_pause_seconds',
] as const;

export class CallbridgeMetrics {
  readonly registry = new Registry();
  readonly callsTotal: Counter<'flow' | 'outcome' | 'channel'>;
  readonly geminiCloses: Counter<'code' | 'error_code' | 'model'>;
  readonly reconnects: Counter<'model' | 'resumed'>;
  readonly bridgeLatency: Histogram<'direction'>;
  readonly firstAudio: Histogram<'flow'>;
  readonly turnLatency: Histogram<'flow'>;
  readonly functionDuration: Histogram<'function' | 'status'>;
  readonly functionErrors: Counter<'function' | 'error_code'>;
  readonly eventLoopLag: Histogram;
  readonly gcPause: Histogram<'kind'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    this.#gauges(sources);
    this.callsTotal = new Counter({ name: 'callbridge_calls_total', help: 'Calls ended, by flow, outcome and channel (phone or browser).', labelNames: ['flow', 'outcome', 'channel'], registers });
    this.geminiCloses = new Counter({ name: 'callbridge_gemini_closes_total', help: 'Gemini Live sessions closed under a call, by WebSocket close code, CB_GEMINI_* code and model.', labelNames: ['code', 'error_code', 'model'], registers });
    this.reconnects = new Counter({ name: 'callbridge_reconnects_total', help: 'Gemini sessions replaced during a call, by model and whether the session was resumed (handle) or re-seeded.', labelNames: ['model', 'resumed'], registers });
    this.bridgeLatency = new Histogram({ name: 'callbridge_bridge_latency_seconds', help: 'Time callbridge spends on one audio frame, per direction (sampled frames; the resampler group delay of about 2 ms is not included).', labelNames: ['direction'], buckets: PAUSE_BUCKETS, registers });
    this.firstAudio = new Histogram({ name: 'callbridge_first_audio_seconds', help: 'Media start to the first bot audio sent to the caller, per call.', labelNames: ['flow'], buckets: LATENCY_BUCKETS, registers });
    this.turnLatency = new Histogram({ name: 'callbridge_turn_latency_seconds', help: 'Caller stops talking to the first audio of the reply, per turn.', labelNames: ['flow'], buckets: LATENCY_BUCKETS, registers });
    this.functionDuration = new Histogram({ name: 'callbridge_function_duration_seconds', help: 'Business function calls, by function and status (ok, error, timeout, cancelled, rejected).', labelNames: ['function', 'status'], buckets: LATENCY_BUCKETS, registers });
    this.functionErrors = new Counter({ name: 'callbridge_function_errors_total', help: 'Business function calls that did not succeed, by function and CB_TOOL_* code.', labelNames: ['function', 'error_code'], registers });
    this.eventLoopLag = new Histogram({ name: 'callbridge_event_loop_lag_seconds', help: 'Longest event-loop delay in each sampling window (perf_hooks.monitorEventLoopDelay).', buckets: PAUSE_BUCKETS, registers });
    this.gcPause = new Histogram({ name: 'callbridge_gc_pause_seconds', help: 'Garbage-collection pauses, by kind (minor, major, incremental, weakcb).', labelNames: ['kind'], buckets: PAUSE_BUCKETS, registers });
  }

  /** The Prometheus text exposition of everything. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #gauges(sources: MetricsSources): void {
    const registers = [this.registry];
    new Gauge({ name: 'callbridge_active_calls', help: 'Calls running now (media up or agent pre-opened).', registers, collect() { this.set(sources.calls().active); } });
    new Gauge({ name: 'callbridge_calls_awaiting_stream', help: 'Admitted calls whose media stream has not started yet.', registers, collect() { this.set(sources.calls().awaitingStream); } });
    new Gauge({ name: 'callbridge_draining', help: '1 while this instance drains (no new calls), else 0.', registers, collect() { this.set(sources.calls().draining ? 1 : 0); } });
    const info = sources.instance ?? {};
    const infoGauge = new Gauge({ name: 'callbridge_instance_info', help: 'Always 1; labels name this instance (worker id, process id).', labelNames: Object.keys(info), registers });
    infoGauge.set(info, 1);
    new Gauge({
      name: 'callbridge_breaker_state',
      help: 'Per model circuit breaker: 1 for its current state (closed, half-open, open), 0 for the others.',
      labelNames: ['model', 'state'],
      registers,
      collect() {
        this.reset();
        for (const b of sources.breakers()) for (const s of BREAKER_STATES) this.set({ model: b.model, state: s }, b.state === s ? 1 : 0);
      },
    });
    new Gauge({
      name: 'callbridge_breaker_quota_wait_seconds',
      help: 'Per model: seconds until calls may use it again after a quota close (0: now).',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const b of sources.breakers()) this.set({ model: b.model }, b.quotaWaitMs / 1000);
      },
    });
  }
}
