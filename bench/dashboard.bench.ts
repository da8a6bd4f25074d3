/**
 * The owner's dashboard queries (src/transcripts/sqlite-dashboard.ts) on a busy store: CALLS calls
 * (default 100 000) spread over 92 days and 5 flows in 3 time zones, 6 events each (one in ten
 * with a failed function), an analysis for 8 in 10 (10 intents), about 6 % needing follow-up.
 * Measured through the real routes (src/web/dashboard-routes.ts), median of RUNS runs, with the
 * longest event-loop stall while they ran (better-sqlite3 is synchronous: a stall is time every
 * call's audio waits; the route reads a week per query and yields in between to bound it):
 *   GET /api/dashboard for 7, 30 and 92 local days, all flows;
 *   GET /api/follow-ups (200 rows), one flow and all.
 *
 * Run: npm run bench:dashboard [-- --calls 100000 --runs 9]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../src/transcripts/sqlite-store.js';
import { SqliteDashboardStore } from '../src/transcripts/sqlite-dashboard.js';
import { SqliteAnalysisStore, type CallAnalysis } from '../src/transcripts/index.js';
import type { CallRecord } from '../src/transcripts/types.js';
import type { EventRow } from '../src/transcripts/store.js';
import { addDays } from '../src/dashboard/days.js';
import { percentile } from '../src/transcripts/format.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import express from 'express';
import { mountDashboard } from '../src/web/dashboard-routes.js';
import { silentLogger } from '../src/shared/log.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const CALLS = arg('--calls', 100_000);
const RUNS = arg('--runs', 9);
const DAYS = 92;
const FLOWS = [
  { name: 'dental', zone: 'America/New_York' },
  { name: 'orders', zone: 'Europe/London' },
  { name: 'bookings', zone: 'Australia/Sydney' },
  { name: 'support', zone: 'America/New_York' },
  { name: 'sales', zone: 'Europe/London' },
];
const INTENTS = ['booking', 'cancel booking', 'billing', 'opening hours', 'prices', 'emergency', 'directions', 'insurance', 'complaint', 'other'];
const END = Date.parse('2026-06-01T00:00:00Z');
const START = END - DAYS * 86_400_000;

const dir = mkdtempSync(join(tmpdir(), 'cb-bench-dash-'));
const store = openSqliteStore({ dataDir: dir });
const analyses = new SqliteAnalysisStore(store.database);
const dash = new SqliteDashboardStore(store.database);

function record(i: number): CallRecord {
  const startedAt = START + Math.floor((i / CALLS) * (END - START));
  const flow = FLOWS[i % FLOWS.length]!.name;
  const durationMs = 20_000 + ((i * 7919) % 300_000);
  const j = Math.floor(i / FLOWS.length); // the call's number within its flow
  const outcome = j % 17 === 0 ? 'transferred' : j % 23 === 0 ? 'failed' : j % 5 === 0 ? 'caller_hung_up' : 'completed';
  return {
    callSid: `CA${i.toString(16).padStart(32, '0')}`, from: `+1555${String(i % 10_000_000).padStart(7, '0')}`, to: '+15550000000', flow,
    models: ['m'], startedAt, endedAt: startedAt + durationMs, durationMs, outcome, geminiCloses: [], reconnects: 0,
    usage: { promptTokens: 0, responseTokens: 0, totalTokens: 0 }, latency: { turns: [] },
    ...(j % 24 === 0 ? { followUp: { level: 'amber' as const, reasons: ['The function book failed.'] } } : {}),
  };
}

function events(r: CallRecord, j: number): EventRow[] {
  const rows: EventRow[] = [];
  const add = (body: Record<string, unknown> & { kind: string }, text?: string) =>
    rows.push({ callSid: r.callSid, seq: rows.length + 1, atMs: rows.length * 1000, kind: body.kind as EventRow['kind'], bodyJson: JSON.stringify(body), ...(text ? { text } : {}) });
  add({ kind: 'bot_utterance', text: 'Hello, how can I help?', heardMs: 1000, sentMs: 1000, interrupted: false }, 'Hello, how can I help?');
  add({ kind: 'caller_utterance', text: 'I would like to book an appointment.' }, 'I would like to book an appointment.');
  add({ kind: 'stage_change', to: 'booking', reason: 'wants to book' });
  add({ kind: 'function_call', id: 'f', name: j % 10 === 0 ? 'book_slot' : 'check_calendar', args: {}, status: j % 10 === 0 ? 'error' : 'ok', latencyMs: 100 });
  add({ kind: 'bot_utterance', text: 'Done. Goodbye.', heardMs: 1000, sentMs: 1000, interrupted: false }, 'Done. Goodbye.');
  add({ kind: 'caller_utterance', text: 'Thanks, bye.' }, 'Thanks, bye.');
  return rows;
}

function analysis(j: number): CallAnalysis {
  return {
    status: 'ok', summary: 'The caller booked an appointment.', intent: INTENTS[(j * 31) % INTENTS.length]!, resolved: true,
    followUp: j % 40 === 0, followUpReason: j % 40 === 0 ? 'Wants a call back' : null, sentiment: 'neutral', fields: {},
    model: 'm', promptVersion: 'p', analysedAtMs: END,
  };
}

const t0 = performance.now();
for (let from = 0; from < CALLS; from += 1000) {
  const records: CallRecord[] = [];
  const rows: EventRow[] = [];
  for (let i = from; i < Math.min(CALLS, from + 1000); i++) {
    const r = record(i);
    records.push(r);
    rows.push(...events(r, Math.floor(i / FLOWS.length)));
  }
  await store.writeBatch({ records, events: rows });
  const db = store.database;
  db.transaction(() => {
    for (const r of records) {
      const j = Math.floor(parseInt(r.callSid.slice(2), 16) / FLOWS.length);
      if (j % 5 !== 0) void analyses.putAnalysis(r.callSid, analysis(j), END);
    }
  })();
}
console.log(`seeded ${CALLS.toLocaleString()} calls (${(CALLS * 6).toLocaleString()} events) over ${DAYS} days in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

async function time(fn: () => Promise<unknown>): Promise<{ ms: number[]; blockedMs: number }> {
  const ms: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  for (let r = 0; r < RUNS; r++) {
    const s = performance.now();
    await fn();
    ms.push(performance.now() - s);
    await new Promise((ok) => setTimeout(ok, 5)); // let the delay monitor sample between runs
  }
  loop.disable();
  return { ms, blockedMs: loop.max / 1e6 };
}

// What GET /api/dashboard and GET /api/follow-ups cost, through the real route (one week per
// query, the event loop free in between), with the longest event-loop stall while they ran.
const app = express();
const zones = new Map(FLOWS.map((f) => [f.name, f.zone]));
mountDashboard(app, { dashboard: dash, timeZoneOf: (flow) => zones.get(flow ?? '') ?? 'UTC', now: () => new Date(END - 1), log: silentLogger(), nodeEnv: 'test' });
const server = http.createServer(app);
await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const get = async (path: string) => {
  const res = await fetch(`${base}${path}`);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<{ flows?: { total: { calls: number } }[]; total?: number }>;
};
const lastDay = '2026-05-31';
const rows: string[][] = [];
for (const days of [7, 30, 92]) {
  const path = `/api/dashboard?from=${addDays(lastDay, -(days - 1))}&to=${lastDay}`;
  const calls = (await get(path)).flows!.reduce((n, f) => n + f.total.calls, 0);
  const t = await time(() => get(path));
  rows.push([`GET /api/dashboard, 5 flows, ${days} days (${calls.toLocaleString()} calls)`, percentile(t.ms, 50)!.toFixed(1), t.blockedMs.toFixed(1)]);
}
for (const flow of ['dental', '']) {
  const path = `/api/follow-ups?limit=200${flow ? `&flow=${flow}` : ''}`;
  const open = (await get(path)).total!;
  const t = await time(() => get(path));
  rows.push([`GET /api/follow-ups, 200 of ${open.toLocaleString()} open${flow ? ` (${flow})` : ''}`, percentile(t.ms, 50)!.toFixed(1), t.blockedMs.toFixed(1)]);
}
console.log(`\n${'request'.padEnd(58)}${'median ms'.padStart(11)}${'max stall ms'.padStart(14)}`);
for (const [name, p50, blocked] of rows) console.log(`${name!.padEnd(58)}${p50!.padStart(11)}${blocked!.padStart(14)}`);
console.log(`\n(${RUNS} runs each; node ${process.version}; "max stall": the longest the event loop, and so every call's audio, waited)`);
await new Promise((ok) => server.close(ok));
await store.close();
rmSync(dir, { recursive: true, force: true });
