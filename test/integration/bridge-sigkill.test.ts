/**
 * Issue 6: kill the server mid-call (SIGKILL) and the call's events are in the store. The server
 * runs as its own process (src/main.ts, as `npm start` does); the caller simulator keys a stream
 * of DTMF digits into a live call — each digit is recorded the moment it arrives — while this
 * test reads the server's store as it fills; then the server is killed without warning and the
 * store reopened.
 *
 * No wall-clock limit is asserted (the machine may be busy): what a reader saw committed before
 * the kill must be there after it, and the store must have filled step by step while the caller
 * was still keying, not only at the end of the call.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../../src/emulator/index.js';
import { placeCall, randomSid, type ScriptStep } from '../../src/simulator/index.js';
import { openSqliteStore } from '../../src/transcripts/index.js';
import { testFlow } from '../support/e2e.js';
import { serverDirs, startServerProcess } from '../support/server-process.js';

/** Digits in the store, in stored order ([] while there is no database yet). */
async function storedDigits(dataDir: string, callSid: string): Promise<string[]> {
  let store;
  try {
    store = openSqliteStore({ dataDir, readOnly: true });
  } catch {
    return [];
  }
  try {
    return (await store.getEvents(callSid)).flatMap((e) => (e.kind === 'dtmf' ? [e.digit] : []));
  } finally {
    await store.close();
  }
}

describe('durability of call records', () => {
  it('SIGKILL mid-call: every event committed before the kill is in the store; the store filled as the call went on', async () => {
    const { dir, env } = serverDirs('cb-kill-', { 'line.yaml': testFlow() });
    const dataDir = join(dir, 'data');
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
      const callSid = randomSid('CA');
      let callOver = false;
      const call = placeCall({
        serverUrl: url,
        from: '+15557654321',
        to: '+15550100100',
        callSid,
        authToken,
        script: [{ waitForBotSpeech: { timeoutMs: 15000 } }, ...digits],
        maxDurationMs: 60_000,
      }).finally(() => (callOver = true));

      // Read the store as the server fills it; kill the server once it has been seen growing a few
      // times (commits while the call goes on) and holds enough digits to judge.
      const growth: number[] = [];
      let seen: string[] = [];
      while (!callOver && !(growth.length >= 5 && seen.length >= 15)) {
        const now = await storedDigits(dataDir, callSid);
        if (now.length > seen.length) growth.push(now.length);
        seen = now;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(!callOver, `the store filled while the call went on: seen growing ${growth.length} times (${growth.join(', ')} digits) before the caller had keyed all 60`);
      server.child.kill('SIGKILL');
      const result = await call;
      const sent = result.timeline.flatMap((e) => (e.kind === 'dtmf' ? [e.digit] : []));

      const store = openSqliteStore({ dataDir });
      try {
        const record = await store.getCall(result.callSid);
        assert.ok(record, 'the call record survived');
        assert.equal(record.outcome, 'in_progress', 'the call never finished: the record says so');
        assert.ok(record.streamSid, 'the stream was recorded');
        const events = await store.getEvents(result.callSid);
        const stored = events.filter((e) => e.kind === 'dtmf').map((e) => (e.kind === 'dtmf' ? e.digit : ''));
        assert.ok(stored.length >= seen.length, `stored ${stored.length} digits; ${seen.length} were committed before the kill`);
        assert.deepEqual(stored.slice(0, seen.length), seen, 'what was committed before the kill is still there');
        assert.deepEqual(stored, sent.slice(0, stored.length), 'the digits as keyed: in order, none missing');
        assert.ok(events.some((e) => e.kind === 'bot_utterance'), 'the greeting is there too');
        console.log(`# sigkill: ${sent.length} digits keyed; the store was seen holding ${growth.join(', ')} before the kill; ${stored.length} stored after it`);
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
