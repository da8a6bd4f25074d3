/**
 * Access to call records (review UI + JSON API), protected by ADMIN_TOKEN:
 *  - API clients send `Authorization: Bearer <token>`;
 *  - browsers sign in once (POST /calls/login) and get an httpOnly, SameSite=Strict cookie
 *    holding `<expiry>.<session id>.<HMAC-SHA256(token, "callbridge calls session|<expiry>|<id>")>`
 *    (the id is random per sign-in; cookies of the older `<expiry>.<HMAC>` form stay valid): never
 *    the token itself; valid on every instance sharing the token, across restarts, until it
 *    expires (7 days) or the token changes.
 * `identify` names who is asking (the browser test phone's caller, and its one-call-per-session
 * rule): "admin" with the session id, "api" for a bearer token, "local" when access is open.
 * Comparisons are constant-time. Without a token: production refuses to serve ('refuse'),
 * development and tests serve openly with a warning banner ('open').
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

export const SESSION_COOKIE = 'cb_calls';
export const SESSION_TTL_S = 7 * 24 * 3600;

export type AuthMode = 'token' | 'open' | 'refuse';

/** Who is signed in: a user name for records, and a session id (one per sign-in, per API token, or per open browser). */
export interface Identity {
  user: string;
  session: string;
}

/** Without ADMIN_TOKEN (development), browsers are told apart by this cookie (set by pages that need it). */
export const OPEN_SESSION_COOKIE = 'cb_local';
const SESSION_ID = /^[A-Za-z0-9_-]{16}$/;

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

  /**
   * Who sent the request, or undefined when it is not authorized. Open access: "local", told
   * apart by the OPEN_SESSION_COOKIE when the browser has one (see `openSessionCookie`).
   */
  identify(req: { headers: { authorization?: string | undefined; cookie?: string | undefined } }): Identity | undefined {
    const cookies = parseCookies(req.headers.cookie);
    if (this.mode === 'open') {
      const local = cookies.get(OPEN_SESSION_COOKIE);
      return { user: 'local', session: local !== undefined && SESSION_ID.test(local) ? `local:${local}` : 'local' };
    }
    if (this.token === undefined) return undefined;
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      return m !== null && sameSecret(m[1]!, this.token) ? { user: 'api', session: 'api' } : undefined;
    }
    const cookie = cookies.get(SESSION_COOKIE);
    const id = cookie !== undefined ? this.sessionId(cookie) : undefined;
    return id !== undefined ? { user: 'admin', session: `admin:${id}` } : undefined;
  }

  /** Set-Cookie value naming an anonymous browser when access is open (development). */
  openSessionCookie(): string {
    return `${OPEN_SESSION_COOKIE}=${randomBytes(12).toString('base64url')}; Path=/; HttpOnly; SameSite=Strict${this.secure ? '; Secure' : ''}`;
  }

  checkToken(candidate: string): boolean {
    return this.token !== undefined && sameSecret(candidate, this.token);
  }

  /** Set-Cookie value for a fresh session. */
  sessionCookie(nowMs = Date.now()): string {
    const expiresS = Math.floor(nowMs / 1000) + SESSION_TTL_S;
    const id = randomBytes(12).toString('base64url');
    return this.cookie(`${expiresS}.${id}.${this.sign(`${expiresS}|${id}`)}`, SESSION_TTL_S);
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
    return this.sessionId(value, nowMs) !== undefined;
  }

  /** The id of a valid session cookie (its signature for the older form without one), else undefined. */
  private sessionId(value: string, nowMs = Date.now()): string | undefined {
    const m = /^(\d{1,12})\.(?:([A-Za-z0-9_-]{16})\.)?([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return undefined;
    const expiresS = Number(m[1]);
    if (expiresS * 1000 <= nowMs) return undefined;
    const id = m[2];
    const expected = this.sign(id === undefined ? `${expiresS}` : `${expiresS}|${id}`);
    return timingSafeEqual(Buffer.from(m[3]!), Buffer.from(expected)) ? (id ?? m[3]!.slice(0, 16)) : undefined;
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.token ?? '').update(`callbridge calls session|${payload}`).digest('base64url');
  }

  private cookie(value: string, maxAgeS: number): string {
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${this.secure ? '; Secure' : ''}`;
  }
}
