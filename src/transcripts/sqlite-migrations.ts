/**
 * The SQLite schema, as numbered migrations. Migration N brings a database from version N-1 to N;
 * the version is `PRAGMA user_version` (0 = empty database). Each migration runs in its own
 * transaction together with the version bump, so a crash mid-migration leaves the previous
 * version intact. Never edit a shipped migration: append a new one.
 */
import type Database from 'better-sqlite3';
import type { AnalysisFieldValue } from './after-call-store.js';
import { fieldText } from './analysis-rows.js';

/**
 * The SQL function migration 4 backfills `call_analysis_fields` with: fieldText of a `json_each`
 * row's (type, value), so the backfilled rows are exactly what putAnalysis writes.
 */
const FIELD_TEXT_FN = 'callbridge_field_text';

function jsonFieldText(type: string, value: unknown): string {
  const parsed: AnalysisFieldValue =
    type === 'null' ? null : type === 'true' ? true : type === 'false' ? false : type === 'integer' || type === 'real' ? Number(value) : String(value);
  return fieldText(parsed);
}

export const MIGRATIONS: readonly string[] = [
  // 1: calls, events, full-text index over what was said.
  `
  CREATE TABLE calls (
    call_sid       TEXT PRIMARY KEY,
    started_at     INTEGER NOT NULL,
    ended_at       INTEGER,
    duration_ms    INTEGER,
    flow           TEXT,
    outcome        TEXT NOT NULL,
    from_number    TEXT NOT NULL,
    to_number      TEXT NOT NULL,
    recording_path TEXT,
    record_json    TEXT NOT NULL,
    updated_at     INTEGER NOT NULL
  );
  CREATE INDEX calls_by_start ON calls (started_at DESC, call_sid DESC);
  CREATE INDEX calls_by_flow ON calls (flow, started_at);
  CREATE INDEX calls_by_outcome ON calls (outcome, started_at);

  CREATE TABLE call_events (
    id        INTEGER PRIMARY KEY,
    call_sid  TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    at_ms     INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    body_json TEXT NOT NULL,
    text      TEXT,
    UNIQUE (call_sid, seq)
  );

  -- External-content FTS5 over call_events.text (utterances and notes), kept in step by triggers.
  CREATE VIRTUAL TABLE call_text USING fts5 (
    text,
    content = 'call_events',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
  );
  CREATE TRIGGER call_events_ai AFTER INSERT ON call_events WHEN new.text IS NOT NULL BEGIN
    INSERT INTO call_text (rowid, text) VALUES (new.id, new.text);
  END;
  CREATE TRIGGER call_events_ad AFTER DELETE ON call_events WHEN old.text IS NOT NULL BEGIN
    INSERT INTO call_text (call_text, rowid, text) VALUES ('delete', old.id, old.text);
  END;
  `,
  // 2: the call's channel (phone / browser test phone) and follow-up level (amber / red) as
  // columns for the list filters, backfilled from the stored records (older calls were phone calls).
  `
  ALTER TABLE calls ADD COLUMN channel TEXT NOT NULL DEFAULT 'phone';
  ALTER TABLE calls ADD COLUMN follow_up TEXT;
  UPDATE calls SET
    channel = coalesce(json_extract(record_json, '$.channel'), 'phone'),
    follow_up = json_extract(record_json, '$.followUp.level');
  CREATE INDEX calls_by_channel ON calls (channel, started_at);
  CREATE INDEX calls_by_follow_up ON calls (follow_up, started_at);
  `,
  // 3: after the call (docs/after-call.md): the durable job queue (analysis, notifications) and
  // each call's post-call analysis (JSON, with its status and follow-up verdict as columns).
  `
  CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL UNIQUE,
    call_sid     TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'queued',
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_at       INTEGER NOT NULL,
    lease_until  INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
  );
  CREATE INDEX jobs_due ON jobs (state, run_at);
  CREATE INDEX jobs_by_call ON jobs (call_sid);

  CREATE TABLE call_analysis (
    call_sid      TEXT PRIMARY KEY,
    status        TEXT NOT NULL,
    follow_up     INTEGER NOT NULL DEFAULT 0,
    analysis_json TEXT NOT NULL,
    analysed_at   INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  );
  CREATE INDEX call_analysis_by_follow_up ON call_analysis (follow_up);

  -- Notifications (src/transcripts/sqlite-deliveries.ts): one row per call x event x endpoint,
  -- its body stored once and re-sent identical; every attempt logged. Removed with the call.
  CREATE TABLE deliveries (
    id             INTEGER PRIMARY KEY,
    webhook_id     TEXT NOT NULL UNIQUE,
    call_sid       TEXT NOT NULL,
    event          TEXT NOT NULL,
    endpoint       TEXT NOT NULL,
    body           TEXT NOT NULL,
    state          TEXT NOT NULL DEFAULT 'pending',
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_status    INTEGER,
    last_error     TEXT,
    delivered_at   INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (call_sid, event, endpoint)
  );
  CREATE TABLE delivery_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    status      INTEGER,
    error       TEXT,
    reply       TEXT
  );
  CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, id);
  CREATE TRIGGER calls_ad_deliveries AFTER DELETE ON calls BEGIN
    DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE call_sid = old.call_sid);
    DELETE FROM deliveries WHERE call_sid = old.call_sid;
  END;

  -- The dashboard's follow-up "done" marks (src/transcripts/sqlite-dashboard.ts): who and when;
  -- undo deletes the row. Removed with the call.
  CREATE TABLE follow_up_done (
    call_sid TEXT PRIMARY KEY,
    done_by  TEXT NOT NULL,
    done_via TEXT NOT NULL,
    client   TEXT NOT NULL,
    done_at  INTEGER NOT NULL
  );
  CREATE TRIGGER calls_ad_follow_up_done AFTER DELETE ON calls BEGIN
    DELETE FROM follow_up_done WHERE call_sid = old.call_sid;
  END;
  -- The dashboard's failed functions per day read only these events (a partial index: the rest of
  -- a call's events are never visited).
  CREATE INDEX call_events_failed_functions ON call_events (call_sid)
    WHERE kind = 'function_call' AND json_extract(body_json, '$.status') IN ('error', 'timeout', 'rejected');
  -- Covering indexes for the dashboard's figures: a flow's calls by start time, and the analysis
  -- verdicts, read without loading the records' and analyses' JSON.
  CREATE INDEX calls_dashboard ON calls (flow, started_at, duration_ms, outcome, follow_up, call_sid);
  CREATE INDEX call_analysis_dashboard ON call_analysis (call_sid, status, follow_up);
  `,
  // 4: the declared fields of ok analyses, one row each, for the list's field.<name>=<value> filter
  // (value as text: lowercased text, a number's shortest form, true/false/null; fieldText in
  // analysis-rows.ts), backfilled from the analyses already stored; the follow-up index also
  // carries call_sid, so the filter reads the flagged calls from the index alone.
  `
  CREATE TABLE call_analysis_fields (
    name     TEXT NOT NULL,
    value    TEXT NOT NULL,
    call_sid TEXT NOT NULL,
    PRIMARY KEY (name, value, call_sid)
  ) WITHOUT ROWID;
  CREATE INDEX call_analysis_fields_by_call ON call_analysis_fields (call_sid);
  INSERT OR IGNORE INTO call_analysis_fields (name, value, call_sid)
    SELECT f.key, ${FIELD_TEXT_FN}(f.type, f.value), a.call_sid
    FROM call_analysis a, json_each(a.analysis_json, '$.fields') f
    WHERE a.status = 'ok';
  DROP INDEX call_analysis_by_follow_up;
  CREATE INDEX call_analysis_by_follow_up ON call_analysis (follow_up, call_sid);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies the missing migrations, each in a transaction with its version bump. Returns them. */
export function migrate(db: Database.Database): number[] {
  const applied: number[] = [];
  const current = schemaVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `the call database is at schema version ${current}, newer than this callbridge (${SCHEMA_VERSION}); upgrade callbridge`,
    );
  }
  db.function(FIELD_TEXT_FN, { deterministic: true }, jsonFieldText);
  for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
    const sql = MIGRATIONS[version - 1]!;
    // IMMEDIATE takes the write lock first; re-check so two processes opening at once cannot both
    // apply the same migration.
    const ran = db.transaction(() => {
      if (schemaVersion(db) >= version) return false;
      db.exec(sql);
      db.pragma(`user_version = ${version}`);
      return true;
    }).immediate();
    if (ran) applied.push(version);
  }
  return applied;
}
