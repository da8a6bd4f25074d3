/**
 * The HTTP edge. Routes are added here as the product grows; the composition root (main.ts)
 * builds the dependencies and hands them in.
 */
import http from 'node:http';
import express, { type Express } from 'express';
import type { Logger } from '../shared/log.js';

export interface WebDeps {
  log: Logger;
}

export function createApp(deps: WebDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, uptimeS: Math.round(process.uptime()) });
  });
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    deps.log.error({ err }, 'request failed');
    res.status(500).json({ error: 'internal error' });
  });
  return app;
}

/** Starts listening; resolves with the server once bound (port 0 picks a free port). */
export function listen(app: Express, port: number, host: string): Promise<http.Server> {
  const server = http.createServer(app);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
