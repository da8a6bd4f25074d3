/**
 * Local days as instant windows (src/dashboard/days.ts) across DST changes, including zones that
 * change at midnight or by 30 minutes, and CSV cells (src/dashboard/csv.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addDays, daysBetween, isLocalDate, ZoneCalendar } from '../../src/dashboard/days.js';
import { csvCell, toCsv } from '../../src/dashboard/csv.js';

const HOUR = 3_600_000;

const references = new Map<string, Intl.DateTimeFormat>();
/** The local date at `ms` in `timeZone`, straight from Intl (the reference). */
function intlDate(ms: number, timeZone: string): string {
  let f = references.get(timeZone);
  if (!f) references.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(new Date(ms));
}

describe('ZoneCalendar', () => {
  it('gives New York a 23-hour day in March and a 25-hour day in November', () => {
    const ny = new ZoneCalendar('America/New_York');
    const [mar7, mar8, mar9] = ny.days('2026-03-07', '2026-03-09');
    assert.equal(mar7!.date, '2026-03-07');
    assert.equal(mar8!.startMs, Date.parse('2026-03-08T05:00:00Z')); // midnight EST
    assert.equal(mar8!.endMs, Date.parse('2026-03-09T04:00:00Z')); // midnight EDT
    assert.equal(mar8!.endMs - mar8!.startMs, 23 * HOUR);
    assert.equal(mar7!.endMs - mar7!.startMs, 24 * HOUR);
    assert.equal(mar9!.startMs, mar8!.endMs);
    const [nov1] = ny.days('2026-11-01', '2026-11-01');
    assert.equal(nov1!.startMs, Date.parse('2026-11-01T04:00:00Z'));
    assert.equal(nov1!.endMs - nov1!.startMs, 25 * HOUR);
  });

  it('puts every hour of a year in the window of its local date, in zones with odd changes', () => {
    // Santiago and Havana change at midnight; Lord Howe by 30 minutes; Chatham is +12:45/+13:45.
    const zones = ['America/New_York', 'Europe/London', 'America/Santiago', 'America/Havana', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Asia/Kolkata', 'UTC'];
    for (const zone of zones) {
      const cal = new ZoneCalendar(zone);
      const windows = cal.days('2025-12-30', '2027-01-02');
      for (let i = 1; i < windows.length; i++) assert.equal(windows[i]!.startMs, windows[i - 1]!.endMs, `${zone}: windows touch`);
      let w = 0;
      for (let t = Date.parse('2026-01-01T00:00:00Z'); t < Date.parse('2027-01-01T00:00:00Z'); t += HOUR / 2) {
        while (windows[w]!.endMs <= t) w++;
        assert.ok(windows[w]!.startMs <= t, `${zone}: ${new Date(t).toISOString()} is before its window`);
        assert.equal(windows[w]!.date, intlDate(t, zone), `${zone}: ${new Date(t).toISOString()}`);
        assert.equal(cal.dateOf(t), intlDate(t, zone));
      }
    }
  });

  it('starts a day whose midnight was skipped at the change (Santiago, September)', () => {
    const cal = new ZoneCalendar('America/Santiago');
    const day = cal.days('2026-09-06', '2026-09-06')[0]!;
    assert.equal(intlDate(day.startMs, 'America/Santiago'), '2026-09-06');
    assert.equal(intlDate(day.startMs - 1000, 'America/Santiago'), '2026-09-05');
    assert.equal(day.endMs - day.startMs, 23 * HOUR);
  });

  it('formats wall-clock times and offsets', () => {
    const ny = new ZoneCalendar('America/New_York');
    assert.equal(ny.format(Date.parse('2026-03-08T06:59:00Z')), '2026-03-08 01:59');
    assert.equal(ny.format(Date.parse('2026-03-08T07:00:00Z')), '2026-03-08 03:00');
    assert.equal(ny.offsetMs(Date.parse('2026-07-01T12:00:00Z')), -4 * HOUR);
    assert.throws(() => new ZoneCalendar('Mars/Olympus'), RangeError);
  });
});

describe('dates', () => {
  it('checks, adds and counts calendar dates', () => {
    assert.ok(isLocalDate('2024-02-29'));
    assert.ok(!isLocalDate('2025-02-29'));
    assert.ok(!isLocalDate('2025-1-01'));
    assert.equal(addDays('2026-02-28', 1), '2026-03-01');
    assert.equal(addDays('2026-01-01', -1), '2025-12-31');
    assert.equal(daysBetween('2026-03-01', '2026-03-31'), 31);
    assert.equal(daysBetween('2026-03-02', '2026-03-01'), 0);
  });
});

describe('CSV', () => {
  it('quotes commas, quotes and line breaks, and leaves plain cells alone', () => {
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a, b'), '"a, b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('two\nlines'), '"two\nlines"');
    assert.equal(csvCell(null), '');
    assert.equal(csvCell(undefined), '');
    assert.equal(csvCell(42), '42');
    assert.equal(csvCell(-3), '-3');
    assert.equal(csvCell(true), 'true');
  });

  it('neutralises cells a spreadsheet would run as formulas', () => {
    assert.equal(csvCell('=HYPERLINK("http://evil","x")'), `"'=HYPERLINK(""http://evil"",""x"")"`);
    assert.equal(csvCell('+15551234567'), "'+15551234567");
    assert.equal(csvCell('-2+3'), "'-2+3");
    assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvCell('\t=1'), "'\t=1");
    assert.equal(csvCell('\r=1'), `"'\r=1"`);
    assert.equal(csvCell('a=1'), 'a=1');
  });

  it('writes a header and rows with CRLF line ends', () => {
    assert.equal(toCsv(['a', 'b'], [['1', 'x,y'], [null, '=1']]), `a,b\r\n1,"x,y"\r\n,'=1\r\n`);
  });
});
