/**
 * The HTTP edge. Routes are added here as the product grows; the composition root (app.ts)
 * builds the dependencies and hands them in.
 *
 * Order matters in Express: an error handler only sees errors from middleware registered before
 * it. So `createApp` installs no error handler; the composition root adds its own routes and then
 * calls `finishApp(app)`, which installs it last.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import express, { type Express } from 'express';
import type { Logger } from '../shared/log.js';
import { mountTwilioRoutes, type TwilioEdge, type TwilioRoutesOptions } from './twilio-routes.js';

export interface WebDeps {
  log: Logger;
  /** Mounts the Twilio edge (/twilio/voice, /twilio/media, /twilio/status) when given. */
  twilio?: Omit<TwilioRoutesOptions, 'log'>;
  /** Express's trust proxy setting (TRUST_PROXY): which hops' X-Forwarded-* headers req.ip and req.protocol follow. */
  trustProxy?: boolean | number | string | undefined;
  /** The public origin; when https, every answer carries HSTS (default: the Twilio edge's publicBaseUrl). */
  publicBaseUrl?: string;
}

/** HSTS max-age: one year (browsers then refuse plain http to this host). */
export const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * Headers on every answer: no MIME sniffing, no referrer, no framing; HSTS when the public
 * origin is https. The admin pages add their CSP and no-store (admin-guard.ts).
 */
function securityHeaders(https: boolean): (req: express.Request, res: express.Response, next: express.NextFunction) => void {
  return (_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    if (https) res.setHeader('Strict-Transport-Security', HSTS);
    next();
  };
}

/** Handles an HTTP upgrade if it is for one of its paths; returns false to let others try. */
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => boolean;

/** Per-app registry (in app.locals) of upgrade handlers, wired to the server by `listen`. */
const UPGRADE_HANDLERS = 'callbridge.upgradeHandlers';
const TWILIO_EDGE = 'callbridge.twilioEdge';
const LOGGER = 'callbridge.log';
const HTTPS_ORIGIN = 'callbridge.httpsOrigin';

/** Whether the app's public origin is https (its cookies are then Secure; see admin-guard.ts). */
export function hasHttpsOrigin(app: Express): boolean {
  return app.locals[HTTPS_ORIGIN] === true;
}

/** Registers an upgrade handler on `app` (call before `listen`). */
export function addUpgradeHandler(app: Express, handler: UpgradeHandler): void {
  const list = (app.locals[UPGRADE_HANDLERS] ??= []) as UpgradeHandler[];
  list.push(handler);
}

/** The Twilio edge mounted by createApp (to close its streams at shutdown). */
export function twilioEdgeOf(app: Express): TwilioEdge | undefined {
  return app.locals[TWILIO_EDGE] as TwilioEdge | undefined;
}

/** Routes 'upgrade' requests to the registered handlers; unclaimed ones get 404. */
export function attachUpgradeHandlers(app: Express, server: http.Server): void {
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const handlers = (app.locals[UPGRADE_HANDLERS] ?? []) as UpgradeHandler[];
    for (const handle of handlers) if (handle(req, socket, head)) return;
    socket.on('error', () => socket.destroy());
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
}

export function createApp(deps: WebDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  if (deps.trustProxy !== undefined) app.set('trust proxy', deps.trustProxy);
  const https = (deps.publicBaseUrl ?? deps.twilio?.publicBaseUrl ?? '').startsWith('https://');
  app.locals[HTTPS_ORIGIN] = https;
  app.use(securityHeaders(https));
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, uptimeS: Math.round(process.uptime()) });
  });
  app.locals[LOGGER] = deps.log;
  if (deps.twilio) {
    const edge = mountTwilioRoutes(app, { ...deps.twilio, log: deps.log });
    app.locals[TWILIO_EDGE] = edge;
    addUpgradeHandler(app, (req, socket, head) => edge.handleUpgrade(req, socket, head));
  }
  return app;
}

/**
 * Installs the error handler. Call it once, after every route and middleware is added: Express
 * only routes an error to handlers registered after the middleware that raised it. It adds no
 * 404 handler (unmatched requests keep Express's plain 404).
 *
 * The answer is JSON under /api and plain text elsewhere, and never carries a stack or the error's
 * message. Errors that carry a 4xx status (an oversized or malformed body, a bad URL encoding)
 * keep it; everything else is a 500 and is logged as an error.
 */
export function finishApp(app: Express, log: Logger | undefined = app.locals[LOGGER] as Logger | undefined): void {
  app.use((err: unknown, req: express.Request, res: express.Response, next: express.NextFunction) => {
    const status = errorStatus(err);
    if (status >= 500) log?.error({ err, path: req.path }, 'request failed');
    else log?.warn({ status, path: req.path, reason: errorMessage(err) }, 'request refused');
    // Too late for a status: Express's final handler closes the connection (it writes nothing).
    if (res.headersSent) return next(err);
    const text = status >= 500 ? 'internal error' : (http.STATUS_CODES[status] ?? 'bad request').toLowerCase();
    res.status(status);
    if (isApiPath(req.path)) res.json({ error: text });
    else res.type('text/plain').send(text);
  });
}

/** The 4xx status an error carries (`status` or `statusCode`, as body-parser and http-errors set); otherwise 500. */
export function errorStatus(err: unknown): number {
  if (typeof err !== 'object' || err === null) return 500;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const carried = typeof status === 'number' ? status : statusCode;
  return typeof carried === 'number' && Number.isInteger(carried) && carried >= 400 && carried < 500 ? carried : 500;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

/**
 * Slow clients (slowloris): the header block must arrive within `headersMs` and the whole request
 * within `requestMs` (else 408 and the connection is closed), checked every `checkEveryMs`.
 * Upgraded sockets (media streams, the browser phone) and long answers (live views) are not
 * requests still arriving, so these do not touch them.
 */
export interface HttpTimeouts {
  headersMs: number;
  requestMs: number;
  checkEveryMs: number;
}
export const HTTP_TIMEOUTS: HttpTimeouts = { headersMs: 20_000, requestMs: 60_000, checkEveryMs: 5_000 };

/** An HTTP server with the slow-client limits (every server of the app is made here). */
export function createHttpServer(timeouts: HttpTimeouts = HTTP_TIMEOUTS): http.Server {
  return http.createServer({ headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: timeouts.checkEveryMs });
}

/** Starts listening; resolves with the server once bound (port 0 picks a free port). */
export function listen(app: Express, port: number, host: string, timeouts: HttpTimeouts = HTTP_TIMEOUTS): Promise<http.Server> {
  const server = createHttpServer(timeouts);
  server.on('request', app);
  attachUpgradeHandlers(app, server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
