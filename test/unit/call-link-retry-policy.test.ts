/**
 * The link's decisions as pure functions (src/call/link/retry.ts, turn-state.ts): table tests.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RETRY, backoffMs, decideRecovery, nextModelIndex, type IncidentState, type ModelHealth } from '../../src/call/link/retry.js';
import { TurnState } from '../../src/call/link/turn-state.js';

const healthy: ModelHealth = { allows: () => true, usable: (m) => [...m], quotaWaitMs: () => 0 };
const bOpen: ModelHealth = { allows: (m) => m !== 'b', usable: (m) => m.filter((x) => x !== 'b'), quotaWaitMs: () => 0 };
const half = () => 0.5;

function state(over: Partial<IncidentState> = {}): IncidentState {
  return { models: ['a', 'b', 'c'], modelIndex: 0, hasHandle: true, attempts: 1, failures: 1, sameModelRetries: 0, configFailed: new Set(), ...over };
}

describe('backoffMs', () => {
  const table: Array<[failures: number, cls: 'transient' | 'quota', draw: number, ms: number]> = [
    [1, 'transient', 0.5, 100],
    [2, 'transient', 0.5, 200],
    [5, 'transient', 0.5, 1600],
    [6, 'transient', 0.5, 2000], // capped
    [1, 'transient', 0, 70], // −30 %
    [1, 'transient', 1, 130], // +30 %
    [1, 'quota', 0.5, 1000],
    [4, 'quota', 0.5, 8000],
    [9, 'quota', 0.5, 8000],
  ];
  for (const [failures, cls, draw, ms] of table) {
    it(`${cls}, failure ${failures}, draw ${draw} → ${ms} ms`, () => assert.equal(backoffMs(DEFAULT_RETRY, failures, cls, draw), ms));
  }
});

describe('nextModelIndex', () => {
  it('skips models that refused the setup and models whose breaker is open', () => {
    assert.equal(nextModelIndex(['a', 'b', 'c'], 0, new Set(), healthy), 1);
    assert.equal(nextModelIndex(['a', 'b', 'c'], 0, new Set(['b']), healthy), 2);
    assert.equal(nextModelIndex(['a', 'b', 'c'], 0, new Set(), bOpen), 2);
    assert.equal(nextModelIndex(['a', 'b', 'c'], 2, new Set(), healthy), undefined);
  });
});

describe('decideRecovery', () => {
  type Row = [name: string, s: Partial<IncidentState>, cls: 'none' | 'transient' | 'quota' | 'fresh-session', beforeContent: boolean, health: ModelHealth, expect: Record<string, unknown>];
  const rows: Row[] = [
    ['attempts spent → give up', { attempts: 6 }, 'transient', false, healthy, { kind: 'give-up' }],
    ['stale handle → same model, fresh, at once', {}, 'fresh-session', false, healthy, { kind: 'retry', modelIndex: 0, dropHandle: true, delayMs: 0 }],
    ['session not found without a handle → a transient retry on the same model', { hasHandle: false }, 'fresh-session', false, healthy, { kind: 'retry', modelIndex: 0, dropHandle: false, sameModelRetries: 1, delayMs: 100 }],
    ['first transient → retry the same model, keep the handle', {}, 'transient', false, healthy, { kind: 'retry', modelIndex: 0, dropHandle: false, sameModelRetries: 1, delayMs: 100 }],
    ['transient, budget spent → next model, fresh', { sameModelRetries: 1, failures: 2 }, 'transient', false, healthy, { kind: 'retry', modelIndex: 1, dropHandle: true, sameModelRetries: 0, delayMs: 200 }],
    ['before content with a next model → the fallback at once', {}, 'transient', true, healthy, { kind: 'retry', modelIndex: 1, dropHandle: true }],
    ['before content, no next model → retry the same one', { modelIndex: 2 }, 'transient', true, healthy, { kind: 'retry', modelIndex: 2, dropHandle: false }],
    ['config error → next model, remembered as refusing', {}, 'none', false, healthy, { kind: 'retry', modelIndex: 1, configFailed: 'a' }],
    ['config error on the last model → give up', { modelIndex: 2 }, 'none', false, healthy, { kind: 'give-up' }],
    ['open breaker on the next model → skipped', { sameModelRetries: 1 }, 'transient', false, bOpen, { kind: 'retry', modelIndex: 2 }],
    ['every model tried → cycle from the first usable one', { modelIndex: 2, sameModelRetries: 1 }, 'transient', false, healthy, { kind: 'retry', modelIndex: 0 }],
    ['cycling never returns to a model that refused the setup', { modelIndex: 2, sameModelRetries: 1, configFailed: new Set(['a']) }, 'transient', false, healthy, { kind: 'retry', modelIndex: 1 }],
    ['quota → the model is paused for every call; retried after the quota backoff', {}, 'quota', false, healthy, { kind: 'retry', modelIndex: 0, quotaPause: { model: 'a', ms: 1000 }, delayMs: 1000 }],
    ['quota, retries spent → next model after a transient backoff', { sameModelRetries: 2 }, 'quota', false, healthy, { kind: 'retry', modelIndex: 1, quotaPause: { model: 'a', ms: 1000 }, delayMs: 100 }],
  ];
  for (const [name, s, cls, beforeContent, health, expect] of rows) {
    it(name, () => {
      const decision = decideRecovery(DEFAULT_RETRY, state(s), { retryClass: cls, beforeContent }, health, half) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(expect)) assert.deepEqual(decision[k], v, `${k} of ${JSON.stringify(decision)}`);
    });
  }
});

describe('TurnState', () => {
  it('reports first content once per turn, the busy signal only before content, and the turn’s end', () => {
    const t = new TurnState();
    assert.equal(t.onEvent({ type: 'sessionResumptionUpdate', resumable: false }), 'busy');
    assert.equal(t.awaitingFirstContent, true);
    assert.equal(t.onEvent({ type: 'audio', samples: new Int16Array(0), sampleRateHz: 24000 }), 'first-content');
    assert.equal(t.onEvent({ type: 'audio', samples: new Int16Array(0), sampleRateHz: 24000 }), 'none');
    assert.equal(t.onEvent({ type: 'sessionResumptionUpdate', resumable: false }), 'none', 'busy after content is not a new wait');
    assert.equal(t.onEvent({ type: 'turnComplete' }), 'turn-ended');
    assert.equal(t.generating, false);
  });

  it('is quiet only with no reply under way or due, the caller silent and no tool call pending', () => {
    const t = new TurnState();
    assert.equal(t.quiet(0), true);
    assert.equal(t.quiet(1), false, 'a pending tool call');
    t.caller(true);
    assert.equal(t.quiet(0), false, 'the caller is talking');
    t.caller(false);
    assert.equal(t.quiet(0), false, 'a reply is due');
    t.onEvent({ type: 'text', text: 'ok' });
    assert.equal(t.quiet(0), false, 'the reply is being generated');
    t.onEvent({ type: 'turnComplete' });
    assert.equal(t.quiet(0), true);
  });
});
