/**
 * The dashboard's rows as both backends read them (sqlite-dashboard.ts, pg-dashboard.ts: the same
 * columns from the same queries): the figure rows and how they become one WindowFigures per
 * window, and the follow-up list's rows and how each becomes a FollowUpItem.
 */
import type { CountedName, FollowUpItem, WindowFigures } from './dashboard-store.js';
import type { CallOutcome, FollowUp } from './types.js';

export interface CountRow { k: string; calls: number; transfers: number; follow_ups: number; open: number; analysed: number }
export interface NamedRow { k: string; name: string | null; n: number }

export interface FigureRows {
  counts: CountRow[];
  outcomes: NamedRow[];
  medians: Array<{ k: string; median: number }>;
  intents: NamedRow[];
  failed: NamedRow[];
}

/** One WindowFigures per window key, in the windows' order (a window with no calls stays at zero). */
export function windowFigures(keys: readonly string[], r: FigureRows, topIntents: number): WindowFigures[] {
  const byKey = new Map<string, WindowFigures>(keys.map((k) => [k, emptyFigures(k)]));
  for (const row of r.counts) {
    Object.assign(byKey.get(row.k) ?? {}, { calls: row.calls, transfers: row.transfers, followUps: row.follow_ups, followUpsOpen: row.open, analysed: row.analysed });
  }
  for (const row of r.outcomes) {
    const f = byKey.get(row.k);
    if (f && row.name !== null) f.outcomes[row.name as CallOutcome] = row.n;
  }
  for (const row of r.medians) {
    const f = byKey.get(row.k);
    if (f) f.medianDurationMs = Math.round(row.median);
  }
  for (const row of r.intents) pushTop(byKey.get(row.k)?.topIntents, row, topIntents);
  for (const row of r.failed) pushTop(byKey.get(row.k)?.failedFunctions, row, Infinity);
  return [...byKey.values()];
}

function emptyFigures(key: string): WindowFigures {
  return { key, calls: 0, outcomes: {}, followUpsOpen: 0, followUps: 0, medianDurationMs: null, topIntents: [], analysed: 0, failedFunctions: [], transfers: 0 };
}

function pushTop(list: CountedName[] | undefined, row: NamedRow, max: number): void {
  if (list && row.name !== null && list.length < max) list.push({ name: row.name, calls: row.n });
}

/**
 * A follow-up list row (the backends' FOLLOW_UP_COLUMNS). `F`: how the record's follow-up arrives,
 * JSON text from SQLite, already parsed from PostgreSQL's jsonb.
 */
export interface FollowUpRow<F> {
  call_sid: string; flow: string | null; started_at: number; duration_ms: number | null; from_number: string; outcome: string;
  record_follow_up: F; analysis_status: string | null; analysis_follow_up: number | null;
  follow_up_reason: string | null; summary: string | null; intent: string | null;
  done_by: string | null; done_via: string | null; client: string | null; done_at: number | null;
}

/** The list item of a row, given the record's follow-up as parsed by the backend. */
export function followUpItem(r: FollowUpRow<unknown>, followUp: FollowUp | null): FollowUpItem {
  const analysed = r.analysis_status === 'ok';
  return {
    callSid: r.call_sid,
    flow: r.flow,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    from: r.from_number,
    outcome: r.outcome as CallOutcome,
    followUp,
    analysis: analysed
      ? { followUp: r.analysis_follow_up === 1, followUpReason: r.follow_up_reason, summary: r.summary ?? '', intent: r.intent ?? '' }
      : null,
    done: r.done_at === null ? null : { by: r.done_by ?? '', via: r.done_via ?? '', client: r.client ?? '', atMs: r.done_at },
  };
}
