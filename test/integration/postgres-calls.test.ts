/**
 * The whole server on PostgreSQL (DATABASE_URL): a simulated call through callbridge and the
 * emulator lands in the database (no SQLite file is created), the call API lists and finds it,
 * its post-call analysis runs from the PostgreSQL job queue, and the dashboard counts it.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startRig, testFlow } from '../support/e2e.js';
import type { ScriptStep } from '../../src/simulator/index.js';
import type { CallAnalysis } from '../../src/transcripts/after-call-store.js';
import { STORE_BACKENDS, freshPostgresUrl, stopStoreBackends } from '../support/store-backends.js';
import { startCallbridge } from '../../src/app.js';
import { loadEnv } from '../../src/config/env.js';
import { silentLogger } from '../../src/shared/log.js';
import { CallbridgeError } from '../../src/shared/errors.js';

const skip = STORE_BACKENDS.find((b) => b.name === 'postgres')!.skip;
after(stopStoreBackends);

const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };
const SCRIPT: ScriptStep[] = [
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } },
  { tone: { hz: 300, durationMs: 500, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 1200, timeoutMs: 20000 } },
];
const LINE = testFlow({ topLevel: 'analysis:\n  fields:\n    reason: { type: enum, values: [booking, billing, other] }' });
const EMULATOR = { timing: FAST, scenario: { name: 'pg', turns: [{ heard: 'I would like a booking for Thursday', say: 'Thursday at nine is free.' }] } };

describe('callbridge on PostgreSQL', { skip, timeout: 90_000 }, () => {
  it('records a call, lists and searches it, analyses it from the shared queue and counts it', async () => {
    const url = await freshPostgresUrl();
    const rig = await startRig({ flows: { 'line.yaml': LINE }, emulator: EMULATOR, env: { DATABASE_URL: url }, bridge: { afterCall: { pollMs: 50 } } });
    try {
      assert.equal(rig.bridge.stores.backend, 'postgres');
      const call = await rig.call({ timeScale: 0.5, maxDurationMs: 30000, script: SCRIPT });
      let analysis: CallAnalysis | undefined;
      let startedAt = 0;
      for (;;) {
        // Polls until the analysis settles; the test's timeout bounds the wait.
        const body = (await (await fetch(`${rig.bridge.url}/api/calls/${call.callSid}`)).json()) as { call?: { outcome: string; startedAt: number }; analysis?: CallAnalysis; events?: unknown[] };
        analysis = body.analysis;
        if (analysis && analysis.status !== 'pending') {
          assert.ok(body.call && body.call.outcome !== 'in_progress', `a final record: ${JSON.stringify(body.call?.outcome)}`);
          startedAt = body.call.startedAt;
          assert.ok((body.events?.length ?? 0) > 3, 'events stored');
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(analysis.status, 'ok', JSON.stringify(analysis));
      assert.equal(analysis.fields.reason, 'booking');

      const list = (await (await fetch(`${rig.bridge.url}/api/calls?q=thurs`)).json()) as { calls: Array<{ callSid: string; match?: { snippet: string } }>; total: number };
      assert.deepEqual(list.calls.map((c) => c.callSid), [call.callSid]);
      assert.match(list.calls[0]!.match?.snippet ?? '', /\u0002Thursday\u0003/);
      const byField = (await (await fetch(`${rig.bridge.url}/api/calls?field.reason=booking`)).json()) as { total: number };
      assert.equal(byField.total, 1);

      const today = new Date(startedAt).toISOString().slice(0, 10); // the call's day: the dashboard's zone is UTC here
      const dash = (await (await fetch(`${rig.bridge.url}/api/dashboard?from=${today}&to=${today}&flow=test-line`)).json()) as { flows: Array<{ flow: string; total: { calls: number; analysed: number } }> };
      assert.deepEqual(dash.flows.map((f) => [f.flow, f.total.calls, f.total.analysed]), [['test-line', 1, 1]]);

      const db = new pg.Client({ connectionString: url });
      await db.connect();
      const rows = (await db.query<{ call_sid: string }>('SELECT call_sid FROM calls')).rows;
      await db.end();
      assert.deepEqual(rows.map((r) => r.call_sid), [call.callSid]);
      assert.equal(existsSync(join(rig.dataDir, 'calls.db')), false, 'no SQLite file beside PostgreSQL');
    } finally {
      await rig.close();
    }
  });
});

describe('an unreachable DATABASE_URL', () => {
  it('stops the start with CB_CONFIG_INVALID, naming the database without its password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-pg-down-'));
    mkdirSync(join(dir, 'flows'));
    mkdirSync(join(dir, 'tools'));
    writeFileSync(join(dir, 'flows', 'test.yaml'), testFlow());
    const env = loadEnv({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATA_DIR: join(dir, 'data'), DATABASE_URL: 'postgres://cb:secret@127.0.0.1:1/none' });
    try {
      await assert.rejects(startCallbridge({ env, log: silentLogger(), flowsDir: join(dir, 'flows'), toolsDir: join(dir, 'tools') }), (e: unknown) => {
        assert.ok(e instanceof CallbridgeError && e.code === 'CB_CONFIG_INVALID', String(e));
        assert.doesNotMatch(e.message, /secret/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
