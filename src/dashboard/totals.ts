/**
 * Adding day figures up into a range's figures, so a long range is read as a few short
 * queries (each blocks the event loop only briefly: better-sqlite3 is synchronous) instead of one
 * long one. Everything adds up except the median, which the caller asks the store for. Pure.
 */
import type { CountedName, WindowFigures } from '../transcripts/dashboard-store.js';

/** How many intents a day and the range show. */
export const TOP_INTENTS = 5;

/** Names counted over every window, most first, then by name; at most `max`. */
function mergeCounts(lists: readonly (readonly CountedName[])[], max: number): CountedName[] {
  const sums = new Map<string, number>();
  for (const list of lists) for (const { name, calls } of list) sums.set(name, (sums.get(name) ?? 0) + calls);
  return [...sums]
    .map(([name, calls]) => ({ name, calls }))
    .sort((a, b) => b.calls - a.calls || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, max);
}

/** The figures of all `days` together, with the median given (the store computes it over the range). */
export function addUp(key: string, days: readonly WindowFigures[], medianDurationMs: number | null): WindowFigures {
  const outcomes: WindowFigures['outcomes'] = {};
  for (const d of days) {
    for (const [o, n] of Object.entries(d.outcomes) as [keyof WindowFigures['outcomes'], number][]) outcomes[o] = (outcomes[o] ?? 0) + n;
  }
  const sum = (pick: (d: WindowFigures) => number) => days.reduce((total, d) => total + pick(d), 0);
  return {
    key,
    calls: sum((d) => d.calls),
    outcomes,
    followUpsOpen: sum((d) => d.followUpsOpen),
    followUps: sum((d) => d.followUps),
    medianDurationMs,
    topIntents: mergeCounts(days.map((d) => d.topIntents), TOP_INTENTS),
    analysed: sum((d) => d.analysed),
    failedFunctions: mergeCounts(days.map((d) => d.failedFunctions), Infinity),
    transfers: sum((d) => d.transfers),
  };
}

/** A day's figures as shown: its top intents only. */
export function trimDay(day: WindowFigures): WindowFigures {
  return day.topIntents.length > TOP_INTENTS ? { ...day, topIntents: day.topIntents.slice(0, TOP_INTENTS) } : day;
}
