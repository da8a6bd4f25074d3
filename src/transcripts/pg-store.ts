/**
 * TranscriptStore on PostgreSQL (the `pg` client), chosen by DATABASE_URL=postgres://… (see
 * open-store.ts); every instance of a deployment shares it (docs/scale-out.md "PostgreSQL").
 * Migrations run at open under an advisory lock (pg-migrations.ts).
 *
 * The writer hands over whole batches from its timer a few times a second, never per event or
 * audio frame; a batch is one transaction of three statements (records, events, analysis jobs),
 * each one round trip whatever the batch size (unnest over arrays).
 *
 * Search matches the SQLite store: every word must be said somewhere in the call, as a prefix
 * (`word:*`), through the `english` text-search configuration (stemmed); snippets come from
 * ts_headline with the same \u0002/\u0003 marks.
 */
import type pg from 'pg';
import { inTransaction, params, pgPool, pgText } from './pg-pool.js';
import { pgMigrate, pgSchemaVersion, PG_SCHEMA_VERSION } from './pg-migrations.js';
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
import { pgAnalysisFilter } from './pg-analysis.js';
import { StoreOpenError } from './sqlite-store.js';

interface CallRow {
  record_json: string;
  preview: string | null;
  analysis_json: string | null;
}

export interface PgStoreOptions {
  url: string;
  /** For tools (the `calls` CLI): no migration; the schema must be current. */
  readOnly?: boolean;
  poolSize?: number;
}

export class PgTranscriptStore implements TranscriptStore {
  /** Write transactions committed by this instance (as SqliteTranscriptStore's). */
  transactions = 0;
  appliedMigrations: number[] = [];

  private constructor(readonly pool: pg.Pool) {}

  /** Connects, migrating (or, read-only, checking the version). */
  static async open(options: PgStoreOptions): Promise<PgTranscriptStore> {
    const pool = pgPool(options.url, options.poolSize);
    pool.on('error', () => undefined); // an idle connection dropped by the server: the next query reconnects
    const store = new PgTranscriptStore(pool);
    try {
      if (options.readOnly) {
        const db = await pool.connect();
        const version = await pgSchemaVersion(db).finally(() => db.release());
        if (version !== PG_SCHEMA_VERSION) {
          throw new StoreOpenError('outdated', `the call database is at schema version ${version}, this callbridge expects ${PG_SCHEMA_VERSION}; start the server once to migrate it`);
        }
      } else {
        store.appliedMigrations = await pgMigrate(pool);
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  async writeBatch(batch: WriteBatch): Promise<void> {
    if (batch.records.length === 0 && batch.events.length === 0) return;
    const latest = new Map<string, CallRecord>();
    for (const r of batch.records) latest.set(r.callSid, r); // one upsert per call and statement
    const records = [...latest.values()];
    const now = Date.now();
    await inTransaction(this.pool, async (db) => {
      if (records.length > 0) await db.query(UPSERT_CALLS, recordColumns(records, now));
      if (batch.events.length > 0) {
        const e = batch.events;
        await db.query(INSERT_EVENTS, [e.map((x) => x.callSid), e.map((x) => x.seq), e.map((x) => x.atMs), e.map((x) => x.kind), e.map((x) => x.bodyJson), e.map((x) => pgText(x.text ?? null))]);
      }
      // A record that became final queues its post-call analysis in the same transaction (docs/after-call.md).
      const final = records.filter((r) => r.outcome !== 'in_progress').map((r) => r.callSid);
      if (final.length > 0) await db.query(ENQUEUE_ANALYSES, [final, now]);
    });
    this.transactions++;
  }

  async getCall(callSid: string): Promise<CallRecord | undefined> {
    const r = await this.pool.query<{ record_json: string }>('SELECT record_json FROM calls WHERE call_sid = $1', [callSid]);
    const row = r.rows[0];
    return row ? (JSON.parse(row.record_json) as CallRecord) : undefined;
  }

  /** Call-time order: by time first, then write order (as SqliteTranscriptStore.getEvents). */
  async getEvents(callSid: string): Promise<StoredCallEvent[]> {
    const r = await this.pool.query<{ seq: number; at_ms: number; body_json: string }>(
      'SELECT seq, at_ms, body_json FROM call_events WHERE call_sid = $1 ORDER BY at_ms, seq',
      [callSid],
    );
    return r.rows.map((row) => ({ ...(JSON.parse(row.body_json) as CallEventBody), atMs: row.at_ms, seq: row.seq }));
  }

  async listFlows(): Promise<string[]> {
    const r = await this.pool.query<{ flow: string }>('SELECT DISTINCT flow FROM calls WHERE flow IS NOT NULL ORDER BY flow');
    return r.rows.map((row) => row.flow);
  }

  async listCalls(query: CallListQuery): Promise<CallListPage> {
    const count = params();
    const countWhere = listFilter(query, count.$);
    const total = (await this.pool.query<{ n: number }>(`SELECT count(*) AS n FROM calls c ${whereOf(countWhere.where)}`, count.list)).rows[0]?.n ?? 0;

    const page = params();
    const { where, tsQuery } = listFilter(query, page.$);
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (cursor) where.push(`(c.started_at, c.call_sid) < (${page.$(cursor.startedAt)}, ${page.$(cursor.callSid)})`);
    const offset = cursor ? 0 : (query.offset ?? 0);
    const rows = (
      await this.pool.query<CallRow>(
        `SELECT c.record_json,
                (SELECT e.text FROM call_events e WHERE e.call_sid = c.call_sid AND e.kind = 'caller_utterance'
                 ORDER BY e.seq LIMIT 1) AS preview,
                (SELECT a.analysis_json FROM call_analysis a WHERE a.call_sid = c.call_sid) AS analysis_json
         FROM calls c ${whereOf(where)}
         ORDER BY c.started_at DESC, c.call_sid DESC
         LIMIT ${page.$(query.limit + 1)} OFFSET ${page.$(offset)}`,
        page.list,
      )
    ).rows;
    const more = rows.length > query.limit;
    const calls = await Promise.all(rows.slice(0, query.limit).map((row) => this.callSummary(row, tsQuery)));
    const out: CallListPage = { calls, total };
    const last = calls[calls.length - 1];
    if (more && last) out.nextCursor = encodeCursor(last.record.startedAt, last.record.callSid);
    return out;
  }

  /** A listed call: its record, the first thing the caller said and (when searching) the best match. */
  private async callSummary(row: CallRow, tsQuery: string | undefined): Promise<CallSummary> {
    const record = JSON.parse(row.record_json) as CallRecord;
    const summary: CallSummary = { record };
    if (row.preview !== null) summary.preview = row.preview;
    if (row.analysis_json !== null) summary.analysis = JSON.parse(row.analysis_json) as CallAnalysis;
    if (tsQuery !== undefined) {
      const m = await this.pool.query<{ kind: CallEventKind; seq: number; snippet: string }>(
        `SELECT e.kind, e.seq, ts_headline('english', e.text, q, $3) AS snippet
         FROM call_events e, to_tsquery('english', $1) q
         WHERE e.call_sid = $2 AND e.text IS NOT NULL AND e.tsv @@ q
         ORDER BY ts_rank(e.tsv, q) DESC, e.seq LIMIT 1`,
        [tsQuery, record.callSid, HEADLINE],
      );
      const match = m.rows[0];
      if (match) summary.match = { kind: match.kind, seq: match.seq, snippet: match.snippet };
    }
    return summary;
  }

  async deleteCallsStartedBefore(beforeMs: number, scope: RetentionScope, limit: number): Promise<DeletedCall[]> {
    const p = params();
    let sql = `SELECT call_sid, recording_path FROM calls WHERE started_at < ${p.$(beforeMs)}`;
    if ('flow' in scope) sql += ` AND flow = ${p.$(scope.flow)}`;
    else if (scope.exceptFlows.length > 0) sql += ` AND (flow IS NULL OR NOT flow = ANY(${p.$(scope.exceptFlows)}))`;
    sql += ` ORDER BY started_at LIMIT ${p.$(limit)} FOR UPDATE SKIP LOCKED`;
    const rows = await inTransaction(this.pool, async (db) => {
      const found = (await db.query<{ call_sid: string; recording_path: string | null }>(sql, p.list)).rows;
      const sids = found.map((r) => r.call_sid);
      if (sids.length > 0) {
        for (const table of ['call_events', 'call_analysis', 'call_analysis_fields', 'jobs', 'deliveries', 'follow_up_done', 'calls']) {
          await db.query(`DELETE FROM ${table} WHERE call_sid = ANY($1)`, [sids]);
        }
      }
      return found;
    });
    if (rows.length > 0) this.transactions++;
    return rows.map((r) => (r.recording_path === null ? { callSid: r.call_sid } : { callSid: r.call_sid, recordingPath: r.recording_path }));
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

/** ts_headline options: the SQLite snippet's marks and about its length (14 words). */
const HEADLINE = `StartSel=${MATCH_START}, StopSel=${MATCH_END}, MaxWords=14, MinWords=6, ShortWord=0, HighlightAll=false`;

const UPSERT_CALLS = `
  INSERT INTO calls (call_sid, started_at, ended_at, duration_ms, flow, outcome, from_number, to_number,
                     recording_path, channel, follow_up, record_json, updated_at)
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                       $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[])
  ON CONFLICT (call_sid) DO UPDATE SET
    started_at = excluded.started_at, ended_at = excluded.ended_at, duration_ms = excluded.duration_ms,
    flow = excluded.flow, outcome = excluded.outcome, from_number = excluded.from_number,
    to_number = excluded.to_number, recording_path = excluded.recording_path,
    channel = excluded.channel, follow_up = excluded.follow_up,
    record_json = excluded.record_json, updated_at = excluded.updated_at`;

function recordColumns(records: CallRecord[], now: number): unknown[] {
  return [
    records.map((r) => pgText(r.callSid)),
    records.map((r) => r.startedAt),
    records.map((r) => r.endedAt ?? null),
    records.map((r) => r.durationMs ?? null),
    records.map((r) => pgText(r.flow ?? null)),
    records.map((r) => r.outcome),
    records.map((r) => pgText(r.from)),
    records.map((r) => pgText(r.to)),
    records.map((r) => pgText(r.recordingPath ?? null)),
    records.map((r) => r.channel ?? 'phone'),
    records.map((r) => r.followUp?.level ?? null),
    records.map((r) => JSON.stringify(r)),
    records.map(() => now),
  ];
}

const INSERT_EVENTS = `
  INSERT INTO call_events (call_sid, seq, at_ms, kind, body_json, text)
  SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::text[], $5::text[], $6::text[])
  ON CONFLICT (call_sid, seq) DO NOTHING`;

const ENQUEUE_ANALYSES = `
  INSERT INTO jobs (kind, key, call_sid, payload_json, run_at, created_at, updated_at)
  SELECT 'analysis', 'analysis:' || sid, sid, 'null', $2, $2, $2 FROM unnest($1::text[]) AS sid
  ON CONFLICT (key) DO NOTHING`;

function whereOf(where: string[]): string {
  return where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
}

/** The WHERE clauses of a call list query (all but its cursor) and the tsquery for snippets. */
function listFilter(query: CallListQuery, $: (v: unknown) => string): { where: string[]; tsQuery: string | undefined } {
  const where: string[] = [];
  const tsQuery = query.q === undefined ? undefined : searchFilter(query.q, where, $);
  if (query.from !== undefined) where.push(`c.started_at >= ${$(query.from)}`);
  if (query.to !== undefined) where.push(`c.started_at < ${$(query.to)}`);
  if (query.flow !== undefined) where.push(`c.flow = ${$(query.flow)}`);
  if (query.outcome !== undefined && query.outcome.length > 0) where.push(`c.outcome = ANY(${$(query.outcome)})`);
  if (query.channel !== undefined) where.push(`c.channel = ${$(query.channel)}`);
  if (query.followUp === 'any') where.push('c.follow_up IS NOT NULL');
  if (query.followUp === 'amber' || query.followUp === 'red') where.push(`c.follow_up = ${$(query.followUp)}`);
  where.push(...pgAnalysisFilter(query, $));
  return { where, tsQuery };
}

/** Adds the clause for a search `q`; returns the tsquery for snippets (undefined when `q` has no words, which filters nothing). */
function searchFilter(q: string, where: string[], $: (v: unknown) => string): string | undefined {
  const terms = searchTerms(q);
  if (terms.length === 0) return undefined;
  // Every word must be said somewhere in the call (not necessarily in one utterance). A word the
  // configuration drops (a stop word such as "the") filters nothing, as it can never be indexed.
  const perWord = terms.map((t) => {
    const tq = `to_tsquery('english', ${$(`${t}:*`)})`;
    return `(numnode(${tq}) = 0 OR c.call_sid IN (SELECT e.call_sid FROM call_events e WHERE e.text IS NOT NULL AND e.tsv @@ ${tq}))`;
  });
  // …or the call's sid, or (for 4+ digits) part of the caller's number.
  const alternatives = [`(${perWord.join(' AND ')})`, `c.call_sid = ${$(q.trim())}`];
  const digits = q.replace(/[\s().+-]/g, '');
  if (/^\d{4,}$/.test(digits)) alternatives.push(`replace(replace(c.from_number, ' ', ''), '-', '') LIKE ${$(`%${digits}%`)}`);
  where.push(`(${alternatives.join(' OR ')})`);
  return terms.map((t) => `${t}:*`).join(' | ');
}

export { PG_SCHEMA_VERSION };
