/**
 * The follow-up list as CSV (GET /api/follow-ups.csv and `npm run calls -- follow-ups --csv`):
 * one row per call, times in each call's business zone. Pure.
 */
import type { FollowUpItem } from '../transcripts/dashboard-store.js';
import { toCsv } from './csv.js';
import { ZoneCalendar } from './days.js';
import type { TimeZoneOf } from './time-zones.js';

export const FOLLOW_UP_CSV_HEADER = ['call_sid', 'started', 'time_zone', 'flow', 'caller', 'outcome', 'duration_s', 'level', 'reasons', 'analysis_reason', 'summary', 'intent', 'done_by', 'done_at', 'link'];

/** `linkBase`: the origin of call links (PUBLIC_BASE_URL), or '' for links relative to the server. */
export function followUpsCsv(items: readonly FollowUpItem[], timeZoneOf: TimeZoneOf, linkBase: string): string {
  const calendars = new Map<string, ZoneCalendar>();
  const calendar = (zone: string) => calendars.get(zone) ?? calendars.set(zone, new ZoneCalendar(zone)).get(zone)!;
  const rows = items.map((i) => {
    const zone = timeZoneOf(i.flow);
    return [
      i.callSid,
      calendar(zone).format(i.startedAt),
      zone,
      i.flow,
      i.from,
      i.outcome,
      i.durationMs === null ? null : Math.round(i.durationMs / 1000),
      i.followUp?.level ?? (i.analysis?.followUp ? 'analysis' : null),
      i.followUp?.reasons.join(' ') ?? null,
      i.analysis?.followUpReason ?? null,
      i.analysis?.summary ?? null,
      i.analysis?.intent ?? null,
      i.done?.by ?? null,
      i.done ? calendar(zone).format(i.done.atMs) : null,
      `${linkBase}/calls/${i.callSid}`,
    ];
  });
  return `\uFEFF${toCsv(FOLLOW_UP_CSV_HEADER, rows)}`;
}
