/**
 * `npm run bench:load -- --compare-floor`: callbridge against the bare relay (relay.ts), run back
 * to back at the same call counts in one invocation. Pure pieces, unit-tested with fixed inputs
 * (test/unit/bench-compare.test.ts): the GC pauses read from `--trace-gc` output, the figures of
 * one side, the ratios, the targets of issue 21, and the one summary line per N that scripts read:
 *
 *   100 calls: p99 ratio in 1.23, out 1.10, cpu ratio 1.15, max GC pause 3.2 ms, lost 0
 *
 * Method and how to read it: bench/README.md ("callbridge against the floor").
 */
import type { DirectionStats } from './analyse.js';
import { pct } from './analyse.js';

export interface GcPause {
  /** Scavenge, Mark-Compact, Mark-sweep or Minor Mark-Compact (V8's own names). */
  kind: string;
  ms: number;
  /** The `[pid:0xisolate]` prefix of the line: which process and which V8 isolate (thread); '' without one. */
  thread?: string;
  /** With --trace-gc-nvp: bytes allocated on the heap since the previous collection, and promoted to the old generation by this one. */
  allocatedBytes?: number;
  promotedBytes?: number;
}

/** --trace-gc-nvp's `gc=` codes, as --trace-gc names them. */
const NVP_KINDS: Record<string, string> = { s: 'Scavenge', mc: 'Mark-Compact', mmc: 'Minor Mark-Compact', ms: 'Mark-sweep' };

/**
 * Every pause in the output of a process run with `--trace-gc` (one line per collection, e.g.
 * `… ms: Mark-Compact 59.6 (77.7) -> 49.7 (84.3) MB, 15.48 / 0.00 ms  (+ 2.4 ms in 21 steps …`):
 * the first figure after the sizes is the time the program was stopped (for an incremental
 * Mark-Compact, its final atomic pause; the steps before it are in the parenthesis). Lines of
 * `--trace-gc-nvp` (`… ms: pause=11.2 mutator=… gc=mc … allocated=… promoted=…`) are read too,
 * with the bytes allocated before and promoted by each collection.
 */
export function parseGcPauses(output: string): GcPause[] {
  const pauses: GcPause[] = [];
  for (const m of output.matchAll(/(?:\[(\d+:0x[\da-f]+)\] +)?[\d.]+ ms: (?:((?:Minor )?(?:Scavenge|Mark-Compact|Mark-sweep))[^,\n]*?, ([\d.]+) \/ [\d.]+ ms|pause=([\d.]+) [^\n]*?gc=(\w+) [^\n]*)/g)) {
    const thread = m[1] ?? '';
    if (m[2] !== undefined) {
      pauses.push({ kind: m[2], ms: Number(m[3]), thread });
      continue;
    }
    const line = m[0];
    const bytes = (key: string) => Number(new RegExp(` ${key}=(\\d+)`).exec(line)?.[1] ?? NaN);
    pauses.push({ kind: NVP_KINDS[m[5]!] ?? m[5]!, ms: Number(m[4]), thread, allocatedBytes: bytes('allocated'), promotedBytes: bytes('promoted') });
  }
  return pauses;
}

/**
 * The pauses of each process's main thread, apart from those of its other threads. Node prints
 * the collections of every V8 isolate of a process: besides the main thread's, those of worker
 * threads, such as the module loader thread that `--import tsx` starts (module hooks run off the
 * main thread). A pause there stops that thread, not the event loop that carries the calls. The
 * main thread of a process is its isolate with the most collections (it does the work).
 */
export function splitByThread(pauses: readonly GcPause[]): { main: GcPause[]; other: GcPause[] } {
  const counts = new Map<string, number>();
  for (const p of pauses) counts.set(p.thread ?? '', (counts.get(p.thread ?? '') ?? 0) + 1);
  const busiest = new Map<string, string>(); // pid → its busiest isolate
  for (const [thread, n] of counts) {
    const pid = thread.split(':')[0]!;
    const best = busiest.get(pid);
    if (best === undefined || n > counts.get(best)!) busiest.set(pid, thread);
  }
  const main: GcPause[] = [];
  const other: GcPause[] = [];
  for (const p of pauses) (busiest.get((p.thread ?? '').split(':')[0]!) === (p.thread ?? '') ? main : other).push(p);
  return { main, other };
}

export interface GcSummary {
  count: number;
  p99Ms: number;
  maxMs: number;
  /** The longest Mark-Compact (full collection) pause, 0 without one. */
  maxMarkCompactMs: number;
  markCompacts: number;
  /** Heap bytes allocated and promoted over the window (--trace-gc-nvp; NaN without it). */
  allocatedBytes: number;
  promotedBytes: number;
  /** Pauses of the process's other threads (splitByThread): not counted above. */
  otherThreads: { count: number; maxMs: number };
}

/** The main threads' pauses (splitByThread) summarised; the other threads' only counted. */
export function summariseGc(all: readonly GcPause[]): GcSummary {
  const { main: pauses, other } = splitByThread(all);
  const sorted = Float64Array.from(pauses.map((p) => p.ms)).sort();
  const full = pauses.filter((p) => p.kind === 'Mark-Compact' || p.kind === 'Mark-sweep');
  return {
    count: pauses.length,
    p99Ms: sorted.length > 0 ? pct(sorted, 99) : 0,
    maxMs: sorted.length > 0 ? sorted[sorted.length - 1]! : 0,
    maxMarkCompactMs: full.reduce((m, p) => Math.max(m, p.ms), 0),
    markCompacts: full.length,
    allocatedBytes: pauses.length > 0 ? pauses.reduce((a, p) => a + (p.allocatedBytes ?? NaN), 0) : NaN,
    promotedBytes: pauses.length > 0 ? pauses.reduce((a, p) => a + (p.promotedBytes ?? NaN), 0) : NaN,
    otherThreads: { count: other.length, maxMs: other.reduce((m, p) => Math.max(m, p.ms), 0) },
  };
}

/** One side (callbridge or the relay) at one N, as measured by the load run. */
export interface SideFigures {
  inbound: DirectionStats;
  outbound: DirectionStats;
  /** % of one core over the steady window. */
  cpuPct: number;
  rssPerCallMb: number;
  gc: GcSummary;
}

export interface Comparison {
  calls: number;
  bridge: SideFigures;
  relay: SideFigures;
  /** callbridge ÷ relay: p99 per direction, CPU. */
  p99RatioIn: number;
  p99RatioOut: number;
  cpuRatio: number;
  /** Frames callbridge lost, both directions. */
  lost: number;
}

export function compare(calls: number, bridge: SideFigures, relay: SideFigures): Comparison {
  return {
    calls,
    bridge,
    relay,
    p99RatioIn: bridge.inbound.p99Ms / relay.inbound.p99Ms,
    p99RatioOut: bridge.outbound.p99Ms / relay.outbound.p99Ms,
    cpuRatio: bridge.cpuPct / relay.cpuPct,
    lost: bridge.inbound.lost + bridge.outbound.lost,
  };
}

const fixed = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** The line scripts read, exactly: `100 calls: p99 ratio in 1.23, out 1.10, cpu ratio 1.15, max GC pause 3.2 ms, lost 0`. */
export function summaryLine(c: Comparison): string {
  return `${c.calls} calls: p99 ratio in ${fixed(c.p99RatioIn, 2)}, out ${fixed(c.p99RatioOut, 2)}, cpu ratio ${fixed(c.cpuRatio, 2)}, max GC pause ${fixed(c.bridge.gc.maxMs, 1)} ms, lost ${c.lost}`;
}

/** Reads a summary line back (for scripts and the smoke test); undefined if it is not one. */
export function parseSummaryLine(line: string): { calls: number; p99RatioIn: number; p99RatioOut: number; cpuRatio: number; maxGcPauseMs: number; lost: number } | undefined {
  const num = '(\\d+(?:\\.\\d+)?|-)';
  const m = new RegExp(`^(\\d+) calls: p99 ratio in ${num}, out ${num}, cpu ratio ${num}, max GC pause ${num} ms, lost (\\d+)$`).exec(line);
  if (!m) return undefined;
  const n = (s: string) => (s === '-' ? NaN : Number(s));
  return { calls: Number(m[1]), p99RatioIn: n(m[2]!), p99RatioOut: n(m[3]!), cpuRatio: n(m[4]!), maxGcPauseMs: n(m[5]!), lost: Number(m[6]) };
}

export interface Target {
  what: string;
  value: string;
  limit: string;
  met: boolean;
}

/**
 * Issue 21's targets at one N: p99 per direction ≤ 1.5 × the relay's p99 + 2 ms; CPU ≤ 1.3 × the
 * relay's; RSS ≤ 0.5 MB per call; no frame lost; no Mark-Compact pause over 5 ms.
 */
export function targets(c: Comparison): Target[] {
  const p99 = (what: string, mine: number, floor: number): Target => {
    const limit = 1.5 * floor + 2;
    return { what, value: `${fixed(mine, 2)} ms`, limit: `1.5 × ${fixed(floor, 2)} + 2 = ${fixed(limit, 2)} ms`, met: mine <= limit };
  };
  return [
    p99('p99 in', c.bridge.inbound.p99Ms, c.relay.inbound.p99Ms),
    p99('p99 out', c.bridge.outbound.p99Ms, c.relay.outbound.p99Ms),
    { what: 'CPU', value: `${fixed(c.cpuRatio, 2)} × the relay's`, limit: '1.3 ×', met: c.cpuRatio <= 1.3 },
    { what: 'RSS per call', value: `${fixed(c.bridge.rssPerCallMb, 2)} MB`, limit: '0.5 MB', met: c.bridge.rssPerCallMb <= 0.5 },
    { what: 'frames lost', value: String(c.lost), limit: '0', met: c.lost === 0 },
    { what: 'longest Mark-Compact', value: `${fixed(c.bridge.gc.maxMarkCompactMs, 1)} ms`, limit: '5 ms', met: c.bridge.gc.maxMarkCompactMs <= 5 },
  ];
}

export function targetsLine(c: Comparison): string {
  return `#   targets at ${c.calls} calls: ${targets(c).map((t) => `${t.what} ${t.value} (≤ ${t.limit}) ${t.met ? 'met' : 'NOT met'}`).join('; ')}`;
}

/** Heap KB per media message handled (caller frames in plus bot audio messages out). */
function perMessageKb(s: SideFigures, bytes: number): number {
  return bytes / 1024 / (s.inbound.frames + s.outbound.frames);
}

/** Rows of the per-N table (markdown): callbridge, the relay, and the ratio. */
export function comparisonTable(c: Comparison): string[] {
  const dir = (d: DirectionStats) => `${fixed(d.p50Ms, 2)} / ${fixed(d.p99Ms, 2)} / ${fixed(d.maxMs, 1)}`;
  const row = (name: string, s: SideFigures) =>
    `| ${name} | ${dir(s.inbound)} | ${dir(s.outbound)} | ${s.inbound.lost}/${s.outbound.lost} of ${s.inbound.frames}/${s.outbound.frames} | ${fixed(s.cpuPct, 1)} | ${fixed((s.cpuPct * 10) / c.calls, 2)} | ` +
    `${s.gc.count}, ${fixed(s.gc.p99Ms, 2)}, ${fixed(s.gc.maxMs, 2)} (${s.gc.markCompacts} Mark-Compact, longest ${fixed(s.gc.maxMarkCompactMs, 2)}) | ` +
    `${fixed(perMessageKb(s, s.gc.allocatedBytes), 2)} / ${fixed(perMessageKb(s, s.gc.promotedBytes), 3)} | ${fixed(s.rssPerCallMb, 3)} |`;
  return [
    `| ${c.calls} calls | in p50 / p99 / max ms | out p50 / p99 / max ms | lost in/out | CPU % of a core | CPU ms per call per s | GC pauses: count, p99, max ms | heap KB allocated / promoted per message | RSS MB per call |`,
    '|---|---|---|---|---:|---:|---|---|---:|',
    row('callbridge', c.bridge),
    row('bare relay', c.relay),
    `| ratio | p99 ${fixed(c.p99RatioIn, 2)} | p99 ${fixed(c.p99RatioOut, 2)} | | ${fixed(c.cpuRatio, 2)} | | | ${fixed(c.bridge.gc.allocatedBytes / c.relay.gc.allocatedBytes, 2)} / ${fixed(c.bridge.gc.promotedBytes / c.relay.gc.promotedBytes, 2)} | |`,
  ];
}
