/**
 * DashboardStore on PostgreSQL, over the tables of pg-migrations.ts; the same figures as SQLite's
 * (sqlite-dashboard.ts). The windows (local days, computed by the caller in the flow's time zone)
 * arrive as three arrays, unnested and joined to the calls by start time, so one statement serves
 * any number of days; the median is percentile_cont(0.5) (the mean of the two middle values, as
 * SQLite's). The reads of one answer run in one REPEATABLE READ transaction, so they agree.
 */
import type pg from 'pg';
import type { DashboardStore, FigureQuery, FollowUpItem, FollowUpMark, FollowUpQuery, WindowFigures } from './dashboard-store.js';
import type { FollowUp } from './types.js';
import { followUpItem, windowFigures, type CountRow, type FollowUpRow, type NamedRow } from './dashboard-rows.js';
import { inTransaction, params, pgText } from './pg-pool.js';

/** The calls of one flow in each window: columns k (window key) + the calls row. $1 keys, $2 starts, $3 ends, $4 flow. */
const WINDOWED = `
  WITH w AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS w(k, lo, hi)),
  wc AS (
    SELECT w.k AS k, c.call_sid, c.outcome, c.duration_ms, c.follow_up
    FROM w JOIN calls c ON c.flow IS NOT DISTINCT FROM $4::text AND c.started_at >= w.lo AND c.started_at < w.hi
  )`;

/** A call needs a person: its record's flag, or its analysis (settled ok) says so. */
const NEEDS = `(c.follow_up IS NOT NULL OR (a.status = 'ok' AND a.follow_up = 1))`;

const COUNTS = `${WINDOWED}
  SELECT c.k AS k, count(*) AS calls,
         count(*) FILTER (WHERE c.outcome = 'transferred') AS transfers,
         count(*) FILTER (WHERE ${NEEDS}) AS follow_ups,
         count(*) FILTER (WHERE ${NEEDS} AND d.call_sid IS NULL) AS open,
         count(*) FILTER (WHERE a.status = 'ok') AS analysed
  FROM wc c
  LEFT JOIN call_analysis a ON a.call_sid = c.call_sid
  LEFT JOIN follow_up_done d ON d.call_sid = c.call_sid
  GROUP BY c.k`;

const OUTCOMES = `${WINDOWED}
  SELECT k, outcome AS name, count(*) AS n FROM wc GROUP BY k, outcome`;

const MEDIANS = `${WINDOWED}
  SELECT k, percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS median
  FROM wc WHERE duration_ms IS NOT NULL GROUP BY k`;

const INTENTS = `${WINDOWED},
  i AS (
    SELECT c.k AS k, lower(btrim(a.analysis_json::jsonb ->> 'intent')) AS name
    FROM wc c JOIN call_analysis a ON a.call_sid = c.call_sid WHERE a.status = 'ok'
  )
  SELECT k, name, count(*) AS n FROM i WHERE name IS NOT NULL AND name <> ''
  GROUP BY k, name ORDER BY k, n DESC, name`;

const FAILED_FUNCTIONS = `${WINDOWED},
  f AS (
    SELECT c.k AS k, e.body_json::jsonb AS body
    FROM wc c JOIN call_events e ON e.call_sid = c.call_sid WHERE e.kind = 'function_call'
  )
  SELECT k, body ->> 'name' AS name, count(*) AS n FROM f
  WHERE body ->> 'status' IN ('error', 'timeout', 'rejected')
  GROUP BY k, name ORDER BY k, n DESC, name`;

/** Calls either flag says need a person. */
const FLAGGED = `SELECT call_sid FROM calls WHERE follow_up IN ('amber', 'red')
  UNION ALL SELECT call_sid FROM call_analysis WHERE follow_up = 1 AND status = 'ok'`;

const FOLLOW_UP_COLUMNS = `
  c.call_sid, c.flow, c.started_at, c.duration_ms, c.from_number, c.outcome,
  c.record_json::jsonb -> 'followUp' AS record_follow_up,
  a.status AS analysis_status, a.follow_up AS analysis_follow_up,
  a.analysis_json::jsonb ->> 'followUpReason' AS follow_up_reason,
  a.analysis_json::jsonb ->> 'summary' AS summary,
  a.analysis_json::jsonb ->> 'intent' AS intent,
  d.done_by, d.done_via, d.client, d.done_at`;

const FOLLOW_UP_FROM = `
  FROM calls c
  LEFT JOIN call_analysis a ON a.call_sid = c.call_sid
  LEFT JOIN follow_up_done d ON d.call_sid = c.call_sid`;

const READ_ONLY = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

export class PgDashboardStore implements DashboardStore {
  constructor(private readonly pool: pg.Pool) {}

  async figures(query: FigureQuery): Promise<WindowFigures[]> {
    const args = [query.windows.map((w) => w.key), query.windows.map((w) => w.startMs), query.windows.map((w) => w.endMs), query.flow];
    const top = query.topIntents ?? 5;
    const r = await inTransaction(
      this.pool,
      async (db) => ({
        counts: (await db.query<CountRow>(COUNTS, args)).rows,
        outcomes: (await db.query<NamedRow>(OUTCOMES, args)).rows,
        medians: (await db.query<{ k: string; median: number }>(MEDIANS, args)).rows,
        intents: (await db.query<NamedRow>(INTENTS, args)).rows,
        failed: (await db.query<NamedRow>(FAILED_FUNCTIONS, args)).rows,
      }),
      READ_ONLY,
    );
    return windowFigures(query.windows.map((w) => w.key), r, top);
  }

  async followUps(query: FollowUpQuery): Promise<{ items: FollowUpItem[]; total: number }> {
    const p = params();
    const where = [`c.call_sid IN (${FLAGGED})`, NEEDS];
    if (query.state === 'open') where.push('d.call_sid IS NULL');
    if (query.state === 'done') where.push('d.call_sid IS NOT NULL');
    if (query.flow !== undefined) where.push(`c.flow = ${p.$(query.flow)}`);
    if (query.fromMs !== undefined) where.push(`c.started_at >= ${p.$(query.fromMs)}`);
    if (query.toMs !== undefined) where.push(`c.started_at < ${p.$(query.toMs)}`);
    const filter = `${FOLLOW_UP_FROM} WHERE ${where.join(' AND ')}`;
    const countArgs = [...p.list];
    const limit = p.$(query.limit);
    const { total, rows } = await inTransaction(
      this.pool,
      async (db) => ({
        total: (await db.query<{ n: number }>(`SELECT count(*) AS n ${filter}`, countArgs)).rows[0]?.n ?? 0,
        rows: (await db.query<FollowUpRow<FollowUp | null>>(`SELECT ${FOLLOW_UP_COLUMNS} ${filter} ORDER BY c.started_at DESC, c.call_sid DESC LIMIT ${limit}`, p.list)).rows,
      }),
      READ_ONLY,
    );
    return { total, items: rows.map((r) => followUpItem(r, r.record_follow_up)) };
  }

  async medianDurationMs(flow: string | null, startMs: number, endMs: number): Promise<number | null> {
    const r = await this.pool.query<{ median: number | null }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS median FROM calls
       WHERE flow IS NOT DISTINCT FROM $1::text AND started_at >= $2 AND started_at < $3 AND duration_ms IS NOT NULL`,
      [flow, startMs, endMs],
    );
    const median = r.rows[0]?.median;
    return median == null ? null : Math.round(median);
  }

  async flowsWithCalls(): Promise<(string | null)[]> {
    const r = await this.pool.query<{ flow: string | null }>('SELECT DISTINCT flow FROM calls ORDER BY flow NULLS LAST');
    return r.rows.map((row) => row.flow);
  }

  async markDone(callSid: string, mark: FollowUpMark): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO follow_up_done (call_sid, done_by, done_via, client, done_at)
       SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM calls WHERE call_sid = $1)
       ON CONFLICT (call_sid) DO UPDATE SET done_by = excluded.done_by, done_via = excluded.done_via,
         client = excluded.client, done_at = excluded.done_at`,
      [callSid, pgText(mark.by), pgText(mark.via), pgText(mark.client), mark.atMs],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async undoDone(callSid: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM follow_up_done WHERE call_sid = $1', [callSid])).rowCount ?? 0) > 0;
  }

  async doneMarkOf(callSid: string): Promise<FollowUpMark | undefined> {
    const row = (
      await this.pool.query<{ done_by: string; done_via: string; client: string; done_at: number }>(
        'SELECT done_by, done_via, client, done_at FROM follow_up_done WHERE call_sid = $1',
        [callSid],
      )
    ).rows[0];
    return row ? { by: row.done_by, via: row.done_via, client: row.client, atMs: row.done_at } : undefined;
  }
}
