/**
 * Calendar days in a business's time zone, as instants: where a local day starts and ends in
 * epoch milliseconds, so calls (stored with UTC epoch times) can be counted per local day by a
 * plain range query. Pure: Intl only, no clock. Days are 23 or 25 hours long across a DST
 * change; every instant belongs to exactly one day (a day ends where the next one starts).
 */

/** YYYY-MM-DD. */
export type LocalDate = string;

export interface DayWindow {
  date: LocalDate;
  /** First instant of the day (inclusive). */
  startMs: number;
  /** First instant of the next day (exclusive). */
  endMs: number;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** Whether `value` is a real calendar date written YYYY-MM-DD. */
export function isLocalDate(value: string): boolean {
  const m = DATE_RE.exec(value);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === value;
}

/** The date `days` after (or before, when negative) `date`. */
export function addDays(date: LocalDate, days: number): LocalDate {
  const m = DATE_RE.exec(date);
  if (!m) throw new RangeError(`not a date: ${date}`);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days)).toISOString().slice(0, 10);
}

/** Days from `from` to `to`, both included (0 when `to` is before `from`). */
export function daysBetween(from: LocalDate, to: LocalDate): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;
}

/**
 * One time zone's calendar. Holds its Intl formatter (building one is the slow part), so make
 * one per request or per command, not per call record.
 */
export class ZoneCalendar {
  readonly timeZone: string;
  readonly #parts: Intl.DateTimeFormat;

  /** Throws RangeError for an unknown time zone. */
  constructor(timeZone: string) {
    this.timeZone = timeZone;
    this.#parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
  }

  /** The wall-clock time at `ms`, written as if it were UTC (epoch ms, whole seconds). */
  #wall(ms: number): number {
    const p: Record<string, number> = {};
    for (const part of this.#parts.formatToParts(new Date(ms))) if (part.type !== 'literal') p[part.type] = Number(part.value);
    return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour! % 24, p.minute!, p.second!);
  }

  /** UTC offset at `ms` in milliseconds (New York in winter: -18 000 000). */
  offsetMs(ms: number): number {
    return this.#wall(ms) - Math.floor(ms / 1000) * 1000;
  }

  /** The local date at `ms`. */
  dateOf(ms: number): LocalDate {
    return new Date(this.#wall(ms)).toISOString().slice(0, 10);
  }

  /** "2026-03-08 01:59" at `ms` (for plain-text output). */
  format(ms: number): string {
    return new Date(this.#wall(ms)).toISOString().slice(0, 16).replace('T', ' ');
  }

  /**
   * The first instant of `date` here. Local midnight as UTC, shifted by the offset in force the
   * day before or the day after (they differ only around a change); of the candidates that fall
   * on `date`, the earliest. Where a change skips midnight itself, the day starts at the change.
   */
  startOf(date: LocalDate): number {
    const wall = Date.parse(`${date}T00:00:00Z`);
    if (Number.isNaN(wall)) throw new RangeError(`not a date: ${date}`);
    const candidates = [wall - this.offsetMs(wall - DAY_MS), wall - this.offsetMs(wall + DAY_MS), wall - this.offsetMs(wall)];
    const onDate = candidates.filter((t) => this.dateOf(t) === date);
    // One candidate always falls on `date` (the offset before a change that skips midnight lands
    // on the change itself); the last line only guards against a zone doing something stranger.
    return onDate.length > 0 ? Math.min(...onDate) : candidates[2]!;
  }

  /** The day windows from `from` to `to`, both included, in order. */
  days(from: LocalDate, to: LocalDate): DayWindow[] {
    const out: DayWindow[] = [];
    const n = daysBetween(from, to);
    let start = this.startOf(from);
    for (let i = 0; i < n; i++) {
      const date = addDays(from, i);
      const next = this.startOf(addDays(date, 1));
      out.push({ date, startMs: start, endMs: next });
      start = next;
    }
    return out;
  }
}
