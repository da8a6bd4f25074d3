/**
 * Migration 2 (channel and follow-up columns) on a database written by the previous version:
 * the columns are backfilled from the stored records (a call without a channel was a phone call),
 * and the list filters channel= and followUp= use them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/transcripts/sqlite-migrations.js';
import { openSqliteStore } from '../../src/transcripts/sqlite-store.js';
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
