/**
 * The example dental practice's appointment book: a SQLite file in DATA_DIR (dental.sqlite),
 * created on first use and kept stocked with a week of 30-minute slots (Monday-Friday,
 * 08:00-12:00 and 13:00-17:00, in the practice's time zone). One connection per process, opened
 * lazily and reused by every call (reopened only if DATA_DIR changes, as in tests).
 *
 * Helpers live in tools/lib/ because every file directly in tools/ must be a function module.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomInt } from 'node:crypto';
import Database from 'better-sqlite3';
import { ToolError } from '../../src/tools/index.js';
import { wallClock } from '../../src/flows/hours.js';

/** Must match `hours.timeZone` of flows/dental-receptionist.yaml. */
export const PRACTICE_TIME_ZONE = process.env.DENTAL_TIME_ZONE || 'America/New_York';
const DAYS_AHEAD = 7;
const SESSIONS: ReadonlyArray<readonly [number, number]> = [[8 * 60, 12 * 60], [13 * 60, 17 * 60]];
const SLOT_MINUTES = 30;
const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS slots (
  start TEXT PRIMARY KEY,            -- 'YYYY-MM-DD HH:MM', practice local time
  appointment_ref TEXT               -- NULL when free
);
CREATE TABLE IF NOT EXISTS appointments (
  ref TEXT PRIMARY KEY,
  patient_name TEXT NOT NULL,
  phone TEXT,
  reason TEXT,
  start TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled')),
  call_sid TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS appointments_name ON appointments (lower(patient_name), status);
`;

interface Connection {
  path: string;
  db: Database.Database;
  stockedFor: string;
}

let connection: Connection | undefined;

export interface Appointment {
  ref: string;
  patient_name: string;
  phone: string | null;
  reason: string | null;
  start: string;
  status: 'booked' | 'cancelled';
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function addDays(date: string, days: number): { date: string; weekday: number } {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return { date: `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`, weekday: t.getUTCDay() };
}

/** 'YYYY-MM-DD HH:MM' now, practice time. */
export function practiceNow(now: Date = new Date()): string {
  const w = wallClock(now, PRACTICE_TIME_ZONE);
  return `${w.date} ${pad(Math.floor(w.minutes / 60))}:${pad(w.minutes % 60)}`;
}

export function weekdayOf(date: string): string {
  return WEEKDAY_NAMES[addDays(date, 0).weekday]!;
}

function stock(db: Database.Database, today: string): void {
  const insert = db.prepare('INSERT OR IGNORE INTO slots (start, appointment_ref) VALUES (?, NULL)');
  db.transaction(() => {
    for (let i = 0; i < DAYS_AHEAD; i++) {
      const day = addDays(today, i);
      if (day.weekday === 0 || day.weekday === 6) continue;
      for (const [from, to] of SESSIONS) {
        for (let m = from; m < to; m += SLOT_MINUTES) insert.run(`${day.date} ${pad(Math.floor(m / 60))}:${pad(m % 60)}`);
      }
    }
  })();
}

/** The process's connection (opened on first use; slots topped up once a day). */
export function dentalDb(now: Date = new Date()): Database.Database {
  const dir = resolve(process.env.DATA_DIR || './data');
  const path = join(dir, 'dental.sqlite');
  if (connection?.path !== path) {
    connection?.db.close();
    mkdirSync(dir, { recursive: true });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 2000');
    db.exec(SCHEMA);
    connection = { path, db, stockedFor: '' };
  }
  const today = practiceNow(now).slice(0, 10);
  if (connection.stockedFor !== today) {
    stock(connection.db, today);
    connection.stockedFor = today;
  }
  return connection.db;
}

/** Closes the connection (tests; the next call reopens it). */
export function closeDentalDb(): void {
  connection?.db.close();
  connection = undefined;
}

const REF_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A six-character reference that is easy to read out (no 0/O or 1/I). */
export function newReference(db: Database.Database): string {
  const exists = db.prepare('SELECT 1 FROM appointments WHERE ref = ?');
  for (;;) {
    const ref = Array.from({ length: 6 }, () => REF_ALPHABET[randomInt(REF_ALPHABET.length)]).join('');
    if (!exists.get(ref)) return ref;
  }
}

/** Free slot times of a day after `after`, as 'HH:MM'. */
export function freeTimes(db: Database.Database, date: string, after: string): string[] {
  const rows = db
    .prepare("SELECT start FROM slots WHERE start LIKE ? AND start > ? AND appointment_ref IS NULL ORDER BY start")
    .all(`${date} %`, after) as Array<{ start: string }>;
  return rows.map((r) => r.start.slice(11));
}

/** Claims a free future slot for `ref`, or throws a ToolError the model can act on. */
export function claimSlot(db: Database.Database, date: string, time: string, ref: string, now: string): void {
  const start = `${date} ${time}`;
  const slot = db.prepare('SELECT appointment_ref FROM slots WHERE start = ?').get(start) as { appointment_ref: string | null } | undefined;
  if (!slot) {
    throw new ToolError(`There is no appointment slot on ${date} at ${time}. Slots are every 30 minutes, Monday to Friday, 08:00-12:00 and 13:00-17:00, during the next week; use check_availability.`);
  }
  if (start <= now) throw new ToolError(`${date} at ${time} is in the past; offer a later time.`);
  if (slot.appointment_ref !== null) {
    const others = freeTimes(db, date, now).slice(0, 6);
    throw new ToolError(`${date} at ${time} is already taken. ${others.length > 0 ? `Free times that day: ${others.join(', ')}.` : 'That day is fully booked; offer another day.'}`);
  }
  db.prepare('UPDATE slots SET appointment_ref = ? WHERE start = ?').run(ref, start);
}

/** The booked, upcoming appointment meant by a reference or a patient name. */
export function findAppointment(db: Database.Database, by: { reference?: string | undefined; patientName?: string | undefined }, now: string): Appointment {
  if (by.reference) {
    const a = db.prepare("SELECT * FROM appointments WHERE ref = ? AND status = 'booked'").get(by.reference.trim().toUpperCase()) as Appointment | undefined;
    if (!a) throw new ToolError(`No booked appointment has the reference ${by.reference}. Check the reference with the caller, or look it up by the patient's name.`);
    return a;
  }
  const rows = db
    .prepare("SELECT * FROM appointments WHERE lower(patient_name) = lower(?) AND status = 'booked' AND start > ? ORDER BY start")
    .all((by.patientName ?? '').trim(), now) as Appointment[];
  if (rows.length === 0) throw new ToolError(`No upcoming appointment is booked for ${by.patientName}. Check the spelling of the name, or ask for the reference.`);
  if (rows.length > 1) {
    const list = rows.map((r) => `${r.ref} on ${weekdayOf(r.start.slice(0, 10))} ${r.start}`).join('; ');
    throw new ToolError(`${by.patientName} has ${rows.length} upcoming appointments (${list}). Ask which one, then call again with its reference.`);
  }
  return rows[0]!;
}

export function describeSlot(start: string): { date: string; weekday: string; time: string } {
  const date = start.slice(0, 10);
  return { date, weekday: weekdayOf(date), time: start.slice(11) };
}
