/**
 * The dashboard's figure rows as both backends read them (sqlite-dashboard.ts, pg-dashboard.ts:
 * the same columns from the same five queries), and how they become one WindowFigures per window.
 */
import type { CountedName, WindowFigures } from './dashboard-store.js';
import type { CallOutcome } from './types.js';

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
