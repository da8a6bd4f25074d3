/**
 * Live calls over server-sent events through the real server: the /calls feed sees a call appear
 * in progress, its words as they are said, and the call leave "in progress" when it ends; the
 * call's own feed starts with what is stored and grows without repeating an event, then ends.
 * Everything waits on events, never on time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRig } from '../support/e2e.js';
import { SseClient, type SseEvent } from '../support/sse.js';
import type { ScriptStep } from '../../src/simulator/index.js';

const TOKEN = 'live-admin-token-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };

interface LiveCall {
  callSid: string;
  inProgress: boolean;
  channel: string;
  outcome: string;
}
const callOf = (e: SseEvent) => (e.data as { call: LiveCall }).call;

describe('live calls (SSE)', () => {
  it('a call appears in progress, its transcript grows, and it leaves "in progress" when it ends', async () => {
    const rig = await startRig({
      env: { ADMIN_TOKEN: TOKEN },
      emulator: { timing: FAST, scenario: { name: 'live', turns: [{ heard: 'What are your opening hours?', say: 'We are open from nine to five.' }] } },
    });
    try {
      assert.equal((await fetch(`${rig.bridge.url}/api/calls/live`)).status, 401, 'the feed needs the admin token');
      const list = await SseClient.open(`${rig.bridge.url}/api/calls/live`, AUTH);
      assert.equal(list.status, 200);
      const snapshot = await list.next((e) => e.event === 'snapshot');
      assert.deepEqual((snapshot.data as { calls: unknown[] }).calls, []);

      // The caller waits for the greeting, asks, and hangs up after the answer.
      const script: ScriptStep[] = [
        { waitForBotSpeech: { timeoutMs: 15000 } },
        { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } },
        { tone: { hz: 300, durationMs: 500, amplitude: 8000 } },
        { waitForBotSpeech: { timeoutMs: 15000 } },
        { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } },
      ];
      const placed = rig.call({ timeScale: 0.5, maxDurationMs: 30000, script });

      const appeared = callOf(await list.next((e) => e.event === 'call' && callOf(e).inProgress));
      assert.equal(appeared.channel, 'phone');
      assert.equal(appeared.outcome, 'in_progress');
      const sid = appeared.callSid;

      const one = await SseClient.open(`${rig.bridge.url}/api/calls/${sid}/live`, AUTH);
      assert.equal(one.status, 200);
      const first = (await one.next((e) => e.event === 'snapshot')).data as { call: LiveCall; events: Array<{ seq: number; kind: string }> };
      assert.equal(first.call.callSid, sid);
      // Grows: an utterance of either side arrives after the snapshot was taken.
      await one.next((e) => e.event === 'event' && /_utterance$/.test((e.data as { kind: string }).kind));
      const said = await list.next((e) => e.event === 'said' && (e.data as { callSid: string }).callSid === sid);
      assert.match((said.data as { who: string }).who, /^(caller|bot)$/);

      const ended = callOf(await one.next((e) => e.event === 'ended'));
      assert.notEqual(ended.outcome, 'in_progress');
      await one.done; // the server closes the call's stream once it has ended
      const left = callOf(await list.next((e) => e.event === 'call' && callOf(e).callSid === sid && !callOf(e).inProgress));
      assert.equal(left.outcome, ended.outcome);
      await placed;

      // Snapshot + live tail: every event once, numbered 1..n, and the same as what was stored.
      const tail = one.events.filter((e) => e.event === 'event').map((e) => (e.data as { seq: number }).seq);
      const seqs = [...first.events.map((e) => e.seq), ...tail].sort((a, b) => a - b);
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'no event twice, none missing');
      await rig.bridge.writer.flush();
      assert.equal((await rig.bridge.store.getEvents(sid)).length, seqs.length);

      // A call that has ended: snapshot, then ended at once.
      const later = await SseClient.open(`${rig.bridge.url}/api/calls/${sid}/live`, AUTH);
      await later.done;
      assert.deepEqual(later.events.map((e) => e.event), ['snapshot', 'ended']);
      assert.equal((await fetch(`${rig.bridge.url}/api/calls/CA${'0'.repeat(32)}/live`, { headers: AUTH })).status, 404);
      assert.equal((await fetch(`${rig.bridge.url}/api/calls/CAunknown000/live`, { headers: AUTH })).status, 400, 'a malformed id is a bad request');
      list.close();
      await list.done;
    } finally {
      await rig.close();
    }
  });
});
