/**
 * Per-model circuit breakers, shared by every call in the process.
 *
 * Each model keeps a sliding window of recent outcomes (a turn that produced content = success, a
 * session that died with a retryable error before content = failure). When the failure rate over
 * the window passes a threshold (with enough samples), the breaker opens: new calls and reconnects
 * skip that model and use the next one in the flow's list. With a `probe`, an open breaker is
 * tested in the background after its cool-down (synthetic sessions, never a caller: callbridge
 * passes the probe's one spoken turn, ./model-probe.ts, docs/probe.md): it closes
 * after `probeSuccesses` probes in a row succeed, and opens for another cool-down otherwise.
 * Without one, after a cool-down it goes half-open and
 * lets probes through; a success closes it, a failure opens it again.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Sliding window length. */
  windowMs?: number;
  /** Failure share (0..1) that opens the breaker. */
  failureRate?: number;
  /** Outcomes needed in the window before the rate counts. */
  minSamples?: number;
  /** Time open before probing again. */
  coolDownMs?: number;
  /** Tests a model with a synthetic session (true: it answered). */
  probe?: (model: string) => Promise<boolean>;
  /** Probes in a row that must succeed before the breaker closes (default 3). */
  probeSuccesses?: number;
  now?: () => number;
}

interface ModelWindow {
  outcomes: Array<{ atMs: number; ok: boolean }>;
  /** No call may try this model before then (a quota close): one shared backoff, no storm. */
  quotaPausedUntilMs: number;
  state: BreakerState;
  openedAtMs: number;
  /** Opened how many times (for the status page). */
  trips: number;
  probing: boolean;
}

export interface BreakerStatus {
  model: string;
  state: BreakerState;
  /** Background probes are testing the model. */
  probing: boolean;
  /** ms until calls may try the model again after a quota close (0: now). */
  quotaWaitMs: number;
  samples: number;
  failureRate: number;
  trips: number;
}

export class ModelBreakers {
  readonly #windowMs: number;
  readonly #failureRate: number;
  readonly #minSamples: number;
  readonly #coolDownMs: number;
  readonly #probe: ((model: string) => Promise<boolean>) | undefined;
  readonly #probeSuccesses: number;
  readonly #now: () => number;
  readonly #models = new Map<string, ModelWindow>();

  constructor(options: BreakerOptions = {}) {
    this.#windowMs = options.windowMs ?? 60_000;
    this.#failureRate = options.failureRate ?? 0.5;
    this.#minSamples = options.minSamples ?? 6;
    this.#coolDownMs = options.coolDownMs ?? 30_000;
    this.#probe = options.probe;
    this.#probeSuccesses = options.probeSuccesses ?? 3;
    this.#now = options.now ?? Date.now;
  }

  #window(model: string): ModelWindow {
    let w = this.#models.get(model);
    if (!w) this.#models.set(model, (w = { outcomes: [], quotaPausedUntilMs: 0, state: 'closed', openedAtMs: 0, trips: 0, probing: false }));
    return w;
  }

  #prune(w: ModelWindow, now: number): void {
    const cutoff = now - this.#windowMs;
    let drop = 0;
    while (drop < w.outcomes.length && w.outcomes[drop]!.atMs < cutoff) drop++;
    if (drop > 0) w.outcomes.splice(0, drop);
  }

  /** Whether a model may be tried now (closed, or half-open after its cool-down when nothing probes). */
  allows(model: string): boolean {
    const w = this.#window(model);
    if (w.state === 'open' && this.#now() - w.openedAtMs >= this.#coolDownMs) {
      if (this.#probe) this.#startProbing(model, w);
      else w.state = 'half-open';
    }
    return w.state !== 'open';
  }

  /** Background probes of an open model; callers keep using the others meanwhile. */
  #startProbing(model: string, w: ModelWindow): void {
    if (w.probing) return;
    w.probing = true;
    void (async () => {
      let ok = true;
      for (let i = 0; i < this.#probeSuccesses && ok; i++) {
        ok = await this.#probe!(model).catch(() => false);
      }
      w.probing = false;
      const now = this.#now();
      if (ok) {
        w.state = 'closed';
        w.outcomes = [];
      } else this.#open(w, now);
    })();
  }

  state(model: string): BreakerState {
    this.allows(model);
    return this.#window(model).state;
  }

  record(model: string, ok: boolean): void {
    const now = this.#now();
    const w = this.#window(model);
    // Past the cool-down this outcome is the probe, whether or not anyone asked allows() first
    // (only when no background probe decides instead).
    if (w.state === 'open' && !this.#probe && now - w.openedAtMs >= this.#coolDownMs) w.state = 'half-open';
    if (w.state === 'open') return; // outcomes of calls that were already under way
    this.#prune(w, now);
    w.outcomes.push({ atMs: now, ok });
    if (w.state === 'half-open') {
      if (ok) {
        w.state = 'closed';
        w.outcomes = [{ atMs: now, ok }];
      } else this.#open(w, now);
      return;
    }
    if (w.state === 'closed' && w.outcomes.length >= this.#minSamples) {
      const failures = w.outcomes.filter((o) => !o.ok).length;
      if (failures / w.outcomes.length >= this.#failureRate) this.#open(w, now);
    }
  }

  #open(w: ModelWindow, now: number): void {
    w.state = 'open';
    w.openedAtMs = now;
    w.trips++;
  }

  /**
   * A quota close (too many sessions, or over the rate): every call of the process waits at least
   * `pauseMs` before trying this model again, so hundreds of calls retry as one.
   */
  pauseForQuota(model: string, pauseMs: number): void {
    const w = this.#window(model);
    w.quotaPausedUntilMs = Math.max(w.quotaPausedUntilMs, this.#now() + pauseMs);
  }

  /** How long any call must still wait before trying `model` (0 when it may try now). */
  quotaWaitMs(model: string): number {
    return Math.max(0, this.#window(model).quotaPausedUntilMs - this.#now());
  }

  /** The models of `candidates` worth trying now, in order; if all are open, all of them (never none). */
  usable(candidates: readonly string[]): string[] {
    const open = candidates.filter((m) => this.allows(m));
    return open.length > 0 ? open : [...candidates];
  }

  status(): BreakerStatus[] {
    const now = this.#now();
    return [...this.#models.entries()].map(([model, w]) => {
      this.#prune(w, now);
      this.allows(model);
      const failures = w.outcomes.filter((o) => !o.ok).length;
      return {
        model,
        state: w.state,
        probing: w.probing,
        quotaWaitMs: Math.max(0, w.quotaPausedUntilMs - now),
        samples: w.outcomes.length,
        failureRate: w.outcomes.length ? failures / w.outcomes.length : 0,
        trips: w.trips,
      };
    });
  }
}
