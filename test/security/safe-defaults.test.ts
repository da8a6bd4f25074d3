/**
 * Attack: a developer's server, run with the defaults. Before: it listened on 0.0.0.0 without
 * ADMIN_TOKEN (call records open to the network) and, without TWILIO_AUTH_TOKEN, took unsigned
 * webhooks and media streams from anyone. Now: without ADMIN_TOKEN it listens on 127.0.0.1 and
 * refuses a non-loopback HOST; without TWILIO_AUTH_TOKEN only loopback peers may place calls.
 * A remote peer is simulated by a local relay that gives the server's socket another peer
 * address (the test still talks to 127.0.0.1 only).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { loadEnv } from '../../src/config/env.js';
import { listenHost, startCallbridge } from '../../src/app.js';
import { silentLogger } from '../../src/shared/log.js';
import { isLoopbackAddress } from '../../src/web/loopback.js';
import { startEdge, loopbackHandler, type Edge } from '../integration/twilio-harness.js';
import { stackLines } from './support.js';

const CALL = new URLSearchParams({ CallSid: `CA${'0'.repeat(32)}`, AccountSid: `AC${'1'.repeat(32)}`, From: '+15557654321', To: '+15550100100' }).toString();

/** A listener on 127.0.0.1 whose connections reach `edge` as if they came from `peer`. */
async function asPeer(edge: Edge, peer: string): Promise<{ url: string; close(): Promise<void> }> {
  const relay = net.createServer((socket) => {
    Object.defineProperty(socket, 'remoteAddress', { value: peer });
    edge.server.emit('connection', socket);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => relay.close(() => resolve())),
  };
}

function upgrade(url: string): Promise<number | 'open'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/twilio/media`);
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(0));
  });
}

describe('listen address without ADMIN_TOKEN', () => {
  const env = (vars: Record<string, string>) => loadEnv({ NODE_ENV: 'development', ...vars });

  it('defaults to loopback without ADMIN_TOKEN, to every interface with one', () => {
    assert.equal(listenHost(env({})), '127.0.0.1');
    assert.equal(listenHost(env({ ADMIN_TOKEN: 'a-long-enough-admin-token' })), '0.0.0.0');
    assert.equal(listenHost(env({ HOST: '::1' })), '::1');
    assert.equal(listenHost(env({ HOST: '0.0.0.0', ADMIN_TOKEN: 'a-long-enough-admin-token' })), '0.0.0.0');
  });

  it('refuses a non-loopback HOST without ADMIN_TOKEN, naming both', () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10', 'example.com']) {
      assert.throws(() => listenHost(env({ HOST: host })), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'CB_CONFIG_INVALID');
        assert.match(err.message, new RegExp(`HOST=${host.replace(/[.]/g, '\\.')}.*ADMIN_TOKEN`));
        return true;
      });
    }
  });

  it('stops the boot before anything listens', async () => {
    const e = loadEnv({ NODE_ENV: 'development', HOST: '0.0.0.0', PORT: '0', GEMINI_LIVE_URL: 'ws://127.0.0.1:9' });
    await assert.rejects(startCallbridge({ env: e, log: silentLogger(), watchFlows: false }), /HOST=0\.0\.0\.0 without ADMIN_TOKEN/);
  });

  it('knows loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1', 'localhost']) assert.ok(isLoopbackAddress(a), a);
    for (const a of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', '1270.0.0.1', '127.0.0.1.evil', undefined]) assert.ok(!isLoopbackAddress(a), String(a));
  });
});

describe('unsigned Twilio requests without TWILIO_AUTH_TOKEN', () => {
  let edge: Edge;
  let remote: { url: string; close(): Promise<void> };
  before(async () => {
    edge = await startEdge({ authToken: '', handler: loopbackHandler().handler });
    remote = await asPeer(edge, '203.0.113.9');
  });
  after(async () => {
    await remote.close();
    await edge.close();
  });

  it('warns at boot that only loopback may call', () => {
    assert.ok(edge.logs.some((l) => l.level === 40 && /TWILIO_AUTH_TOKEN IS NOT SET.*loopback/.test(l.msg)));
  });

  it('refuses an unsigned webhook from another machine (403, logged) and takes it from loopback', async () => {
    const post = (base: string) => fetch(`${base}/twilio/voice`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '127.0.0.1' }, body: CALL });
    const far = await post(remote.url);
    assert.equal(far.status, 403);
    assert.ok(edge.logs.some((l) => l.code === 'CB_TWILIO_SIGNATURE_INVALID' && l.reason === 'unsigned_not_loopback'));
    const near = await post(edge.serverUrl);
    assert.equal(near.status, 200);
    assert.match(await near.text(), /<Stream /);
  });

  it('refuses an unsigned media stream from another machine (403) and takes it from loopback', async () => {
    assert.equal(await upgrade(remote.url), 403);
    assert.equal(await upgrade(edge.serverUrl), 'open');
  });

  it('logs no stack', () => assert.deepEqual(stackLines(edge.logs as never), []));
});
