import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FaultPlan, SeededRng, deriveSeed, rateFor } from '../../src/emulator/faults.js';
import { HandleStore } from '../../src/emulator/handles.js';
import { formatDuration } from '../../src/emulator/session.js';
import { EmulatorOptionsError, resolveOptions } from '../../src/emulator/index.js';

describe('emulator seeded randomness and fault plans', () => {
  it('the RNG is deterministic per seed and uniform enough', () => {
    const a = new SeededRng(7);
    const b = new SeededRng(7);
    const xs = Array.from({ length: 1000 }, () => a.next());
    assert.deepEqual(xs, Array.from({ length: 1000 }, () => b.next()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(mean > 0.45 && mean < 0.55);
    assert.notDeepEqual(xs.slice(0, 5), Array.from({ length: 5 }, ((r) => () => r.next())(new SeededRng(8))));
    assert.match(new SeededRng(1).digits(19), /^[1-9]\d{18}$/);
    assert.notEqual(deriveSeed(1, 1, 'turns'), deriveSeed(1, 2, 'turns'));
  });

  it('rates apply per model id, with * for the rest', () => {
    const spec = { 'gemini-a': 1, '*': 0.25 };
    assert.equal(rateFor(spec, 'gemini-a'), 1);
    assert.equal(rateFor(spec, 'models/gemini-a'), 1);
    assert.equal(rateFor(spec, 'gemini-b'), 0.25);
    assert.equal(rateFor({ 'gemini-a': 1 }, 'gemini-b'), 0);
    assert.equal(rateFor(0.5, 'x'), 0.5);
    assert.equal(rateFor(undefined, 'x'), 0);
  });

  it('seed 002 decisions: rate 1 always, 0 never, delays inside the range, same per (seed, session)', () => {
    const always = new FaultPlan({ internalErrorBeforeContent: { rate: 1, delayMs: [200, 3000] } }, 1, 1, 'm');
    for (let i = 0; i < 20; i++) {
      const d = always.internalBeforeContent()!;
      assert.deepEqual(d.close, { code: 1011, reason: 'Internal error encountered.' });
      assert.ok(d.delayMs >= 200 && d.delayMs <= 3000);
    }
    assert.equal(new FaultPlan({ internalErrorBeforeContent: { rate: 0 } }, 1, 1, 'm').internalBeforeContent(), undefined);
    const pattern = (session: number) => {
      const p = new FaultPlan({ internalErrorBeforeContent: { rate: 0.5 } }, 9, session, 'm');
      return Array.from({ length: 16 }, () => (p.internalBeforeContent() ? 1 : 0));
    };
    assert.deepEqual(pattern(3), pattern(3));
    assert.notDeepEqual(pattern(3), pattern(4));
  });

  it('one fault kind does not shift another kind’s decisions', () => {
    const turns = (garbageRate: number) => {
      const p = new FaultPlan({ internalErrorBeforeContent: { rate: 0.5 }, garbageRate }, 5, 1, 'm');
      return Array.from({ length: 16 }, () => {
        p.garbageFrame();
        return p.internalBeforeContent() ? 1 : 0;
      });
    };
    assert.deepEqual(turns(0), turns(0.9));
  });

  it('seed 003 closes: 1008 entity not found, 1011 internal, or either', () => {
    const kinds = new Set<number>();
    const p = new FaultPlan({ closeAfterToolResponse: { rate: 1 } }, 3, 1, 'm');
    for (let i = 0; i < 20; i++) kinds.add(p.closeAfterToolResponse()!.close.code);
    assert.deepEqual([...kinds].sort(), [1008, 1011]);
    const nf = new FaultPlan({ closeAfterToolResponse: { rate: 1, kind: 'entity-not-found' } }, 3, 1, 'm').closeAfterToolResponse();
    assert.deepEqual(nf?.close, { code: 1008, reason: 'Requested entity was not found.' });
  });
});

describe('emulator resumption handles', () => {
  it('stay valid while open and for the TTL after close, then are forgotten', () => {
    let now = 1000;
    const store = new HandleStore<string>(60_000, new SeededRng(1), () => now);
    store.open('s1', 1);
    const h = store.issue('s1', 'position-1');
    assert.notEqual(store.issue('s1', 'position-2'), h, 'every handle is new');
    assert.equal(store.lookup(h)?.snapshot, 'position-1');
    assert.equal(store.openConnection('s1'), 1);
    store.closed('s1', 1);
    assert.equal(store.openConnection('s1'), undefined);
    now += 60_000;
    assert.equal(store.lookup(h)?.logicalId, 's1');
    now += 1;
    assert.equal(store.lookup(h), undefined);
    assert.equal(store.lookup('made-up'), undefined);
  });
});

describe('emulator options', () => {
  it('applies defaults and names bad fields', () => {
    const o = resolveOptions({});
    assert.equal(o.timing.chunkMs, 40);
    assert.equal(o.handleTtlMs, 7_200_000);
    assert.equal(o.strictAudioMime, true);
    assert.throws(
      () => resolveOptions({ timing: { speechPace: 0 }, faults: { garbageRate: 2 } }),
      (err: unknown) => err instanceof EmulatorOptionsError && err.problems.length === 2 && /timing\.speechPace/.test(err.message) && /faults\.garbageRate/.test(err.message),
    );
  });

  it('formats goAway.timeLeft as a protobuf Duration', () => {
    assert.equal(formatDuration(5000), '5s');
    assert.equal(formatDuration(500), '0.5s');
    assert.equal(formatDuration(1234), '1.234s');
  });
});
