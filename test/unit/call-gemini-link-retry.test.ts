/**
 * GeminiLink: retry policy per close class, backoff, maxAttempts, model fallback, breakers and the
 * shared quota pause. Fake connect + fake sessions; time is mocked (setTimeout and Date).
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ModelBreakers } from '../../src/call/breakers.js';
import { CallbridgeError } from '../../src/shared/errors.js';
import { CLOSES, Harness, advance, advanceUntil, connectError, handshakeFailed, resetMockTimers, setupTimeout, useMockTimers } from './call-gemini-link.fakes.js';

beforeEach(useMockTimers);
afterEach(resetMockTimers);

/** The connect attempts so far, as 'connect <model> [handle]'. */
const connects = (h: Harness) => h.gemini.journal.filter((l) => l.startsWith('connect'));

describe('GeminiLink: first session', () => {
  it('opens the first model with resumption enabled and no handle, and reports ready', async () => {
    const h = new Harness({ history: () => [{ role: 'user', parts: [{ text: 'earlier words' }] }] });
    const started = await h.start();
    assert.equal(await started, true);
    assert.equal(h.link.state, 'ready');
    assert.deepEqual(connects(h), ['connect m-a']);
    const call = h.gemini.calls[0]!;
    assert.equal(call.options.apiKey, 'test-key');
    assert.deepEqual(call.options.config?.sessionResumption, { enabled: true });
    assert.equal(call.options.config?.systemInstruction, 'Be brief.', 'the call’s session config is used');
    assert.equal(h.ready.length, 1);
    assert.deepEqual({ ...h.ready[0]!, outageMs: 0 }, { model: 'm-a', resumed: false, cause: 'start', attempts: 1, outageMs: 0, setupLatencyMs: 7 });
    assert.deepEqual(h.gemini.last.clientContents(), [], 'the first session is not re-seeded');
    assert.equal(h.link.session, h.gemini.last.asSession);
  });

  it('forwards the session’s events', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.last.speak();
    h.gemini.last.server({ type: 'turnComplete' });
    assert.deepEqual(h.events.map((e) => e.type), ['audio', 'turnComplete']);
  });
});

describe('GeminiLink: transient closes', () => {
  it('resumes the same model with the latest handle after the base delay', async () => {
    const h = new Harness();
    await h.start();
    const s1 = h.gemini.last;
    s1.handle('h1');
    s1.speak();
    s1.handle('h2');
    s1.serverClose(CLOSES.unavailable);
    assert.equal(h.link.state, 'recovering');
    assert.equal(h.link.session, undefined, 'the dead session is let go at once');
    assert.deepEqual(h.down, [{ model: 'm-a', error: h.down[0]!.error, duringConnect: false, errorCode: 'CB_GEMINI_UNAVAILABLE', code: 1011, reason: CLOSES.unavailable[1] }]);
    assert.equal(h.down[0]!.error?.retryClass, 'transient');
    const waitedMs = await advanceUntil(() => h.gemini.calls.length === 2, 5000);
    assert.equal(waitedMs, 100, 'baseDelayMs with jitter factor 1');
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-a h2'], 'resumed with the newest handle');
    assert.equal(h.ready.length, 2);
    assert.equal(h.ready[1]!.cause, 'fault');
    assert.equal(h.ready[1]!.resumed, true);
    assert.equal(h.ready[1]!.model, 'm-a');
    assert.equal(h.ready[1]!.attempts, 1);
    assert.ok(h.ready[1]!.outageMs >= 0, 'an outage figure is reported');
    assert.equal(h.link.session, h.gemini.last.asSession);
  });

  for (const [name, close] of [['1011 internal', CLOSES.internal], ['1006 abnormal', CLOSES.abnormal]] as const) {
    it(`treats ${name} as transient`, async () => {
      const h = new Harness();
      await h.start();
      h.gemini.last.handle('h1');
      h.gemini.last.serverClose(close);
      await advanceUntil(() => h.ready.length === 2, 5000);
      assert.deepEqual(connects(h), ['connect m-a', 'connect m-a h1']);
    });
  }

  it('moves to the next model, fresh, after retriesPerModel retries on the same one', async () => {
    const h = new Harness({ retry: { retriesPerModel: 2 } });
    await h.start();
    h.gemini.last.handle('h1');
    h.gemini.plan(connectError(CLOSES.unavailable), connectError(CLOSES.internal));
    h.gemini.last.serverClose(CLOSES.unavailable);
    await advanceUntil(() => h.ready.length === 2, 10_000);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-a h1', 'connect m-a h1', 'connect m-b'], 'two retries on m-a, then m-b without the handle');
    assert.deepEqual(h.down.map((d) => [d.model, d.duringConnect, d.errorCode]), [
      ['m-a', false, 'CB_GEMINI_UNAVAILABLE'],
      ['m-a', true, 'CB_GEMINI_UNAVAILABLE'],
      ['m-a', true, 'CB_GEMINI_INTERNAL'],
    ]);
    assert.equal(h.ready[1]!.model, 'm-b');
    assert.equal(h.ready[1]!.resumed, false);
    assert.equal(h.ready[1]!.attempts, 3, 'three connects this incident');
    assert.equal(h.link.model, 'm-b');
    assert.deepEqual(h.link.modelsTried, ['m-a', 'm-b']);
  });

  it('retries a connect that fails in the handshake or times out in setup', async () => {
    const h = new Harness({ retry: { retriesPerModel: 5 } });
    h.gemini.plan(setupTimeout(), handshakeFailed(), new Error('connect ECONNREFUSED 127.0.0.1:9'));
    const started = h.link.start();
    await advanceUntil(() => h.ready.length === 1, 10_000);
    assert.equal(await started, true);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-a', 'connect m-a', 'connect m-a']);
    assert.deepEqual(h.down.map((d) => [d.duringConnect, d.errorCode]), [
      [true, 'CB_GEMINI_SETUP_TIMEOUT'],
      [true, 'CB_GEMINI_HANDSHAKE_FAILED'],
      [true, 'CB_GEMINI_HANDSHAKE_FAILED'],
    ]);
    assert.equal(h.ready[0]!.cause, 'start');
    assert.equal(h.ready[0]!.attempts, 4);
  });
});

describe('GeminiLink: config errors (retry class none)', () => {
  it('moves to the next model at once after a config close, without the handle', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.last.handle('h1');
    h.gemini.last.serverClose(CLOSES.modelNotFound);
    assert.equal(h.down[0]!.errorCode, 'CB_GEMINI_MODEL_NOT_FOUND');
    await advanceUntil(() => h.ready.length === 2, 5000);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-b']);
    assert.equal(h.ready[1]!.resumed, false);
  });

  it('fails the call when no model is left, without another attempt', async () => {
    const h = new Harness({ models: ['m-a'] });
    await h.start();
    h.gemini.last.serverClose(CLOSES.invalidArgument);
    assert.equal(h.failed.length, 1);
    assert.equal(h.failed[0]!.error.code, 'CB_CALL_GEMINI_UNAVAILABLE');
    assert.equal((h.failed[0]!.error.cause as CallbridgeError).code, 'CB_GEMINI_INVALID_ARGUMENT');
    assert.equal(h.link.state, 'failed');
    await advance(60_000);
    assert.deepEqual(connects(h), ['connect m-a'], 'no retry of a config error');
  });

  it('never goes back to a model that gave a config error, even when cycling through the list', async () => {
    const h = new Harness({ retry: { maxAttempts: 5 } });
    h.gemini.plan(connectError(CLOSES.modelNotFound), connectError(CLOSES.unavailable), connectError(CLOSES.unavailable), connectError(CLOSES.unavailable), connectError(CLOSES.unavailable));
    const started = h.link.start();
    await advanceUntil(() => h.failed.length === 1, 60_000);
    assert.equal(await started, false);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-b', 'connect m-b', 'connect m-b', 'connect m-b'], 'm-a is not retried');
    assert.equal(h.failed[0]!.attempts, 5);
  });

  it('a setup the client refuses (CB_GEMINI_SETUP_INVALID) also moves to the next model', async () => {
    const h = new Harness();
    h.gemini.plan(new CallbridgeError('CB_GEMINI_SETUP_INVALID', 'voice not available on m-a'));
    const started = h.link.start();
    await advanceUntil(() => h.ready.length === 1, 5000);
    assert.equal(await started, true);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-b']);
  });
});

describe('GeminiLink: stale handle (fresh-session)', () => {
  it('drops the handle and opens a fresh, re-seeded session on the same model', async () => {
    const history = [{ role: 'user' as const, parts: [{ text: 'I need an appointment' }] }];
    const h = new Harness({ history: () => history });
    await h.start();
    h.gemini.last.handle('stale');
    h.gemini.plan(connectError(CLOSES.staleHandle));
    h.gemini.last.serverClose(CLOSES.unavailable);
    await advanceUntil(() => h.ready.length === 2, 5000);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-a stale', 'connect m-a']);
    assert.equal(h.down[1]!.errorCode, 'CB_GEMINI_SESSION_NOT_FOUND');
    assert.equal(h.ready[1]!.resumed, false);
    assert.deepEqual(h.gemini.last.clientContents()[0], { turns: history, turnComplete: false }, 'the fresh session is re-seeded');
  });

  it('a live session closed with "session not found" is replaced without its handle', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.last.handle('h1');
    h.gemini.last.serverClose(CLOSES.staleHandle);
    await advanceUntil(() => h.ready.length === 2, 5000);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-a']);
  });
});

describe('GeminiLink: backoff', () => {
  it('doubles from baseDelayMs up to maxDelayMs after a live session dies', async () => {
    const h = new Harness({ models: ['m-a'], retry: { baseDelayMs: 100, maxDelayMs: 800, jitter: 0, retriesPerModel: 10, maxAttempts: 10 } });
    await h.start();
    h.gemini.plan(...Array.from({ length: 5 }, () => connectError(CLOSES.unavailable)));
    h.gemini.last.serverClose(CLOSES.unavailable);
    const delays: number[] = [];
    for (let n = 2; n <= 7; n++) delays.push(await advanceUntil(() => h.gemini.calls.length === n, 5000));
    assert.deepEqual(delays, [100, 200, 400, 800, 800, 800]);
    assert.equal(h.ready.length, 2);
  });

  it('doubles from baseDelayMs when the first connect of the call fails', async () => {
    const h = new Harness({ models: ['m-a'], retry: { baseDelayMs: 50, maxDelayMs: 1000, jitter: 0, retriesPerModel: 10, maxAttempts: 10 } });
    h.gemini.plan(...Array.from({ length: 4 }, () => setupTimeout()));
    await h.start();
    const delays: number[] = [];
    for (let n = 2; n <= 5; n++) delays.push(await advanceUntil(() => h.gemini.calls.length === n, 5000));
    assert.deepEqual(delays, [50, 100, 200, 400]);
  });

  it('applies ± jitter around each step, capped step included', async () => {
    const randoms = [0, 0.999_999, 0, 0.999_999];
    const h = new Harness({
      models: ['m-a'],
      random: () => randoms.shift() ?? 0.5,
      retry: { baseDelayMs: 1000, maxDelayMs: 1500, jitter: 0.3, retriesPerModel: 10, maxAttempts: 10 },
    });
    await h.start();
    h.gemini.plan(...Array.from({ length: 3 }, () => connectError(CLOSES.unavailable)));
    h.gemini.last.serverClose(CLOSES.unavailable);
    const delays: number[] = [];
    for (let n = 2; n <= 5; n++) delays.push(await advanceUntil(() => h.gemini.calls.length === n, 5000));
    // Steps 1000, 1500 (2000 capped), 1500, 1500; random 0 → ×0.7, random ≈1 → ×1.3.
    assert.deepEqual(delays, [700, 1950, 1050, 1950]);
  });
});

describe('GeminiLink: giving up', () => {
  it('emits failed with CB_CALL_GEMINI_UNAVAILABLE after maxAttempts connects, and stops', async () => {
    const h = new Harness({ retry: { maxAttempts: 3, retriesPerModel: 1 } });
    h.gemini.plan(setupTimeout(), setupTimeout(), setupTimeout(), setupTimeout());
    const started = h.link.start();
    await advanceUntil(() => h.failed.length === 1, 60_000);
    assert.equal(await started, false);
    assert.equal(h.gemini.calls.length, 3);
    assert.equal(h.failed[0]!.attempts, 3);
    assert.equal(h.failed[0]!.error.code, 'CB_CALL_GEMINI_UNAVAILABLE');
    assert.equal((h.failed[0]!.error.cause as CallbridgeError).code, 'CB_GEMINI_SETUP_TIMEOUT');
    assert.equal(h.link.state, 'failed');
    await advance(120_000);
    assert.equal(h.gemini.calls.length, 3, 'no attempt after giving up');
    assert.equal(h.failed.length, 1);
    assert.equal(h.link.sendClientContent([{ role: 'user', parts: [{ text: 'x' }] }]), false, 'nothing can be sent');
  });

  it('counts sessions that open and die before any model content towards maxAttempts', async () => {
    const h = new Harness({ retry: { maxAttempts: 4 } });
    await h.start();
    h.link.on('ready', () => {
      const s = h.gemini.last;
      setImmediate(() => s.serverClose(CLOSES.internal)); // dies right after setupComplete, every time
    });
    h.gemini.last.serverClose(CLOSES.internal);
    await advanceUntil(() => h.failed.length === 1, 120_000);
    assert.equal(h.gemini.calls.length, 4, 'a flapping server does not get reconnects for ever');
    assert.equal(h.failed[0]!.attempts, 4);
  });

  it('starts a new incident once a restored session produced content', async () => {
    const h = new Harness({ retry: { maxAttempts: 2 } });
    await h.start();
    for (let i = 0; i < 4; i++) {
      h.gemini.last.speak();
      h.gemini.last.serverClose(CLOSES.internal);
      await advanceUntil(() => h.ready.length === i + 2, 10_000);
      assert.equal(h.ready.at(-1)!.attempts, 1, `incident ${i + 1} took one connect`);
      assert.equal(h.ready.at(-1)!.model, 'm-a', 'content resets the same-model retries');
    }
    assert.equal(h.failed.length, 0);
  });
});

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
    a.gemini.last.serverClose(CLOSES.quota); // m-a paused 1000 ms
    await advance(500);
    b.gemini.last.serverClose(CLOSES.quota); // pause extended to 1500 ms from a's close
    const c = new Harness({ breakers });
    const cStarted = c.link.start(); // a new call meanwhile
    const t = await advanceUntil(() => a.gemini.calls.length === 2 && b.gemini.calls.length === 2 && c.gemini.calls.length === 1, 10_000);
    assert.equal(t, 1000, 'all three wait until 1500 ms after the first close');
    assert.equal(a.gemini.calls.length + b.gemini.calls.length + c.gemini.calls.length, 5);
    assert.equal(await cStarted, true);
  });

  it('moves to the next model after quotaRetries, pausing the model that hit the quota', async () => {
    const breakers = new ModelBreakers();
    const h = new Harness({ breakers, retry: { quotaRetries: 1 } });
    await h.start();
    h.gemini.plan(connectError(CLOSES.quota));
    h.gemini.last.serverClose(CLOSES.quota);
    await advanceUntil(() => h.down.length === 2, 10_000);
    assert.ok(breakers.quotaWaitMs('m-a') > 0, 'm-a is paused after its second quota refusal');
    assert.equal(breakers.quotaWaitMs('m-b'), 0, 'm-b did not hit the quota');
    await advanceUntil(() => h.ready.length === 2, 20_000);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-a', 'connect m-b']);
  });
});
