/**
 * GeminiLink and what calls share: per-model circuit breakers (routing new calls and recoveries
 * away from a failing model, outcomes recorded) and the process-wide quota pause.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ModelBreakers } from '../../src/health/breakers.js';
import { CallbridgeError } from '../../src/shared/errors.js';
import { CLOSES, Harness, advance, advanceUntil, connectError, resetMockTimers, setupTimeout, useMockTimers } from './call-gemini-link.fakes.js';

beforeEach(useMockTimers);
afterEach(resetMockTimers);

/** The connect attempts so far, as 'connect <model> [handle]'. */
const connects = (h: Harness) => h.gemini.journal.filter((l) => l.startsWith('connect'));

describe('GeminiLink: circuit breakers', () => {
  const openBreaker = (b: ModelBreakers, model: string) => {
    for (let i = 0; i < 6; i++) b.record(model, false);
    assert.equal(b.state(model), 'open', `${model} breaker is open`);
  };

  it('a new call skips a model whose breaker is open', async () => {
    const breakers = new ModelBreakers();
    openBreaker(breakers, 'm-a');
    const h = new Harness({ breakers });
    await h.start();
    assert.deepEqual(connects(h), ['connect m-b']);
    assert.equal(h.link.model, 'm-b');
  });

  it('recovery skips a model whose breaker is open', async () => {
    const breakers = new ModelBreakers();
    const h = new Harness({ breakers, models: ['m-a', 'm-b', 'm-c'] });
    await h.start();
    openBreaker(breakers, 'm-b');
    h.gemini.last.serverClose(CLOSES.modelNotFound);
    await advanceUntil(() => h.ready.length === 2, 5000);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-c']);
  });

  it('moves on when the current model’s breaker opened meanwhile, even with retries left', async () => {
    const breakers = new ModelBreakers();
    const h = new Harness({ breakers, retry: { retriesPerModel: 3 } });
    await h.start();
    h.gemini.last.handle('h1');
    openBreaker(breakers, 'm-a');
    h.gemini.last.serverClose(CLOSES.unavailable);
    await advanceUntil(() => h.ready.length === 2, 5000);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-b']);
  });

  it('when every breaker is open a call still tries the first model', async () => {
    const breakers = new ModelBreakers();
    openBreaker(breakers, 'm-a');
    openBreaker(breakers, 'm-b');
    const h = new Harness({ breakers });
    await h.start();
    assert.deepEqual(connects(h), ['connect m-a']);
  });

  it('records a failed connect and a dead session as failures, content as a success', async () => {
    const breakers = new ModelBreakers();
    const h = new Harness({ breakers });
    h.gemini.plan(setupTimeout());
    await h.start();
    await advanceUntil(() => h.ready.length === 1, 5000);
    const stat = (model: string) => breakers.status().find((s) => s.model === model);
    assert.deepEqual([stat('m-a')?.samples, stat('m-a')?.failureRate], [1, 1]);
    h.gemini.last.speak();
    h.gemini.last.speak();
    assert.deepEqual([stat('m-a')?.samples, stat('m-a')?.failureRate], [2, 0.5], 'one success per turn');
    h.gemini.last.server({ type: 'turnComplete' });
    h.gemini.last.serverClose(CLOSES.unavailable);
    assert.deepEqual([stat('m-a')?.samples, stat('m-a')?.failureRate], [3, 2 / 3], 'died before content this turn');
    await advanceUntil(() => h.ready.length === 2, 5000);
    h.gemini.last.speak();
    h.gemini.last.serverClose(CLOSES.unavailable);
    assert.deepEqual([stat('m-a')?.samples, stat('m-a')?.failureRate], [4, 2 / 4], 'a turn that produced content is not a failure');
  });

  it('does not count a config error against the model’s breaker (it is not the model failing)', async () => {
    const breakers = new ModelBreakers();
    const h = new Harness({ breakers });
    h.gemini.plan(new CallbridgeError('CB_GEMINI_SETUP_INVALID', 'this flow’s voice is not available on m-a'));
    await h.start();
    await advanceUntil(() => h.ready.length === 1, 5000);
    h.gemini.last.serverClose(CLOSES.invalidArgument);
    const samples = (model: string) => breakers.status().find((s) => s.model === model)?.samples ?? 0;
    assert.equal(samples('m-a'), 0, 'connect refused for config');
    assert.equal(samples('m-b'), 0, 'session closed for config');
  });
});

describe('GeminiLink: quota', () => {
  it('backs off longer than for a transient close, and pauses the model for every call', async () => {
    const breakers = new ModelBreakers();
    const h = new Harness({ breakers });
    await h.start();
    h.gemini.last.serverClose(CLOSES.quota);
    assert.equal(h.down[0]!.errorCode, 'CB_GEMINI_QUOTA');
    assert.equal(breakers.quotaWaitMs('m-a'), 1000, 'the process-wide pause is the backoff');
    const waitedMs = await advanceUntil(() => h.gemini.calls.length === 2, 10_000);
    assert.equal(waitedMs, 1000, 'quotaBaseDelayMs');
  });

  it('a second call waits for the pause before connecting, and both retry as one', async () => {
    const breakers = new ModelBreakers();
    const a = new Harness({ breakers });
    const b = new Harness({ breakers });
    await a.start();
    await b.start();
    const t0 = Date.now();
    a.gemini.last.serverClose(CLOSES.quota); // m-a paused 1000 ms
    await advance(500);
    b.gemini.last.serverClose(CLOSES.quota); // pause extended to 1500 ms from a's close
    const c = new Harness({ breakers });
    const cStarted = c.link.start(); // a new call meanwhile
    await advanceUntil(() => a.gemini.calls.length === 2 && b.gemini.calls.length === 2 && c.gemini.calls.length === 1, 10_000);
    await advance(5000);
    assert.deepEqual(
      [a.gemini.connectedAt[1]! - t0, b.gemini.connectedAt[1]! - t0, c.gemini.connectedAt[0]! - t0],
      [1500, 1500, 1500],
      'a (whose own backoff ended at 1000), b and the new call c all wait for the shared pause, then go together',
    );
    assert.equal(a.gemini.calls.length + b.gemini.calls.length + c.gemini.calls.length, 5);
    assert.equal(await cStarted, true);
  });

  it('moves to the next model after quotaRetries, pausing the model that hit the quota', async () => {
    const breakers = new ModelBreakers();
    const h = new Harness({ breakers, retry: { quotaRetries: 2, retriesPerModel: 1 } });
    await h.start();
    h.gemini.plan(connectError(CLOSES.quota), connectError(CLOSES.quota));
    h.gemini.last.serverClose(CLOSES.quota);
    await advanceUntil(() => h.down.length === 3, 20_000);
    assert.ok(breakers.quotaWaitMs('m-a') > 0, 'm-a is paused after its third quota refusal');
    assert.equal(breakers.quotaWaitMs('m-b'), 0, 'm-b did not hit the quota');
    await advanceUntil(() => h.ready.length === 2, 20_000);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-a', 'connect m-a', 'connect m-b'], 'two quota retries on m-a, not retriesPerModel');
  });
});
