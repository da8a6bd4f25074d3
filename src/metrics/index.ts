/**
 * GET /metrics (docs/metrics.md): the Prometheus text exposition of this instance.
 *
 * Access: `Authorization: Bearer <METRICS_TOKEN>` (a token for the scraper alone), or the admin's
 * ADMIN_TOKEN (Bearer, or the signed-in admin cookie). Tokens are compared in constant time;
 * wrong ones count against the same per-address throttle as the admin API (429 with Retry-After).
 * Without either token: open in development (the server then listens on loopback only, see
 * app.ts listenHost) and 503 in production.
 */
import cluster from 'node:cluster';
import type { Express, Request, Response } from 'express';
import type { Logger } from '../shared/log.js';
import type { LiveListener } from '../transcripts/writer.js';
import { adminGuards, clientOf, throttleOf } from '../web/admin-guard.js';
import { CallFeed } from './call-feed.js';
import { CallbridgeMetrics, type MetricsSources } from './metrics.js';
import { sampleRuntime, type RuntimeSampler } from './runtime.js';
import { bearerToken, sameSecret } from '../shared/secrets.js';

export { CallbridgeMetrics, METRIC_NAMES, type MetricsSources } from './metrics.js';
export { CallFeed } from './call-feed.js';

export interface MetricsOptions extends MetricsSources {
  /** The transcript writer's live feed (calls, turns, closes, function calls). */
  writer: { subscribe(listener: LiveListener): () => void };
  adminToken: string | undefined;
  metricsToken: string | undefined;
  nodeEnv: string;
  log: Logger;
  /** Where calls take their per-frame timing sink from (the call manager's `frameTime`). */
  frames?: { frameTime: ((direction: 'in' | 'out', seconds: number) => void) | undefined };
  /** Stop with this server (its 'close' event), without a separate call to close(). */
  closeWith?: { once(event: 'close', listener: () => void): unknown };
  /** Event-loop sampling window (default 1000 ms). */
  lagWindowMs?: number;
}

export interface MountedMetrics {
  metrics: CallbridgeMetrics;
  runtime: RuntimeSampler;
  /** Stops the samplers and the feed (at shutdown). */
  close(): void;
}

type Verdict = 'ok' | 'refuse' | 'missing' | 'wrong';

function verdict(req: Request, o: MetricsOptions, isAdminSession: (req: Request) => boolean): Verdict {
  const tokens = [o.adminToken, o.metricsToken].filter((t): t is string => t !== undefined && t !== '');
  if (tokens.length === 0) return o.nodeEnv === 'production' ? 'refuse' : 'ok';
  const header = req.headers.authorization;
  if (header === undefined) return o.adminToken && isAdminSession(req) ? 'ok' : 'missing';
  const given = bearerToken(header);
  if (given === undefined) return 'wrong';
  // Every token is compared (no early exit), so timing does not tell which one matched.
  let ok = false;
  for (const t of tokens) ok = sameSecret(given, t) || ok;
  return ok ? 'ok' : 'wrong';
}

/** Mounts GET /metrics on `app` and starts feeding it; call before finishApp. */
export function mountMetrics(app: Express, o: MetricsOptions): MountedMetrics {
  // Which process answers (WORKERS=N runs several behind one port: its slot, src/workers/primary.ts).
  const metrics = new CallbridgeMetrics({ ...o, instance: o.instance ?? { worker: process.env['CALLBRIDGE_WORKER'] ?? String(cluster.worker?.id ?? 0), pid: String(process.pid) } });
  const feed = new CallFeed(metrics);
  const unsubscribe = o.writer.subscribe(feed.onChange);
  if (o.frames) o.frames.frameTime = (direction, seconds) => metrics.bridgeLatency.observe({ direction }, seconds);
  const runtime = sampleRuntime(metrics, o.lagWindowMs !== undefined ? { windowMs: o.lagWindowMs } : {});
  const auth = adminGuards({ adminToken: o.adminToken, nodeEnv: o.nodeEnv, app }).auth;
  const isAdminSession = (req: Request) => auth.mode === 'token' && auth.isAuthorized(req);
  if (!o.adminToken && !o.metricsToken && o.nodeEnv === 'production') o.log.warn('GET /metrics is disabled: set METRICS_TOKEN (or ADMIN_TOKEN)');

  app.get('/metrics', (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    const v = verdict(req, o, isAdminSession);
    if (v === 'refuse') return void res.status(503).type('text/plain').send('metrics disabled: this server runs in production without METRICS_TOKEN or ADMIN_TOKEN\n');
    if (v !== 'ok') {
      res.setHeader('WWW-Authenticate', 'Bearer realm="callbridge-metrics"');
      const wait = v === 'wrong' ? throttleOf(req).fail(clientOf(req)) : undefined;
      if (wait !== undefined) {
        res.setHeader('Retry-After', String(wait));
        return void res.status(429).type('text/plain').send(`too many wrong tokens; try again in ${wait} s\n`);
      }
      return void res.status(401).type('text/plain').send('send Authorization: Bearer <METRICS_TOKEN or ADMIN_TOKEN>\n');
    }
    metrics.text().then(
      (text) => void res.type(metrics.contentType).send(text),
      (err: unknown) => {
        o.log.error({ err }, 'GET /metrics: collecting the metrics failed');
        res.status(500).type('text/plain').send('collecting the metrics failed (see the server log)\n');
      },
    );
  });
  const close = () => {
    unsubscribe();
    if (o.frames) o.frames.frameTime = undefined;
    runtime.stop();
  };
  o.closeWith?.once('close', close);
  return { metrics, runtime, close };
}
