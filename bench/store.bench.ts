/**
 * The call store on both backends (SQLite file, PostgreSQL throwaway cluster from
 * test/support/postgres.ts, both on this machine): what the transcript writer's batches cost
 * and what the review UI's reads cost, on a store holding CALLS calls (default 5000) of 24 events.
 *   write: one writer batch as it is at 100 concurrent calls (100 record upserts + 400 events:
 *          about 4 events per call per 250 ms flush), p50/p95 over RUNS batches;
 *   list:  GET /api/calls's first page (50 newest); search: a one-word prefix search matching a
 *          tenth of the calls (its total, and the page's 50 snippets);
 *   claim: one job-queue claim of 10 due jobs.
 * PostgreSQL runs with fsync off here (a test cluster): its write figures are CPU and round trips,
 * not disk flushes; SQLite runs as in production (WAL, synchronous=NORMAL, no fsync per commit).
 *
 * Run: npm run bench:store [-- --calls 5000 --runs 40]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openPostgresStores, openStore, type Stores } from '../src/transcripts/open-store.js';
import type { EventRow } from '../src/transcripts/store.js';
import type { CallRecord } from '../src/transcripts/types.js';
import { percentile } from '../src/transcripts/format.js';
import { startPostgres } from '../test/support/postgres.js';
import { demoRecord } from '../test/support/transcripts-fixtures.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const CALLS = arg('--calls', 5000);
const RUNS = arg('--runs', 40);
const WORDS = ['booking', 'cleaning', 'thursday', 'refund', 'appointment', 'dentist', 'order', 'delivery', 'invoice', 'morning'];

function sid(n: number): string {
  return `CA${n.toString(16).padStart(32, '0')}`;
}

/** A call about one of WORDS (call n: WORDS[n % 10]), so a one-word search matches a tenth of the calls. */
function events(n: number, from: number, count: number): EventRow[] {
  const callSid = sid(n);
  return Array.from({ length: count }, (_, i) => {
    const kind = i % 2 === 0 ? 'caller_utterance' : 'bot_utterance';
    const text = kind === 'caller_utterance' ? `Hello, I am calling about the ${WORDS[n % WORDS.length]}, please` : 'Certainly, let me check that for you.';
    return { callSid, seq: from + i + 1, atMs: (from + i) * 1000, kind, bodyJson: JSON.stringify({ kind, text }), text } as EventRow;
  });
}

async function seed(stores: Stores): Promise<void> {
  const t0 = Date.UTC(2026, 0, 1);
  for (let base = 0; base < CALLS; base += 200) {
    const records: CallRecord[] = [];
    const rows: EventRow[] = [];
    for (let n = base; n < Math.min(CALLS, base + 200); n++) {
      records.push(demoRecord({ callSid: sid(n), startedAt: t0 + n * 60_000, outcome: 'completed', durationMs: 60_000 }));
      rows.push(...events(n, 0, 24));
    }
    await stores.transcripts.writeBatch({ records, events: rows });
  }
}

async function timed(runs: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn(i);
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b);
}

async function measure(stores: Stores): Promise<Record<string, string>> {
  await seed(stores);
  const live = Array.from({ length: 100 }, (_, i) => CALLS + i);
  const write = await timed(RUNS, (run) =>
    stores.transcripts.writeBatch({
      records: live.map((n, i) => demoRecord({ callSid: sid(n), startedAt: Date.now() - i, outcome: 'in_progress' })),
      events: live.flatMap((n) => events(n, run * 4, 4)),
    }),
  );
  const list = await timed(RUNS, () => stores.transcripts.listCalls({ limit: 50 }));
  const search = await timed(RUNS, (i) => stores.transcripts.listCalls({ limit: 50, q: WORDS[i % WORDS.length]!.slice(0, 5) }));
  for (let i = 0; i < RUNS * 10; i++) await stores.jobs.enqueue({ kind: 'notify', key: `bench:${i}`, callSid: sid(i), payload: null, runAtMs: 0 });
  const claim = await timed(RUNS, () => stores.jobs.claim(['notify'], Date.now(), 10, 60_000));
  const fmt = (ms: number[]) => `${percentile(ms, 50)!.toFixed(1)} / ${percentile(ms, 95)!.toFixed(1)}`;
  return { write: fmt(write), list: fmt(list), search: fmt(search), claim: fmt(claim) };
}

const rows: Array<[string, Record<string, string>]> = [];
const dir = mkdtempSync(join(tmpdir(), 'cb-store-bench-'));
try {
  const sqlite = await openStore({}, { dataDir: dir });
  rows.push(['sqlite', await measure(sqlite)]);
  await sqlite.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const pg = await startPostgres();
if ('skip' in pg) {
  console.log(pg.skip);
} else {
  try {
    const stores = await openPostgresStores(await pg.freshDatabase());
    rows.push(['postgres', await measure(stores)]);
    await stores.close();
  } finally {
    await pg.stop();
  }
}
console.log(`\ncall store, ${CALLS} calls × 24 events stored; ms p50 / p95 over ${RUNS} runs`);
console.log('| backend | write batch (100 calls, 400 events) | list page (50) | search (prefix) | claim 10 jobs |');
console.log('|---|---|---|---|---|');
for (const [name, r] of rows) console.log(`| ${name} | ${r.write} | ${r.list} | ${r.search} | ${r.claim} |`);
