/**
 * Post-call analysis through the real server (simulator → callbridge → emulator, whose REST
 * generateContent answers from the transcript): a call ends, its analysis appears in
 * GET /api/calls/:id with the summary, follow-up and declared fields, after generateContent failed
 * twice (503, then 429 with RetryInfo); the list filters followUp=true and field values; the
 * exports carry it. And a job still queued when callbridge stops is done after it starts again.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRig, testFlow, type Rig } from '../support/e2e.js';
import type { ScriptStep } from '../../src/simulator/index.js';
import { loadEnv } from '../../src/config/env.js';
import { silentLogger } from '../../src/shared/log.js';
import { startCallbridge } from '../../src/app.js';
import type { CallAnalysis } from '../../src/transcripts/after-call-store.js';
import { openSqliteStore } from '../../src/transcripts/sqlite-store.js';
import { SqliteJobQueue } from '../../src/transcripts/sqlite-jobs.js';

const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };
const SCRIPT: ScriptStep[] = [
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } },
  { tone: { hz: 300, durationMs: 500, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 1200, timeoutMs: 20000 } },
];
const LINE = testFlow({
  topLevel: [
    'analysis:',
    '  fields:',
    '    callback_number: { type: string, description: Number the caller wants to be called back on }',
    '    appointment_booked: { type: boolean }',
    '    reason: { type: enum, values: [booking, billing, emergency, other] }',
  ].join('\n'),
});
const EMULATOR = {
  timing: FAST,
  scenario: { name: 'callback', turns: [{ heard: 'I need a booking, please call me back on 0207 946 0958', say: 'Someone will call you back.' }] },
};

async function analysisOf(url: string, sid: string, until: (a: CallAnalysis | undefined) => boolean): Promise<CallAnalysis | undefined> {
  // Polls until the analysis settles; the test runner's timeout bounds the wait.
  for (;;) {
    const body = (await (await fetch(`${url}/api/calls/${sid}`)).json()) as { analysis?: CallAnalysis };
    if (until(body.analysis)) return body.analysis;
    await new Promise((r) => setTimeout(r, 50));
  }
}
const settled = (a: CallAnalysis | undefined) => a !== undefined && a.status !== 'pending';

describe('post-call analysis on real calls', { timeout: 90_000 }, () => {
  it('shows the analysis after generateContent failed twice, filters the list by it, exports it', async () => {
    const rig: Rig = await startRig({ flows: { 'line.yaml': LINE }, emulator: EMULATOR, bridge: { afterCall: { pollMs: 50, limits: { baseMs: 20, maxDelayMs: 100 } } } });
    try {
      rig.emulator.generate.inject([{ status: 503 }, { status: 429, retryDelay: '0.1s' }]);
      const call = await rig.call({ timeScale: 0.5, maxDurationMs: 30000, script: SCRIPT });
      const a = await analysisOf(rig.bridge.url, call.callSid, settled);
      assert.equal(a?.status, 'ok', JSON.stringify(a));
      assert.match(a!.summary, /call me back/);
      assert.equal(a!.followUp, true);
      assert.deepEqual(Object.keys(a!.fields).sort(), ['appointment_booked', 'callback_number', 'reason']);
      assert.equal(a!.fields.reason, 'booking');
      assert.equal(a!.fields.callback_number, '02079460958');
      assert.equal(rig.emulator.generate.requests, 3);
      const jobs = await rig.bridge.afterCall.queue.jobsOf(call.callSid);
      assert.deepEqual(jobs.filter((j) => j.kind === 'analysis').map((j) => [j.state, j.attempts]), [['done', 3]]);

      const list = async (q: string) => ((await (await fetch(`${rig.bridge.url}/api/calls?${q}`)).json()) as { calls: Array<{ callSid: string; analysis?: CallAnalysis }> }).calls;
      assert.deepEqual((await list('followUp=true')).map((c) => c.callSid), [call.callSid]);
      assert.deepEqual((await list('followUp=any')).map((c) => c.callSid), []); // the rules saw nothing wrong
      assert.deepEqual((await list('field.reason=booking')).map((c) => c.callSid), [call.callSid]);
      assert.deepEqual(await list('field.reason=billing'), []);
      assert.equal((await list(''))[0]?.analysis?.intent, a!.intent);
      const bad = await fetch(`${rig.bridge.url}/api/calls?field.Bad-Name=x`);
      assert.equal(bad.status, 400);

      const json = (await (await fetch(`${rig.bridge.url}/api/calls/${call.callSid}/export.json`)).json()) as { analysis?: CallAnalysis };
      assert.equal(json.analysis?.summary, a!.summary);
      const text = await (await fetch(`${rig.bridge.url}/api/calls/${call.callSid}/export.txt`)).text();
      assert.match(text, /Follow-up:\s+yes/);
    } finally {
      await rig.close();
    }
  });

  it('finishes a queued analysis after callbridge restarts', async () => {
    const rig = await startRig({ flows: { 'line.yaml': LINE }, emulator: EMULATOR, bridge: { afterCall: { pollMs: 50 } } });
    try {
      // Gemini asks for an hour's wait: the job is still queued when the server stops.
      rig.emulator.generate.inject([{ status: 429, retryDelay: '3600s' }]);
      const call = await rig.call({ timeScale: 0.5, maxDurationMs: 30000, script: SCRIPT });
      await analysisOf(rig.bridge.url, call.callSid, () => rig.emulator.generate.requests === 1);
      await rig.bridge.shutdown(2000);
      const stopped = openSqliteStore({ dataDir: rig.dataDir, readOnly: true });
      assert.deepEqual((await new SqliteJobQueue(stopped.database).jobsOf(call.callSid)).map((j) => [j.key, j.state]), [[`analysis:${call.callSid}`, 'queued']]);
      await stopped.close();
      const env = loadEnv({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATA_DIR: rig.dataDir, GEMINI_LIVE_URL: rig.emulator.url });
      const hourLater = () => Date.now() + 2 * 3600_000;
      const again = await startCallbridge({ env, log: silentLogger(), flowsDir: rig.flowsDir, toolsDir: rig.toolsDir, watchFlows: false, afterCall: { pollMs: 50, nowMs: hourLater } });
      try {
        const a = await analysisOf(again.url, call.callSid, settled);
        assert.equal(a?.status, 'ok');
        assert.equal(rig.emulator.generate.requests, 2);
      } finally {
        await again.shutdown(2000);
      }
    } finally {
      await rig.close();
    }
  });
});
