/**
 * The admin login (ADMIN_TOKEN, see ui/auth.ts) as Express middleware, for the admin pages and
 * APIs (/calls, /flows, /phone and their /api routes): pages redirect to the sign-in page, APIs answer
 * 401, and both answer 503 when production runs without ADMIN_TOKEN. Same rules, same cookie,
 * same sign-in as /calls.
 */
import { readFileSync } from 'node:fs';
import type { NextFunction, Request, Response } from 'express';
import { CallsAuth } from './ui/auth.js';
import { notConfiguredPage } from './ui/pages.js';

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
  /** APIs: signed in or a bearer token, otherwise 401 (503 when review is disabled). */
  api: Middleware;
  /** nosniff, no referrer, no framing, the CSP, no caching. */
  headers: Middleware;
}

export function adminGuards(options: { adminToken?: string | undefined; nodeEnv: string }): AdminGuards {
  const auth = new CallsAuth(options);
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
      if (auth.isAuthorized(req)) return next();
      res.setHeader('WWW-Authenticate', 'Bearer realm="callbridge"');
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

/** A UI page's static HTML, told the auth mode (the scripts read it from <body data-auth>). */
export function adminPage(auth: CallsAuth, path: string): string {
  return readFileSync(path, 'utf8').replace('<body', `<body data-auth="${auth.mode}"`);
}
