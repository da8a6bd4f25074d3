/**
 * Access to call records (review UI + JSON API), protected by ADMIN_TOKEN:
 *  - API clients send `Authorization: Bearer <token>`;
 *  - browsers sign in once (POST /calls/login) and get an httpOnly, SameSite=Strict cookie
 *    holding `<expiry>.<HMAC-SHA256(token, "callbridge calls session|<expiry>")>`: never the
 *    token itself; valid on every instance sharing the token, across restarts, until it expires
 *    (7 days) or the token changes.
 * Comparisons are constant-time. Without a token: production refuses to serve ('refuse'),
 * development and tests serve openly with a warning banner ('open').
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

export const SESSION_COOKIE = 'cb_calls';
export const SESSION_TTL_S = 7 * 24 * 3600;

export type AuthMode = 'token' | 'open' | 'refuse';

const MAX_FAILURES = 10;
const FAILURE_WINDOW_MS = 5 * 60 * 1000;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function sameSecret(a: string, b: string): boolean {
  // Hash first so lengths match and timing does not depend on where the strings differ.
  return timingSafeEqual(digest(a), digest(b));
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

export class CallsAuth {
  readonly mode: AuthMode;
  private readonly token: string | undefined;
  private readonly secure: boolean;
  /** Failed sign-ins per client address (bounded; entries expire). */
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(options: { adminToken?: string | undefined; nodeEnv: string }) {
    this.token = options.adminToken === '' ? undefined : options.adminToken;
    this.mode = this.token !== undefined ? 'token' : options.nodeEnv === 'production' ? 'refuse' : 'open';
    this.secure = options.nodeEnv === 'production';
  }

  /** Whether the request carries a valid Bearer token or session cookie (always true when open). */
  isAuthorized(req: Request): boolean {
    if (this.mode === 'open') return true;
    if (this.token === undefined) return false;
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      return m !== null && sameSecret(m[1]!, this.token);
    }
    const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    return cookie !== undefined && this.validSession(cookie);
  }

  checkToken(candidate: string): boolean {
    return this.token !== undefined && sameSecret(candidate, this.token);
  }

  /** Set-Cookie value for a fresh session. */
  sessionCookie(nowMs = Date.now()): string {
    const expiresS = Math.floor(nowMs / 1000) + SESSION_TTL_S;
    return this.cookie(`${expiresS}.${this.sign(expiresS)}`, SESSION_TTL_S);
  }

  clearCookie(): string {
    return this.cookie('', 0);
  }

  /** Counts a failed sign-in; true when the address is over the limit. */
  recordFailure(address: string, nowMs = Date.now()): boolean {
    if (this.failures.size > 10_000) {
      for (const [key, f] of this.failures) if (f.resetAt <= nowMs) this.failures.delete(key);
      if (this.failures.size > 10_000) this.failures.clear();
    }
    const f = this.failures.get(address);
    if (!f || f.resetAt <= nowMs) {
      this.failures.set(address, { count: 1, resetAt: nowMs + FAILURE_WINDOW_MS });
      return false;
    }
    f.count++;
    return f.count > MAX_FAILURES;
  }

  isThrottled(address: string, nowMs = Date.now()): boolean {
    const f = this.failures.get(address);
    return f !== undefined && f.resetAt > nowMs && f.count >= MAX_FAILURES;
  }

  private validSession(value: string, nowMs = Date.now()): boolean {
    const m = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return false;
    const expiresS = Number(m[1]);
    if (expiresS * 1000 <= nowMs) return false;
    return timingSafeEqual(Buffer.from(m[2]!), Buffer.from(this.sign(expiresS)));
  }

  private sign(expiresS: number): string {
    return createHmac('sha256', this.token ?? '').update(`callbridge calls session|${expiresS}`).digest('base64url');
  }

  private cookie(value: string, maxAgeS: number): string {
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${this.secure ? '; Secure' : ''}`;
  }
}
