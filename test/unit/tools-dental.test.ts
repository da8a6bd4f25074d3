import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/shared/log.js';
import { ToolDispatcher, ToolRegistry, type DispatchSession } from '../../src/tools/index.js';
import checkAvailability from '../../tools/check-availability.js';
import bookAppointment from '../../tools/book-appointment.js';
import moveAppointment from '../../tools/move-appointment.js';
import cancelAppointment from '../../tools/cancel-appointment.js';
import { closeDentalDb, dentalDb } from '../../tools/lib/dental-db.js';

interface Days {
  days: Array<{ date: string; weekday: string; times: string[] }>;
}

describe('dental functions (tools/*.ts) on a temporary DATA_DIR', () => {
  let dir: string;
  const previous = process.env.DATA_DIR;
  let n = 0;
  let dispatcher: ToolDispatcher;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cb-dental-'));
    process.env.DATA_DIR = dir;
    const tools = [checkAvailability, bookAppointment, moveAppointment, cancelAppointment];
    const names = tools.map((t) => t.name);
    const session: DispatchSession = {
      stage: 'booking',
      facts: { name: 'dental-receptionist', stages: ['booking'], transfers: [] },
      isDeclared: (x) => names.includes(x),
      isAllowed: (x) => names.includes(x),
      allowedFunctions: () => names,
      stagePurpose: () => 'Book.',
    };
    dispatcher = new ToolDispatcher({
      registry: ToolRegistry.create(tools),
      session,
      control: { transfer: async () => ({ number: '' }), endCall: async () => {}, goToStage: async () => {} },
      callSid: 'CAdental',
      log: silentLogger(),
      // A fixed Monday 07:00 in New York: the first listed day then has a full set of times,
      // whatever the hour the suite runs (late in the afternoon only one slot would be left).
      businessNow: () => new Date('2026-12-07T12:00:00Z'),
    });
  });

  after(() => {
    closeDentalDb();
    if (previous === undefined) delete process.env.DATA_DIR;
    else process.env.DATA_DIR = previous;
    rmSync(dir, { recursive: true, force: true });
  });

  async function call(name: string, args: unknown): Promise<{ output?: any; error?: string }> {
    const r = await dispatcher.dispatch({ id: `d${++n}`, name, args });
    return r.response as { output?: any; error?: string };
  }

  it('books, checks, moves and cancels, keeping the slots consistent', async () => {
    const first = (await call('check_availability', {})).output as Days;
    assert.ok(existsSync(join(dir, 'dental.sqlite')), 'the database is created in DATA_DIR');
    assert.ok(first.days.length >= 1 && first.days.length <= 3);
    const day = first.days[0]!;
    assert.match(day.date, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'].includes(day.weekday));
    const [t1, t2] = [day.times[0]!, day.times.at(-1)!];

    const booked = await call('book_appointment', { patientName: 'Ana Lima', date: day.date, time: t1, reason: 'check-up' });
    assert.equal(booked.output.status, 'booked');
    assert.match(booked.output.reference, /^[A-HJ-NP-Z2-9]{6}$/);
    assert.deepStrictEqual([booked.output.date, booked.output.time], [day.date, t1]);

    const after1 = (await call('check_availability', { date: day.date })).output as Days;
    assert.ok(!after1.days[0]?.times.includes(t1), 'the booked time is no longer free');

    const twice = await call('book_appointment', { patientName: 'Bo Chen', date: day.date, time: t1 });
    assert.match(twice.error!, /is already taken/);

    const nowhere = await call('book_appointment', { patientName: 'Bo Chen', date: day.date, time: '03:00' });
    assert.match(nowhere.error!, /There is no appointment slot/);

    const moved = await call('move_appointment', { reference: booked.output.reference.toLowerCase(), newDate: day.date, newTime: t2 });
    assert.equal(moved.output.status, 'moved');
    assert.deepStrictEqual([moved.output.from.time, moved.output.to.time], [t1, t2]);
    const after2 = (await call('check_availability', { date: day.date })).output as Days;
    assert.ok(after2.days[0]!.times.includes(t1), 'the old time is free again');
    assert.ok(!after2.days[0]!.times.includes(t2), 'the new time is taken');

    const cancelled = await call('cancel_appointment', { patientName: 'ana lima' });
    assert.deepStrictEqual([cancelled.output.status, cancelled.output.reference, cancelled.output.time], ['cancelled', booked.output.reference, t2]);
    const after3 = (await call('check_availability', { date: day.date })).output as Days;
    assert.ok(after3.days[0]!.times.includes(t2), 'the cancelled time is free again');

    const again = await call('cancel_appointment', { reference: booked.output.reference });
    assert.match(again.error!, /No booked appointment has the reference/);
  });

  it('asks for a reference or a name, and validates dates and times before running', async () => {
    assert.match((await call('cancel_appointment', {})).error!, /give the reference or the patient name/);
    assert.match((await call('book_appointment', { patientName: 'X Y', date: 'next tuesday', time: '9am' })).error!, /"date".*"time"/);
  });

  it('keeps one connection per process', () => {
    assert.equal(dentalDb(), dentalDb());
  });
});
