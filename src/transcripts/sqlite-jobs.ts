/**
 * JobQueue on SQLite: the `jobs` table of migration 3, in the transcript store's database (pass
 * `SqliteTranscriptStore.database`). A claim is one IMMEDIATE transaction (select the due rows,
 * mark them running with a lease, count the attempt), so two runners on the same file never take
 * the same job while its lease holds; an expired lease makes the job claimable again (at least
 * once, see docs/after-call.md).
 */
import type Database from 'better-sqlite3';
import { statementCache } from './sqlite-statements.js';
import type { Job, JobKind, JobQueue, JobState } from './after-call-store.js';
import { JOB_COLUMNS, toJob, type JobRow } from './job-rows.js';

const COLUMNS = JOB_COLUMNS;

export class SqliteJobQueue implements JobQueue {
  private readonly stmt = statementCache(() => this.db);

  constructor(private readonly db: Database.Database) {}

  async enqueue(job: { kind: JobKind; key: string; callSid: string; payload: unknown; runAtMs: number }): Promise<boolean> {
    const now = Date.now();
    const info = this.stmt(
      `INSERT INTO jobs (kind, key, call_sid, payload_json, run_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
    ).run(job.kind, job.key, job.callSid, JSON.stringify(job.payload ?? null), job.runAtMs, now, now);
    return info.changes > 0;
  }

  async claim(kinds: readonly JobKind[], nowMs: number, limit: number, leaseMs: number): Promise<Job[]> {
    if (kinds.length === 0 || limit <= 0) return [];
    const marks = kinds.map(() => '?').join(', ');
    const select = this.stmt(
      `SELECT ${COLUMNS} FROM jobs
       WHERE kind IN (${marks})
         AND ((state = 'queued' AND run_at <= ?) OR (state = 'running' AND lease_until <= ?))
       ORDER BY run_at, id LIMIT ?`,
    );
    const lease = this.stmt(
      `UPDATE jobs SET state = 'running', lease_until = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?`,
    );
    // Most polls find nothing due: answer those from a read, without taking the write lock.
    if (select.all(...kinds, nowMs, nowMs, 1).length === 0) return [];
    return this.db
      .transaction(() => {
        const rows = select.all(...kinds, nowMs, nowMs, limit) as JobRow[];
        for (const row of rows) {
          lease.run(nowMs + leaseMs, nowMs, row.id);
          row.attempts += 1;
        }
        return rows.map(toJob);
      })
      .immediate();
  }

  async complete(id: number, nowMs: number): Promise<void> {
    this.stmt(`UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = ? WHERE id = ?`).run(nowMs, id);
  }

  async retryAt(id: number, runAtMs: number, error: string, nowMs: number): Promise<void> {
    this.stmt(
      `UPDATE jobs SET state = 'queued', run_at = ?, lease_until = NULL, last_error = ?, updated_at = ? WHERE id = ?`,
    ).run(runAtMs, error, nowMs, id);
  }

  async fail(id: number, error: string, nowMs: number): Promise<void> {
    this.stmt(`UPDATE jobs SET state = 'failed', lease_until = NULL, last_error = ?, updated_at = ? WHERE id = ?`).run(
      error,
      nowMs,
      id,
    );
  }

  async requeue(key: string, runAtMs: number, nowMs: number): Promise<boolean> {
    const info = this.stmt(
      `UPDATE jobs SET state = 'queued', run_at = ?, attempts = 0, lease_until = NULL, last_error = NULL, updated_at = ?
       WHERE key = ?`,
    ).run(runAtMs, nowMs, key);
    return info.changes > 0;
  }

  async jobsOf(callSid: string): Promise<Array<Job & { state: JobState }>> {
    const rows = this.stmt(`SELECT ${COLUMNS} FROM jobs WHERE call_sid = ? ORDER BY id`).all(callSid) as JobRow[];
    return rows.map((row) => ({ ...toJob(row), state: row.state }));
  }

  async nextRunAt(kinds: readonly JobKind[]): Promise<number | undefined> {
    if (kinds.length === 0) return undefined;
    const marks = kinds.map(() => '?').join(', ');
    const row = this.stmt(
      `SELECT min(coalesce(CASE state WHEN 'queued' THEN run_at ELSE lease_until END, run_at)) AS at FROM jobs
       WHERE kind IN (${marks}) AND state IN ('queued', 'running')`,
    ).get(...kinds) as { at: number | null };
    return row.at ?? undefined;
  }
}
