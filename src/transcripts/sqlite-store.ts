/**
 * TranscriptStore on SQLite (better-sqlite3): one file under DATA_DIR, WAL journal with
 * `synchronous = NORMAL` (a committed batch survives a process crash or SIGKILL; only an OS crash
 * or power cut can lose the last commits), numbered migrations at open (sqlite-migrations.ts), an
 * FTS5 index over what was said.
 *
 * better-sqlite3 is synchronous; the writer calls `writeBatch` from a timer a few times a second,
 * never per event or per audio frame, so each call is one short transaction off the hot path.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { statementCache } from './sqlite-statements.js';
import { migrate, schemaVersion, SCHEMA_VERSION } from './sqlite-migrations.js';
import {
  decodeCursor,
  encodeCursor,
  searchTerms,
  MATCH_END,
  MATCH_START,
  type CallListPage,
  type CallListQuery,
  type CallSummary,
  type DeletedCall,
  type RetentionScope,
  type StoredCallEvent,
  type TranscriptStore,
  type WriteBatch,
} from './store.js';
import type { CallEventBody, CallEventKind, CallRecord } from './types.js';
import type { CallAnalysis } from './after-call-store.js';
import { analysisFilter } from './sqlite-analysis.js';

export const DEFAULT_DB_FILE = 'calls.db';

export interface SqliteStoreOptions {
  /** Directory holding the database (created if missing, unless readOnly). */
  dataDir: string;
  fileName?: string;
  /**
   * For tools (the `calls` CLI): the database must exist and be at the current schema version;
   * no migration runs and the connection refuses writes (`PRAGMA query_only`).
   */
  readOnly?: boolean;
}

export class StoreOpenError extends Error {
  readonly reason: 'missing' | 'outdated';
  constructor(reason: 'missing' | 'outdated', message: string) {
    super(message);
    this.name = 'StoreOpenError';
    this.reason = reason;
  }
}

interface CallRow {
  record_json: string;
  preview: string | null;
  analysis_json: string | null;
}

interface EventDbRow {
  seq: number;
  at_ms: number;
  body_json: string;
}

export class SqliteTranscriptStore implements TranscriptStore {
  readonly path: string;
  /** Migrations applied when this instance opened the file (empty when it was current). */
  readonly appliedMigrations: number[];
  /** Write transactions committed by this instance (instrumentation for tests and metrics). */
  transactions = 0;
  private readonly db: Database.Database;
  private readonly stmt = statementCache(() => this.db);
  private readonly applyBatch: Database.Transaction<(batch: WriteBatch) => void>;

  constructor(options: SqliteStoreOptions) {
    this.path = join(options.dataDir, options.fileName ?? DEFAULT_DB_FILE);
    if (options.readOnly) {
      if (!existsSync(this.path)) {
        throw new StoreOpenError('missing', `no call database at ${this.path} (no calls recorded yet, or another DATA_DIR)`);
      }
      this.db = new Database(this.path, { fileMustExist: true });
      this.db.pragma('busy_timeout = 5000');
      const version = schemaVersion(this.db);
      if (version !== SCHEMA_VERSION) {
        this.db.close();
        throw new StoreOpenError(
          'outdated',
          `the call database is at schema version ${version}, this callbridge expects ${SCHEMA_VERSION}; start the server once to migrate it`,
        );
      }
      this.db.pragma('query_only = ON');
      this.appliedMigrations = [];
    } else {
      mkdirSync(options.dataDir, { recursive: true });
      this.db = new Database(this.path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      try {
        this.appliedMigrations = migrate(this.db);
      } catch (err) {
        this.db.close();
        throw err;
      }
    }
    this.applyBatch = this.db.transaction((batch: WriteBatch) => {
      const upsert = this.stmt(UPSERT_CALL);
      const insertEvent = this.stmt(INSERT_EVENT);
      const now = Date.now();
      for (const r of batch.records) {
        upsert.run({
          call_sid: r.callSid,
          started_at: r.startedAt,
          ended_at: r.endedAt ?? null,
          duration_ms: r.durationMs ?? null,
          flow: r.flow ?? null,
          outcome: r.outcome,
          from_number: r.from,
          to_number: r.to,
          recording_path: r.recordingPath ?? null,
          channel: r.channel ?? 'phone',
          follow_up: r.followUp?.level ?? null,
          record_json: JSON.stringify(r),
          updated_at: now,
        });
      }
      for (const e of batch.events) {
        insertEvent.run(e.callSid, e.seq, e.atMs, e.kind, e.bodyJson, e.text ?? null);
      }
      // A record that became final queues its post-call analysis in the same transaction, so a
      // crash cannot lose it (docs/after-call.md); the job decides whether there is anything to do.
      const enqueue = this.stmt(ENQUEUE_ANALYSIS);
      for (const r of batch.records) {
        if (r.outcome !== 'in_progress') enqueue.run(`analysis:${r.callSid}`, r.callSid, now, now, now);
      }
    });
  }

  get schemaVersion(): number {
    return schemaVersion(this.db);
  }

  /**
   * The better-sqlite3 handle, for the stores that live in the same file (after-call-store.ts:
   * sqlite-jobs.ts, sqlite-analysis.ts …) so a call's record, jobs and analysis share one database
   * and one WAL. Not for ad-hoc queries elsewhere.
   */
  get database(): Database.Database {
    return this.db;
  }

  /** Pragmas as SQLite reports them (for tests and diagnostics). */
  pragma(name: string): unknown {
    return this.db.pragma(name, { simple: true });
  }

  async writeBatch(batch: WriteBatch): Promise<void> {
    if (batch.records.length === 0 && batch.events.length === 0) return;
    this.applyBatch.immediate(batch);
    this.transactions++;
  }

  async getCall(callSid: string): Promise<CallRecord | undefined> {
    const row = this.stmt('SELECT record_json FROM calls WHERE call_sid = ?').get(callSid) as
      | { record_json: string }
      | undefined;
    return row ? (JSON.parse(row.record_json) as CallRecord) : undefined;
  }

  /**
   * A call's events in call-time order. Some are written after the fact with an earlier time (a
   * bot utterance is recorded once its audio has played, with the time it started), so the order
   * is by time first, then by write order.
   */
  async getEvents(callSid: string): Promise<StoredCallEvent[]> {
    const rows = this.stmt('SELECT seq, at_ms, body_json FROM call_events WHERE call_sid = ? ORDER BY at_ms, seq').all(
      callSid,
    ) as EventDbRow[];
    return rows.map((r) => ({ ...(JSON.parse(r.body_json) as CallEventBody), atMs: r.at_ms, seq: r.seq }));
  }

  async listFlows(): Promise<string[]> {
    const rows = this.stmt('SELECT DISTINCT flow FROM calls WHERE flow IS NOT NULL ORDER BY flow').all() as {
      flow: string;
    }[];
    return rows.map((r) => r.flow);
  }

  async listCalls(query: CallListQuery): Promise<CallListPage> {
    const { where, params, ftsQuery, analysis } = listFilter(query);
    const countWhere = [...where, ...analysis.count];
    const filter = countWhere.length > 0 ? `WHERE ${countWhere.join(' AND ')}` : '';
    const total = (this.stmt(`SELECT count(*) AS n FROM calls c ${filter}`).get(params) as { n: number }).n;

    const pageWhere = [...where, ...analysis.page];
    const pageParams: Record<string, unknown> = { ...params, limit: query.limit + 1, offset: 0 };
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (cursor) {
      pageWhere.push('(c.started_at < @cStart OR (c.started_at = @cStart AND c.call_sid < @cSid))');
      pageParams.cStart = cursor.startedAt;
      pageParams.cSid = cursor.callSid;
    } else {
      pageParams.offset = query.offset ?? 0;
    }
    const pageFilter = pageWhere.length > 0 ? `WHERE ${pageWhere.join(' AND ')}` : '';
    const rows = this.stmt(
      `SELECT c.record_json,
              (SELECT e.text FROM call_events e WHERE e.call_sid = c.call_sid AND e.kind = 'caller_utterance'
               ORDER BY e.seq LIMIT 1) AS preview,
              (SELECT a.analysis_json FROM call_analysis a WHERE a.call_sid = c.call_sid) AS analysis_json
       FROM calls c ${pageFilter}
       ORDER BY c.started_at DESC, c.call_sid DESC
       LIMIT @limit OFFSET @offset`,
    ).all(pageParams) as CallRow[];

    const more = rows.length > query.limit;
    const calls = rows.slice(0, query.limit).map((row) => this.callSummary(row, ftsQuery));
    const page: CallListPage = { calls, total };
    const last = calls[calls.length - 1];
    if (more && last) page.nextCursor = encodeCursor(last.record.startedAt, last.record.callSid);
    return page;
  }

  /** A listed call: its record, the first thing the caller said and (when searching) the best match. */
  private callSummary(row: CallRow, ftsQuery: string | undefined): CallSummary {
    const record = JSON.parse(row.record_json) as CallRecord;
    const summary: CallSummary = { record };
    if (row.preview !== null) summary.preview = row.preview;
    if (row.analysis_json !== null) summary.analysis = JSON.parse(row.analysis_json) as CallAnalysis;
    if (ftsQuery !== undefined) {
      const m = this.stmt(
        `SELECT e.kind, e.seq, snippet(call_text, 0, '${MATCH_START}', '${MATCH_END}', '…', 14) AS snippet
         FROM call_text JOIN call_events e ON e.id = call_text.rowid
         WHERE call_text MATCH ? AND e.call_sid = ? ORDER BY call_text.rank, e.seq LIMIT 1`,
      ).get(ftsQuery, record.callSid) as { kind: CallEventKind; seq: number; snippet: string } | undefined;
      if (m) summary.match = m;
    }
    return summary;
  }

  async deleteCallsStartedBefore(beforeMs: number, scope: RetentionScope, limit: number): Promise<DeletedCall[]> {
    let sql = 'SELECT call_sid, recording_path FROM calls WHERE started_at < ?';
    const args: unknown[] = [beforeMs];
    if ('flow' in scope) {
      sql += ' AND flow = ?';
      args.push(scope.flow);
    } else if (scope.exceptFlows.length > 0) {
      sql += ` AND (flow IS NULL OR flow NOT IN (${scope.exceptFlows.map(() => '?').join(', ')}))`;
      args.push(...scope.exceptFlows);
    }
    sql += ' ORDER BY started_at LIMIT ?';
    args.push(limit);
    const deleted = this.db.transaction(() => {
      const rows = this.stmt(sql).all(...args) as { call_sid: string; recording_path: string | null }[];
      const deleteEvents = this.stmt('DELETE FROM call_events WHERE call_sid = ?');
      const deleteCall = this.stmt('DELETE FROM calls WHERE call_sid = ?');
      const deleteAnalysis = this.stmt('DELETE FROM call_analysis WHERE call_sid = ?');
      const deleteFields = this.stmt('DELETE FROM call_analysis_fields WHERE call_sid = ?');
      const deleteJobs = this.stmt('DELETE FROM jobs WHERE call_sid = ?');
      for (const row of rows) {
        deleteEvents.run(row.call_sid);
        deleteAnalysis.run(row.call_sid);
        deleteFields.run(row.call_sid);
        deleteJobs.run(row.call_sid);
        deleteCall.run(row.call_sid);
      }
      return rows;
    }).immediate();
    if (deleted.length > 0) this.transactions++;
    return deleted.map((r) => (r.recording_path === null ? { callSid: r.call_sid } : { callSid: r.call_sid, recordingPath: r.recording_path }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

const UPSERT_CALL = `
  INSERT INTO calls (call_sid, started_at, ended_at, duration_ms, flow, outcome, from_number, to_number,
                     recording_path, channel, follow_up, record_json, updated_at)
  VALUES (@call_sid, @started_at, @ended_at, @duration_ms, @flow, @outcome, @from_number, @to_number,
          @recording_path, @channel, @follow_up, @record_json, @updated_at)
  ON CONFLICT (call_sid) DO UPDATE SET
    started_at = excluded.started_at, ended_at = excluded.ended_at, duration_ms = excluded.duration_ms,
    flow = excluded.flow, outcome = excluded.outcome, from_number = excluded.from_number,
    to_number = excluded.to_number, recording_path = excluded.recording_path,
    channel = excluded.channel, follow_up = excluded.follow_up,
    record_json = excluded.record_json, updated_at = excluded.updated_at`;

const ENQUEUE_ANALYSIS = `
  INSERT INTO jobs (kind, key, call_sid, payload_json, run_at, created_at, updated_at)
  VALUES ('analysis', ?, ?, 'null', ?, ?, ?) ON CONFLICT (key) DO NOTHING`;

const INSERT_EVENT = `
  INSERT INTO call_events (call_sid, seq, at_ms, kind, body_json, text) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (call_sid, seq) DO NOTHING`;

/** Opens (creating and migrating as needed) the SQLite store under `dataDir`. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteTranscriptStore {
  return new SqliteTranscriptStore(options);
}

interface ListFilter {
  where: string[];
  params: Record<string, unknown>;
  /** The FTS query for match snippets, when the list is a search with words in it. */
  ftsQuery: string | undefined;
  /** The analysis clauses, one form for the total and one for the page (sqlite-analysis.ts). */
  analysis: { count: string[]; page: string[] };
}

/** The WHERE clauses and parameters of a call list query (all but its cursor). */
function listFilter(query: CallListQuery): ListFilter {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  const ftsQuery = query.q === undefined ? undefined : searchFilter(query.q, where, params);
  if (query.from !== undefined) {
    where.push('c.started_at >= @from');
    params.from = query.from;
  }
  if (query.to !== undefined) {
    where.push('c.started_at < @to');
    params.to = query.to;
  }
  if (query.flow !== undefined) {
    where.push('c.flow = @flow');
    params.flow = query.flow;
  }
  if (query.outcome !== undefined && query.outcome.length > 0) {
    where.push(`c.outcome IN (${query.outcome.map((_, i) => `@outcome${i}`).join(', ')})`);
    query.outcome.forEach((o, i) => (params[`outcome${i}`] = o));
  }
  if (query.channel !== undefined) {
    where.push('c.channel = @channel');
    params.channel = query.channel;
  }
  if (query.followUp === 'any') where.push('c.follow_up IS NOT NULL');
  const analysis = analysisFilter(query, params);
  if (query.followUp === 'amber' || query.followUp === 'red') {
    where.push('c.follow_up = @followUp');
    params.followUp = query.followUp;
  }
  return { where, params, ftsQuery, analysis };
}

/** Adds the clause for a search `q`; returns the FTS query for snippets (undefined when `q` has no words, which filters nothing). */
function searchFilter(q: string, where: string[], params: Record<string, unknown>): string | undefined {
  const terms = searchTerms(q);
  if (terms.length === 0) return undefined;
  // Every word must be said somewhere in the call (not necessarily in one utterance): one
  // FTS lookup per word, intersected. The snippet query takes any of them.
  const perWord = terms.map((t, i) => {
    params[`fts${i}`] = `"${t}"*`;
    return `c.call_sid IN (SELECT e.call_sid FROM call_text JOIN call_events e ON e.id = call_text.rowid WHERE call_text MATCH @fts${i})`;
  });
  // …or the call's sid, or (for 4+ digits) part of the caller's number.
  const alternatives = [`(${perWord.join(' AND ')})`, 'c.call_sid = @sid'];
  params.sid = q.trim();
  const digits = q.replace(/[\s().+-]/g, '');
  if (/^\d{4,}$/.test(digits)) {
    alternatives.push("replace(replace(c.from_number, ' ', ''), '-', '') LIKE @digits");
    params.digits = `%${digits}%`;
  }
  where.push(`(${alternatives.join(' OR ')})`);
  return terms.map((t) => `"${t}"*`).join(' OR ');
}
