/**
 * One delivery attempt of a notification, and what follows from it (docs/after-call.md,
 * "Notifications"): POST the stored body bytes with fresh Standard Webhooks headers, no redirects
 * followed, within a timeout (15 s by default); only 2xx is success, 410 means the endpoint is
 * gone (no more attempts), 429/502/503/504 may say when to come back (Retry-After), anything else —
 * other statuses, 3xx, timeouts, refused connections — is tried again on the retry schedule.
 * The host is vetted before every attempt (address-guard.ts) and the connection pinned to the
 * vetted address.
 */
import http from 'node:http';
import https from 'node:https';
import { pinnedLookup, vetHost, type Resolver } from './address-guard.js';
import { nextRetryDelayMs, retryAfterMs, RETRY_SCHEDULE_MS } from './schedule.js';
import { webhookHeaders } from './sign.js';

export const DEFAULT_TIMEOUT_MS = 15_000;
/** Bytes of a reply read at most (the rest is dropped) and characters kept in the attempt log. */
const MAX_REPLY_READ = 64 * 1024;
export const MAX_REPLY_KEPT = 1024;
export const USER_AGENT = 'callbridge-webhooks/1';
/** Statuses whose Retry-After sets the next attempt (rate limit, overload). */
const RETRY_AFTER_STATUSES = new Set([429, 502, 503, 504]);

export interface AttemptOptions {
  timeoutMs?: number;
  /** Loopback/private/link-local destinations allowed (development, or NOTIFY_ALLOW_PRIVATE). */
  allowPrivate: boolean;
  /** Only https:// destinations (production). */
  httpsOnly: boolean;
  resolve?: Resolver;
}

/** What one attempt gave. `refused`: the destination is not allowed (nothing was sent). */
export interface AttemptResult {
  status?: number;
  durationMs: number;
  /** The reply's first MAX_REPLY_KEPT characters. */
  reply?: string;
  retryAfter?: string;
  error?: string;
  refused?: boolean;
}

export interface SendRequest {
  url: string;
  webhookId: string;
  body: Buffer;
  key: Buffer;
}

/** Sends once. Never throws: every failure is described in the result. */
export async function sendOnce(req: SendRequest, options: AttemptOptions, nowMs: () => number): Promise<AttemptResult> {
  const started = nowMs();
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    return { durationMs: 0, refused: true, error: `not a URL: ${req.url}` };
  }
  if (url.protocol !== 'https:' && (url.protocol !== 'http:' || options.httpsOnly)) {
    return { durationMs: 0, refused: true, error: `${url.protocol} is not allowed here: use https://` };
  }
  const host = await vetHost(url.hostname, options.allowPrivate, options.resolve);
  if (!host.ok) return { durationMs: nowMs() - started, refused: host.refused, error: host.reason };
  const headers = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'content-length': String(req.body.length),
    connection: 'close',
    ...webhookHeaders(req.key, req.webhookId, nowMs(), req.body),
  };
  const result = await post(url, headers, req.body, { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, address: host.address, family: host.family });
  return { ...result, durationMs: nowMs() - started };
}

function post(url: URL, headers: Record<string, string>, body: Buffer, o: { timeoutMs: number; address: string; family: 4 | 6 }): Promise<Omit<AttemptResult, 'durationMs'>> {
  return new Promise((done) => {
    const mod = url.protocol === 'https:' ? https : http;
    const request = mod.request(url, { method: 'POST', headers, agent: false, lookup: pinnedLookup(o.address, o.family) as never }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_REPLY_READ) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => {
        clearTimeout(timer);
        const retryAfter = res.headers['retry-after'];
        done({
          status: res.statusCode ?? 0,
          reply: Buffer.concat(chunks).toString('utf8').slice(0, MAX_REPLY_KEPT),
          ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
        });
      });
      res.on('error', (err) => fail(err));
    });
    const fail = (err: Error) => {
      clearTimeout(timer);
      done({ error: (err as NodeJS.ErrnoException).code ? `${(err as NodeJS.ErrnoException).code}: ${err.message}` : err.message });
    };
    const timer = setTimeout(() => request.destroy(new Error(`no reply within ${o.timeoutMs} ms`)), o.timeoutMs);
    request.on('error', fail);
    request.end(body);
  });
}

/** What the queue does next. */
export type Next = { kind: 'done' } | { kind: 'retry'; atMs: number; error: string } | { kind: 'failed'; error: string };

/** A one-line description of an attempt for the job's last error and the log. */
export function describe(r: AttemptResult): string {
  if (r.error) return r.error;
  const reply = r.reply?.trim() ? `: ${r.reply.trim().slice(0, 200)}` : '';
  if (r.status !== undefined && r.status >= 300 && r.status < 400) return `HTTP ${r.status} (redirects are not followed; point the webhook at the final URL)${reply}`;
  return `HTTP ${r.status}${reply}`;
}

/** The decision after attempt number `attempts` (1 = the first). */
export function nextStep(r: AttemptResult, attempts: number, nowMs: number, schedule: readonly number[] = RETRY_SCHEDULE_MS, random: () => number = Math.random): Next {
  if (r.status !== undefined && r.status >= 200 && r.status < 300) return { kind: 'done' };
  const error = describe(r);
  if (r.refused) return { kind: 'failed', error };
  if (r.status === 410) return { kind: 'failed', error: `${error} (410 Gone: the receiver asked not to be sent this again)` };
  const delay = nextRetryDelayMs(attempts, schedule, random);
  if (delay === undefined) return { kind: 'failed', error: `gave up after ${attempts} attempts; last: ${error}` };
  const asked = r.status !== undefined && RETRY_AFTER_STATUSES.has(r.status) ? retryAfterMs(r.retryAfter, nowMs) : undefined;
  return { kind: 'retry', atMs: nowMs + (asked ?? delay), error };
}
