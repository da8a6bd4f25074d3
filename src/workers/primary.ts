/**
 * WORKERS=N (docs/workers.md): the primary process forks N callbridge workers with node:cluster.
 * They share PORT (the primary accepts connections and hands them out round-robin), each with its
 * own event loop, call manager and Gemini sessions, over the one call store. The primary runs no
 * call itself; it:
 *
 *   - starts worker 1 alone and the others once it listens (the first applies the store's
 *     migrations, so the others never race them);
 *   - gives every worker the same STREAM_TOKEN_SECRET (generated when unset), so a media stream
 *     handed to another worker than its webhook's is accepted (docs/scale-out.md), and its own
 *     INSTANCE_ID (`<INSTANCE_ID or host>-w<n>`);
 *   - restarts a worker that exits without being asked to (after a back-off that grows while the
 *     crashes keep coming, so a worker that cannot start does not spin);
 *   - on SIGTERM/SIGINT passes the signal to every worker (each drains its own calls, flushes and
 *     exits, src/main.ts), waits for them, kills any still running after the deadline, and exits
 *     0 when all stopped cleanly, 1 otherwise.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from '../shared/log.js';

export interface PrimaryOptions {
  workers: number;
  log: Logger;
  /** How long workers may drain after SIGTERM before they are killed (ms). */
  shutdownDeadlineMs: number;
  /** First restart delay after a crash; doubles while crashes come within `crashWindowMs`, up to 30 s. */
  restartDelayMs?: number;
  crashWindowMs?: number;
  env?: NodeJS.ProcessEnv;
  /** PORT for every worker, when it must differ from the environment's (PORT=0, below). */
  port?: number;
}

export interface Primary {
  /** Resolves with the process exit code once every worker has stopped after a signal. */
  stopped: Promise<number>;
  /** The workers now running, by slot (1..N). */
  workers(): Map<number, Worker>;
  stop(signal: NodeJS.Signals): void;
}

const MAX_RESTART_DELAY_MS = 30_000;

/** The environment every worker of slot `slot` starts with. */
export function workerEnv(env: NodeJS.ProcessEnv, secret: string, slot: number, port?: number): Record<string, string> {
  return {
    ...(port !== undefined ? { PORT: String(port) } : {}),
    STREAM_TOKEN_SECRET: env['STREAM_TOKEN_SECRET'] || secret,
    INSTANCE_ID: `${env['INSTANCE_ID'] || hostname()}-w${slot}`,
    CALLBRIDGE_WORKER: String(slot),
  };
}

export function runPrimary(o: PrimaryOptions): Primary {
  const env = o.env ?? process.env;
  const secret = randomBytes(32).toString('hex');
  const bySlot = new Map<number, Worker>();
  const crashes = new Map<number, { count: number; lastAt: number }>();
  const restartDelayMs = o.restartDelayMs ?? 1000;
  const crashWindowMs = o.crashWindowMs ?? 60_000;
  let stopping = false;
  let failed = false;
  let done: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => (done = resolve));

  const fork = (slot: number): Worker => {
    const worker = cluster.fork(workerEnv(env, secret, slot, o.port));
    bySlot.set(slot, worker);
    worker.on('exit', (code, signal) => onExit(slot, worker, code, signal));
    return worker;
  };

  const onExit = (slot: number, worker: Worker, code: number | null, signal: string | null) => {
    if (bySlot.get(slot) === worker) bySlot.delete(slot);
    if (stopping) {
      if (code !== 0) failed = true;
      o.log.info({ slot, pid: worker.process.pid, code, signal }, 'worker stopped');
      if (bySlot.size === 0) done(failed ? 1 : 0);
      return;
    }
    if (!listened) {
      // The first worker could not start (a broken flow, the port taken): stop, like one process would.
      o.log.error({ slot, code, signal }, 'the first worker failed to start; stopping');
      failed = true;
      if (bySlot.size > 0) return stop('SIGTERM');
      stopping = true;
      return done(1);
    }
    const now = Date.now();
    const c = crashes.get(slot);
    const count = c && now - c.lastAt < crashWindowMs ? c.count + 1 : 1;
    crashes.set(slot, { count, lastAt: now });
    const delay = Math.min(MAX_RESTART_DELAY_MS, restartDelayMs * 2 ** (count - 1));
    o.log.error({ slot, pid: worker.process.pid, code, signal, restartInMs: delay }, 'worker exited unexpectedly; restarting it');
    setTimeout(() => {
      if (!stopping) fork(slot);
    }, delay).unref();
  };

  // The others start once one worker listens (the store is migrated by then).
  let listened = false;
  cluster.on('listening', () => {
    if (listened) return;
    listened = true;
    for (let slot = 2; slot <= o.workers; slot++) if (!stopping && !bySlot.has(slot)) fork(slot);
  });
  fork(1);
  o.log.info({ workers: o.workers, pid: process.pid }, `primary: starting ${o.workers} workers on one port`);

  function stop(signal: NodeJS.Signals): void {
    if (stopping) return;
    stopping = true;
    o.log.info({ signal, workers: bySlot.size }, 'primary: stopping every worker (each drains its calls)');
    if (bySlot.size === 0) return done(0);
    for (const w of bySlot.values()) w.process.kill(signal);
    setTimeout(() => {
      for (const w of bySlot.values()) {
        o.log.error({ pid: w.process.pid }, 'worker still running after the shutdown deadline; killing it');
        failed = true;
        w.process.kill('SIGKILL');
      }
    }, o.shutdownDeadlineMs + 5000).unref();
  }
  return { stopped, workers: () => new Map(bySlot), stop };
}

/**
 * The primary's whole life in src/main.ts: starts the workers, passes SIGTERM/SIGINT on, and
 * resolves with the exit code once they have all stopped.
 */
export async function serveWorkers(o: PrimaryOptions & { host?: string }): Promise<number> {
  const env = o.env ?? process.env;
  // Workers share a listening socket by (address, port, order of listen calls): with PORT=0 the
  // server and the built-in emulator (also port 0) could pair up differently in two workers, so
  // the primary picks the free port once and gives it to all of them.
  const port = env['PORT'] === '0' ? await freePort(o.host ?? '127.0.0.1') : undefined;
  const primary = runPrimary(port !== undefined ? { ...o, port } : o);
  process.once('SIGTERM', () => primary.stop('SIGTERM'));
  process.once('SIGINT', () => primary.stop('SIGINT'));
  return primary.stopped;
}

/** Whether this process should be the WORKERS primary (WORKERS > 1 and not itself a worker). */
export function isWorkersPrimary(workers: number): boolean {
  return workers > 1 && cluster.isPrimary;
}

/** A port free on `host` now (bound and released). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
