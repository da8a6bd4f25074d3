/**
 * `npm run bench:load -- --compare-floor` (bench/load/compare.ts), with fixed inputs: GC pauses
 * read from --trace-gc output, their summary, the ratios, issue 21's targets, and the exact
 * summary line scripts read.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compare, comparisonTable, parseGcPauses, parseSummaryLine, summariseGc, summaryLine, targets, targetsLine, type SideFigures } from '../../bench/load/compare.js';
import type { DirectionStats } from '../../bench/load/analyse.js';

const TRACE = [
  '{"level":30,"msg":"callbridge listening on http://127.0.0.1:4000"}',
  '[4433:0x26f2ae70]       50 ms: Scavenge 3.8 (4.0) -> 3.4 (5.0) MB, 0.56 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
  '[4433:0x26f2ae70]     8120 ms: Scavenge (reduce) 7.6 (9.9) -> 7.5 (15.4) MB, 1.88 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
  '{"level":30,"callSid":"CA1","msg":"call started, 12.5 / 3.0 ms of something"}',
  '[4441:0xe3a7e50]      458 ms: Mark-Compact 59.6 (77.7) -> 49.7 (84.3) MB, 11.48 / 0.00 ms  (+ 2.4 ms in 21 steps since start of marking, biggest step 0.2 ms, walltime since start of marking 82 ms) (average mu = 1.000, current mu = 1.000) task; GC in old space requested',
  '[4441:0xe3a7e50]      517 ms: Mark-Compact (reduce) 49.7 (84.3) -> 43.0 (77.7) MB, 4.10 / 0.00 ms  (average mu = 0.008, current mu = 0.008) memory reducer; GC in old space requested',
  '[4441:0xe3a7e50]      600 ms: Minor Mark-Compact 8.1 (9.0) -> 4.0 (9.0) MB, 0.90 / 0.00 ms  (average mu = 0.9) allocation failure;',
].join('\n');

function dir(p50Ms: number, p99Ms: number, lost = 0): DirectionStats {
  return { frames: 1000 + lost, lost, late: 0, p50Ms, p99Ms, maxMs: p99Ms + 1 };
}
function side(over: Partial<SideFigures> = {}): SideFigures {
  return { inbound: dir(2, 10), outbound: dir(1, 4), cpuPct: 40, rssPerCallMb: 0.2, gc: summariseGc([]), ...over };
}

describe('bench:load --compare-floor', () => {
  it('reads every GC pause of a --trace-gc log, and nothing from other lines', () => {
    assert.deepEqual(parseGcPauses(TRACE), [
      { kind: 'Scavenge', ms: 0.56, thread: '4433:0x26f2ae70' },
      { kind: 'Scavenge', ms: 1.88, thread: '4433:0x26f2ae70' },
      { kind: 'Mark-Compact', ms: 11.48, thread: '4441:0xe3a7e50' },
      { kind: 'Mark-Compact', ms: 4.1, thread: '4441:0xe3a7e50' },
      { kind: 'Minor Mark-Compact', ms: 0.9, thread: '4441:0xe3a7e50' },
    ]);
    assert.deepEqual(parseGcPauses('{"msg":"no gc here"}\n'), []);
  });

  it('reads --trace-gc-nvp lines: pause, kind, bytes allocated before and promoted by each collection', () => {
    const nvp = [
      '[1:0x1]       58 ms: pause=3.7 mutator=48.3 gc=s reduce_memory=0 scavenge=3.06 total_size_before=3960536 allocated=3960536 promoted=0 new_space_survived=490496',
      '{"level":30,"msg":"pause=99 gc=s allocated=1"}',
      '[1:0x1]      541 ms: pause=8.2 mutator=50.4 gc=mc reduce_memory=0 heap.prologue=0.00 allocated=3198984 promoted=70200 nodes_promoted=0',
    ].join('\n');
    const pauses = parseGcPauses(nvp);
    assert.deepEqual(pauses, [
      { kind: 'Scavenge', ms: 3.7, thread: '1:0x1', allocatedBytes: 3960536, promotedBytes: 0 },
      { kind: 'Mark-Compact', ms: 8.2, thread: '1:0x1', allocatedBytes: 3198984, promotedBytes: 70200 },
    ]);
    const gc = summariseGc(pauses);
    assert.equal(gc.allocatedBytes, 3960536 + 3198984);
    assert.equal(gc.promotedBytes, 70200);
    assert.equal(gc.maxMarkCompactMs, 8.2);
    assert.ok(Number.isNaN(summariseGc(parseGcPauses(TRACE)).allocatedBytes), 'plain --trace-gc has no byte counts');
  });

  it('summarises pauses: count, p99 (nearest rank), max, and the full collections apart', () => {
    const gc = summariseGc(parseGcPauses(TRACE));
    assert.deepEqual({ ...gc, allocatedBytes: 0, promotedBytes: 0 }, { count: 5, p99Ms: 11.48, maxMs: 11.48, maxMarkCompactMs: 11.48, markCompacts: 2, allocatedBytes: 0, promotedBytes: 0, otherThreads: { count: 0, maxMs: 0 } });
    const many = summariseGc(Array.from({ length: 200 }, (_, i) => ({ kind: 'Scavenge', ms: i + 1 })));
    assert.equal(many.p99Ms, 198, 'nearest rank: the 198th of 200');
    assert.equal(many.maxMs, 200);
    assert.equal(many.maxMarkCompactMs, 0, 'no full collection');
    assert.deepEqual(summariseGc([]), { count: 0, p99Ms: 0, maxMs: 0, maxMarkCompactMs: 0, markCompacts: 0, allocatedBytes: NaN, promotedBytes: NaN, otherThreads: { count: 0, maxMs: 0 } });
  });

  it('counts only each process’s main thread: a worker thread’s collections (tsx’s module loader) are apart', () => {
    const log = [
      '[7:0x3779c160]     9000 ms: Scavenge 40.1 (60.0) -> 30.2 (61.0) MB, 1.50 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
      '[7:0x7fa84c000f00]    32551 ms: Mark-Compact (reduce) 15.1 (26.6) -> 8.3 (10.4) MB, 26.24 / 0.07 ms  (+ 2.7 ms in 17 steps since start of marking, biggest step 0.4 ms, walltime since start of marking 42 ms) (average mu = 0.999, current mu = 0.999) finalize incremental marking via task; GC in old space requested',
      '[7:0x3779c160]     9300 ms: Scavenge 41.0 (61.0) -> 30.4 (61.0) MB, 2.25 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
      '[8:0x5000]     100 ms: Scavenge 4.0 (5.0) -> 3.0 (5.0) MB, 0.75 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
    ].join('\n');
    const gc = summariseGc(parseGcPauses(log));
    assert.equal(gc.count, 3, 'both Scavenges of process 7’s main thread and the one of process 8 (a cluster worker)');
    assert.equal(gc.maxMs, 2.25);
    assert.equal(gc.markCompacts, 0, 'the loader thread’s Mark-Compact does not stop the event loop');
    assert.deepEqual(gc.otherThreads, { count: 1, maxMs: 26.24 });
  });

  it('prints the summary line in exactly the issue’s form', () => {
    const c = compare(
      100,
      side({ inbound: dir(3, 12.3), outbound: dir(2, 4.4), cpuPct: 46, gc: summariseGc([{ kind: 'Scavenge', ms: 3.2 }, { kind: 'Scavenge', ms: 1 }]) }),
      side({ inbound: dir(2, 10), outbound: dir(1, 4), cpuPct: 40 }),
    );
    assert.equal(summaryLine(c), '100 calls: p99 ratio in 1.23, out 1.10, cpu ratio 1.15, max GC pause 3.2 ms, lost 0');
    assert.deepEqual(parseSummaryLine(summaryLine(c)), { calls: 100, p99RatioIn: 1.23, p99RatioOut: 1.1, cpuRatio: 1.15, maxGcPauseMs: 3.2, lost: 0 });
  });

  it('counts callbridge’s lost frames in both directions (not the relay’s), and prints "-" for a ratio over nothing', () => {
    const c = compare(5, side({ inbound: dir(2, 10, 3), outbound: dir(1, 4, 2) }), side({ inbound: dir(2, 0, 9), outbound: dir(1, 4, 9) }));
    assert.equal(c.lost, 5);
    const line = summaryLine(c);
    assert.match(line, /^5 calls: p99 ratio in -, out 1\.00, cpu ratio 1\.00, max GC pause 0\.0 ms, lost 5$/);
    const back = parseSummaryLine(line)!;
    assert.ok(Number.isNaN(back.p99RatioIn));
    assert.equal(parseSummaryLine('#   targets at 5 calls: …'), undefined);
  });

  it('marks each target met or not, at its boundary', () => {
    const relay = side({ inbound: dir(2, 10), outbound: dir(1, 4), cpuPct: 40 });
    // 1.5 × 10 + 2 = 17 ms in; 1.5 × 4 + 2 = 8 ms out; CPU 52 / 40 = 1.3.
    const atLimits = compare(100, side({ inbound: dir(3, 17), outbound: dir(2, 8), cpuPct: 52, rssPerCallMb: 0.5, gc: summariseGc([{ kind: 'Mark-Compact', ms: 5 }]) }), relay);
    assert.deepEqual(targets(atLimits).map((t) => t.met), [true, true, true, true, true, true]);
    const over = compare(100, side({ inbound: dir(3, 17.01), outbound: dir(2, 8.01), cpuPct: 52.1, rssPerCallMb: 0.51, gc: summariseGc([{ kind: 'Mark-Compact', ms: 5.1 }, { kind: 'Scavenge', ms: 9 }]) }), relay);
    assert.deepEqual(targets(over).map((t) => [t.what, t.met]), [
      ['p99 in', false], ['p99 out', false], ['CPU', false], ['RSS per call', false], ['frames lost', true], ['longest Mark-Compact', false],
    ]);
    assert.match(targetsLine(over), /p99 in 17\.01 ms \(≤ 1\.5 × 10\.00 \+ 2 = 17\.00 ms\) NOT met/);
    const lossy = compare(100, side({ inbound: dir(2, 10, 1) }), relay);
    assert.equal(targets(lossy).find((t) => t.what === 'frames lost')!.met, false);
  });

  it('prints a table with a row for each side and the ratios', () => {
    const rows = comparisonTable(compare(10, side({ cpuPct: 50 }), side({ cpuPct: 40 })));
    assert.equal(rows.length, 5);
    assert.match(rows[0]!, /heap KB allocated \/ promoted per message/);
    assert.match(rows[2]!, /^\| callbridge \| 2\.00 \/ 10\.00 \/ 11\.0 \| 1\.00 \/ 4\.00 \/ 5\.0 \| 0\/0 of 1000\/1000 \| 50\.0 \| 50\.00 \| 0, 0\.00, 0\.00 /);
    assert.match(rows[3]!, /^\| bare relay \|/);
    assert.match(rows[4]!, /^\| ratio \| p99 1\.00 \| p99 1\.00 \| \| 1\.25 \|/);
  });
});
