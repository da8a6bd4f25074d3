/**
 * Notifications through the real server (simulator → callbridge → emulator, whose REST
 * generateContent stands in for the analysis model) to a fake receiver on 127.0.0.1: a call ends,
 * its analysis settles and exactly one call.completed arrives, signed so the off-the-shelf
 * Standard Webhooks verifier accepts it; a caller who asks to be called back also raises
 * call.needs_follow_up; with the receiver down, the delivery is retried after callbridge restarts
 * on the same DATA_DIR and arrives once (same webhook-id, same body). The call page's API lists
 * every attempt, and resend sends the same delivery again.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { startRig, testFlow, type Rig } from '../support/e2e.js';
import { startCallbridge, type Callbridge } from '../../src/app.js';
import { loadEnv } from '../../src/config/env.js';
import { silentLogger } from '../../src/shared/log.js';
import type { ScriptStep } from '../../src/simulator/index.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };
const SCRIPT: ScriptStep[] = [
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } },
  { tone: { hz: 300, durationMs: 500, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 1200, timeoutMs: 20000 } },
];

interface Post {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1 that can be taken down and brought back on the same port. */
class Receiver {
  posts: Post[] = [];
  private server: http.Server | undefined;
  port = 0;

  async up(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.posts.push({ status: 200, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end('thanks');
      });
    });
    await new Promise<void>((ok) => this.server!.listen(this.port, '127.0.0.1', ok));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((ok) => s.close(() => ok()));
  }

  url(): string {
    return `http://127.0.0.1:${this.port}/hooks/calls`;
  }

  types(): string[] {
    return this.posts.map((p) => (JSON.parse(p.body) as { type: string }).type).sort();
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

interface DeliveryJson {
  id: number;
  webhookId: string;
  event: string;
  state: string;
  attempts: number;
  attemptLog: { attempt: number; status: number | null; error: string | null }[];
}

async function deliveries(bridge: Callbridge, sid: string): Promise<DeliveryJson[]> {
  const res = await fetch(`${bridge.url}/api/calls/${sid}/deliveries`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { deliveries: DeliveryJson[] }).deliveries;
}

function flowWith(receiver: Receiver): string {
  return testFlow({ topLevel: `notify:\n  - webhook: ${receiver.url()}\n    events: [call.completed, call.needs_follow_up]` });
}

async function rigFor(receiver: Receiver, heard: string, bridge: Record<string, unknown> = {}): Promise<Rig> {
  const rig = await startRig({
    flows: { 'line.yaml': flowWith(receiver) },
    emulator: { timing: FAST, scenario: { name: 'notify', turns: [{ heard, say: 'Thank you, noted.' }] } },
    env: { NOTIFY_SECRET: SECRET },
    bridge,
  });
  return rig;
}

describe('notifications on real calls', () => {
  const receiver = new Receiver();
  before(() => receiver.up());
  after(() => receiver.down());

  it('a call ends: its analysis settles and exactly one signed call.completed arrives', async () => {
    receiver.posts = [];
    const rig = await rigFor(receiver, 'I would like to book a cleaning next week');
    try {
      const call = await rig.call({ timeScale: 0.5, maxDurationMs: 30000, script: SCRIPT });
      const post = await until('the notification', () => receiver.posts[0]);
      const payload = new Webhook(SECRET).verify(post.body, post.headers as Record<string, string>) as { type: string; data: Record<string, unknown> };
      assert.equal(payload.type, 'call.completed');
      assert.equal(payload.data.callId, call.callSid);
      assert.equal((payload.data.analysis as { status: string }).status, 'ok');
      assert.equal(typeof payload.data.summary, 'string');
      assert.equal(payload.data.url, `${rig.bridge.publicBaseUrl}/calls/${call.callSid}`);
      const detail = (await (await fetch(`${rig.bridge.url}/api/calls/${call.callSid}`)).json()) as { analysis?: { summary: string } };
      assert.equal(detail.analysis?.summary, payload.data.summary);
      const [d] = await until('delivered in the log', async () => {
        const list = await deliveries(rig.bridge, call.callSid);
        return list[0]?.state === 'delivered' ? list : undefined;
      });
      assert.equal(d!.webhookId, post.headers['webhook-id']);
      assert.deepEqual(d!.attemptLog.map((a) => a.status), [200]);
      assert.deepEqual(receiver.types(), ['call.completed']);

      // Resend: the same delivery again (same id, same body), logged as a second attempt.
      const res = await fetch(`${rig.bridge.url}/api/calls/${call.callSid}/deliveries/${d!.id}/resend`, { method: 'POST' });
      assert.equal(res.status, 202);
      const again = await until('the resent notification', () => receiver.posts[1]);
      assert.equal(again.headers['webhook-id'], post.headers['webhook-id']);
      assert.equal(again.body, post.body);
      assert.equal(receiver.posts.length, 2);

      // Refused: a cross-site resend (CSRF), another call's delivery, a malformed id.
      const base = `${rig.bridge.url}/api/calls/${call.callSid}/deliveries`;
      assert.equal((await fetch(`${base}/${d!.id}/resend`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } })).status, 403);
      assert.equal((await fetch(`${rig.bridge.url}/api/calls/CA${'0'.repeat(32)}/deliveries/${d!.id}/resend`, { method: 'POST' })).status, 404);
      assert.equal((await fetch(`${base}/x1/resend`, { method: 'POST' })).status, 400);
      assert.equal((await fetch(`${rig.bridge.url}/api/calls/nope/deliveries`)).status, 400);
      assert.equal(receiver.posts.length, 2);
    } finally {
      await rig.close();
    }
  });

  it('a caller who asks to be called back also raises call.needs_follow_up', async () => {
    receiver.posts = [];
    const rig = await rigFor(receiver, 'Please call me back tomorrow about my bill');
    try {
      const call = await rig.call({ timeScale: 0.5, maxDurationMs: 30000, script: SCRIPT });
      await until('both notifications', () => (receiver.posts.length >= 2 ? true : undefined));
      assert.deepEqual(receiver.types(), ['call.completed', 'call.needs_follow_up']);
      const follow = receiver.posts.find((p) => p.body.includes('call.needs_follow_up'))!;
      const payload = new Webhook(SECRET).verify(follow.body, follow.headers as Record<string, string>) as { data: { callId: string; followUp: boolean } };
      assert.equal(payload.data.callId, call.callSid);
      assert.equal(payload.data.followUp, true);
      assert.notEqual(receiver.posts[0]!.headers['webhook-id'], receiver.posts[1]!.headers['webhook-id']);
    } finally {
      await rig.close();
    }
  });

  it('with the receiver down, the delivery is retried after a restart and arrives once', async () => {
    receiver.posts = [];
    // A short retry schedule: the first process makes its attempts, the second one the rest.
    const notify = { schedule: [1500, 1500, 1500, 1500, 1500, 1500] };
    const rig = await rigFor(receiver, 'I would like to book a cleaning next week', { notify });
    let second: Callbridge | undefined;
    try {
      await receiver.down();
      const call = await rig.call({ timeScale: 0.5, maxDurationMs: 30000, script: SCRIPT });
      const [failed] = await until('a failed attempt', async () => {
        const list = await deliveries(rig.bridge, call.callSid);
        return list[0] && list[0].attempts >= 1 ? list : undefined;
      });
      assert.equal(failed!.state, 'pending');
      assert.match(failed!.attemptLog[0]!.error ?? '', /ECONNREFUSED/);
      await rig.bridge.shutdown(2000);

      await receiver.up();
      const env = loadEnv({
        NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATA_DIR: rig.dataDir, GEMINI_LIVE_URL: rig.emulator.url,
        GEMINI_API_BASE_URL: rig.emulator.httpUrl, NOTIFY_SECRET: SECRET,
      });
      second = await startCallbridge({ env, log: silentLogger(), flowsDir: rig.flowsDir, toolsDir: rig.toolsDir, watchFlows: false, notify });
      const post = await until('the retried notification', () => receiver.posts[0]);
      new Webhook(SECRET).verify(post.body, post.headers as Record<string, string>);
      assert.equal(post.headers['webhook-id'], failed!.webhookId);
      const [d] = await until('delivered in the log', async () => {
        const list = await deliveries(second!, call.callSid);
        return list[0]?.state === 'delivered' ? list : undefined;
      });
      const log = d!.attemptLog;
      assert.ok(log.length >= 2, JSON.stringify(log));
      assert.ok(log.slice(0, -1).every((a) => a.status === null && /ECONNREFUSED/.test(a.error ?? '')), JSON.stringify(log));
      assert.equal(log.at(-1)!.status, 200);
      assert.equal(receiver.posts.length, 1);
    } finally {
      await second?.shutdown(2000);
      await rig.close();
    }
  });
});
