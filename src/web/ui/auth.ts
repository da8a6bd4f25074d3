/**
 * Access to call records (review UI + JSON API), protected by ADMIN_TOKEN:
 *  - API clients send `Authorization: Bearer <token>`;
 *  - browsers sign in once (POST /calls/login) and get an httpOnly, SameSite=Strict cookie
 *    holding `<expiry>.<session id>.<HMAC-SHA256(token, "callbridge calls session|<expiry>|<id>")>`
 *    (the id is random per sign-in; cookies of the older `<expiry>.<HMAC>` form stay valid): never
 *    the token itself; valid on every instance sharing the token, across restarts, until it
 *    expires (7 days), the token changes, or it signs out: sign-out revokes that session id on
 *    this instance (a copied cookie stops working) until the cookie would have expired.
 * `identify` names who is asking (the browser test phone's caller, and its one-call-per-session
 * rule): "admin" with the session id, "api" for a bearer token, "local" when access is open.
 * Comparisons are constant-time. Without a token: production refuses to serve ('refuse'),
 * development and tests serve openly with a warning banner ('open').
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { bearerToken, sameSecret } from '../../shared/secrets.js';
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

/** Failed attempts (sign-in form and Bearer API together) allowed per window, per client and in total. */
export const THROTTLE = { perClient: 10, total: 100, windowMs: 5 * 60 * 1000, maxClients: 10_000 } as const;

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

/**
 * Session ids signed out on this instance, each until its cookie would have expired (one per
 * app, shared by every guard: see admin-guard.ts). Bounded: when full, expired ids go first, then
 * the oldest (the cookie's 7-day expiry still ends those).
 */
export class RevokedSessions {
  private readonly ids = new Map<string, number>();
  constructor(private readonly max = 10_000) {}

  revoke(id: string, expiresMs: number, nowMs = Date.now()): void {
    if (this.ids.size >= this.max) for (const [key, until] of this.ids) if (until <= nowMs) this.ids.delete(key);
    while (this.ids.size >= this.max) this.ids.delete(this.ids.keys().next().value as string);
    this.ids.set(id, expiresMs);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }
}

export class CallsAuth {
  readonly mode: AuthMode;
  private readonly token: string | undefined;
  private readonly secure: boolean;
  private readonly revoked: RevokedSessions;

  /** `secure`: cookies only over https (default: in production). */
  constructor(options: { adminToken?: string | undefined; nodeEnv: string; revoked?: RevokedSessions; secure?: boolean }) {
    this.token = options.adminToken === '' ? undefined : options.adminToken;
    this.mode = this.token !== undefined ? 'token' : options.nodeEnv === 'production' ? 'refuse' : 'open';
    this.secure = options.secure ?? options.nodeEnv === 'production';
    this.revoked = options.revoked ?? new RevokedSessions();
  }

  /** Whether the request carries a valid Bearer token or session cookie (always true when open). */
  isAuthorized(req: Request): boolean {
    if (this.mode === 'open') return true;
    if (this.token === undefined) return false;
    const header = req.headers.authorization;
    if (header !== undefined) {
      const given = bearerToken(header);
      return given !== undefined && sameSecret(given, this.token);
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
      const given = bearerToken(header);
      return given !== undefined && sameSecret(given, this.token) ? { user: 'api', session: 'api' } : undefined;
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

  /** Signs out the session in this request's cookie, if valid: its id is refused from now on. */
  revoke(req: { headers: { cookie?: string | undefined } }, nowMs = Date.now()): void {
    const value = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    const id = value !== undefined ? this.sessionId(value, nowMs) : undefined;
    if (id !== undefined) this.revoked.revoke(id, Number(value!.slice(0, value!.indexOf('.'))) * 1000, nowMs);
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
    if (!timingSafeEqual(Buffer.from(m[3]!), Buffer.from(expected))) return undefined;
    const session = id ?? m[3]!.slice(0, 16);
    return this.revoked.has(session) ? undefined : session;
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.token ?? '').update(`callbridge calls session|${payload}`).digest('base64url');
  }

  private cookie(value: string, maxAgeS: number): string {
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${this.secure ? '; Secure' : ''}`;
  }
}

/**
 * Failed admin-token attempts, per client address and in total, over a fixed window. It never
 * decides for a correct token (checked first, always accepted: one attacker behind the same proxy
 * cannot lock the owner out); it decides how a failure is answered: 401 while under both limits,
 * 429 with Retry-After once either is reached. Guessing itself is kept out by the token's length
 * (at least 32 characters in production). One per app (see admin-guard.ts), shared by every form
 * and API that takes the token.
 */
export class FailureThrottle {
  private readonly clients = new Map<string, { count: number; resetAt: number }>();
  private total = { count: 0, resetAt: 0 };
  constructor(private readonly limits: { perClient: number; total: number; windowMs: number; maxClients: number } = THROTTLE) {}

  /** Counts one failure from `client`; returns the seconds to wait when over a limit, else undefined. */
  fail(client: string, nowMs = Date.now()): number | undefined {
    if (this.total.resetAt <= nowMs) this.total = { count: 0, resetAt: nowMs + this.limits.windowMs };
    this.total.count++;
    if (this.clients.size >= this.limits.maxClients) {
      for (const [key, f] of this.clients) if (f.resetAt <= nowMs) this.clients.delete(key);
      // Still full: the total limit covers whoever is left out.
      if (this.clients.size >= this.limits.maxClients) this.clients.clear();
    }
    let f = this.clients.get(client);
    if (!f || f.resetAt <= nowMs) this.clients.set(client, (f = { count: 0, resetAt: nowMs + this.limits.windowMs }));
    f.count++;
    if (f.count > this.limits.perClient) return Math.max(1, Math.ceil((f.resetAt - nowMs) / 1000));
    if (this.total.count > this.limits.total) return Math.max(1, Math.ceil((this.total.resetAt - nowMs) / 1000));
    return undefined;
  }
}
