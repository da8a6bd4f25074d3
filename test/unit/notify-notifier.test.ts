/**
 * The Notifier over the SQLite store, job queue and runner (injected clock), against a fake
 * receiver on 127.0.0.1, with analyses stubbed: one signed call.completed per call (settling twice
 * sends nothing new), call.needs_follow_up when the analysis or callbridge's own flag says so,
 * retries that survive a restart (a new store, queue, runner and notifier on the same DATA_DIR)
 * and arrive once with the same webhook-id and body, resend, 410, and a missing NOTIFY_SECRET.
 */
import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { openSqliteStore, type SqliteTranscriptStore } from '../../src/transcripts/sqlite-store.js';
import { SqliteJobQueue } from '../../src/transcripts/sqlite-jobs.js';
import { SqliteDeliveryLog } from '../../src/transcripts/sqlite-deliveries.js';
import { JobRunner } from '../../src/aftercall/runner.js';
import { Notifier } from '../../src/notify/notifier.js';
import { startNotifications } from '../../src/notify/wire.js';
import { loadEnv } from '../../src/config/env.js';
import type { Flow } from '../../src/flows/index.js';
import { silentLogger } from '../../src/shared/log.js';
import type { CallAnalysis } from '../../src/transcripts/after-call-store.js';
import type { NotifyConfig } from '../../src/flows/notify-schema.js';
import { demoCallSid, demoRecord } from '../support/transcripts-fixtures.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const T0 = Date.now();

function analysis(followUp: boolean): CallAnalysis {
  return {
    status: 'ok', summary: 'The caller asked about a table.', intent: 'book a table', resolved: !followUp, followUp,
    followUpReason: followUp ? 'wants a call back' : null, sentiment: 'neutral', fields: { party_size: 4 }, model: 'm', promptVersion: 'p', analysedAtMs: T0,
  };
}

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('notifier', () => {
  let server: http.Server;
  let hook: string;
  let received: Received[];
  let status: number;
  let dir: string;
  let now: number;
  let parts: { store: SqliteTranscriptStore; queue: SqliteJobQueue; runner: JobRunner; notifier: Notifier; log: SqliteDeliveryLog };
  const analyses = new Map<string, CallAnalysis>();
  let endpoints: NotifyConfig[];

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(status).end(status >= 300 ? 'receiver says no' : 'ok');
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/calls`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  });

  function open(secret: string | null = SECRET) {
    const store = openSqliteStore({ dataDir: dir });
    const queue = new SqliteJobQueue(store.database);
    const runner = new JobRunner({ queue, log: silentLogger(), nowMs: () => now, pollMs: 3_600_000 });
    const log = new SqliteDeliveryLog(store.database);
    const notifier = new Notifier({
      deliveries: log, queue, getCall: (sid) => store.getCall(sid), analysisOf: async (sid) => analyses.get(sid),
      notifyOf: (flow) => (flow === 'bookings' ? endpoints : undefined), secret: secret ?? undefined, publicBaseUrl: 'https://bot.example.com',
      allowPrivate: true, httpsOnly: false, log: silentLogger(), nowMs: () => now, random: () => 0.5, timeoutMs: 2000,
    });
    runner.register('notify', notifier.handle);
    parts = { store, queue, runner, notifier, log };
    return parts;
  }

  async function drain(): Promise<void> {
    while ((await parts.runner.runOnce()) > 0) await parts.runner.idle();
  }

  async function endedCall(n: number, overrides: Parameters<typeof demoRecord>[0] = {}): Promise<string> {
    const sid = demoCallSid(n);
    await parts.store.writeBatch({ records: [demoRecord({ callSid: sid, outcome: 'completed', endedAt: T0, durationMs: 60_000, ...overrides })], events: [] });
    return sid;
  }

  beforeEach(() => {
    received = [];
    status = 204;
    now = T0;
    endpoints = [{ webhook: hook, events: ['call.completed', 'call.needs_follow_up'] }];
    dir = mkdtempSync(join(tmpdir(), 'cb-notify-'));
    open();
  });
  afterEach(async () => {
    await parts.runner.stop();
    await parts.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends one signed call.completed per call, however often the analysis settles', async () => {
    const sid = await endedCall(1);
    analyses.set(sid, analysis(false));
    assert.equal(await parts.notifier.onAnalysisSettled(sid), 1);
    assert.equal(await parts.notifier.onAnalysisSettled(sid), 0);
    await drain();
    assert.equal(received.length, 1);
    const got = received[0]!;
    const payload = new Webhook(SECRET).verify(got.body, got.headers as Record<string, string>) as { type: string; data: Record<string, unknown> };
    assert.equal(payload.type, 'call.completed');
    assert.equal(payload.data.callId, sid);
    assert.equal(payload.data.summary, 'The caller asked about a table.');
    assert.deepEqual(payload.data.fields, { party_size: 4 });
    assert.equal(payload.data.url, `https://bot.example.com/calls/${sid}`);
    const [d] = await parts.notifier.deliveriesOf(sid);
    assert.equal(d!.state, 'delivered');
    assert.equal(d!.webhookId, got.headers['webhook-id']);
    assert.deepEqual(d!.attemptLog.map((a) => [a.attempt, a.status, a.error]), [[1, 204, null]]);
  });

  it('adds call.needs_follow_up when the analysis says so, or callbridge flagged the call; only to endpoints that want it', async () => {
    const byAnalysis = await endedCall(2);
    analyses.set(byAnalysis, analysis(true));
    const byFlag = await endedCall(3, { followUp: { level: 'red', reasons: ['The transfer failed.'] } });
    analyses.set(byFlag, analysis(false));
    endpoints = [...endpoints, { webhook: `${hook}?only=completed`, events: ['call.completed'] }];
    await parts.notifier.onAnalysisSettled(byAnalysis);
    await parts.notifier.onAnalysisSettled(byFlag);
    await drain();
    const seen = received.map((r) => {
      const p = JSON.parse(r.body) as { type: string; data: { callId: string } };
      return `${p.data.callId.slice(-1)} ${p.type}`;
    });
    assert.deepEqual(seen.sort(), ['2 call.completed', '2 call.completed', '2 call.needs_follow_up', '3 call.completed', '3 call.completed', '3 call.needs_follow_up']);
  });

  it('retries a failing receiver after a restart, same webhook-id and body, and it arrives once', async () => {
    const sid = await endedCall(4);
    analyses.set(sid, analysis(false));
    status = 503;
    await parts.notifier.onAnalysisSettled(sid);
    await drain();
    assert.equal(received.length, 1);
    const [first] = await parts.notifier.deliveriesOf(sid);
    assert.equal(first!.state, 'pending');
    assert.match(first!.lastError!, /HTTP 503: receiver says no/);

    // Restart: everything reopened from DATA_DIR; the receiver is back; the retry comes due (5 s ± 15 %).
    await parts.runner.stop();
    await parts.store.close();
    open();
    status = 200;
    now = T0 + 4000;
    await drain();
    assert.equal(received.length, 1, 'not before its time');
    now = T0 + 6000;
    await drain();
    now = T0 + 3_600_000;
    await drain();
    assert.equal(received.length, 2);
    assert.equal(received[1]!.headers['webhook-id'], received[0]!.headers['webhook-id']);
    assert.equal(received[1]!.body, received[0]!.body);
    assert.notEqual(received[1]!.headers['webhook-signature'], received[0]!.headers['webhook-signature']);
    new Webhook(SECRET).verify(received[1]!.body, received[1]!.headers as Record<string, string>);
    const [d] = await parts.notifier.deliveriesOf(sid);
    assert.deepEqual([d!.state, d!.attempts, d!.attemptLog.map((a) => a.status)], ['delivered', 2, [503, 200]]);
  });

  it('resend sends the same delivery again now; a 410 stops retrying', async () => {
    const sid = await endedCall(5);
    analyses.set(sid, analysis(false));
    status = 410;
    await parts.notifier.onAnalysisSettled(sid);
    await drain();
    now += 86_400_000;
    await drain();
    assert.equal(received.length, 1);
    const [gone] = await parts.notifier.deliveriesOf(sid);
    assert.equal(gone!.state, 'failed');
    assert.match(gone!.lastError!, /410 Gone/);

    status = 202;
    assert.equal(await parts.notifier.resend(demoCallSid(6), gone!.id), undefined, 'another call’s delivery');
    const again = await parts.notifier.resend(sid, gone!.id);
    assert.equal(again!.state, 'pending');
    await drain();
    assert.equal(received.length, 2);
    assert.equal(received[1]!.headers['webhook-id'], gone!.webhookId);
    assert.equal(received[1]!.body, received[0]!.body);
    const [d] = await parts.notifier.deliveriesOf(sid);
    assert.deepEqual([d!.state, d!.attemptLog.map((a) => [a.attempt, a.status])], ['delivered', [[1, 410], [2, 202]]]);
  });

  it('without NOTIFY_SECRET a delivery fails with a message saying so, and nothing is sent', async () => {
    await parts.runner.stop();
    await parts.store.close();
    open(null);
    const sid = await endedCall(7);
    analyses.set(sid, analysis(false));
    await parts.notifier.onAnalysisSettled(sid);
    await drain();
    assert.equal(received.length, 0);
    const [d] = await parts.notifier.deliveriesOf(sid);
    assert.equal(d!.state, 'failed');
    assert.match(d!.lastError!, /NOTIFY_SECRET is not set/);
  });

  it('sends nothing for a flow without notify, an unknown call, or a call deleted before its turn', async () => {
    const other = await endedCall(8, { flow: 'other' });
    assert.equal(await parts.notifier.onAnalysisSettled(other), 0);
    assert.equal(await parts.notifier.onAnalysisSettled(demoCallSid(99)), 0);
    const sid = await endedCall(9);
    await parts.notifier.onAnalysisSettled(sid);
    await parts.store.deleteCallsStartedBefore(T0 + 1, { exceptFlows: [] }, 10);
    await drain();
    assert.equal(received.length, 0);
    assert.deepEqual(await parts.log.deliveriesOf(sid), []);
  });

  it('wired for production: http:// and this machine refused unless NOTIFY_ALLOW_PRIVATE; the hook queues through the runner', async () => {
    const tlsHook = hook.replace('http://', 'https://');
    const flows = [{ name: 'bookings', notify: [{ webhook: hook, events: ['call.completed'] }, { webhook: tlsHook, events: ['call.completed'] }] } as unknown as Flow];
    const wire = async (vars: Record<string, string>) => {
      await parts.runner.stop();
      const hooks: Array<(sid: string) => Promise<void>> = [];
      const runner = new JobRunner({ queue: parts.queue, log: silentLogger(), nowMs: () => now, pollMs: 3_600_000 });
      const env = loadEnv({ NOTIFY_SECRET: SECRET, ...vars });
      const afterCall = { queue: parts.queue, runner, analysisOf: async (sid: string) => analyses.get(sid), onAnalysisSettled: (h: (sid: string) => Promise<void>) => void hooks.push(h) };
      const notifier = startNotifications({ env, store: parts.store, deliveries: parts.log, afterCall, flows: () => flows, log: silentLogger(), options: { nowMs: () => now } });
      parts = { ...parts, runner, notifier };
      return { hooks, notifier };
    };
    const errorsOf = async (notifier: Notifier, sid: string) => (await notifier.deliveriesOf(sid)).map((d) => [d.endpoint.slice(0, 5), d.state, d.lastError]);

    const prod = await wire({ NODE_ENV: 'production' });
    const first = await endedCall(10);
    analyses.set(first, analysis(false));
    await assert.rejects(prod.hooks[0]!(first), /still starting/, 'no link before the server listens');
    prod.notifier.publicBaseUrl = 'https://bot.example.com';
    await prod.hooks[0]!(first);
    await drain();
    assert.equal(received.length, 0);
    const refused = await errorsOf(prod.notifier, first);
    assert.deepEqual(refused.map(([scheme, state]) => [scheme, state]), [['http:', 'failed'], ['https', 'failed']]);
    assert.match(String(refused[0]![2]), /http: is not allowed here: use https:\/\//);
    assert.match(String(refused[1]![2]), /127\.0\.0\.1, a loopback, private, link-local or reserved address \(set NOTIFY_ALLOW_PRIVATE=true/);

    const allowed = await wire({ NODE_ENV: 'production', NOTIFY_ALLOW_PRIVATE: 'true' });
    allowed.notifier.publicBaseUrl = 'https://bot.example.com';
    const second = await endedCall(11);
    analyses.set(second, analysis(false));
    await allowed.hooks[0]!(second);
    await drain();
    const past = await errorsOf(allowed.notifier, second);
    assert.match(String(past[0]![2]), /http: is not allowed here/, 'http:// stays refused in production');
    // Past the address guard: the plain-http receiver does not speak TLS, so that attempt fails there and is retried.
    assert.equal(past[1]![1], 'pending');
    assert.doesNotMatch(String(past[1]![2]), /NOTIFY_ALLOW_PRIVATE/);

    const dev = await wire({});
    dev.notifier.publicBaseUrl = 'https://bot.example.com';
    const third = await endedCall(12);
    analyses.set(third, analysis(false));
    await dev.hooks[0]!(third);
    await drain();
    assert.equal(received.length, 1, 'development sends to this machine over http');
  });
});
