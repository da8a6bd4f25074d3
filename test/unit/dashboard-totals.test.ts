/**
 * A range's figures added up from its days (src/dashboard/totals.ts): counts and outcomes sum,
 * intents and failed functions merge by name, the median is the store's.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addUp, trimDay } from '../../src/dashboard/totals.js';
import type { WindowFigures } from '../../src/transcripts/dashboard-store.js';

function day(key: string, f: Partial<WindowFigures>): WindowFigures {
  return { key, calls: 0, outcomes: {}, followUpsOpen: 0, followUps: 0, medianDurationMs: null, topIntents: [], analysed: 0, failedFunctions: [], transfers: 0, ...f };
}

describe('addUp', () => {
  it('sums counts and outcomes, merges names, keeps the given median', () => {
    const a = day('2026-03-08', { calls: 3, outcomes: { completed: 2, failed: 1 }, followUpsOpen: 1, followUps: 2, analysed: 2, transfers: 1, medianDurationMs: 10, topIntents: [{ name: 'booking', calls: 2 }], failedFunctions: [{ name: 'book', calls: 1 }] });
    const b = day('2026-03-09', { calls: 2, outcomes: { completed: 1, transferred: 1 }, followUpsOpen: 1, followUps: 1, analysed: 2, transfers: 1, medianDurationMs: 99, topIntents: [{ name: 'billing', calls: 2 }, { name: 'booking', calls: 1 }], failedFunctions: [{ name: 'lookup', calls: 2 }, { name: 'book', calls: 2 }] });
    assert.deepEqual(addUp('total', [a, b], 42), {
      key: 'total', calls: 5, outcomes: { completed: 3, failed: 1, transferred: 1 }, followUpsOpen: 2, followUps: 3, medianDurationMs: 42,
      topIntents: [{ name: 'booking', calls: 3 }, { name: 'billing', calls: 2 }], analysed: 4,
      failedFunctions: [{ name: 'book', calls: 3 }, { name: 'lookup', calls: 2 }], transfers: 2,
    });
    assert.deepEqual(addUp('total', [], null), day('total', {}));
  });

  it('keeps the five most frequent intents (ties by name), for the range and for a day', () => {
    const names = ['f', 'e', 'd', 'c', 'b', 'a'].map((name, i) => ({ name, calls: i < 2 ? 5 : 1 }));
    const total = addUp('total', [day('d', { topIntents: names })], null);
    assert.deepEqual(total.topIntents.map((x) => x.name), ['e', 'f', 'a', 'b', 'c']);
    assert.equal(trimDay(day('d', { topIntents: names })).topIntents.length, 5);
  });
});
