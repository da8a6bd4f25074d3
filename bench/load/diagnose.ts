/**
 * --diagnose: a summary of the --trace-gc lines, of why full collections started
 * (--trace-incremental-marking) and of the event-loop stalls (test/support/loop-monitor.mjs) in
 * the output of the process under test.
 */
import { parseGcPauses, splitByThread } from './compare.js';

/** Summary of --trace-gc lines and loop-monitor stalls in the output of the process under test (whole run, warm-up included). */
export function diagnose(output: string, name = 'callbridge'): void {
  const { main, other } = splitByThread(parseGcPauses(output));
  const byKind = new Map<string, number[]>();
  for (const p of main) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p.ms]);
  for (const p of other) byKind.set(`${p.kind} (other threads, not the event loop)`, [...(byKind.get(`${p.kind} (other threads, not the event loop)`) ?? []), p.ms]);
  for (const [kind, ms] of byKind) {
    ms.sort((a, b) => a - b);
    console.log(`#   ${name} GC ${kind}: ${ms.length} pauses, p50 ${ms[Math.floor(ms.length / 2)]} ms, max ${ms.at(-1)} ms, ${ms.filter((x) => x >= 10).length} of 10 ms or more`);
  }
  // Why full collections started (--trace-incremental-marking): "external memory pressure" means
  // Buffers and typed arrays (off the V8 heap), "allocation limit" the heap's own growth.
  const starts = new Map<string, number>();
  for (const m of output.matchAll(/\[IncrementalMarking\] Start \(([^)]+)\)/g)) starts.set(m[1]!, (starts.get(m[1]!) ?? 0) + 1);
  if (starts.size > 0) console.log(`#   ${name} full GCs started by: ${[...starts].map(([why, n]) => `${why} ${n}`).join(', ')}`);
  const stalls = output.split('\n').filter((l) => l.includes('"loopMonitor":true'));
  console.log(`#   ${name} event-loop stalls >= ${Number(process.env['LOOP_MONITOR_STALL_MS']) || 50} ms: ${stalls.length}${stalls.length ? `: ${stalls.slice(0, 8).map((l) => { const j = JSON.parse(l) as { stallMs: number; runMs: number; waitMs: number }; return `${j.stallMs} (ran ${j.runMs}, waited ${j.waitMs})`; }).join(', ')}` : ''}`);
}

