/**
 * The probe's figures per model (pure): turns OK, failures by kind, closes by code with their
 * reasons, setup / first content / function round trip percentiles, the failure rate against
 * `--max-failure`; printed as a table or as JSON (schema documented in docs/probe.md, versioned
 * by `probeReport`).
 */
import type { ModelRun, TurnResult, TurnStatus } from './probe-run.js';

/** Bumped when a field changes meaning or disappears (adding a field does not bump it). */
export const PROBE_REPORT_VERSION = 1;

export interface Percentiles {
  /** Samples behind the figures. */
  n: number;
  p50: number | null;
  p95: number | null;
}

export interface CloseCount {
  /** WebSocket close code; absent for a setup that failed without one (timeout, HTTP error). */
  code: number | null;
  reason: string;
  /** CB_* code (docs/errors.md). */
  error: string;
  count: number;
  /** Of those, turns that had received no content yet (the seed 002 pattern). */
  beforeContent: number;
}

export interface ModelSummary {
  model: string;
  sessions: number;
  turns: number;
  turnsOk: number;
  /** Turns not OK, in % of turns (one decimal). */
  failurePct: number;
  /** failurePct <= maxFailurePct. */
  pass: boolean;
  failures: Record<Exclude<TurnStatus, 'ok'>, number>;
  /** Turns closed by the server (or failed setups), per class of code. */
  closesByCode: { '1007': number; '1008': number; '1011': number; other: number };
  closes: CloseCount[];
  setupMs: Percentiles;
  firstContentMs: Percentiles;
  /** Turns in which the model called the probe's function. */
  functionCalls: number;
  functionRoundTripMs: Percentiles;
}

export interface ProbeReport {
  probeReport: typeof PROBE_REPORT_VERSION;
  startedAt: string;
  /** The Live endpoint (never the key), or "emulator". */
  endpoint: string;
  turnsPerModel: number;
  maxFailurePct: number;
  /** Every model passed. */
  pass: boolean;
  models: ModelSummary[];
}

/** Nearest-rank percentile of `values` (rounded to whole ms); null without samples. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
}

function percentiles(values: readonly number[]): Percentiles {
  return { n: values.length, p50: percentile(values, 50), p95: percentile(values, 95) };
}

const FAILURE_KINDS: readonly Exclude<TurnStatus, 'ok'>[] = ['closed-before-content', 'closed-after-content', 'no-content', 'incomplete', 'no-reply', 'setup-failed'];

function closeCounts(turns: readonly TurnResult[]): CloseCount[] {
  const byKey = new Map<string, CloseCount>();
  for (const t of turns) {
    if (!t.close) continue;
    const key = `${t.close.code ?? ''}\u0000${t.close.error}\u0000${t.close.reason}`;
    let c = byKey.get(key);
    if (!c) byKey.set(key, (c = { code: t.close.code ?? null, reason: t.close.reason, error: t.close.error, count: 0, beforeContent: 0 }));
    c.count++;
    if (t.status === 'closed-before-content' || t.status === 'setup-failed') c.beforeContent++;
  }
  return [...byKey.values()].sort((a, b) => b.count - a.count || (a.code ?? 0) - (b.code ?? 0));
}

export function summarizeModel(run: ModelRun, maxFailurePct: number): ModelSummary {
  const turnsOk = run.turns.filter((t) => t.status === 'ok').length;
  const failurePct = run.turns.length === 0 ? 0 : Math.round((1000 * (run.turns.length - turnsOk)) / run.turns.length) / 10;
  const failures = Object.fromEntries(FAILURE_KINDS.map((k) => [k, run.turns.filter((t) => t.status === k).length])) as ModelSummary['failures'];
  const closes = closeCounts(run.turns);
  const closesByCode = { '1007': 0, '1008': 0, '1011': 0, other: 0 };
  for (const c of closes) {
    if (c.code === null) continue;
    const k = c.code === 1007 || c.code === 1008 || c.code === 1011 ? (String(c.code) as '1007' | '1008' | '1011') : 'other';
    closesByCode[k] += c.count;
  }
  const numbers = (pick: (t: TurnResult) => number | undefined) => run.turns.map(pick).filter((v): v is number => v !== undefined);
  return {
    model: run.model,
    sessions: run.sessions,
    turns: run.turns.length,
    turnsOk,
    failurePct,
    pass: failurePct <= maxFailurePct,
    failures,
    closesByCode,
    closes,
    setupMs: percentiles(numbers((t) => t.setupMs)),
    firstContentMs: percentiles(numbers((t) => t.firstContentMs)),
    functionCalls: run.turns.filter((t) => t.functionCalled).length,
    functionRoundTripMs: percentiles(numbers((t) => t.functionRoundTripMs)),
  };
}

export function buildReport(runs: readonly ModelRun[], o: { endpoint: string; turnsPerModel: number; maxFailurePct: number; startedAt: Date }): ProbeReport {
  const models = runs.map((r) => summarizeModel(r, o.maxFailurePct));
  return {
    probeReport: PROBE_REPORT_VERSION,
    startedAt: o.startedAt.toISOString(),
    endpoint: o.endpoint,
    turnsPerModel: o.turnsPerModel,
    maxFailurePct: o.maxFailurePct,
    pass: models.every((m) => m.pass),
    models,
  };
}

const pair = (p: Percentiles) => (p.n === 0 ? '—' : `${p.p50}/${p.p95}`);

/** Plain sentences for what failed, one per line (closes with their reasons, then other failures). */
function failureLines(m: ModelSummary): string[] {
  const lines = m.closes.map((c) => {
    const what = c.code === null ? c.error : `${c.code} "${c.reason}"`;
    const before = c.beforeContent === c.count ? ', all before any content' : c.beforeContent > 0 ? `, ${c.beforeContent} before any content` : ', after content';
    return `  ${m.model}: ${what} ×${c.count}${before}${c.code === null ? ` — ${c.reason}` : ''}`;
  });
  const others: [keyof ModelSummary['failures'], string][] = [
    ['no-content', 'no content within the reply timeout'],
    ['incomplete', 'content but no turnComplete within the turn timeout'],
    ['no-reply', 'turnComplete without any content'],
  ];
  for (const [kind, text] of others) if (m.failures[kind] > 0) lines.push(`  ${m.model}: ${text} ×${m.failures[kind]}`);
  return lines;
}

/** The report as a table (one row per model), then what failed and the verdict. */
export function formatTable(r: ProbeReport): string {
  const head = ['model', 'sessions', 'turns OK', '1007', '1008', '1011', 'other', 'setup ms p50/p95', 'first content ms p50/p95', 'function ms', 'verdict'];
  const rows = r.models.map((m) => [
    m.model,
    String(m.sessions),
    `${m.turnsOk}/${m.turns}`,
    String(m.closesByCode['1007']),
    String(m.closesByCode['1008']),
    String(m.closesByCode['1011']),
    String(m.closesByCode.other),
    pair(m.setupMs),
    pair(m.firstContentMs),
    m.functionRoundTripMs.n === 0 ? (m.functionCalls === 0 ? 'not called' : '—') : String(m.functionRoundTripMs.p50),
    m.pass ? 'ok' : `FAIL ${m.failurePct}%`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  const failures = r.models.flatMap(failureLines);
  if (failures.length > 0) out.push('', 'failures:', ...failures);
  const failed = r.models.filter((m) => !m.pass);
  out.push(
    '',
    failed.length === 0
      ? `every model within --max-failure ${r.maxFailurePct}% (${r.turnsPerModel} turns each, ${r.endpoint})`
      : `over --max-failure ${r.maxFailurePct}%: ${failed.map((m) => `${m.model} (${m.failurePct}% of turns failed)`).join(', ')}`,
  );
  return out.join('\n');
}
