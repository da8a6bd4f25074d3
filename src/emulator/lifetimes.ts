/**
 * When a connection gets its goAway and when a session reaches its length limit
 * (docs/gemini-live.md §5): a connection lasts about 10 minutes and goAway comes about a minute
 * before its end; an audio-only session without contextWindowCompression ends after 15 minutes
 * (counted from the first connection, across resumptions); with compression it is unlimited. What
 * happens when the client ignores goAway is a family rule (models.ts goAwayIgnoredClose).
 *
 * Explicit `goAwayAfterMs` / `goAwayTimeLeftMs` options win over the family limits; `familyLimits:
 * false` turns the limits off; `familyLimitScale` shrinks them for tests (0.001: a 600 ms
 * connection). The echo model has none.
 */
import type { Setup } from '../gemini/protocol.js';
import { rulesOf, type ModelSpec } from './models.js';

export interface LifetimeOptions {
  goAwayAfterMs?: number | undefined;
  goAwayTimeLeftMs: number;
  familyLimits: boolean;
  familyLimitScale: number;
}

export interface LifetimePlan {
  /** goAway this long after setupComplete, with this timeLeft; then the ignored-goAway close. */
  goAway?: { afterMs: number; timeLeftMs: number };
  /** The session-length close this long after setupComplete. */
  sessionEndsInMs?: number;
}

/** `sessionStartedAt` and `now` on one clock (ms). */
export function planLifetime(o: LifetimeOptions, spec: ModelSpec, setup: Setup, sessionStartedAt: number, now: number): LifetimePlan {
  const plan: LifetimePlan = {};
  const limits = o.familyLimits && spec.echo !== true;
  const rules = rulesOf(spec);
  const scale = o.familyLimitScale;
  if (o.goAwayAfterMs !== undefined) {
    plan.goAway = { afterMs: o.goAwayAfterMs, timeLeftMs: o.goAwayTimeLeftMs };
  } else if (limits) {
    const timeLeftMs = Math.round(rules.goAwayNoticeMs * scale);
    plan.goAway = { afterMs: Math.max(0, Math.round(rules.connectionMs * scale) - timeLeftMs), timeLeftMs };
  }
  if (limits && setup.contextWindowCompression === undefined) {
    plan.sessionEndsInMs = Math.max(0, sessionStartedAt + Math.round(rules.sessionMsWithoutCompression * scale) - now);
  }
  return plan;
}
