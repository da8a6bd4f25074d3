/**
 * The admin login (ADMIN_TOKEN, see ui/auth.ts) as Express middleware, for the admin pages and
 * APIs (/calls, /flows, /phone and their /api routes): pages redirect to the sign-in page, APIs answer
 * 401, and both answer 503 when production runs without ADMIN_TOKEN. Same rules, same cookie,
 * same sign-in as /calls.
 */
import { readFileSync } from 'node:fs';
import type { Express, NextFunction, Request, Response } from 'express';
import { CallsAuth, FailureThrottle, RevokedSessions } from './ui/auth.js';
import { notConfiguredPage } from './ui/pages.js';
import { hasHttpsOrigin } from './server.js';

export type Middleware = (req: Request, res: Response, next: NextFunction) => void;

/** The strict policy of the admin UI: scripts, styles and requests to this origin only. */
export const ADMIN_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface AdminGuards {
  auth: CallsAuth;
  /** Pages: signed in, or redirected to the sign-in page (503 page when review is disabled). */
  ui: Middleware;
  /** APIs: signed in or a bearer token, otherwise 401 (429 after too many wrong tokens; 403 for a cross-site POST; 503 when review is disabled). */
  api: Middleware;
  /** nosniff, no referrer, no framing, the CSP, no caching. */
  headers: Middleware;
}

/** `app`: the app the guards serve (its signed-out sessions are refused by every guard of it). */
export function adminGuards(options: { adminToken?: string | undefined; nodeEnv: string; app: Express }): AdminGuards {
  const locals = options.app.locals as Record<string, unknown>;
  const revoked = (locals[REVOKED_KEY] ??= new RevokedSessions()) as RevokedSessions;
  // Secure cookies in production and whenever the public origin is https (PUBLIC_BASE_URL).
  const secure = options.nodeEnv === 'production' || hasHttpsOrigin(options.app);
  const auth = new CallsAuth({ adminToken: options.adminToken, nodeEnv: options.nodeEnv, revoked, secure });
  return {
    auth,
    ui: (req, res, next) => {
      if (auth.mode === 'refuse') return void res.status(503).type('html').send(notConfiguredPage());
      if (auth.isAuthorized(req)) return next();
      res.redirect(303, `/calls/login?next=${encodeURIComponent(req.originalUrl)}`);
    },
    api: (req, res, next) => {
      if (auth.mode === 'refuse') {
        return void res.status(503).json({
          error: 'admin_token_required',
          message: 'Not served: this server runs in production without ADMIN_TOKEN. Set ADMIN_TOKEN and restart.',
        });
      }
      if (!SAFE_METHODS.has(req.method) && !sameOrigin(req)) {
        return void res.status(403).json({ error: 'cross_site', message: 'Refused: a state-changing request sent from another site (Origin).' });
      }
      if (auth.isAuthorized(req)) return next();
      res.setHeader('WWW-Authenticate', 'Bearer realm="callbridge"');
      // A wrong Bearer token counts like a wrong sign-in (a missing one, or a stale cookie, does not).
      const wait = req.headers.authorization !== undefined ? throttleOf(req).fail(clientOf(req)) : undefined;
      if (wait !== undefined) {
        res.setHeader('Retry-After', String(wait));
        return void res.status(429).json({ error: 'too_many_attempts', message: `Too many wrong tokens; try again in ${wait} s.` });
      }
      res.status(401).json({ error: 'unauthorized', message: 'Send Authorization: Bearer <ADMIN_TOKEN>, or sign in at /calls/login.' });
    },
    headers: (_req, res, next) => {
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.setHeader('X-Frame-Options', 'DENY');
      res.setHeader('Content-Security-Policy', ADMIN_CSP);
      res.setHeader('Cache-Control', 'no-store');
      next();
    },
  };
}

const THROTTLE_KEY = 'callbridge.adminThrottle';
const REVOKED_KEY = 'callbridge.revokedSessions';
/** Methods that change nothing (no Origin check). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The failed-token throttle of this app (created on first use, kept in app.locals): one for the
 * sign-in form and every admin API, however many routers mount a guard.
 */
export function throttleOf(req: Request): FailureThrottle {
  return ((req.app.locals as Record<string, unknown>)[THROTTLE_KEY] ??= new FailureThrottle()) as FailureThrottle;
}

/** The client address the throttle counts against: `req.ip`, which follows TRUST_PROXY. */
export function clientOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/**
 * Whether a state-changing request comes from this site's own pages (CSRF). Browsers say so in
 * Sec-Fetch-Site (pages cannot set it): only same-origin, or none (typed or bookmarked), pass.
 * Without it (older browsers), the Origin, when sent, must name this host (Host, or
 * X-Forwarded-Host from a proxy TRUST_PROXY trusts); "null" does not. Clients that send neither
 * (curl, scripts) pass: they carry no victim's cookie. (Under Referrer-Policy: no-referrer,
 * Chromium sends Origin: null on its own form posts, hence Sec-Fetch-Site first.)
 */
export function sameOrigin(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false; // "null" (sandboxed frames, privacy redirects) or garbage
  }
  if (host === req.headers.host) return true;
  const trust = req.app.get('trust proxy fn') as ((addr: string, i: number) => boolean) | undefined;
  const forwarded = req.headers['x-forwarded-host'];
  const remote = req.socket.remoteAddress;
  return typeof forwarded === 'string' && remote !== undefined && trust?.(remote, 0) === true && forwarded.split(',')[0]!.trim() === host;
}

/** Refuses a cross-site state-changing request: 403, plain text (true when refused). */
export function refuseCrossSite(req: Request, res: Response): boolean {
  if (sameOrigin(req)) return false;
  res.status(403).type('text/plain').send('forbidden: cross-site request');
  return true;
}

/** A UI page's static HTML, told the auth mode (the scripts read it from <body data-auth>). */
export function adminPage(auth: CallsAuth, path: string): string {
  return readFileSync(path, 'utf8').replace('<body', `<body data-auth="${auth.mode}"`);
}
