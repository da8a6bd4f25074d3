/**
 * When a notification is tried again (docs/after-call.md, "Notifications"): the Standard Webhooks
 * schedule — immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h after each
 * failure (about three days in all) — with ±15 % jitter so that many failed deliveries do not
 * come back at the same instant. A receiver's Retry-After (on 429, 502, 503 and 504) replaces the
 * step, capped at a day. Pure: the random source is injected.
 */

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;

/** Delay before attempt n+1 after attempt n failed (index n-1); its length is the number of retries. */
export const RETRY_SCHEDULE_MS: readonly number[] = Object.freeze([5 * S, 5 * MIN, 30 * MIN, 2 * H, 5 * H, 10 * H, 14 * H, 20 * H, 24 * H]);
/** Jitter: each delay is scaled by a factor in [1 - JITTER, 1 + JITTER]. */
export const JITTER = 0.15;
/** The longest Retry-After honoured. */
export const MAX_RETRY_AFTER_MS = 24 * H;

/**
 * The delay before the next attempt after `attempts` failed ones (1 = the first failed), or
 * undefined when the schedule is used up. `random()` in [0, 1).
 */
export function nextRetryDelayMs(attempts: number, schedule: readonly number[] = RETRY_SCHEDULE_MS, random: () => number = Math.random): number | undefined {
  const base = schedule[attempts - 1];
  if (base === undefined || attempts < 1) return undefined;
  const factor = 1 - JITTER + 2 * JITTER * random();
  return Math.round(base * factor);
}

/**
 * A Retry-After header's delay in ms: delta-seconds or an HTTP date (relative to `nowMs`), at
 * least 0 and at most MAX_RETRY_AFTER_MS; undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  let ms: number;
  if (/^\d{1,10}$/.test(value)) ms = Number(value) * S;
  else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}
