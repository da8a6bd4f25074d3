/**
 * Issue 6: kill the server mid-call (SIGKILL) and the call's events up to the last second are in
 * the store. The server runs as its own process (src/main.ts, as `npm start` does); the caller
 * simulator keys a stream of DTMF digits into a live call — each digit is recorded the moment it
 * arrives, and the test knows exactly when it sent each one — then the server is killed without
 * warning and the store reopened.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../../src/emulator/index.js';
import { placeCall, type ScriptStep } from '../../src/simulator/index.js';
import { openSqliteStore } from '../../src/transcripts/index.js';
import { testFlow } from '../support/e2e.js';
import { serverDirs, startServerProcess } from '../support/server-process.js';

describe('durability of call records', () => {
  it('SIGKILL mid-call: every event older than 1 s before the kill is in the store', async () => {
    const { dir, env } = serverDirs('cb-kill-', { 'line.yaml': testFlow() });
    const emulator = await startEmulator({
      port: 0,
      host: '127.0.0.1',
      timing: { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4 },
      scenario: { name: 'keys', turns: [], endOfScenario: { mode: 'silent' } },
    });
    const authToken = 'sigkill-test-auth-token';
    const server = await startServerProcess({
      ...env,
      GEMINI_LIVE_URL: emulator.url,
      TWILIO_AUTH_TOKEN: authToken,
    });
    const url = server.url;
    try {
      const digits: ScriptStep[] = [];
      for (let i = 0; i < 60; i++) digits.push({ dtmf: String(i % 10) }, { silence: 100 });
      const call = placeCall({
        serverUrl: url,
        from: '+15557654321',
        to: '+15550100100',
        authToken,
        script: [{ waitForBotSpeech: { timeoutMs: 15000 } }, ...digits],
        maxDurationMs: 60_000,
      });
      // Kill the server once a few seconds of digits have gone in.
      await new Promise((r) => setTimeout(r, 4500));
      const killedAt = performance.now();
      server.child.kill('SIGKILL');
      const result = await call;

      const sent = result.timeline
        .filter((e) => e.kind === 'dtmf')
        .map((e) => ({ digit: e.kind === 'dtmf' ? e.digit : '', at: result.originPerfMs + e.atMs * result.timeScale }));
      const due = sent.filter((d) => d.at <= killedAt - 1000);
      assert.ok(due.length >= 15, `enough digits were keyed more than 1 s before the kill (${due.length} of ${sent.length})`);

      const store = openSqliteStore({ dataDir: join(dir, 'data') });
      try {
        const record = await store.getCall(result.callSid);
        assert.ok(record, 'the call record survived');
        assert.equal(record.outcome, 'in_progress', 'the call never finished: the record says so');
        assert.ok(record.streamSid, 'the stream was recorded');
        const events = await store.getEvents(result.callSid);
        const stored = events.filter((e) => e.kind === 'dtmf').map((e) => (e.kind === 'dtmf' ? e.digit : ''));
        assert.ok(stored.length >= due.length, `stored ${stored.length} digits; ${due.length} were keyed more than 1 s before the kill`);
        assert.deepEqual(stored.slice(0, due.length), due.map((d) => d.digit), 'in order, none missing');
        assert.ok(events.some((e) => e.kind === 'bot_utterance'), 'the greeting is there too');
        console.log(`# sigkill: ${sent.length} digits keyed, ${due.length} more than 1 s before the kill, ${stored.length} stored`);
      } finally {
        await store.close();
      }
    } finally {
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
