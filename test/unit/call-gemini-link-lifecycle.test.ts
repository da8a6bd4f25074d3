/**
 * GeminiLink: goAway handover, close() at every stage, and events of replaced sessions.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLOSES, Harness, advance, advanceUntil, resetMockTimers, useMockTimers } from './call-gemini-link.fakes.js';

beforeEach(useMockTimers);
afterEach(resetMockTimers);

const handedOver = (h: Harness) => h.gemini.journal.includes('close #1');

describe('GeminiLink: goAway', () => {
  it('waits for a quiet moment, closes the old socket, then resumes with the handle', async () => {
    const h = new Harness();
    await h.start();
    const s1 = h.gemini.last;
    s1.handle('h1');
    s1.speak(); // generating
    s1.server({ type: 'goAway', timeLeftMs: 30_000 });
    assert.equal(h.events.at(-1)?.type, 'goAway', 'the goAway itself reaches the call');
    await advance(5000);
    assert.equal(handedOver(h), false, 'not while the model speaks');
    s1.server({ type: 'turnComplete' });
    await advance(0);
    assert.deepEqual(h.gemini.journal, ['connect m-a', 'close #1', 'closed #1', 'connect m-a h1']);
    assert.equal(s1.closedWith, 'goAway handover');
    assert.equal(h.ready[1]!.outageMs, 0, 'no time without a session');
    assert.equal(h.ready.length, 2);
    assert.equal(h.ready[1]!.cause, 'goAway');
    assert.equal(h.ready[1]!.resumed, true);
    assert.deepEqual(h.down, [], 'a handover is not a fault');
    assert.equal(h.link.session, h.gemini.last.asSession);
  });

  it('not while the caller talks or waits for the answer to what they said: after that answer', async () => {
    const h = new Harness();
    await h.start();
    const s1 = h.gemini.last;
    s1.handle('h1');
    h.link.callerSpeaking(true);
    s1.server({ type: 'goAway', timeLeftMs: 30_000 });
    await advance(1000);
    assert.equal(handedOver(h), false, 'not while the caller talks');
    h.link.callerSpeaking(false);
    s1.server({ type: 'sessionResumptionUpdate', resumable: true, newHandle: 'h2' });
    await advance(1000);
    assert.equal(handedOver(h), false, 'not while the answer is due (a hand-over would lose it)');
    s1.speak();
    s1.server({ type: 'turnComplete' });
    await advance(0);
    assert.equal(handedOver(h), true, 'right after the answer');
    assert.deepEqual(h.gemini.calls.map((c) => c.handle), [undefined, 'h2']);
  });

  it('does not connect until the old socket has closed; caller audio meanwhile is kept', async () => {
    const h = new Harness();
    await h.start();
    const s1 = h.gemini.last;
    s1.handle('h1');
    s1.holdClose = true;
    s1.server({ type: 'goAway', timeLeftMs: 30_000 }); // quiet already: hand over now
    await advance(0);
    assert.deepEqual(h.gemini.journal, ['connect m-a', 'close #1']);
    assert.equal(h.link.state, 'recovering');
    h.link.sendAudio(new Int16Array([1, 2, 3]));
    await advance(2000);
    assert.equal(h.gemini.calls.length, 1, 'no resume while the old socket is open');
    s1.finishClose();
    await advance(0);
    assert.deepEqual(h.gemini.journal, ['connect m-a', 'close #1', 'closed #1', 'connect m-a h1']);
    assert.deepEqual(h.gemini.last.audioSamples(), [1, 2, 3]);
    assert.equal(s1.lateSends, 0, 'nothing went to the closing socket');
  });

  it('a pending tool call is not a quiet moment', async () => {
    const h = new Harness();
    await h.start();
    const s1 = h.gemini.last;
    s1.handle('h1');
    s1.toolCall('c1');
    s1.server({ type: 'turnComplete' });
    s1.server({ type: 'goAway', timeLeftMs: 30_000 });
    s1.server({ type: 'usage', usage: {} });
    await advance(1000);
    assert.equal(handedOver(h), false, 'the tool call is unanswered');
    h.link.sendToolResponse([{ id: 'c1', name: 'lookup', response: { output: 'ok' } }]);
    s1.speak();
    s1.server({ type: 'turnComplete' });
    await advance(0);
    assert.equal(handedOver(h), true);
    assert.deepEqual(h.gemini.calls.map((c) => c.handle), [undefined, 'h1']);
  });

  it('hands over at the deadline minus the margin if no quiet moment comes', async () => {
    const h = new Harness({ goAwayMarginMs: 1500 });
    await h.start();
    const s1 = h.gemini.last;
    s1.handle('h1');
    s1.toolCall('c1');
    s1.server({ type: 'goAway', timeLeftMs: 5000 });
    const waitedMs = await advanceUntil(() => handedOver(h), 10_000);
    assert.equal(waitedMs, 3500);
    await advance(0);
    assert.deepEqual(h.gemini.journal.slice(-2), ['closed #1', 'connect m-a h1']);
    assert.equal(h.ready[1]!.cause, 'goAway');
    // The call's tool finishes after the handover: the new session is told.
    h.link.sendToolResponse([{ id: 'c1', name: 'lookup', response: { output: 'done' } }]);
    assert.ok(h.gemini.last.clientText().some((t) => t.includes('lookup: {"output":"done"}')), 'result told to the new session');
  });

  it('without a timeLeft, hands over at once', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.last.speak();
    h.gemini.last.server({ type: 'goAway' });
    await advance(0);
    assert.equal(handedOver(h), true);
  });

  it('with no handle, the new session is fresh and re-seeded', async () => {
    const history = [{ role: 'user' as const, parts: [{ text: 'so far' }] }];
    const h = new Harness({ history: () => history });
    await h.start();
    h.gemini.last.server({ type: 'goAway', timeLeftMs: 10_000 });
    await advance(0);
    assert.equal(h.ready[1]!.resumed, false);
    assert.deepEqual(h.gemini.last.clientContents(), [{ turns: history, turnComplete: false }]);
  });

  it('a close of the old session during its deadline wait recovers as a fault, once', async () => {
    const h = new Harness();
    await h.start();
    const s1 = h.gemini.last;
    s1.handle('h1');
    s1.speak();
    s1.server({ type: 'goAway', timeLeftMs: 5000 });
    await advance(1000);
    s1.serverClose(CLOSES.internal);
    await advanceUntil(() => h.ready.length === 2, 5000);
    assert.equal(h.ready[1]!.cause, 'fault');
    await advance(10_000);
    assert.equal(h.gemini.calls.length, 2, 'the goAway deadline does not start a second handover');
    assert.equal(h.gemini.last.isOpen, true);
  });
});

describe('GeminiLink: close()', () => {
  it('while ready: closes the session, no down, no reconnect', async () => {
    const h = new Harness();
    await h.start();
    await h.link.close();
    assert.equal(h.link.state, 'closed');
    assert.equal(h.link.session, undefined);
    assert.equal(h.gemini.last.closedWith, 'call ended');
    await advance(60_000);
    assert.deepEqual([h.gemini.calls.length, h.down.length], [1, 0]);
    h.link.sendAudio(new Int16Array(320));
    h.link.sendToolResponse([{ id: 'c1', name: 'x', response: { output: 1 } }]);
    assert.equal(h.gemini.last.lateSends, 0);
  });

  it('during backoff: no further attempt', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.last.serverClose(CLOSES.unavailable);
    await advance(50);
    await h.link.close();
    await advance(60_000);
    assert.equal(h.gemini.calls.length, 1);
    assert.equal(h.link.session, undefined);
    assert.equal(h.ready.length, 1);
  });

  it('during the backoff of the first connect: start() resolves false', async () => {
    const h = new Harness();
    h.gemini.plan(new Error('ECONNRESET'));
    const { started } = await h.start();
    assert.equal(h.gemini.calls.length, 1);
    await h.link.close();
    assert.equal(await started, false);
    await advance(60_000);
    assert.equal(h.gemini.calls.length, 1);
  });

  it('during a pending connect: a session that arrives later is closed, never used', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.plan('hold');
    h.gemini.last.serverClose(CLOSES.unavailable);
    await advanceUntil(() => h.gemini.calls.length === 2, 5000);
    await h.link.close();
    h.gemini.held.shift()!('ok');
    await advance(0);
    const late = h.gemini.last;
    assert.equal(late.id, 2);
    assert.equal(late.isOpen, false, 'the late session was closed');
    assert.equal(late.closedWith, 'call ended');
    assert.equal(h.link.session, undefined);
    assert.equal(h.ready.length, 1, 'no ready after close');
    await advance(60_000);
    assert.equal(h.gemini.calls.length, 2);
  });

  it('during a pending connect that then fails: no down, no retry', async () => {
    const h = new Harness();
    h.gemini.plan('hold');
    const { started } = await h.start();
    await h.link.close();
    assert.equal(await started, false);
    h.gemini.held.shift()!(new Error('ECONNREFUSED'));
    await advance(60_000);
    assert.deepEqual([h.gemini.calls.length, h.down.length, h.failed.length], [1, 0, 0]);
  });

  it('during a goAway handover: no connect after the old socket closes', async () => {
    const h = new Harness();
    await h.start();
    const s1 = h.gemini.last;
    s1.holdClose = true;
    s1.server({ type: 'goAway', timeLeftMs: 10_000 });
    await advance(0);
    const closing = h.link.close();
    s1.finishClose();
    await closing;
    await advance(60_000);
    assert.equal(h.gemini.calls.length, 1);
    assert.equal(h.link.state, 'closed');
  });
});

describe('GeminiLink: replaced sessions', () => {
  it('events of a session that died no longer reach listeners', async () => {
    const h = new Harness();
    await h.start();
    const s1 = h.gemini.last;
    await advance(0);
    s1.serverClose(CLOSES.unavailable);
    await advanceUntil(() => h.ready.length === 2, 5000);
    const before = h.events.length;
    s1.speak();
    s1.server({ type: 'goAway', timeLeftMs: 0 });
    assert.equal(h.events.length, before, 'nothing from the old session');
    h.gemini.last.speak();
    assert.equal(h.events.length, before + 1, 'the new session’s events do');
  });

  it('events and a late close of a handed-over session are ignored', async () => {
    const h = new Harness();
    await h.start();
    const s1 = h.gemini.last;
    s1.handle('h1');
    s1.server({ type: 'goAway', timeLeftMs: 10_000 });
    await advance(0);
    const before = h.events.length;
    s1.speak();
    s1.handle('from-the-old-one');
    assert.equal(h.events.length, before);
    h.gemini.last.serverClose(CLOSES.unavailable);
    await advanceUntil(() => h.gemini.calls.length === 3, 5000);
    assert.equal(h.gemini.calls[2]!.handle, 'h1', 'a handle from the replaced session is not used');
  });
});
