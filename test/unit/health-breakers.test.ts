/**
 * ModelBreakers: per-model failure-rate breakers over a sliding window, half-open probing after a
 * cool-down, the usable-model list, and the process-wide quota pause. Time is an injected clock.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ModelBreakers, type BreakerOptions } from '../../src/health/breakers.js';

function breakers(options: Omit<BreakerOptions, 'now'> = {}) {
  const clock = { ms: 1_000_000 };
  const b = new ModelBreakers({ windowMs: 60_000, failureRate: 0.5, minSamples: 4, coolDownMs: 30_000, ...options, now: () => clock.ms });
  const record = (model: string, outcomes: string) => {
    for (const c of outcomes) b.record(model, c === '+');
  };
  const stat = (model: string) => b.status().find((s) => s.model === model);
  return { b, clock, record, stat };
}

describe('ModelBreakers: opening', () => {
  it('opens when the failure share reaches the rate, once there are enough samples', () => {
    const { b, record, stat } = breakers();
    record('m', '++-');
    assert.equal(b.state('m'), 'closed', 'three samples: too few to judge');
    record('m', '-');
    assert.equal(b.state('m'), 'open', '2 of 4 failed = 0.5');
    assert.equal(b.allows('m'), false);
    assert.equal(stat('m')?.trips, 1);
  });

  it('does not open below minSamples, even at 100 % failures', () => {
    const { b, record } = breakers({ minSamples: 6 });
    record('m', '-----');
    assert.equal(b.state('m'), 'closed');
    record('m', '-');
    assert.equal(b.state('m'), 'open');
  });

  it('stays closed below the rate', () => {
    const { b, record, stat } = breakers();
    record('m', '+++-++-+');
    assert.equal(b.state('m'), 'closed');
    assert.equal(stat('m')?.failureRate, 0.25);
  });

  it('counts only outcomes inside the sliding window', () => {
    const { b, clock, record, stat } = breakers();
    record('m', '---');
    clock.ms += 60_001;
    record('m', '+++-');
    assert.equal(stat('m')?.samples, 4, 'the old failures fell out');
    assert.equal(b.state('m'), 'closed');
    clock.ms += 30_000;
    record('m', '--');
    assert.equal(b.state('m'), 'open', '3 of 6 inside the window');
  });

  it('keeps models apart', () => {
    const { b, record } = breakers();
    record('a', '----');
    assert.equal(b.state('a'), 'open');
    assert.equal(b.state('b'), 'closed');
    assert.equal(b.allows('b'), true);
  });
});

describe('ModelBreakers: half-open probing', () => {
  it('goes half-open after the cool-down and lets calls through again', () => {
    const { b, clock, record } = breakers();
    record('m', '----');
    clock.ms += 29_999;
    assert.equal(b.allows('m'), false, 'still cooling down');
    clock.ms += 1;
    assert.equal(b.allows('m'), true);
    assert.equal(b.state('m'), 'half-open');
  });

  it('a success in half-open closes it, with a clean window', () => {
    const { b, clock, record, stat } = breakers();
    record('m', '----');
    clock.ms += 30_000;
    assert.equal(b.state('m'), 'half-open');
    record('m', '+');
    assert.equal(b.state('m'), 'closed');
    assert.equal(stat('m')?.samples, 1, 'old failures forgotten');
    record('m', '--');
    assert.equal(b.state('m'), 'closed', 'two failures are below minSamples again');
  });

  it('a failure in half-open opens it again, with a new cool-down', () => {
    const { b, clock, record, stat } = breakers();
    record('m', '----');
    clock.ms += 30_000;
    assert.equal(b.state('m'), 'half-open');
    record('m', '-');
    assert.equal(b.state('m'), 'open');
    assert.equal(stat('m')?.trips, 2);
    clock.ms += 29_999;
    assert.equal(b.allows('m'), false, 'the cool-down restarted');
    clock.ms += 1;
    assert.equal(b.allows('m'), true);
  });

  it('an outcome after the cool-down counts as the probe even if nobody asked allows() first', () => {
    const { b, clock, record } = breakers();
    record('m', '----');
    clock.ms += 30_000;
    record('m', '+'); // a call still on the model reports content
    assert.equal(b.state('m'), 'closed');
  });

  it('outcomes while open (before the cool-down) do not close it', () => {
    const { b, clock, record } = breakers();
    record('m', '----');
    clock.ms += 1000;
    record('m', '+++');
    assert.equal(b.state('m'), 'open');
  });
});

describe('ModelBreakers: usable models', () => {
  it('keeps the order and skips open models', () => {
    const { b, record } = breakers();
    record('b', '----');
    assert.deepEqual(b.usable(['a', 'b', 'c']), ['a', 'c']);
  });

  it('includes half-open models (probes)', () => {
    const { b, clock, record } = breakers();
    record('a', '----');
    clock.ms += 30_000;
    assert.deepEqual(b.usable(['a', 'b']), ['a', 'b']);
  });

  it('never returns an empty list: when every model is open, all of them', () => {
    const { b, record } = breakers();
    record('a', '----');
    record('b', '----');
    assert.deepEqual(b.usable(['a', 'b']), ['a', 'b']);
    assert.deepEqual(b.usable(['b']), ['b']);
  });
});

describe('ModelBreakers: quota pause', () => {
  it('makes every caller wait, per model, counting down', () => {
    const { b, clock } = breakers();
    assert.equal(b.quotaWaitMs('m'), 0);
    b.pauseForQuota('m', 2000);
    assert.equal(b.quotaWaitMs('m'), 2000);
    assert.equal(b.quotaWaitMs('other'), 0);
    clock.ms += 1500;
    assert.equal(b.quotaWaitMs('m'), 500);
    clock.ms += 600;
    assert.equal(b.quotaWaitMs('m'), 0);
  });

  it('a shorter pause does not cut a longer one short; a later one extends it', () => {
    const { b, clock } = breakers();
    b.pauseForQuota('m', 5000);
    b.pauseForQuota('m', 1000);
    assert.equal(b.quotaWaitMs('m'), 5000);
    clock.ms += 4000;
    b.pauseForQuota('m', 3000);
    assert.equal(b.quotaWaitMs('m'), 3000);
  });

  it('is reported by status() and does not open the breaker', () => {
    const { b, stat } = breakers();
    b.pauseForQuota('m', 1000);
    assert.deepEqual(stat('m'), { model: 'm', state: 'closed', probing: false, quotaWaitMs: 1000, samples: 0, failureRate: 0, trips: 0 });
    assert.equal(b.allows('m'), true);
  });
});

describe('ModelBreakers: background probes', () => {
  const open = (b: ModelBreakers, model: string) => {
    for (let i = 0; i < 6; i++) b.record(model, false);
  };
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('after the cool-down, callers still skip the model while probes test it; all probes passing closes it', async () => {
    let now = 0;
    const probed: string[] = [];
    const b = new ModelBreakers({ now: () => now, coolDownMs: 1000, probe: async (m) => (probed.push(m), true) });
    open(b, 'm');
    assert.equal(b.allows('m'), false, 'open');
    now = 1000;
    assert.equal(b.allows('m'), false, 'past the cool-down a probe runs; callers still do not get the model');
    for (let i = 0; i < 5; i++) await settle();
    assert.deepEqual(probed, ['m', 'm', 'm'], 'three probes in a row');
    assert.equal(b.allows('m'), true, 'closed after three successes');
    assert.equal(b.state('m'), 'closed');
  });

  it('a failing probe opens it for another cool-down; outcomes of calls meanwhile do not decide', async () => {
    let now = 0;
    const answers = [true, false];
    const b = new ModelBreakers({ now: () => now, coolDownMs: 1000, probe: async () => answers.shift() ?? true });
    open(b, 'm');
    now = 1000;
    b.allows('m');
    b.record('m', true); // a call that started before the breaker opened
    for (let i = 0; i < 5; i++) await settle();
    assert.equal(b.allows('m'), false, 'reopened by the failed probe');
    const trips = b.status().find((s) => s.model === 'm')!.trips;
    assert.equal(trips, 2, 'counted as a second trip');
    now = 1500;
    assert.equal(b.allows('m'), false, 'inside the new cool-down');
    now = 2000;
    b.allows('m');
    for (let i = 0; i < 5; i++) await settle();
    assert.equal(b.allows('m'), true, 'closed after the next three probes pass');
  });
});
