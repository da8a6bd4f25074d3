/**
 * After the call on a busy store: CALLS calls (default 100 000) over 92 days, an analysis for 8
 * in 10 (one in six says follow-up; a declared `reason` field), about 6 % flagged by the rules.
 * Prints, median of RUNS runs:
 *   - the call list's analysis filters (src/transcripts/sqlite-store.ts): a page of 25 with its
 *     total for followUp=true (rules or analysis), followUp=any (rules only, for comparison),
 *     field.reason=billing, and no filter;
 *   - the job queue (src/transcripts/sqlite-jobs.ts): enqueue, claim (batches of 4, as the runner
 *     does) and complete, per job, with the queue holding the calls' done jobs;
 *   - the writer's batch with final records (which also queue their analysis job in the same
 *     transaction) against the same batch with records still in progress.
 * Every figure is measured in this run on this machine; compare the lines with each other.
 *
 * Run: npm run bench:aftercall [-- --calls 100000 --runs 9]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSqliteStore } from '../src/transcripts/sqlite-store.js';
import { SqliteAnalysisStore, SqliteJobQueue, type CallAnalysis, type CallListQuery } from '../src/transcripts/index.js';
import type { CallRecord } from '../src/transcripts/types.js';
import { percentile } from '../src/transcripts/format.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const CALLS = arg('--calls', 100_000);
const RUNS = arg('--runs', 9);
const END = Date.parse('2026-06-01T00:00:00Z');
const START = END - 92 * 86_400_000;
const REASONS = ['booking', 'billing', 'emergency', 'other'];

const dir = mkdtempSync(join(tmpdir(), 'cb-bench-aftercall-'));
const store = openSqliteStore({ dataDir: dir });
const analyses = new SqliteAnalysisStore(store.database);
const queue = new SqliteJobQueue(store.database);

function record(i: number, outcome: CallRecord['outcome'] = 'completed'): CallRecord {
  const startedAt = START + Math.floor((i / CALLS) * (END - START));
  return {
    callSid: `CA${i.toString(16).padStart(32, '0')}`, from: '+15550000001', to: '+15550000000', flow: 'dental', models: ['m'],
    startedAt, endedAt: startedAt + 60_000, durationMs: 60_000, outcome, geminiCloses: [], reconnects: 0,
    usage: { promptTokens: 0, responseTokens: 0, totalTokens: 0 }, latency: { turns: [] },
    ...(i % 17 === 0 ? { followUp: { level: 'amber' as const, reasons: ['a function failed'] } } : {}),
  };
}

function analysis(i: number): CallAnalysis {
  return {
    status: 'ok', summary: 'The caller asked about something and it was handled.', intent: 'question', resolved: i % 6 !== 0,
    followUp: i % 6 === 0, followUpReason: i % 6 === 0 ? 'Call back.' : null, sentiment: 'neutral',
    fields: { reason: REASONS[i % REASONS.length]!, callback_number: null }, model: 'gemini-3.8-flash', promptVersion: 'analysis-v1', analysedAtMs: END,
  };
}

const median = (xs: number[]) => percentile(xs, 50)!;
const ms = (x: number) => `${x.toFixed(x < 1 ? 3 : 1)} ms`;

async function seed(): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i += 1000) {
    const records = Array.from({ length: Math.min(1000, CALLS - i) }, (_, k) => record(i + k));
    await store.writeBatch({ records, events: [] });
  }
  store.database.prepare("UPDATE jobs SET state = 'done'").run();
  const put = store.database.transaction(() => {
    for (let i = 0; i < CALLS; i++) if (i % 5 !== 0) void analyses.putAnalysis(`CA${i.toString(16).padStart(32, '0')}`, analysis(i), END);
  });
  put();
  console.log(`seeded ${CALLS.toLocaleString()} calls, ${Math.round(CALLS * 0.8).toLocaleString()} analyses in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function listFigures(): Promise<void> {
  const cases: Array<[string, Omit<CallListQuery, 'limit'>]> = [
    ['no filter', {}],
    ['followUp=any (rules only)', { followUp: 'any' }],
    ['followUp=true (rules or analysis)', { followUp: 'true' }],
    ['field.reason=billing', { fields: { reason: 'billing' } }],
    ['followUp=true & field.reason=billing', { followUp: 'true', fields: { reason: 'billing' } }],
  ];
  console.log('\nGET /api/calls page of 25 with its total (store query), median of', RUNS);
  for (const [name, q] of cases) {
    const times: number[] = [];
    let total = 0;
    for (let r = 0; r < RUNS; r++) {
      const t = performance.now();
      total = (await store.listCalls({ ...q, limit: 25 })).total;
      times.push(performance.now() - t);
    }
    console.log(`  ${name.padEnd(40)} ${ms(median(times)).padStart(10)}   (${total.toLocaleString()} calls)`);
  }
}

async function queueFigures(): Promise<void> {
  const N = 10_000;
  const now = END + 1;
  let t = performance.now();
  for (let i = 0; i < N; i++) await queue.enqueue({ kind: 'notify', key: `bench:${i}`, callSid: 'CAbench', payload: { i }, runAtMs: now });
  const enqueue = (performance.now() - t) / N;
  t = performance.now();
  let claimed = 0;
  const claimTimes: number[] = [];
  for (;;) {
    const c0 = performance.now();
    const jobs = await queue.claim(['notify'], now, 4, 60_000);
    claimTimes.push(performance.now() - c0);
    if (jobs.length === 0) break;
    for (const j of jobs) await queue.complete(j.id, now);
    claimed += jobs.length;
  }
  const cycle = (performance.now() - t) / claimed;
  console.log(`\njob queue with ${CALLS.toLocaleString()} done jobs in the table, ${N.toLocaleString()} jobs`);
  console.log(`  enqueue                                   ${ms(enqueue).padStart(10)} per job`);
  console.log(`  claim (batch of 4), median               ${ms(median(claimTimes)).padStart(10)} per claim`);
  console.log(`  claim + complete                          ${ms(cycle).padStart(10)} per job`);
}

async function writeFigures(): Promise<void> {
  const batch = 50;
  const timeOf = async (outcome: CallRecord['outcome'], base: number) => {
    const times: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const records = Array.from({ length: batch }, (_, k) => record(CALLS + base + r * batch + k, outcome));
      const t = performance.now();
      await store.writeBatch({ records, events: [] });
      times.push(performance.now() - t);
    }
    return median(times);
  };
  const open = await timeOf('in_progress', 0);
  const final = await timeOf('completed', 1_000_000);
  console.log(`\nwriter batch of ${batch} records (one transaction), median of ${RUNS}`);
  console.log(`  records in progress                       ${ms(open).padStart(10)}`);
  console.log(`  final records (+ their analysis jobs)     ${ms(final).padStart(10)}`);
}

try {
  await seed();
  await listFigures();
  await queueFigures();
  await writeFigures();
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
