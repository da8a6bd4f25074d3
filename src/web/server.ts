/**
 * The HTTP edge. Routes are added here as the product grows; the composition root (main.ts)
 * builds the dependencies and hands them in.
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
}

/** Handles an HTTP upgrade if it is for one of its paths; returns false to let others try. */
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => boolean;

/** Per-app registry (in app.locals) of upgrade handlers, wired to the server by `listen`. */
const UPGRADE_HANDLERS = 'callbridge.upgradeHandlers';
const TWILIO_EDGE = 'callbridge.twilioEdge';

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
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, uptimeS: Math.round(process.uptime()) });
  });
  if (deps.twilio) {
    const edge = mountTwilioRoutes(app, { ...deps.twilio, log: deps.log });
    app.locals[TWILIO_EDGE] = edge;
    addUpgradeHandler(app, (req, socket, head) => edge.handleUpgrade(req, socket, head));
  }
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    deps.log.error({ err }, 'request failed');
    res.status(500).json({ error: 'internal error' });
  });
  return app;
}

/** Starts listening; resolves with the server once bound (port 0 picks a free port). */
export function listen(app: Express, port: number, host: string): Promise<http.Server> {
  const server = http.createServer(app);
  attachUpgradeHandlers(app, server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
