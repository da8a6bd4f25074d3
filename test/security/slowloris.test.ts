/**
 * Attack: slowloris. Open connections and send the request headers (or the body) a few bytes at
 * a time, never finishing, to hold sockets until the server runs out. The audit found this
 * holding on Node's own limits; they are now set explicitly (src/web/server.ts HTTP_TIMEOUTS,
 * createHttpServer, which app.ts uses). This regression test runs the server with short limits
 * injected and checks the order of events: the server answers 408 and closes the connection while
 * the client is still trickling. No duration is asserted.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type http from 'node:http';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, createHttpServer, finishApp, listen, HTTP_TIMEOUTS } from '../../src/web/server.js';
import { mountCalls } from '../../src/web/calls-routes.js';
import { openSqliteStore, type SqliteTranscriptStore } from '../../src/transcripts/sqlite-store.js';
import { captureLog, stackLines, type LogLine } from './support.js';

const SHORT = { headersMs: 300, requestMs: 600, checkEveryMs: 50 };
/** The client gives up after this many pieces (20 ms apart), far past SHORT's limits. */
const MAX_PIECES = 1000;

/**
 * Connects, writes `head`, then one `piece` every 20 ms until the server closes the connection
 * (or MAX_PIECES were sent). Resolves with what the server sent and whether it closed first.
 */
async function trickle(port: number, head: string, piece: string): Promise<{ answer: string; closedByServer: boolean; pieces: number }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(head);
  let answer = '';
  let pieces = 0;
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (pieces === MAX_PIECES) {
        clearInterval(timer);
        socket.destroy();
        return resolve({ answer, closedByServer: false, pieces });
      }
      pieces++;
      socket.write(piece);
    }, 20);
    socket.once('close', () => {
      clearInterval(timer);
      resolve({ answer, closedByServer: pieces < MAX_PIECES, pieces });
    });
    socket.on('error', () => undefined); // a write after the server closed: EPIPE / ECONNRESET
  });
}

describe('security: slowloris', () => {
  let server: http.Server;
  let port: number;
  let dir: string;
  let store: SqliteTranscriptStore;
  let lines: LogLine[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cb-sec-slow-'));
    store = openSqliteStore({ dataDir: dir });
    const captured = captureLog();
    lines = captured.lines;
    const app = createApp({ log: captured.log });
    mountCalls(app, { store, dataDir: dir, log: captured.log, nodeEnv: 'test', adminToken: 'slowloris-admin-token-0123456789abcdef' });
    finishApp(app);
    server = await listen(app, 0, '127.0.0.1', SHORT);
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('headers sent a line at a time: 408 and closed while the client still sends', async () => {
    const r = await trickle(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X: 1\r\n');
    assert.ok(r.closedByServer, `the server closed the connection (after ${r.pieces} header lines)`);
    assert.match(r.answer, /^HTTP\/1\.1 408 /);
  });

  it('a body sent a byte at a time: 408 and closed while the client still sends', async () => {
    const head = 'POST /calls/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\ntoken=';
    const r = await trickle(port, head, 'a');
    assert.ok(r.closedByServer, `the server closed the connection (after ${r.pieces} body bytes)`);
    assert.match(r.answer, /^HTTP\/1\.1 408 /);
  });

  it('a client that sends its request at once is served (the control)', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(res.status, 200);
  });

  it('logs no 500 and no stack', () => assert.deepEqual(stackLines(lines), []));
});

describe('security: the slow-client limits cut requests, not answers', () => {
  it('an answer streamed for longer than the request limit (a live view) is not cut', async () => {
    const app = express();
    // 30 pieces 50 ms apart: the answer outlasts SHORT.requestMs by far; it only ends once they are all sent.
    app.get('/live', (_req, res) => {
      let sent = 0;
      const timer = setInterval(() => {
        res.write('b');
        if (++sent === 30) {
          clearInterval(timer);
          res.end();
        }
      }, 50);
    });
    const server = await listen(app, 0, '127.0.0.1', SHORT);
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/live`);
      assert.equal(await res.text(), 'b'.repeat(30));
    } finally {
      server.close();
    }
  });
});

describe('security: every server of the app has the slow-client limits', () => {
  it('the defaults are finite, headers first, and createHttpServer applies them', () => {
    assert.ok(HTTP_TIMEOUTS.headersMs > 0 && HTTP_TIMEOUTS.headersMs <= HTTP_TIMEOUTS.requestMs && HTTP_TIMEOUTS.requestMs <= 120_000);
    const server = createHttpServer();
    assert.equal(server.headersTimeout, HTTP_TIMEOUTS.headersMs);
    assert.equal(server.requestTimeout, HTTP_TIMEOUTS.requestMs);
    assert.equal((server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval, HTTP_TIMEOUTS.checkEveryMs);
  });

  it('src/app.ts and src/web make their HTTP servers with createHttpServer only', () => {
    const root = new URL('../../src/', import.meta.url);
    const files = ['app.ts', ...readdirSync(new URL('web/', root)).filter((f) => f.endsWith('.ts')).map((f) => `web/${f}`)];
    for (const file of files) {
      const source = readFileSync(new URL(file, root), 'utf8').replace(/\/\/.*|\/\*[\s\S]*?\*\//g, '');
      const created = source.match(/\bhttps?\.createServer\(|new (?:http\.)?Server\(/g) ?? [];
      const allowed = file === 'web/server.ts' ? 1 : 0; // createHttpServer's own
      assert.equal(created.length, allowed, `${file} creates an HTTP server without the limits`);
    }
    assert.match(readFileSync(new URL('app.ts', root), 'utf8'), /= createHttpServer\(\)/);
  });
});
