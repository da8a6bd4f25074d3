/**
 * One delivery attempt against a fake receiver on 127.0.0.1: what success is (2xx only), that
 * redirects are not followed, 410 stops, Retry-After is honoured on 429/502/503/504, timeouts and
 * other statuses retry on the schedule, and destinations are refused (nothing sent) when they
 * resolve to loopback/private/link-local addresses and private addresses are not allowed — the
 * production rule — with the connection pinned to the address that was checked.
 */
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { nextStep, sendOnce, USER_AGENT, type AttemptOptions, type AttemptResult } from '../../src/notify/deliver.js';
import { isBlockedAddress, vetHost } from '../../src/notify/address-guard.js';
import { newWebhookId, signingKey } from '../../src/notify/sign.js';
import { RETRY_SCHEDULE_MS } from '../../src/notify/schedule.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const KEY = signingKey(SECRET);
const DEV: AttemptOptions = { allowPrivate: true, httpsOnly: false, timeoutMs: 2000 };

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

describe('one delivery attempt', () => {
  let server: http.Server;
  let base: string;
  let seen: Seen[];
  let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        answer(req, res);
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  });
  beforeEach(() => {
    seen = [];
    answer = (_req, res) => void res.writeHead(204).end();
  });

  const send = (path: string, body: Buffer, id = newWebhookId(), options: AttemptOptions = DEV) =>
    sendOnce({ url: `${base}${path}`, webhookId: id, body, key: KEY }, options, Date.now);

  it('2xx is success: the exact bytes arrive, signed so standardwebhooks verifies them', async () => {
    const body = Buffer.from(JSON.stringify({ type: 'call.completed', data: { summary: 'Grüße' } }));
    const id = newWebhookId();
    const r = await send('/hook', body, id);
    assert.equal(r.status, 204);
    assert.deepEqual(nextStep(r, 1, 0), { kind: 'done' });
    assert.equal(seen.length, 1);
    const got = seen[0]!;
    assert.ok(got.body.equals(body));
    assert.equal(got.headers['webhook-id'], id);
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['user-agent'], USER_AGENT);
    new Webhook(SECRET).verify(got.body.toString('utf8'), got.headers as Record<string, string>);
  });

  it('a redirect is a failure, and not followed', async () => {
    answer = (_req, res) => void res.writeHead(302, { location: `${base}/elsewhere` }).end();
    const r = await send('/old', Buffer.from('{}'));
    assert.equal(r.status, 302);
    assert.deepEqual(seen.map((s) => s.path), ['/old']);
    const next = nextStep(r, 1, 1000, RETRY_SCHEDULE_MS, () => 0.5);
    assert.equal(next.kind, 'retry');
    assert.match((next as { error: string }).error, /HTTP 302 \(redirects are not followed/);
  });

  it('410 Gone stops: failed, no retry', async () => {
    answer = (_req, res) => void res.writeHead(410).end('endpoint removed');
    const next = nextStep(await send('/gone', Buffer.from('{}')), 1, 0);
    assert.equal(next.kind, 'failed');
    assert.match((next as { error: string }).error, /HTTP 410: endpoint removed .*410 Gone/);
  });

  for (const status of [429, 502, 503, 504]) {
    it(`${status} with Retry-After comes back when asked`, async () => {
      answer = (_req, res) => void res.writeHead(status, { 'retry-after': '7' }).end();
      const r = await send('/busy', Buffer.from('{}'));
      assert.deepEqual(nextStep(r, 1, 1_000_000, RETRY_SCHEDULE_MS, () => 0.5), { kind: 'retry', atMs: 1_007_000, error: `HTTP ${status}` });
    });
  }

  it('500 (Retry-After ignored) retries on the schedule; the reply is kept, truncated', async () => {
    answer = (_req, res) => void res.writeHead(500, { 'retry-after': '1' }).end('x'.repeat(5000));
    const r = await send('/err', Buffer.from('{}'));
    assert.equal(r.reply!.length, 1024);
    const next = nextStep(r, 3, 0, RETRY_SCHEDULE_MS, () => 0.5);
    assert.equal(next.kind, 'retry');
    assert.equal((next as { atMs: number }).atMs, RETRY_SCHEDULE_MS[2]);
    assert.equal(nextStep(r, RETRY_SCHEDULE_MS.length + 1, 0).kind, 'failed');
  });

  it('no reply within the timeout is a retryable failure', async () => {
    answer = () => undefined; // never answers
    const r = await send('/slow', Buffer.from('{}'), newWebhookId(), { ...DEV, timeoutMs: 150 });
    assert.equal(r.status, undefined);
    assert.match(r.error!, /no reply within 150 ms/);
    assert.equal(nextStep(r, 1, 0).kind, 'retry');
  });

  it('a closed port is a retryable failure', async () => {
    const closed = http.createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((ok) => closed.close(() => ok()));
    const r = await sendOnce({ url: `http://127.0.0.1:${port}/x`, webhookId: newWebhookId(), body: Buffer.from('{}'), key: KEY }, DEV, Date.now);
    assert.match(r.error!, /ECONNREFUSED/);
    assert.equal(nextStep(r, 1, 0).kind, 'retry');
  });

  it('production rules: loopback refused before anything is sent, and http:// refused', async () => {
    const prod: AttemptOptions = { allowPrivate: false, httpsOnly: false, timeoutMs: 2000 };
    const r = await send('/hook', Buffer.from('{}'), newWebhookId(), prod);
    assert.equal(r.refused, true);
    assert.match(r.error!, /127\.0\.0\.1, a loopback, private, link-local or reserved address .*NOTIFY_ALLOW_PRIVATE/);
    assert.equal(nextStep(r, 1, 0).kind, 'failed');
    const plain = await send('/hook', Buffer.from('{}'), newWebhookId(), { ...prod, allowPrivate: true, httpsOnly: true });
    assert.equal(plain.refused, true);
    assert.match(plain.error!, /use https/);
    assert.equal(seen.length, 0);
  });

  it('a name resolving to a private address is refused; allowed, the connection goes to the checked address', async () => {
    const port = (server.address() as AddressInfo).port;
    const toLoopback = async () => [{ address: '127.0.0.1', family: 4 }];
    const refused = await sendOnce(
      { url: `http://hooks.example.test:${port}/pinned`, webhookId: newWebhookId(), body: Buffer.from('{}'), key: KEY },
      { allowPrivate: false, httpsOnly: false, resolve: toLoopback },
      Date.now,
    );
    assert.equal(refused.refused, true);
    assert.equal(seen.length, 0);
    const ok = await sendOnce(
      { url: `http://hooks.example.test:${port}/pinned`, webhookId: newWebhookId(), body: Buffer.from('{}'), key: KEY },
      { allowPrivate: true, httpsOnly: false, resolve: toLoopback },
      Date.now,
    );
    assert.equal(ok.status, 204);
    assert.equal(seen[0]!.headers.host, `hooks.example.test:${port}`);
  });

  it('an unresolvable name is a retryable failure', async () => {
    const r: AttemptResult = await sendOnce(
      { url: 'https://nowhere.example.test/x', webhookId: newWebhookId(), body: Buffer.from('{}'), key: KEY },
      { allowPrivate: false, httpsOnly: true, resolve: async () => Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' })) },
      Date.now,
    );
    assert.equal(r.refused, false);
    assert.match(r.error!, /cannot resolve nowhere\.example\.test: ENOTFOUND/);
    assert.equal(nextStep(r, 1, 0).kind, 'retry');
  });
});

describe('address guard', () => {
  it('blocks loopback, private, link-local, metadata, CGNAT, reserved and their IPv6 embeddings', () => {
    for (const a of [
      '127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '100.100.100.200',
      '0.0.0.0', '224.0.0.1', '255.255.255.255', '198.18.0.1', '::', '::1', 'fe80::1', 'fc00::1', 'fd00:ec2::254', 'ff02::1',
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::10.0.0.1', '2002:c0a8:101::1', 'not-an-ip',
    ]) {
      assert.equal(isBlockedAddress(a), true, a);
    }
  });

  it('allows public unicast addresses', () => {
    for (const a of ['8.8.8.8', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2002:808:808::1']) {
      assert.equal(isBlockedAddress(a), false, a);
    }
  });

  it('refuses a name when any of its addresses is blocked (not only the first)', async () => {
    const mixed = async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }];
    const v = await vetHost('crm.example.test', false, mixed);
    assert.equal(v.ok, false);
    assert.match((v as { reason: string }).reason, /10\.0\.0\.5/);
    assert.deepEqual(await vetHost('crm.example.test', true, mixed), { ok: true, address: '93.184.216.34', family: 4 });
    assert.deepEqual(await vetHost('[::1]', true), { ok: true, address: '::1', family: 6 });
  });
});
