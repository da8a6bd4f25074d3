/**
 * GeminiLink: retry policy per close class, backoff, maxAttempts and model fallback (breakers and the
 * quota pause: call-gemini-link-shared). Fake connect + fake sessions; time is mocked (setTimeout, Date).
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallbridgeError } from '../../src/shared/errors.js';
import { CLOSES, Harness, advance, advanceUntil, connectError, handshakeFailed, resetMockTimers, setupTimeout, useMockTimers } from './call-gemini-link.fakes.js';

beforeEach(useMockTimers);
afterEach(resetMockTimers);

/** The connect attempts so far, as 'connect <model> [handle]'. */
const connects = (h: Harness) => h.gemini.journal.filter((l) => l.startsWith('connect'));

describe('GeminiLink: first session', () => {
  it('opens the first model with resumption enabled and no handle, and reports ready', async () => {
    const h = new Harness({ history: () => [{ role: 'user', parts: [{ text: 'earlier words' }] }] });
    const { started } = await h.start();
    assert.equal(await started, true);
    assert.equal(h.link.state, 'ready');
    assert.deepEqual(connects(h), ['connect m-a']);
    const call = h.gemini.calls[0]!;
    assert.deepEqual(call.options.config?.sessionResumption, { enabled: true });
    assert.equal(call.options.config?.systemInstruction, 'Be brief.', 'the call’s session config is used');
    assert.equal(h.ready.length, 1);
    assert.deepEqual(h.ready[0], { model: 'm-a', resumed: false, cause: 'start', attempts: 1, outageMs: 0, setupLatencyMs: 7 });
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
    await advance(5000); // the outage is measured from the close, not from the start
    const s1 = h.gemini.last;
    s1.handle('h1');
    s1.speak();
    s1.handle('h2');
    s1.server({ type: 'sessionResumptionUpdate', newHandle: 'not-resumable', resumable: false });
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
    assert.equal(h.ready[1]!.outageMs, 100, 'from the close to the new ready');
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

  it('skips a model that gave a config error when moving on again later', async () => {
    const h = new Harness({ models: ['m-a', 'm-b', 'm-c'], retry: { retriesPerModel: 0, maxAttempts: 6 } });
    h.gemini.plan(setupTimeout(), connectError(CLOSES.modelNotFound), setupTimeout(), setupTimeout(), setupTimeout(), setupTimeout());
    h.link.start();
    await advanceUntil(() => h.failed.length === 1, 60_000);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-b', 'connect m-c', 'connect m-a', 'connect m-c', 'connect m-a']);
  });

  it('a config error on the last model, after the others’ retries are spent, ends the call', async () => {
    const h = new Harness({ retry: { maxAttempts: 6 } });
    h.gemini.plan(setupTimeout(), setupTimeout(), connectError(CLOSES.modelNotFound));
    const started = h.link.start();
    await advanceUntil(() => h.failed.length === 1, 60_000);
    assert.equal(await started, false);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-a', 'connect m-b']);
    assert.equal(h.failed[0]!.attempts, 3);
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

describe('GeminiLink: stale handle without a handle', () => {
  it('"session not found" with no handle to drop backs off like a transient close, then moves on', async () => {
    const h = new Harness();
    await h.start();
    h.gemini.plan(connectError(CLOSES.staleHandle));
    h.gemini.last.serverClose(CLOSES.staleHandle);
    const first = await advanceUntil(() => h.gemini.calls.length === 2, 5000);
    assert.equal(first, 100, 'not an immediate reconnect');
    await advanceUntil(() => h.ready.length === 2, 5000);
    assert.deepEqual(connects(h), ['connect m-a', 'connect m-a', 'connect m-b']);
  });
});

describe('GeminiLink: a session config that throws', () => {
  it('is a failed attempt, retried, not an unhandled rejection', async () => {
    let calls = 0;
    const h = new Harness({
      sessionConfig: (model) => {
        if (calls++ === 0) throw new Error('prompt template broken');
        return { model, systemInstruction: '', tools: [] };
      },
    });
    const started = h.link.start();
    await advanceUntil(() => h.ready.length === 1, 5000);
    assert.equal(await started, true);
    assert.deepEqual(h.down.map((d) => [d.duringConnect, d.errorCode]), [[true, 'CB_GEMINI_HANDSHAKE_FAILED']]);
    assert.equal(h.gemini.calls.length, 1, 'the failed attempt never reached connect');
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
