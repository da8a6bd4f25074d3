/**
 * The model breakers and quota pauses are per instance (src/health/breakers.ts; docs/scale-out.md,
 * "Several instances"). What that costs, measured on the real class with a manual clock: calls
 * spread round-robin over N instances while a model is down each fail on it until their own
 * instance's breaker opens, so N times as many calls meet the dead model as on one instance; each
 * instance probes an open model itself (N probes per cool-down); a quota close pauses the model
 * only on the instance that got it, so each instance meets the quota once per pause.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ModelBreakers } from '../../src/health/breakers.js';

const MODEL = 'gemini-live-test';

/** Calls one second apart, round-robin over `n` instances, while MODEL fails every session. */
function outage(n: number, options: { probe?: () => Promise<boolean> } = {}): { failedCalls: number; failedAtFirstOpen: number; allOpenAfterMs: number; instances: ModelBreakers[]; clock: { t: number } } {
  const clock = { t: 0 };
  const instances = Array.from({ length: n }, () => new ModelBreakers({ now: () => clock.t, ...(options.probe ? { probe: options.probe } : {}) }));
  let failedCalls = 0;
  let failedAtFirstOpen = 0;
  for (let call = 0; instances.some((b) => b.state(MODEL) === 'closed'); call++) {
    const b = instances[call % n]!;
    if (b.allows(MODEL)) {
      b.record(MODEL, false);
      failedCalls++;
      if (failedAtFirstOpen === 0 && b.state(MODEL) === 'open') failedAtFirstOpen = failedCalls;
    }
    clock.t += 1000;
    assert.ok(call < 10_000, 'the breakers never opened');
  }
  return { failedCalls, failedAtFirstOpen, allOpenAfterMs: clock.t, instances, clock };
}

describe('per-instance breakers: the measured consequence of not sharing them', () => {
  it('N instances let N times as many calls meet a dead model before every breaker is open', () => {
    const one = outage(1);
    const two = outage(2);
    const four = outage(4);
    assert.equal(one.failedCalls, 6, 'one instance: minSamples (6) failures open it');
    assert.equal(two.failedCalls, 2 * one.failedCalls);
    assert.equal(four.failedCalls, 4 * one.failedCalls);
    assert.equal(four.allOpenAfterMs, 4 * one.allOpenAfterMs, 'at one call a second, opening takes N times as long');
  });

  it('sharing only the openings would save little with a balanced load: the others are one failure short when the first opens', () => {
    for (const n of [2, 4]) assert.equal(outage(n).failedAtFirstOpen, 6 + 5 * (n - 1), `${n} instances`);
  });

  it('each instance probes an open model itself: N probes per cool-down', async () => {
    let probes = 0;
    const { instances, clock } = outage(3, { probe: async () => (probes++, false) });
    clock.t += 30_000; // the default cool-down
    for (const b of instances) b.allows(MODEL);
    await new Promise((r) => setImmediate(r));
    assert.equal(probes, 3);
  });

  it('a quota pause holds only on the instance whose call got the quota close', () => {
    const clock = { t: 0 };
    const [a, b] = [new ModelBreakers({ now: () => clock.t }), new ModelBreakers({ now: () => clock.t })];
    a.pauseForQuota(MODEL, 60_000);
    assert.equal(a.quotaWaitMs(MODEL), 60_000);
    assert.equal(b.quotaWaitMs(MODEL), 0, 'the other instance still sends calls to the model, until it gets its own quota close');
  });
});
