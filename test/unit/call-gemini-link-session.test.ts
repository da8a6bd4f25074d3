/**
 * GeminiLink: what a replacement session is given — caller audio from the outage, the conversation
 * so far (fresh sessions only), tool results the dead session may not have acted on.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Content } from '../../src/gemini/index.js';
import { CLOSES, Harness, advance, advanceUntil, resetMockTimers, useMockTimers } from './call-gemini-link.fakes.js';

beforeEach(useMockTimers);
afterEach(resetMockTimers);

const FRAME = 320; // 20 ms at 16 kHz

/** Sends `ms` of caller audio in 20 ms frames (one reused buffer, as the call does); sample n = (first + n) % 30000. */
function sendCallerAudio(h: Harness, ms: number, first = 0): number[] {
  const frame = new Int16Array(FRAME);
  const all: number[] = [];
  for (let f = 0; f < ms / 20; f++) {
    for (let i = 0; i < FRAME; i++) frame[i] = (first + f * FRAME + i) % 30_000;
    all.push(...frame);
    h.link.sendAudio(frame);
  }
  return all;
}

async function restoredAfterClose(h: Harness, close: readonly [number, string] = CLOSES.unavailable): Promise<void> {
  const before = h.ready.length;
  h.gemini.last.serverClose(close);
  await advanceUntil(() => h.ready.length === before + 1, 10_000);
}

describe('GeminiLink: caller audio during an outage', () => {
  it('keeps audio sent before the first session is up and sends it, in order, right after ready', async () => {
    const h = new Harness();
    h.gemini.plan('hold');
    await h.start();
    const sent = sendCallerAudio(h, 600);
    assert.equal(h.gemini.sessions.length, 0);
    h.gemini.held.shift()!('ok');
    await advance(0);
    assert.equal(h.link.state, 'ready');
    assert.deepEqual(h.gemini.last.audioSamples(), sent);
    assert.ok(h.gemini.last.sent.every((s) => s.kind === 'audio' && s.samples.length <= 1600), 'sent in chunks of at most 100 ms');
    const live = sendCallerAudio(h, 40, 5);
    assert.deepEqual(h.gemini.last.audioSamples(), [...sent, ...live], 'live audio follows');
  });

  it('keeps only the last 2 s', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.last.handle('h1');
    h.gemini.last.serverClose(CLOSES.unavailable);
    const sent = sendCallerAudio(h, 3000);
    await advanceUntil(() => h.ready.length === 2, 5000);
    const got = h.gemini.last.audioSamples();
    assert.equal(got.length, 2000 * 16);
    assert.deepEqual(got, sent.slice(-32_000), 'the newest 2 s, oldest first');
  });

  it('honours outageAudioMs', async () => {
    const h = new Harness({ outageAudioMs: 100 });
    await h.start();
    h.gemini.last.serverClose(CLOSES.unavailable);
    const sent = sendCallerAudio(h, 1000);
    await advanceUntil(() => h.ready.length === 2, 5000);
    assert.deepEqual(h.gemini.last.audioSamples(), sent.slice(-1600));
  });

  it('sends the outage audio after what a ready listener replays, and after the re-seeding', async () => {
    const history: Content[] = [{ role: 'user', parts: [{ text: 'hello' }] }];
    const h = new Harness({ history: () => history });
    await h.start();
    const replay = new Int16Array([7, 7, 7]);
    h.link.on('ready', (info) => {
      if (info.cause === 'fault') h.link.sendAudioBurst(replay);
    });
    h.gemini.last.serverClose(CLOSES.unavailable); // no handle: a fresh session
    const outage = sendCallerAudio(h, 100, 100);
    await advanceUntil(() => h.ready.length === 2, 5000);
    const s2 = h.gemini.last;
    assert.equal(s2.sent[0]?.kind, 'clientContent', 'history first');
    assert.deepEqual(s2.audioSamples(), [7, 7, 7, ...outage]);
  });

  it('ignores caller audio once the link has failed or closed', async () => {
    const h = new Harness({ models: ['m-a'] });
    await h.start();
    h.gemini.last.serverClose(CLOSES.invalidArgument);
    assert.equal(h.link.state, 'failed');
    sendCallerAudio(h, 100);
    await h.link.close();
    sendCallerAudio(h, 100);
    assert.equal(h.gemini.last.lateSends, 0, 'nothing sent to the dead session');
  });
});

describe('GeminiLink: re-seeding a fresh session', () => {
  const history: Content[] = [
    { role: 'user', parts: [{ text: 'I would like to book a cleaning' }] },
    { role: 'model', parts: [{ text: 'Sure, which day?' }] },
    { role: 'user', parts: [{ text: '(The line dropped. Continue.)' }] },
  ];

  it('gives a fresh (not resumed) session the history, turnComplete false, before anything else', async () => {
    let calls = 0;
    const h = new Harness({ history: () => (calls++, history) });
    await h.start();
    assert.equal(calls, 0, 'not asked for at the start');
    await restoredAfterClose(h);
    assert.equal(h.ready[1]!.resumed, false);
    assert.deepEqual(h.gemini.last.sent[0], { kind: 'clientContent', turns: history, turnComplete: false });
    assert.equal(h.gemini.last.clientContents().length, 1);
  });

  it('does not re-seed a resumed session (it keeps its context)', async () => {
    const h = new Harness({ history: () => history });
    await h.start();
    h.gemini.last.handle('h1');
    await restoredAfterClose(h);
    assert.equal(h.ready[1]!.resumed, true);
    assert.deepEqual(h.gemini.last.clientContents(), []);
  });

  it('re-seeds after a fallback to another model (a handle does not cross models)', async () => {
    const h = new Harness({ history: () => history });
    await h.start();
    h.gemini.last.handle('h1');
    await restoredAfterClose(h, CLOSES.modelNotFound);
    assert.equal(h.ready[1]!.model, 'm-b');
    assert.deepEqual(h.gemini.last.clientContents(), [{ turns: history, turnComplete: false }]);
  });

  it('sends nothing for an empty history', async () => {
    const h = new Harness({ history: () => [] });
    await h.start();
    await restoredAfterClose(h);
    assert.deepEqual(h.gemini.last.sent, []);
  });

  it('a history callback that throws does not stop the session from coming up', async () => {
    const h = new Harness({
      history: () => {
        throw new Error('transcript unavailable');
      },
    });
    await h.start();
    await restoredAfterClose(h);
    assert.equal(h.link.state, 'ready');
    assert.equal(h.ready[1]!.cause, 'fault');
  });
});

describe('GeminiLink: tool results across a reconnect', () => {
  const result = (id: string, output: unknown = { slot: '9:00' }) => ({ id, name: 'lookup', response: { output } });
  const told = (h: Harness) => h.gemini.last.clientContents().filter((c) => c.turns.some((t) => t.parts.some((p) => p.text?.includes('function results'))));

  it('answers a call of the current session by id', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.last.toolCall('c1');
    h.link.sendToolResponse([result('c1')]);
    assert.deepEqual(h.gemini.last.sent, [{ kind: 'toolResponse', responses: [result('c1')] }]);
  });

  it('tells the new session a result the dead one got but had not acted on', async () => {
    const h = new Harness();
    await h.start();
    const s1 = h.gemini.last;
    s1.handle('h1');
    s1.toolCall('c1');
    h.link.sendToolResponse([result('c1', { slot: 'Tuesday 9:00' })]);
    await restoredAfterClose(h);
    assert.equal(h.ready[1]!.resumed, true);
    const t = told(h);
    assert.equal(t.length, 1, 'told once');
    assert.equal(t[0]!.turnComplete, true, 'so the model carries on');
    assert.match(t[0]!.turns[0]!.parts[0]!.text!, /lookup: \{"output":\{"slot":"Tuesday 9:00"\}\}/);
    assert.ok(!h.gemini.last.sent.some((s) => s.kind === 'toolResponse'), 'not as a toolResponse: the new session has no such call');
  });

  it('does not re-send a result the model already followed with content', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.last.toolCall('c1');
    h.link.sendToolResponse([result('c1')]);
    h.gemini.last.speak();
    await restoredAfterClose(h);
    assert.deepEqual(told(h), []);
  });

  it('keeps telling the results while no model content has followed them (another close)', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.last.toolCall('c1');
    h.link.sendToolResponse([result('c1')]);
    await restoredAfterClose(h);
    await restoredAfterClose(h);
    assert.equal(told(h).length, 1, 'the third session is told too');
    h.gemini.last.speak();
    await restoredAfterClose(h);
    assert.deepEqual(told(h), [], 'not after content');
  });

  it('tells the new session a result for a call of the dead session that arrives during the outage', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.last.toolCall('c1');
    h.gemini.last.serverClose(CLOSES.unavailable);
    h.link.sendToolResponse([result('c1', 'booked')]);
    await advanceUntil(() => h.ready.length === 2, 5000);
    assert.equal(told(h).length, 1);
    assert.match(told(h)[0]!.turns[0]!.parts[0]!.text!, /lookup: \{"output":"booked"\}/);
  });

  it('tells at once a result for a dead session’s call that arrives after the new session is up', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.last.toolCall('c1');
    await restoredAfterClose(h);
    assert.equal(h.gemini.last.sent.length, 0, 'nothing to tell yet');
    h.link.sendToolResponse([result('c1', 'booked')]);
    assert.equal(told(h).length, 1);
    assert.ok(!h.gemini.last.sent.some((s) => s.kind === 'toolResponse'), 'not answered by an id the session does not know');
  });

  it('does not repeat, as text, results the session got by id or was already told', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.last.server({ type: 'toolCall', calls: ['c1', 'c2', 'c4'].map((id) => ({ id, name: 'lookup', args: {} })) });
    h.gemini.last.serverClose(CLOSES.unavailable);
    h.link.sendToolResponse([result('c1', 'first')]);
    await advanceUntil(() => h.ready.length === 2, 5000);
    const s2 = h.gemini.last;
    assert.equal(told(h).length, 1);
    h.link.sendToolResponse([result('c2', 'second')]);
    assert.equal(told(h).length, 2);
    const second = told(h)[1]!.turns[0]!.parts[0]!.text!;
    assert.match(second, /"second"/);
    assert.doesNotMatch(second, /"first"/, 'c1 was told already');
    s2.toolCall('c3');
    h.link.sendToolResponse([result('c3', 'third'), result('c4', 'fourth')]);
    assert.deepEqual(s2.sent.filter((s) => s.kind === 'toolResponse'), [{ kind: 'toolResponse', responses: [result('c3', 'third')] }]);
    const third = told(h).at(-1)!.turns[0]!.parts[0]!.text!;
    assert.match(third, /"fourth"/);
    assert.doesNotMatch(third, /"third"/, 'c3 went by id');
  });
});

describe('GeminiLink: sending while down', () => {
  it('sendClientContent reports whether it was sent; a turn asking for a reply reaches the next session', async () => {
    const h = new Harness();
    h.gemini.plan('hold');
    await h.start();
    assert.equal(h.link.sendClientContent([{ role: 'user', parts: [{ text: 'context' }] }], false), false, 'not sent: no session');
    assert.equal(h.link.sendClientContent([{ role: 'user', parts: [{ text: 'hi' }] }]), false, 'not sent: no session');
    h.gemini.held.shift()!('ok');
    await advance(0);
    assert.deepEqual(h.gemini.last.sent, [{ kind: 'clientContent', turns: [{ role: 'user', parts: [{ text: 'hi' }] }], turnComplete: true }], 'the owed turn went to the new session; plain context did not');
    assert.equal(h.link.sendClientContent([{ role: 'user', parts: [{ text: 'more' }] }], false), true);
  });
});
