/**
 * Two callbridge instances on one database (SQLite in one DATA_DIR; PostgreSQL when its binaries
 * are installed) behind a balancer with no affinity: the webhook reaches instance A, the media
 * stream instance B. B takes the call over (A's stored record: caller, start), runs it to the
 * end with its transcript; A's unused pre-opened call, ended by its no-stream timeout meanwhile,
 * writes nothing over it; the call list on either instance shows the call.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnv } from '../../src/config/env.js';
import { silentLogger } from '../../src/shared/log.js';
import { startCallbridge, type Callbridge } from '../../src/app.js';
import { startEmulator } from '../../src/emulator/index.js';
import { placeCall, type ScriptStep } from '../../src/simulator/index.js';
import type { CallRecord } from '../../src/transcripts/types.js';
import { testFlow } from '../support/e2e.js';
import { startBalancer } from '../support/tcp-balancer.js';
import { SseClient } from '../support/sse.js';
import { freshPostgresUrl, STORE_BACKENDS, stopStoreBackends } from '../support/store-backends.js';
import { until } from '../support/wait.js';

after(stopStoreBackends);

const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };
const AUTH_TOKEN = 'scale-test-auth-token-0123456789';
const SECRET = 'scale-test-stream-token-secret-0123456789';
const SCRIPT: ScriptStep[] = [
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } },
  { tone: { hz: 300, durationMs: 500, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } },
  { silence: 2500 }, // longer than the live views' 2 s read of other instances' calls
];

/** `p`, or a failure naming `what` after `ms` (so a missing live event fails instead of hanging). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function listed(bridge: Callbridge, callSid: string): Promise<{ outcome: string } | undefined> {
  const res = await fetch(`${bridge.url}/api/calls?limit=10`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { calls: Array<{ callSid: string; outcome: string }> };
  return body.calls.find((c) => c.callSid === callSid);
}

for (const backend of STORE_BACKENDS) {
  describe(`${backend.name}: two instances, webhook on A, stream on B`, { skip: backend.skip }, () => {
    it('B takes the call and completes it with its transcript; A writes nothing over it; both list it', async () => {
      const root = mkdtempSync(join(tmpdir(), 'cb-scale-'));
      const flowsDir = join(root, 'flows');
      mkdirSync(flowsDir);
      mkdirSync(join(root, 'tools'));
      writeFileSync(join(flowsDir, 'test.yaml'), testFlow());
      const emulator = await startEmulator({
        port: 0,
        host: '127.0.0.1',
        ttsCacheDir: join(tmpdir(), 'callbridge-test-tts'),
        timing: FAST,
        scenario: { name: 'two-instances', turns: [{ heard: 'I would like to book a visit', say: 'Of course, which day suits you?' }] },
      });
      let ports: [number, number] = [0, 0];
      let armed = false;
      // The first connection after arming (the webhook) goes to A, every later one (the stream) to B.
      const balancer = await startBalancer(() => {
        if (!armed) return ports[1];
        armed = false;
        return ports[0];
      });
      const database = backend.name === 'postgres' ? { DATABASE_URL: await freshPostgresUrl() } : { DATA_DIR: join(root, 'data') };
      const start = (id: string): Promise<Callbridge> =>
        startCallbridge({
          env: loadEnv({
            NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', GEMINI_LIVE_URL: emulator.url, TWILIO_AUTH_TOKEN: AUTH_TOKEN,
            PUBLIC_BASE_URL: balancer.url, STREAM_TOKEN_SECRET: SECRET, INSTANCE_ID: id, DATA_DIR: join(root, 'data'), ...database,
          }),
          log: silentLogger(),
          flowsDir,
          toolsDir: join(root, 'tools'),
          watchFlows: false,
          noStreamTimeoutMs: 1500,
        });
      const a = await start('inst-a');
      const b = await start('inst-b');
      try {
        ports = [a.port, b.port];
        assert.deepEqual(await a.scale?.readyPeers(), [{ id: 'inst-b', url: balancer.url }]);
        const liveOnA = await SseClient.open(`${a.url}/api/calls/live`);
        armed = true;
        const result = await placeCall({ serverUrl: balancer.url, publicBaseUrl: balancer.url, authToken: AUTH_TOKEN, from: '+15557654321', to: '+15550100100', script: SCRIPT, maxDurationMs: 30_000 });
        assert.equal(result.outcome.endedBy, 'caller', JSON.stringify(result.outcome));
        assert.equal(balancer.routed.get(a.port), 1, 'the webhook went to A');
        assert.ok((balancer.routed.get(b.port) ?? 0) >= 1, 'the stream went to B');

        // A's pre-opened call ends at its no-stream timeout; its final record is dropped.
        await until(() => a.manager.status().active === 0, "A's unused call to end");
        await until(() => b.manager.status().active === 0, "B's call to end");
        await a.writer.flush();
        await b.writer.flush();
        const record: CallRecord | undefined = await a.store.getCall(result.callSid);
        assert.ok(record);
        assert.equal(record.outcome, 'completed', JSON.stringify(record.outcomeDetail));
        assert.equal(record.instance, 'inst-b');
        assert.equal(record.from, '+15557654321', "the caller's number came from A's record");
        const events = await b.store.getEvents(result.callSid);
        const said = events.filter((e) => e.kind === 'bot_utterance' || e.kind === 'caller_utterance').map((e) => ('text' in e ? e.text : ''));
        assert.ok(said.some((t) => /which day suits you/.test(t)), `transcript: ${JSON.stringify(said)}`);
        assert.ok(!events.some((e) => e.kind === 'error'), 'no error event from A');
        assert.equal(new Set(events.map((e) => e.seq)).size, events.length, 'event numbers are unique');
        assert.ok(a.scale!.writes.dropped.records >= 1, "A's final record was dropped");

        // A's live view showed B's call while it ran, what was said on it, and then its end.
        const isCall = (inProgress: boolean) => (e: { event: string; data: unknown }) =>
          e.event === 'call' && (e.data as { call: { callSid: string; inProgress: boolean } }).call.callSid === result.callSid && (e.data as { call: { inProgress: boolean } }).call.inProgress === inProgress;
        await within(liveOnA.next(isCall(true)), 5000, "B's call in A's live list");
        await within(liveOnA.next((e) => e.event === 'said' && /which day suits you/.test(String((e.data as { text: string }).text))), 5000, "B's bot words in A's live list");
        await within(liveOnA.next(isCall(false)), 5000, "the end of B's call in A's live list");
        liveOnA.close();

        assert.equal((await listed(a, result.callSid))?.outcome, 'completed');
        assert.equal((await listed(b, result.callSid))?.outcome, 'completed');
      } finally {
        await a.shutdown(2000);
        await b.shutdown(2000);
        await balancer.close();
        await emulator.close();
        rmSync(root, { recursive: true, force: true });
      }
    });
  });
}
