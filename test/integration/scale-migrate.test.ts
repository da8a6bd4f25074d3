/**
 * Live migration on drain (docs/scale-out.md, "Live migration"), end to end: two callbridge
 * instances on one database (SQLite in one DATA_DIR; PostgreSQL when its binaries are
 * installed), the Gemini emulator, the fake Twilio REST API and the caller simulator. A call runs
 * on A; after its first exchange A drains with MIGRATE_ON_DRAIN=true; the simulated call gets
 * `stop`, runs the new TwiML (a stream to B) and the caller's next words are answered by B in the
 * same conversation: the emulator's scenario goes on at its second turn (a fresh session would
 * start at the first) and nobody greets the caller again. One record (B's), one transcript with
 * both exchanges and a `migrated` event.
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
import { FakeTwilioApi, SimulatedCallRegistry, startCall, type ScriptStep } from '../../src/simulator/index.js';
import { testFlow } from '../support/e2e.js';
import { freshPostgresUrl, STORE_BACKENDS, stopStoreBackends } from '../support/store-backends.js';
import { freePort, until } from '../support/wait.js';

after(stopStoreBackends);

const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };
const ACCOUNT_SID = 'AC' + 'a'.repeat(32);
const AUTH_TOKEN = 'migrate-test-auth-token-0123456789';
const SECRET = 'migrate-test-stream-token-secret-0123456789';
const FIRST_REPLY = 'Of course, which day suits you?';
const SECOND_REPLY = 'Tuesday at ten is booked for you.';
const SCRIPT: ScriptStep[] = [
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } },
  { tone: { hz: 300, durationMs: 500, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } },
  // The call moves while the caller is quiet here.
  { silence: 4000 },
  { tone: { hz: 300, durationMs: 500, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } },
];

for (const backend of STORE_BACKENDS) {
  describe(`${backend.name}: live migration on drain`, { skip: backend.skip }, () => {
    it('SIGTERM-style drain on A moves the live call to B; the caller goes on in the same conversation', async () => {
      const root = mkdtempSync(join(tmpdir(), 'cb-migrate-'));
      const flowsDir = join(root, 'flows');
      mkdirSync(flowsDir);
      mkdirSync(join(root, 'tools'));
      writeFileSync(join(flowsDir, 'test.yaml'), testFlow());
      const emulator = await startEmulator({
        port: 0,
        host: '127.0.0.1',
        ttsCacheDir: join(tmpdir(), 'callbridge-test-tts'),
        timing: FAST,
        scenario: {
          name: 'migration',
          turns: [
            { heard: 'I would like to book a visit', say: FIRST_REPLY },
            { heard: 'Tuesday morning please', say: SECOND_REPLY },
          ],
        },
      });
      const registry = new SimulatedCallRegistry();
      const api = await FakeTwilioApi.start({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, calls: registry });
      const database = backend.name === 'postgres' ? { DATABASE_URL: await freshPostgresUrl() } : {};
      const start = async (id: string): Promise<Callbridge> => {
        const port = await freePort();
        return startCallbridge({
          env: loadEnv({
            NODE_ENV: 'test', PORT: String(port), HOST: '127.0.0.1', PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, GEMINI_LIVE_URL: emulator.url,
            TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_API_BASE_URL: api.url, STREAM_TOKEN_SECRET: SECRET,
            INSTANCE_ID: id, MIGRATE_ON_DRAIN: 'true', DATA_DIR: join(root, 'data'), ...database,
          }),
          log: silentLogger(),
          flowsDir,
          toolsDir: join(root, 'tools'),
          watchFlows: false,
        });
      };
      const a = await start('inst-a');
      const b = await start('inst-b');
      try {
        await until(async () => (await a.scale?.readyPeers())?.some((p) => p.id === 'inst-b') === true, 'B to be registered');
        const call = startCall({ serverUrl: a.url, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from: '+15557654321', to: '+15550100100', script: SCRIPT, registry, maxDurationMs: 40_000 });
        // After the first exchange (A's transcript has the first reply), A drains.
        await until(async () => {
          await a.writer.flush();
          return (await a.store.getEvents(call.callSid)).some((e) => e.kind === 'bot_utterance' && e.text.includes('which day'));
        }, 'the first exchange on A');
        await a.shutdown(10_000);
        const result = await call.result;
        assert.equal(result.outcome.endedBy, 'caller', JSON.stringify(result.outcome));
        assert.deepEqual(result.timeouts, [], 'every wait of the script was met');
        assert.ok(result.timeline.some((e) => e.kind === 'twiml-replaced'), 'the call was redirected over REST');
        assert.equal(api.requests.filter((r) => r.form['Twiml']?.includes('<Stream')).length, 1, 'one call update with a new stream');

        await until(() => b.manager.status().active === 0, "B's call to end");
        await b.writer.flush();
        const record = await b.store.getCall(result.callSid);
        assert.ok(record);
        assert.equal(record.outcome, 'completed', JSON.stringify(record.outcomeDetail));
        assert.equal(record.instance, 'inst-b');
        assert.equal(record.from, '+15557654321', "the caller's number is kept");
        const events = await b.store.getEvents(result.callSid);
        const migrated = events.filter((e) => e.kind === 'migrated');
        assert.equal(migrated.length, 1, 'one migrated event');
        const m = migrated[0]!;
        assert.ok(m.kind === 'migrated' && m.from === 'inst-a' && m.to === 'inst-b' && m.withHandle, JSON.stringify(m));
        const bot = events.flatMap((e) => (e.kind === 'bot_utterance' ? [e.text] : []));
        assert.equal(bot.filter((t) => /Hello, test line/.test(t)).length, 1, `greeted once: ${JSON.stringify(bot)}`);
        assert.ok(bot.some((t) => t.includes('which day')), `first reply: ${JSON.stringify(bot)}`);
        assert.ok(bot.some((t) => t.includes('Tuesday at ten')), `the second turn of the same conversation: ${JSON.stringify(bot)}`);
        assert.ok(!events.some((e) => e.kind === 'error'), `no error events: ${JSON.stringify(events.filter((e) => e.kind === 'error'))}`);
        assert.equal(new Set(events.map((e) => e.seq)).size, events.length, 'event numbers are unique');
      } finally {
        await a.shutdown(2000).catch(() => undefined);
        await b.shutdown(2000);
        await api.close();
        await emulator.close();
        rmSync(root, { recursive: true, force: true });
      }
    });
  });
}
