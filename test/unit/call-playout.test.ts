import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlayoutTracker, type PlayedOutcome } from '../../src/call/playout.js';
import { ManualClock } from '../support/call-harness.js';

/** Records what the tracker sends; the test plays the transport's mark echoes. */
function channel() {
  const sent: string[] = [];
  let clears = 0;
  return {
    sent,
    get clears() {
      return clears;
    },
    sendMark(name: string) {
      sent.push(name);
    },
    clear() {
      clears++;
    },
  };
}

/** Whether the promise has settled (after a turn of the microtask queue). */
async function settled<T>(p: Promise<T>): Promise<{ done: boolean; value?: T }> {
  let state: { done: boolean; value?: T } = { done: false };
  void p.then((value) => (state = { done: true, value }));
  await new Promise((r) => setImmediate(r));
  return state;
}

describe('PlayoutTracker', () => {
  it('sends a uniquely named mark per chunk, naming utterance, cumulative ms and generation', () => {
    const ch = channel();
    const t = new PlayoutTracker(ch);
    t.sent('u1', 20);
    t.sent('u1', 20);
    t.sent('u2', 40);
    assert.deepEqual(ch.sent, ['g0:m1:u1:20ms', 'g0:m2:u1:40ms', 'g0:m3:u2:40ms']);
    assert.equal(new Set(ch.sent).size, 3);
    assert.equal(t.sentMs('u1'), 40);
    assert.equal(t.pendingMarks, 3);
  });

  it('mark echoes advance the played position (in order, implying earlier marks)', () => {
    const ch = channel();
    const t = new PlayoutTracker(ch);
    for (let i = 0; i < 5; i++) t.sent('u1', 20);
    assert.equal(t.playedMs('u1'), 0);
    assert.ok(t.onMark(ch.sent[0]!), 't.onMark(ch.sent[0]!)');
    assert.equal(t.playedMs('u1'), 20);
    assert.ok(t.onMark(ch.sent[2]!), 't.onMark(ch.sent[2]!)'); // the echo of m2 may be skipped: m3 implies it
    assert.equal(t.playedMs('u1'), 60);
    assert.ok(!t.onMark(ch.sent[1]!), 'an already implied mark changes nothing');
    assert.ok(!t.onMark('somebody-else'), '!t.onMark(\'somebody-else\')');
    assert.equal(t.pendingMarks, 2);
    assert.equal(t.isPlaying, true);
  });

  it('whenPlayed resolves only after the last mark is echoed', async () => {
    const ch = channel();
    const t = new PlayoutTracker(ch);
    t.sent('bye', 500);
    t.sent('bye', 500);
    const all = t.whenPlayed();
    const bye = t.whenPlayed('bye');
    t.onMark(ch.sent[0]!);
    assert.equal((await settled(all)).done, false);
    assert.equal((await settled(bye)).done, false);
    t.onMark(ch.sent[1]!);
    assert.deepEqual(await settled(all), { done: true, value: 'played' });
    assert.deepEqual(await settled(bye), { done: true, value: 'played' });
    assert.equal(t.playedMs('bye'), 1000);
    assert.equal(await t.whenPlayed(), 'played', 'nothing pending: resolves at once');
  });

  it('whenPlayed(utterance) ignores other utterances', async () => {
    const ch = channel();
    const t = new PlayoutTracker(ch);
    t.sent('a', 100);
    t.sent('b', 100);
    const a = t.whenPlayed('a');
    t.onMark(ch.sent[0]!);
    assert.deepEqual(await settled(a), { done: true, value: 'played' });
    assert.equal((await settled(t.whenPlayed('b'))).done, false);
  });

  it('interrupt: clear, generation bump, heard ms reported, echoes of cleared marks ignored', async () => {
    const ch = channel();
    const t = new PlayoutTracker(ch);
    for (let i = 0; i < 10; i++) t.sent('u1', 100); // 1 s sent
    t.sent('u2', 300);
    t.onMark(ch.sent[2]!); // 300 ms of u1 heard
    const waiting = t.whenPlayed();
    const result = t.interrupt();
    assert.equal(ch.clears, 1);
    assert.equal(t.generation, 1);
    assert.deepEqual(result, { utteranceId: 'u1', sentMs: 1000, heardMs: 300, alsoCleared: ['u2'] });
    assert.deepEqual(await settled(waiting), { done: true, value: 'cleared' as PlayedOutcome });
    // Twilio now echoes every pending mark: none of them counts as played.
    for (const name of ch.sent.slice(3)) assert.equal(t.onMark(name), false);
    assert.equal(t.playedMs('u1'), 300);
    assert.equal(t.playedMs('u2'), 0);
    assert.equal(t.pendingMarks, 0);
    // A new utterance after the clear uses the new generation and plays normally.
    t.sent('u3', 200);
    const name = ch.sent.at(-1)!;
    assert.match(name, /^g1:/);
    assert.ok(t.onMark(name), 't.onMark(name)');
    assert.equal(t.playedMs('u3'), 200);
  });

  it('interrupt with nothing playing still sends clear and returns null', () => {
    const ch = channel();
    const t = new PlayoutTracker(ch);
    assert.equal(t.interrupt(), null);
    assert.equal(ch.clears, 1);
    t.sent('u1', 100);
    t.onMark(ch.sent[0]!);
    assert.equal(t.interrupt(), null, 'fully played: nothing interrupted');
  });

  it('end() settles waits with "ended"', async () => {
    const ch = channel();
    const t = new PlayoutTracker(ch);
    t.sent('u1', 100);
    const w = t.whenPlayed();
    t.end();
    assert.deepEqual(await settled(w), { done: true, value: 'ended' });
    assert.equal(await t.whenPlayed(), 'ended');
  });

  it('with markEveryMs, chunks of one utterance share a mark: at 100 ms of audio, at the next utterance, or by the timer', async () => {
    const ch = channel();
    const clock = new ManualClock();
    const t = new PlayoutTracker(ch, { markEveryMs: 100, clock });
    for (let i = 0; i < 5; i++) t.sent('u1', 20);
    assert.deepEqual(ch.sent, ['g0:m1:u1:100ms'], 'five 20 ms chunks, one mark');
    t.sent('u1', 20);
    assert.ok(t.isPlaying, 'unmarked audio counts as playing');
    t.sent('u2', 20);
    assert.deepEqual(ch.sent, ['g0:m1:u1:100ms', 'g0:m2:u1:120ms'], 'a new utterance marks the end of the previous one');
    await clock.advance(99);
    assert.equal(ch.sent.length, 2, 'not before markEveryMs');
    await clock.advance(1);
    assert.deepEqual(ch.sent.slice(2), ['g0:m3:u2:20ms'], 'the timer marks the tail at the latest markEveryMs later');
    for (const name of ch.sent) t.onMark(name);
    assert.equal(t.playedMs('u1'), 120);
    assert.equal(t.playedMs('u2'), 20);
    assert.ok(!t.isPlaying, 'all played');
    // whenPlayed sends the held mark at once; interrupt counts unmarked audio as cleared.
    t.sent('u3', 40);
    const waiting = t.whenPlayed('u3');
    assert.equal(ch.sent.at(-1), 'g0:m4:u3:40ms', 'whenPlayed flushes the mark');
    t.onMark('g0:m4:u3:40ms');
    assert.equal(await waiting, 'played');
    t.sent('u4', 60);
    assert.deepEqual(t.interrupt(), { utteranceId: 'u4', sentMs: 60, heardMs: 0, alsoCleared: [] }, 'unmarked audio is what was playing');
    assert.ok(!t.isPlaying, 'nothing left after the clear');
    await clock.advance(200);
    assert.equal(ch.sent.at(-1), 'g0:m4:u3:40ms', 'no mark for cleared audio');
  });
});
