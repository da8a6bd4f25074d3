/**
 * JobQueue on PostgreSQL: the `jobs` table (pg-migrations.ts). A claim is one statement: the due
 * rows are picked `FOR UPDATE SKIP LOCKED` and leased in the same UPDATE, so runners on several
 * instances never take the same job while its lease holds, and none waits on another's claim; an
 * expired lease makes the job claimable again (at least once, docs/after-call.md).
 */
import type pg from 'pg';
import type { Job, JobKind, JobQueue, JobState } from './after-call-store.js';
import { JOB_COLUMNS, toJob, type JobRow } from './job-rows.js';
import { pgText } from './pg-pool.js';

const COLUMNS = JOB_COLUMNS;

const CLAIM = `
  UPDATE jobs SET state = 'running', lease_until = $2::bigint, attempts = attempts + 1, updated_at = $3
  WHERE id IN (
    SELECT id FROM jobs
    WHERE kind = ANY($1) AND ((state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_until <= $3))
    ORDER BY run_at, id LIMIT $4
    FOR UPDATE SKIP LOCKED
  )
  RETURNING ${COLUMNS}`;

export class PgJobQueue implements JobQueue {
  constructor(private readonly pool: pg.Pool) {}

  async enqueue(job: { kind: JobKind; key: string; callSid: string; payload: unknown; runAtMs: number }): Promise<boolean> {
    const now = Date.now();
    const r = await this.pool.query(
      `INSERT INTO jobs (kind, key, call_sid, payload_json, run_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (key) DO NOTHING`,
      [job.kind, job.key, job.callSid, JSON.stringify(job.payload ?? null), job.runAtMs, now],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async claim(kinds: readonly JobKind[], nowMs: number, limit: number, leaseMs: number): Promise<Job[]> {
    if (kinds.length === 0 || limit <= 0) return [];
    const r = await this.pool.query<JobRow>(CLAIM, [[...kinds], nowMs + leaseMs, nowMs, limit]);
    return r.rows.sort((a, b) => a.run_at - b.run_at || a.id - b.id).map(toJob);
  }

  async complete(id: number, nowMs: number): Promise<void> {
    await this.pool.query(`UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = $1 WHERE id = $2`, [nowMs, id]);
  }

  async retryAt(id: number, runAtMs: number, error: string, nowMs: number): Promise<void> {
    await this.pool.query(
      `UPDATE jobs SET state = 'queued', run_at = $1, lease_until = NULL, last_error = $2, updated_at = $3 WHERE id = $4`,
      [runAtMs, pgText(error), nowMs, id],
    );
  }

  async fail(id: number, error: string, nowMs: number): Promise<void> {
    await this.pool.query(`UPDATE jobs SET state = 'failed', lease_until = NULL, last_error = $1, updated_at = $2 WHERE id = $3`, [pgText(error), nowMs, id]);
  }

  async requeue(key: string, runAtMs: number, nowMs: number): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE jobs SET state = 'queued', run_at = $1, attempts = 0, lease_until = NULL, last_error = NULL, updated_at = $2 WHERE key = $3`,
      [runAtMs, nowMs, key],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async jobsOf(callSid: string): Promise<Array<Job & { state: JobState }>> {
    const r = await this.pool.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE call_sid = $1 ORDER BY id`, [callSid]);
    return r.rows.map((row) => ({ ...toJob(row), state: row.state }));
  }

  async nextRunAt(kinds: readonly JobKind[]): Promise<number | undefined> {
    if (kinds.length === 0) return undefined;
    const r = await this.pool.query<{ at: number | null }>(
      `SELECT min(coalesce(CASE state WHEN 'queued' THEN run_at ELSE lease_until END, run_at)) AS at FROM jobs
       WHERE kind = ANY($1) AND state IN ('queued', 'running')`,
      [[...kinds]],
    );
    return r.rows[0]?.at ?? undefined;
  }
}
