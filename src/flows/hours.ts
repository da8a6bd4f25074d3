/**
 * Business hours: weekly opening ranges in the flow's time zone, closed dates, and what happens
 * outside them (say a message, then hang up or transfer). Pure: the time is always passed in.
 */
import { basicActions, type FlowAction } from './actions.js';
import { WEEKDAYS, type Flow, type Weekday } from './schema.js';

export interface WallClock {
  /** YYYY-MM-DD in the time zone. */
  date: string;
  weekday: Weekday;
  /** Minutes since local midnight. */
  minutes: number;
}

/** The local date, weekday and time of `date` in `timeZone`. */
export function wallClock(date: Date, timeZone: string): WallClock {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    weekday: 'long',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(date);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  return {
    date: `${get('year')}-${get('month')}-${get('day')}`,
    weekday: get('weekday').toLowerCase() as Weekday,
    minutes: (Number(get('hour')) % 24) * 60 + Number(get('minute')),
  };
}

/** Open at `date`? A flow without `hours` is always open. */
export function isOpen(flow: Pick<Flow, 'hours'>, date: Date): boolean {
  const hours = flow.hours;
  if (!hours) return true;
  const now = wallClock(date, hours.timeZone);
  if (hours.closedDates.includes(now.date)) return false;
  return hours.weekly[now.weekday].some(([start, end]) => now.minutes >= start && now.minutes < end);
}

/** null when open; otherwise the outside-hours message and then the hang-up or transfer. */
export function outsideHoursActions(flow: Pick<Flow, 'hours' | 'transfers'>, date: Date): FlowAction[] | null {
  if (!flow.hours || isOpen(flow, date)) return null;
  const { say, then } = flow.hours.outsideHours;
  return then === 'hangup'
    ? basicActions({ say, endCall: 'outside business hours' }, flow)
    : basicActions({ say, transfer: then.transfer }, flow);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * When the business next opens, in local terms (looking up to 14 days ahead), or null when it is
 * open now or never opens. For messages such as "we open again Monday at 08:00".
 */
export function nextOpening(flow: Pick<Flow, 'hours'>, date: Date): { date: string; weekday: Weekday; time: string } | null {
  const hours = flow.hours;
  if (!hours || isOpen(flow, date)) return null;
  const now = wallClock(date, hours.timeZone);
  const [y, m, d] = now.date.split('-').map(Number) as [number, number, number];
  for (let offset = 0; offset <= 14; offset++) {
    const day = new Date(Date.UTC(y, m - 1, d + offset));
    const iso = `${day.getUTCFullYear()}-${pad(day.getUTCMonth() + 1)}-${pad(day.getUTCDate())}`;
    const weekday = WEEKDAYS[(day.getUTCDay() + 6) % 7]!;
    if (hours.closedDates.includes(iso)) continue;
    const start = hours.weekly[weekday].map(([s]) => s).find((s) => offset > 0 || s > now.minutes);
    if (start !== undefined) return { date: iso, weekday, time: `${pad(Math.floor(start / 60))}:${pad(start % 60)}` };
  }
  return null;
}

/**
 * A clock that reads `start` now and then advances with `realNow` (ms): the test clock of
 * CALLBRIDGE_NOW and of the browser phone's "Pretend it is…", so hours and closed dates can be
 * tried at any time of day.
 */
export function clockStartingAt(start: Date, realNow: () => number = Date.now): () => Date {
  const offsetMs = start.getTime() - realNow();
  return () => new Date(realNow() + offsetMs);
}

/**
 * The first instant at or after `from` when the flow is open: `from` itself when open, else the
 * first quarter hour (every UTC offset is a multiple of 15 minutes) within 14 days; null when it
 * never opens in that time. The demo uses it to call a flow during its hours.
 */
export function nextOpenInstant(flow: Pick<Flow, 'hours'>, from: Date): Date | null {
  if (isOpen(flow, from)) return from;
  const stepMs = 15 * 60_000;
  const first = Math.ceil(from.getTime() / stepMs) * stepMs;
  for (let t = first, end = first + 14 * 86_400_000; t <= end; t += stepMs) {
    if (isOpen(flow, new Date(t))) return new Date(t);
  }
  return null;
}
