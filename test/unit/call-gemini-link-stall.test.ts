/**
 * GeminiLink against seed 002's failure: Gemini signals it is generating (resumptionUpdate with
 * resumable: false) and then sends nothing. The stall watch, the before-content move to the next
 * model, the owed client turn asked again of the restored session, and the learned stall limit.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyTimes } from '../../src/health/reply-times.js';
import { ModelBreakers } from '../../src/health/breakers.js';
import { CLOSES, Harness, advance, advanceUntil, resetMockTimers, useMockTimers } from './call-gemini-link.fakes.js';

beforeEach(useMockTimers);
afterEach(resetMockTimers);

const busy = (h: Harness) => h.gemini.last.server({ type: 'sessionResumptionUpdate', resumable: false });
const connects = (h: Harness) => h.gemini.journal.filter((l) => l.startsWith('connect'));
const greeting = [{ role: 'user' as const, parts: [{ text: 'Greet the caller.' }] }];

describe('GeminiLink: stalled replies (seed 002)', () => {
  it('no content within the stall limit after Gemini started a reply: the session is replaced by the next model', async () => {
    const h = new Harness({ replyTimes: new ReplyTimes(1500) });
    await h.start();
    h.gemini.last.handle('h1');
    busy(h);
    await advance(1499);
    assert.equal(h.down.length, 0, 'not yet at 1499 ms');
    await advance(1);
    assert.equal(h.down.length, 1, 'stalled at 1500 ms');
    assert.equal(h.down[0]!.errorCode, 'CB_GEMINI_STALLED');
    assert.equal(h.gemini.sessions[0]!.closedWith, 'stalled', 'callbridge closed the stalled session itself');
    await advanceUntil(() => h.ready.length === 2, 5000);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-b'], 'straight to the next model, fresh (no second wait on the failing one)');
    assert.equal(h.ready[1]!.outageMs >= 1500, true, `the outage counts the stalled wait (${h.ready[1]!.outageMs} ms)`);
  });

  it('content in time disarms the watch, and its delay is learned', async () => {
    const times = new ReplyTimes(1500);
    const h = new Harness({ replyTimes: times });
    await h.start();
    for (let i = 0; i < 25; i++) {
      busy(h);
      await advance(300);
      h.gemini.last.speak();
      h.gemini.last.server({ type: 'turnComplete' });
    }
    await advance(5000);
    assert.equal(h.down.length, 0, 'healthy replies never stall');
    assert.equal(times.stallMs('m-a'), Math.max(700, 300 * 1.5 + 250), 'limit from the learned p99 (300 ms) with the floor');
  });

  it('a 1011 close before any content (seed 002) moves to the next model; one after content resumes the same model', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.last.handle('h1');
    busy(h);
    await advance(400);
    h.gemini.last.serverClose(CLOSES.internal);
    await advanceUntil(() => h.ready.length === 2, 5000);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-b'], 'before content: the fallback model');

    const g = new Harness();
    await g.start();
    g.gemini.last.handle('h1');
    busy(g);
    g.gemini.last.speak();
    g.gemini.last.serverClose(CLOSES.internal);
    await advanceUntil(() => g.ready.length === 2, 5000);
    assert.deepEqual(connects(g), ['connect m-a', 'connect m-a h1'], 'mid-reply: the same model, resumed');
  });

  it('the owed client turn (a greeting the dead session never answered) is asked again of the restored session, once', async () => {
    const h = new Harness();
    h.link.on('ready', (info) => {
      if (info.cause === 'start') h.link.sendClientContent(greeting, true); // as the call greets
    });
    await h.start();
    assert.deepEqual(h.gemini.last.clientText(), ['Greet the caller.'], 'greeted once on the first session');
    busy(h);
    h.gemini.last.serverClose(CLOSES.internal);
    await advanceUntil(() => h.ready.length === 2, 5000);
    assert.deepEqual(h.gemini.last.clientText(), ['Greet the caller.'], 'asked again, once, of the new session');
    h.gemini.last.speak();
    busy(h);
    h.gemini.last.serverClose(CLOSES.abnormal);
    await advanceUntil(() => h.ready.length === 3, 5000);
    assert.deepEqual(h.gemini.last.clientText(), [], 'answered: not asked again');
  });

  it('after quota retries, the next model is tried after a normal backoff, not the quota pause', async () => {
    const breakers = new ModelBreakers();
    const h = new Harness({ breakers, retry: { quotaRetries: 0, baseDelayMs: 100, quotaBaseDelayMs: 4000 } });
    await h.start();
    h.gemini.last.serverClose(CLOSES.quota);
    const waited = await advanceUntil(() => h.gemini.calls.length === 2, 10_000);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-b']);
    assert.ok(waited <= 150, `next model after ${waited} ms`);
    assert.ok(breakers.quotaWaitMs('m-a') > 3000, 'the quota model stays paused for every call');
  });
});

describe('GeminiLink: the stall watch and the caller', () => {
  it('does not run while the caller is talking; it starts when the caller stops', async () => {
    const h = new Harness({ replyTimes: new ReplyTimes(1500) });
    await h.start();
    h.link.callerSpeaking(true);
    busy(h);
    await advance(5000);
    assert.equal(h.down.length, 0, 'a long utterance is not a stall');
    h.link.callerSpeaking(false);
    await advance(1499);
    assert.equal(h.down.length, 0, 'the limit counts from the end of speech');
    await advance(1);
    assert.equal(h.down[0]?.errorCode, 'CB_GEMINI_STALLED', 'then it is');
  });
});

describe('GeminiLink: bounded outages', () => {
  it('gives up (the caller hears the apology) when the next try could not start within maxOutageMs', async () => {
    const h = new Harness({ models: ['m-a'], retry: { maxOutageMs: 3000, quotaRetries: 10, maxAttempts: 50, quotaBaseDelayMs: 1000, quotaMaxDelayMs: 1000 } });
    await h.start();
    h.gemini.plan(...Array.from({ length: 20 }, () => new Error('refused')));
    h.gemini.last.serverClose(CLOSES.quota);
    const waited = await advanceUntil(() => h.failed.length === 1, 20_000);
    assert.ok(waited <= 3000, `failed after ${waited} ms of outage (limit 3000)`);
    assert.equal(h.failed[0]!.error.code, 'CB_CALL_GEMINI_UNAVAILABLE');
  });
});
