/**
 * Shared pieces of the security suite: a logger whose lines the test can read, and a small app
 * (createApp + the call review routes + finishApp, as app.ts composes them) on 127.0.0.1.
 */
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../src/shared/log.js';
import { createApp, finishApp, listen } from '../../src/web/server.js';
import { mountCalls } from '../../src/web/calls-routes.js';
import { openSqliteStore } from '../../src/transcripts/sqlite-store.js';

export interface LogLine {
  level: number;
  msg: string;
  err?: { stack?: string };
  [key: string]: unknown;
}

/** A debug-level logger keeping every line as parsed JSON. */
export function captureLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}

/** Lines that would put a 500 or a stack in the log (pino level 50 = error). */
export function stackLines(lines: readonly LogLine[]): LogLine[] {
  return lines.filter((l) => l.level >= 50 || l.err?.stack !== undefined || /\n\s+at /.test(JSON.stringify(l)));
}

export interface CallsServer {
  base: string;
  host: string;
  lines: LogLine[];
  close(): Promise<void>;
}

export async function serveCalls(o: { adminToken?: string; nodeEnv?: string; trustProxy?: boolean | number | string; publicBaseUrl?: string } = {}): Promise<CallsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'cb-sec-'));
  const store = openSqliteStore({ dataDir: dir });
  const { log, lines } = captureLog();
  const app = createApp({ log, ...(o.trustProxy !== undefined ? { trustProxy: o.trustProxy } : {}), ...(o.publicBaseUrl ? { publicBaseUrl: o.publicBaseUrl } : {}) });
  mountCalls(app, { store, dataDir: dir, log, nodeEnv: o.nodeEnv ?? 'test', adminToken: o.adminToken });
  finishApp(app);
  const server = await listen(app, 0, '127.0.0.1');
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base: `http://${host}`,
    host,
    lines,
    close: async () => {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
