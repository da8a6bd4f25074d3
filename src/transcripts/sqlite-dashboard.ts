/**
 * DashboardStore on SQLite, over the transcript store's database (tables `calls`, `call_events`,
 * `call_analysis` and `follow_up_done`, migration 3 in sqlite-migrations.ts).
 *
 * The figures are aggregated in SQL: the windows (local days, computed by the caller in the
 * flow's time zone) arrive as one JSON parameter, expanded with json_each and joined to the calls
 * by start time, so one statement serves any number of days; the median uses window functions.
 * The windows are materialised and drive the join (CROSS JOIN fixes the order), so each is one
 * range scan of calls_by_flow (flow, started_at); the other order re-reads the JSON per call.
 * Reads run in one transaction, so the figures of a window agree with each other.
 */
import type Database from 'better-sqlite3';
import { statementCache } from './sqlite-statements.js';
import type {
  DashboardStore,
  FigureQuery,
  FollowUpItem,
  FollowUpMark,
  FollowUpQuery,
  WindowFigures,
} from './dashboard-store.js';
import type { FollowUp } from './types.js';
import { followUpItem, windowFigures, type CountRow, type FollowUpRow, type NamedRow } from './dashboard-rows.js';

/** The calls of one flow in each window: columns k (window key) + the calls row. */
const WINDOWED = `
  WITH w AS MATERIALIZED (
    SELECT json_extract(value, '$[0]') AS k, json_extract(value, '$[1]') AS lo, json_extract(value, '$[2]') AS hi
    FROM json_each(@windows)
  ),
  wc AS (
    SELECT w.k AS k, c.call_sid, c.outcome, c.duration_ms, c.follow_up
    FROM w CROSS JOIN calls c ON c.flow IS @flow AND c.started_at >= w.lo AND c.started_at < w.hi
  )`;

/** A call needs a person: its record's flag, or its analysis (settled ok) says so. */
const NEEDS = `(c.follow_up IS NOT NULL OR (a.status = 'ok' AND a.follow_up = 1))`;

const COUNTS = `${WINDOWED}
  SELECT c.k AS k, count(*) AS calls,
         coalesce(sum(c.outcome = 'transferred'), 0) AS transfers,
         coalesce(sum(${NEEDS}), 0) AS follow_ups,
         coalesce(sum(${NEEDS} AND d.call_sid IS NULL), 0) AS open,
         coalesce(sum(a.status = 'ok'), 0) AS analysed
  FROM wc c
  LEFT JOIN call_analysis a INDEXED BY call_analysis_dashboard ON a.call_sid = c.call_sid
  LEFT JOIN follow_up_done d ON d.call_sid = c.call_sid
  GROUP BY c.k`;

const OUTCOMES = `${WINDOWED}
  SELECT k, outcome AS name, count(*) AS n FROM wc GROUP BY k, outcome`;

const MEDIANS = `${WINDOWED},
  ranked AS (
    SELECT k, duration_ms,
           row_number() OVER (PARTITION BY k ORDER BY duration_ms) AS rn,
           count(*) OVER (PARTITION BY k) AS cnt
    FROM wc WHERE duration_ms IS NOT NULL
  )
  SELECT k, avg(duration_ms) AS median FROM ranked
  WHERE rn IN ((cnt + 1) / 2, (cnt + 2) / 2)
  GROUP BY k`;

const INTENTS = `${WINDOWED}
  SELECT c.k AS k, lower(trim(json_extract(a.analysis_json, '$.intent'))) AS name, count(*) AS n
  FROM wc c JOIN call_analysis a ON a.call_sid = c.call_sid
  WHERE a.status = 'ok' AND name IS NOT NULL AND name <> ''
  GROUP BY c.k, name
  ORDER BY c.k, n DESC, name`;

const FAILED_FUNCTIONS = `${WINDOWED}
  SELECT c.k AS k, json_extract(e.body_json, '$.name') AS name, count(*) AS n
  FROM wc c JOIN call_events e INDEXED BY call_events_failed_functions ON e.call_sid = c.call_sid
  WHERE e.kind = 'function_call' AND json_extract(e.body_json, '$.status') IN ('error', 'timeout', 'rejected')
  GROUP BY c.k, name
  ORDER BY c.k, n DESC, name`;

/** Calls either flag says need a person (each side read from its own index). */
const FLAGGED = `SELECT call_sid FROM calls WHERE follow_up IN ('amber', 'red')
  UNION ALL SELECT call_sid FROM call_analysis WHERE follow_up = 1 AND status = 'ok'`;

const MEDIAN_ONE = `
  WITH d AS (
    SELECT duration_ms FROM calls
    WHERE flow IS @flow AND started_at >= @startMs AND started_at < @endMs AND duration_ms IS NOT NULL
  ),
  ranked AS (SELECT duration_ms, row_number() OVER (ORDER BY duration_ms) AS rn, count(*) OVER () AS cnt FROM d)
  SELECT avg(duration_ms) AS median FROM ranked WHERE rn IN ((cnt + 1) / 2, (cnt + 2) / 2)`;

const FOLLOW_UP_COLUMNS = `
  c.call_sid, c.flow, c.started_at, c.duration_ms, c.from_number, c.outcome,
  json_extract(c.record_json, '$.followUp') AS record_follow_up,
  a.status AS analysis_status, a.follow_up AS analysis_follow_up,
  json_extract(a.analysis_json, '$.followUpReason') AS follow_up_reason,
  json_extract(a.analysis_json, '$.summary') AS summary,
  json_extract(a.analysis_json, '$.intent') AS intent,
  d.done_by, d.done_via, d.client, d.done_at`;

const FOLLOW_UP_FROM = `
  FROM calls c
  LEFT JOIN call_analysis a ON a.call_sid = c.call_sid
  LEFT JOIN follow_up_done d ON d.call_sid = c.call_sid`;

export class SqliteDashboardStore implements DashboardStore {
  readonly #db: Database.Database;
  readonly #stmt = statementCache(() => this.#db);

  /** `db`: the transcript store's handle (SqliteTranscriptStore.database), at schema version 3 or later. */
  constructor(db: Database.Database) {
    this.#db = db;
  }

  async figures(query: FigureQuery): Promise<WindowFigures[]> {
    const params = { flow: query.flow, windows: JSON.stringify(query.windows.map((w) => [w.key, w.startMs, w.endMs])) };
    const top = query.topIntents ?? 5;
    const read = this.#db.transaction(() => ({
      counts: this.#stmt(COUNTS).all(params) as CountRow[],
      outcomes: this.#stmt(OUTCOMES).all(params) as NamedRow[],
      medians: this.#stmt(MEDIANS).all(params) as { k: string; median: number }[],
      intents: this.#stmt(INTENTS).all(params) as NamedRow[],
      failed: this.#stmt(FAILED_FUNCTIONS).all(params) as NamedRow[],
    }));
    const r = read();
    return windowFigures(query.windows.map((w) => w.key), r, top);
  }

  async followUps(query: FollowUpQuery): Promise<{ items: FollowUpItem[]; total: number }> {
    // The candidates come from the two follow-up indexes (an OR across both tables would scan every call).
    const where = [`c.call_sid IN (${FLAGGED})`, NEEDS];
    const params: Record<string, unknown> = { limit: query.limit };
    if (query.state === 'open') where.push('d.call_sid IS NULL');
    if (query.state === 'done') where.push('d.call_sid IS NOT NULL');
    if (query.flow !== undefined) {
      where.push('c.flow = @flow');
      params.flow = query.flow;
    }
    if (query.fromMs !== undefined) {
      where.push('c.started_at >= @fromMs');
      params.fromMs = query.fromMs;
    }
    if (query.toMs !== undefined) {
      where.push('c.started_at < @toMs');
      params.toMs = query.toMs;
    }
    const filter = `${FOLLOW_UP_FROM} WHERE ${where.join(' AND ')}`;
    const read = this.#db.transaction(() => ({
      total: (this.#stmt(`SELECT count(*) AS n ${filter}`).get(params) as { n: number }).n,
      rows: this.#stmt(`SELECT ${FOLLOW_UP_COLUMNS} ${filter} ORDER BY c.started_at DESC, c.call_sid DESC LIMIT @limit`).all(params) as FollowUpRow<string | null>[],
    }));
    const { total, rows } = read();
    return { total, items: rows.map((r) => followUpItem(r, r.record_follow_up === null ? null : (JSON.parse(r.record_follow_up) as FollowUp))) };
  }

  async medianDurationMs(flow: string | null, startMs: number, endMs: number): Promise<number | null> {
    const row = this.#stmt(MEDIAN_ONE).get({ flow, startMs, endMs }) as { median: number | null } | undefined;
    return row?.median == null ? null : Math.round(row.median);
  }

  async flowsWithCalls(): Promise<(string | null)[]> {
    const rows = this.#stmt('SELECT DISTINCT flow FROM calls ORDER BY flow IS NULL, flow').all() as { flow: string | null }[];
    return rows.map((r) => r.flow);
  }

  async markDone(callSid: string, mark: FollowUpMark): Promise<boolean> {
    const r = this.#stmt(
      `INSERT INTO follow_up_done (call_sid, done_by, done_via, client, done_at)
       SELECT @sid, @by, @via, @client, @at WHERE EXISTS (SELECT 1 FROM calls WHERE call_sid = @sid)
       ON CONFLICT (call_sid) DO UPDATE SET done_by = excluded.done_by, done_via = excluded.done_via,
         client = excluded.client, done_at = excluded.done_at`,
    ).run({ sid: callSid, by: mark.by, via: mark.via, client: mark.client, at: mark.atMs });
    return r.changes > 0;
  }

  async undoDone(callSid: string): Promise<boolean> {
    return this.#stmt('DELETE FROM follow_up_done WHERE call_sid = ?').run(callSid).changes > 0;
  }

  async doneMarkOf(callSid: string): Promise<FollowUpMark | undefined> {
    const row = this.#stmt('SELECT done_by, done_via, client, done_at FROM follow_up_done WHERE call_sid = ?').get(callSid) as
      | { done_by: string; done_via: string; client: string; done_at: number }
      | undefined;
    return row ? { by: row.done_by, via: row.done_via, client: row.client, atMs: row.done_at } : undefined;
  }
}
