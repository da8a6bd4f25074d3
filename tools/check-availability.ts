/**
 * check_availability: free appointment times of the example dental practice.
 * A code function: this file default-exports defineTool(...); flows list it by name.
 */
import { z } from 'zod';
import { defineTool } from '../src/tools/index.js';
import { dentalDb, freeTimes, practiceNow, PRACTICE_TIME_ZONE, weekdayOf } from './lib/dental-db.js';

export default defineTool({
  name: 'check_availability',
  description:
    'Find free appointment times at the practice. Give a date to see that day, or leave it out to see the next days with free times. ' +
    'Offer the caller two or three of the times, not the whole list.',
  schema: z.object({
    date: z.iso.date().optional().describe('The day to check, YYYY-MM-DD. Leave out to get the next days with free times.'),
    partOfDay: z.enum(['morning', 'afternoon', 'any']).optional().describe('Only morning (before 12:00) or afternoon times.'),
  }),
  timeoutMs: 3000,
  handler({ date, partOfDay }, ctx) {
    const db = dentalDb(ctx.now());
    const now = practiceNow(ctx.now());
    const keep = (t: string): boolean => partOfDay === 'morning' ? t < '12:00' : partOfDay === 'afternoon' ? t >= '12:00' : true;
    const dates = date
      ? [date]
      : (db.prepare("SELECT DISTINCT substr(start, 1, 10) AS d FROM slots WHERE start > ? AND appointment_ref IS NULL ORDER BY d").all(now) as Array<{ d: string }>).map((r) => r.d);
    const days = dates
      .map((d) => ({ date: d, weekday: weekdayOf(d), times: freeTimes(db, d, now).filter(keep) }))
      .filter((d) => d.times.length > 0)
      .slice(0, date ? 1 : 3);
    if (days.length === 0) {
      return { timeZone: PRACTICE_TIME_ZONE, days, note: date ? `No free times on ${date}${partOfDay && partOfDay !== 'any' ? ` in the ${partOfDay}` : ''}.` : 'No free times in the next week.' };
    }
    return { timeZone: PRACTICE_TIME_ZONE, days };
  },
});
