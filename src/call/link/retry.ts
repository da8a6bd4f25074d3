/**
 * What a call's link does after its session failed, as pure functions of the incident so far:
 * the retry policy (backoff with jitter, longer for quota), the model ladder (the flow's models
 * in order, skipping open breakers and models that refused this call's setup), and the recovery
 * decision that combines them. No timers, no sessions: table-tested in
 * test/unit/call-link-retry-policy.test.ts; the link (./link.ts) carries the decision out.
 */
import type { RetryClass } from '../ports.js';

export interface RetryPolicy {
  /** First backoff step; later steps double up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** ± share of each delay chosen at random. */
  jitter: number;
  /** Retries on the same model within one incident before moving to the next model. */
  retriesPerModel: number;
  /** Backoff for quota closes (longer, and shared by every call: see ModelHealth.pauseForQuota). */
  quotaBaseDelayMs: number;
  quotaMaxDelayMs: number;
  /** Retries on the same model after quota closes before moving on (then the apology). */
  quotaRetries: number;
  /** Connection attempts per incident, all models together, before giving up. */
  maxAttempts: number;
  /**
   * The longest a call may go without an agent: a retry that could not start before this much
   * silence gives up instead (the caller hears the apology rather than dead air).
   */
  maxOutageMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  baseDelayMs: 100,
  maxDelayMs: 2000,
  jitter: 0.3,
  retriesPerModel: 1,
  quotaBaseDelayMs: 1000,
  quotaMaxDelayMs: 8000,
  quotaRetries: 2,
  maxAttempts: 6,
  maxOutageMs: 8000,
};

/** The process-wide model health a decision consults (src/health/breakers.ts implements it). */
export interface ModelHealth {
  allows(model: string): boolean;
  usable(candidates: readonly string[]): string[];
  quotaWaitMs(model: string): number;
}

/**
 * The backoff before the next attempt: base × 2^(failures − 1), capped, with ± jitter.
 * `draw` is a uniform random number in [0, 1).
 */
export function backoffMs(policy: RetryPolicy, incidentFailures: number, retryClass: RetryClass, draw: number): number {
  const step = Math.max(0, incidentFailures - 1);
  const [base, max] = retryClass === 'quota' ? [policy.quotaBaseDelayMs, policy.quotaMaxDelayMs] : [policy.baseDelayMs, policy.maxDelayMs];
  const delay = Math.min(max, base * 2 ** step);
  return Math.round(delay * (1 - policy.jitter + 2 * policy.jitter * draw));
}

/** The index of the next model after `fromIndex` this call may use, or undefined. */
export function nextModelIndex(models: readonly string[], fromIndex: number, configFailed: ReadonlySet<string>, health: ModelHealth | undefined): number | undefined {
  for (let i = fromIndex + 1; i < models.length; i++) {
    const model = models[i]!;
    if (!configFailed.has(model) && (health?.allows(model) ?? true)) return i;
  }
  return undefined;
}

/** Where a call starts: the first model whose breaker lets it through (the first one otherwise). */
export function firstModelIndex(models: readonly string[], health: ModelHealth | undefined): number {
  const usable = health?.usable(models) ?? models;
  return models.indexOf(usable[0]!);
}

/** The incident so far, as the link sees it when a session (or an attempt) has just failed. */
export interface IncidentState {
  models: readonly string[];
  modelIndex: number;
  /** A resumption handle is held (a resume would be tried). */
  hasHandle: boolean;
  /** Attempts and failures of this incident, the one that just failed included. */
  attempts: number;
  failures: number;
  sameModelRetries: number;
  /** Models that refused this call's setup (never retried). */
  configFailed: ReadonlySet<string>;
}

export interface FailureEvent {
  retryClass: RetryClass;
  /** The session died after the agent started a reply and before any of it. */
  beforeContent: boolean;
}

export type RecoveryDecision =
  | { kind: 'give-up' }
  | {
      kind: 'retry';
      modelIndex: number;
      dropHandle: boolean;
      sameModelRetries: number;
      /** A model to remember as refusing this call's setup. */
      configFailed?: string;
      /** Pause this model for every call (a quota close). */
      quotaPause?: { model: string; ms: number };
      delayMs: number;
    };

/**
 * The decision after a failure. A stale handle is dropped and retried fresh at once; otherwise
 * the same model is retried while its budget lasts, and the ladder moves on when the failure is a
 * config error, the budget is spent, the breaker is open, or the reply died before content and a
 * next model exists (the fallback answers at once rather than after a second wait). When every
 * model was tried, the ladder starts again from the first usable one.
 */
export function decideRecovery(
  policy: RetryPolicy,
  state: IncidentState,
  failure: FailureEvent,
  health: ModelHealth | undefined,
  random: () => number,
): RecoveryDecision {
  if (state.attempts >= policy.maxAttempts) return { kind: 'give-up' };
  if (failure.retryClass === 'fresh-session' && state.hasHandle) {
    return { kind: 'retry', modelIndex: state.modelIndex, dropHandle: true, sameModelRetries: state.sameModelRetries, delayMs: 0 };
  }
  // A "session not found" with no handle to drop is just a failure: back off like a transient one.
  const retry: RetryClass = failure.retryClass === 'fresh-session' ? 'transient' : failure.retryClass;
  const failedModel = state.models[state.modelIndex]!;
  const configFailed = new Set(state.configFailed);
  if (retry === 'none') configFailed.add(failedModel);
  const spent = state.sameModelRetries >= (retry === 'quota' ? policy.quotaRetries : policy.retriesPerModel);
  const hasNext = nextModelIndex(state.models, state.modelIndex, configFailed, health) !== undefined;
  const moveOn = retry === 'none' || spent || !(health?.allows(failedModel) ?? true) || (failure.beforeContent && retry === 'transient' && hasNext);
  let modelIndex = state.modelIndex;
  let sameModelRetries = state.sameModelRetries + 1;
  if (moveOn) {
    const next = nextModelIndex(state.models, state.modelIndex, configFailed, health);
    if (next !== undefined) modelIndex = next;
    else {
      if (retry === 'none') return { kind: 'give-up' };
      // Every model was tried: cycle from the first usable one (never one that refused this call's setup).
      const candidates = state.models.filter((m) => !configFailed.has(m));
      if (candidates.length === 0) return { kind: 'give-up' };
      modelIndex = state.models.indexOf((health?.usable(candidates) ?? candidates)[0]!);
    }
    sameModelRetries = 0;
  }
  // The model that hit the quota is paused for every call; the next model is not, so moving on
  // waits only a transient backoff.
  const quotaPause = retry === 'quota' ? { model: failedModel, ms: backoffMs(policy, state.failures, 'quota', random()) } : undefined;
  const delayClass = state.models[modelIndex] !== failedModel ? 'transient' : retry;
  return {
    kind: 'retry',
    modelIndex,
    dropHandle: moveOn,
    sameModelRetries,
    ...(retry === 'none' ? { configFailed: failedModel } : {}),
    ...(quotaPause ? { quotaPause } : {}),
    delayMs: backoffMs(policy, state.failures, delayClass, random()),
  };
}
