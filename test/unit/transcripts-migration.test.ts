/**
 * Migration 2 (channel and follow-up columns) on a database written by the previous version:
 * the columns are backfilled from the stored records (a call without a channel was a phone call),
 * and the list filters channel= and followUp= use them. Migration 4 (the analysis fields table)
 * on a database already at version 3: the stored ok analyses' fields are backfilled, the field
 * filter finds them, and the schema ends up the same as a new database's.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/transcripts/sqlite-migrations.js';
import { openSqliteStore } from '../../src/transcripts/sqlite-store.js';
import type { CallAnalysis } from '../../src/transcripts/after-call-store.js';
import type { CallRecord } from '../../src/transcripts/types.js';
import { demoRecord } from '../support/transcripts-fixtures.js';

function insertV1(db: Database.Database, record: CallRecord): void {
  db.prepare(
    `INSERT INTO calls (call_sid, started_at, ended_at, duration_ms, flow, outcome, from_number, to_number, recording_path, record_json, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
  ).run(record.callSid, record.startedAt, record.endedAt ?? null, record.durationMs ?? null, record.flow ?? null, record.outcome, record.from, record.to, JSON.stringify(record), Date.now());
}

describe('transcript store migration 2: channel and follow-up', () => {
  it('backfills an existing database and filters by the new columns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-migrate-'));
    try {
      const db = new Database(join(dir, 'calls.db'));
      db.exec(MIGRATIONS[0]!);
      db.pragma('user_version = 1');
      const t0 = Date.UTC(2026, 0, 5, 9);
      insertV1(db, demoRecord({ callSid: 'CAold', startedAt: t0, outcome: 'completed' }));
      insertV1(db, demoRecord({ callSid: 'CAbrowser', startedAt: t0 + 1, outcome: 'ended_by_bot', channel: 'browser', followUp: { level: 'amber', reasons: ['x'] } }));
      insertV1(db, demoRecord({ callSid: 'CAred', startedAt: t0 + 2, outcome: 'failed', channel: 'phone', followUp: { level: 'red', reasons: ['y'] } }));
      db.close();

      const store = openSqliteStore({ dataDir: dir });
      assert.deepEqual(store.appliedMigrations.slice(0, 1), [2]);
      const sids = async (q: Parameters<typeof store.listCalls>[0]) => (await store.listCalls(q)).calls.map((c) => c.record.callSid).sort();
      assert.deepEqual(await sids({ limit: 10, channel: 'phone' }), ['CAold', 'CAred']);
      assert.deepEqual(await sids({ limit: 10, channel: 'browser' }), ['CAbrowser']);
      assert.deepEqual(await sids({ limit: 10, followUp: 'any' }), ['CAbrowser', 'CAred']);
      assert.deepEqual(await sids({ limit: 10, followUp: 'red' }), ['CAred']);
      assert.deepEqual(await sids({ limit: 10, followUp: 'amber', channel: 'phone' }), []);

      // New writes keep the columns in step with the record (a flag set when the call closes).
      await store.writeBatch({ records: [{ ...demoRecord({ callSid: 'CAold', startedAt: t0 }), outcome: 'completed', followUp: { level: 'amber', reasons: ['z'] } }], events: [] });
      assert.deepEqual(await sids({ limit: 10, followUp: 'amber' }), ['CAbrowser', 'CAold']);
      assert.equal((await store.listCalls({ limit: 10, followUp: 'amber' })).total, 2);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function insertV3Analysis(db: Database.Database, callSid: string, analysis: Pick<CallAnalysis, 'status' | 'followUp' | 'fields'>): void {
  db.prepare(
    `INSERT INTO call_analysis (call_sid, status, follow_up, analysis_json, analysed_at, updated_at) VALUES (?, ?, ?, ?, 0, 0)`,
  ).run(callSid, analysis.status, analysis.status === 'ok' && analysis.followUp ? 1 : 0, JSON.stringify({ summary: 'x', ...analysis }));
}

function schemaOf(db: Database.Database): unknown[] {
  return db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all();
}

describe('transcript store migration 4: analysis fields', () => {
  it('adds and backfills the fields table on a database at version 3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-migrate-'));
    const fresh = mkdtempSync(join(tmpdir(), 'cb-migrate-'));
    try {
      // Migrations 1-3 as shipped (541a448): no call_analysis_fields yet.
      const db = new Database(join(dir, 'calls.db'));
      for (const sql of MIGRATIONS.slice(0, 3)) db.exec(sql);
      db.pragma('user_version = 3');
      const t0 = Date.UTC(2026, 0, 5, 9);
      for (const [i, sid] of ['CAa', 'CAb', 'CAc'].entries()) insertV1(db, demoRecord({ callSid: sid, startedAt: t0 + i, outcome: 'completed' }));
      insertV3Analysis(db, 'CAa', { status: 'ok', followUp: true, fields: { reason: '  Billing ', party: 4, booked: true, cb: null, code: '007' } });
      insertV3Analysis(db, 'CAb', { status: 'ok', followUp: false, fields: { reason: 'booking', party: 2.5, booked: false, cb: '+1555' } });
      insertV3Analysis(db, 'CAc', { status: 'failed', followUp: true, fields: { reason: 'billing' } });
      assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'call_analysis_fields'").get() as { n: number }).n, 0);
      db.close();

      const store = openSqliteStore({ dataDir: dir });
      assert.deepEqual(store.appliedMigrations, [4]);
      const sids = async (fields: Record<string, string>) => (await store.listCalls({ limit: 10, fields })).calls.map((c) => c.record.callSid).sort();
      assert.deepEqual(await sids({ reason: 'billing' }), ['CAa']); // failed analyses never match
      assert.deepEqual(await sids({ reason: 'BOOKING' }), ['CAb']);
      assert.deepEqual(await sids({ party: '4' }), ['CAa']);
      assert.deepEqual(await sids({ party: '2.50' }), ['CAb']);
      assert.deepEqual(await sids({ booked: 'true' }), ['CAa']);
      assert.deepEqual(await sids({ booked: 'false' }), ['CAb']);
      assert.deepEqual(await sids({ cb: 'null' }), ['CAa']);
      assert.deepEqual(await sids({ cb: '+1555' }), ['CAb']);
      assert.deepEqual(await sids({ code: '7' }), ['CAa']);
      assert.equal((await store.listCalls({ limit: 10, followUp: 'true', fields: { reason: 'billing' } })).total, 1);
      const upgraded = schemaOf(store.database);
      await store.close();

      const created = openSqliteStore({ dataDir: fresh });
      assert.deepEqual(upgraded, schemaOf(created.database));
      await created.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
