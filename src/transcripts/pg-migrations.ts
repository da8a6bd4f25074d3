/**
 * The PostgreSQL schema, as numbered migrations (the SQLite one is sqlite-migrations.ts; the two
 * hold the same data, docs/scale-out.md "PostgreSQL"). Migration N brings a database from version
 * N-1 to N; applied versions are rows of `schema_migrations`. Each runs in its own transaction
 * with its row, and the whole pass holds an advisory lock, so instances starting at once migrate
 * once: the others wait, then find nothing to do. Never edit a shipped migration: append one.
 *
 * Times are epoch milliseconds (bigint), JSON is kept as the text the writer produced (so a
 * record reads back byte for byte), and what was said is indexed with PostgreSQL's own full-text
 * search: a generated tsvector (the `english` configuration: stemming like SQLite's porter
 * tokenizer) with a GIN index.
 */
import type pg from 'pg';

export const PG_MIGRATIONS: readonly string[] = [
  // 1: everything SQLite's migrations 1-3 hold: calls, events + full-text index, the after-call
  // job queue, analyses and their fields, notification deliveries, follow-up "done" marks.
  `
  CREATE TABLE calls (
    call_sid       text PRIMARY KEY,
    started_at     bigint NOT NULL,
    ended_at       bigint,
    duration_ms    bigint,
    flow           text,
    outcome        text NOT NULL,
    from_number    text NOT NULL,
    to_number      text NOT NULL,
    recording_path text,
    channel        text NOT NULL DEFAULT 'phone',
    follow_up      text,
    record_json    text NOT NULL,
    updated_at     bigint NOT NULL
  );
  CREATE INDEX calls_by_start ON calls (started_at DESC, call_sid DESC);
  CREATE INDEX calls_by_flow ON calls (flow, started_at);
  CREATE INDEX calls_by_outcome ON calls (outcome, started_at);
  CREATE INDEX calls_by_channel ON calls (channel, started_at);
  CREATE INDEX calls_by_follow_up ON calls (follow_up, started_at);

  CREATE TABLE call_events (
    id        bigserial PRIMARY KEY,
    call_sid  text NOT NULL,
    seq       integer NOT NULL,
    at_ms     bigint NOT NULL,
    kind      text NOT NULL,
    body_json text NOT NULL,
    text      text,
    tsv       tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(text, ''))) STORED,
    UNIQUE (call_sid, seq)
  );
  CREATE INDEX call_events_text ON call_events USING gin (tsv) WHERE text IS NOT NULL;
  CREATE INDEX call_events_failed_functions ON call_events (call_sid) WHERE kind = 'function_call';

  CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    key          text NOT NULL UNIQUE,
    call_sid     text NOT NULL,
    payload_json text NOT NULL,
    state        text NOT NULL DEFAULT 'queued',
    attempts     integer NOT NULL DEFAULT 0,
    run_at       bigint NOT NULL,
    lease_until  bigint,
    last_error   text,
    created_at   bigint NOT NULL,
    updated_at   bigint NOT NULL
  );
  CREATE INDEX jobs_due ON jobs (state, run_at);
  CREATE INDEX jobs_by_call ON jobs (call_sid);

  CREATE TABLE call_analysis (
    call_sid      text PRIMARY KEY,
    status        text NOT NULL,
    follow_up     integer NOT NULL DEFAULT 0,
    analysis_json text NOT NULL,
    analysed_at   bigint NOT NULL,
    updated_at    bigint NOT NULL
  );
  CREATE INDEX call_analysis_by_follow_up ON call_analysis (follow_up, call_sid);
  CREATE TABLE call_analysis_fields (
    name     text NOT NULL,
    value    text NOT NULL,
    call_sid text NOT NULL,
    PRIMARY KEY (name, value, call_sid)
  );
  CREATE INDEX call_analysis_fields_by_call ON call_analysis_fields (call_sid);

  CREATE TABLE deliveries (
    id           bigserial PRIMARY KEY,
    webhook_id   text NOT NULL UNIQUE,
    call_sid     text NOT NULL,
    event        text NOT NULL,
    endpoint     text NOT NULL,
    body         text NOT NULL,
    state        text NOT NULL DEFAULT 'pending',
    attempts     integer NOT NULL DEFAULT 0,
    last_status  integer,
    last_error   text,
    delivered_at bigint,
    created_at   bigint NOT NULL,
    updated_at   bigint NOT NULL,
    UNIQUE (call_sid, event, endpoint)
  );
  CREATE TABLE delivery_attempts (
    id          bigserial PRIMARY KEY,
    delivery_id bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt     integer NOT NULL,
    at_ms       bigint NOT NULL,
    duration_ms bigint NOT NULL,
    status      integer,
    error       text,
    reply       text
  );
  CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, id);

  CREATE TABLE follow_up_done (
    call_sid text PRIMARY KEY,
    done_by  text NOT NULL,
    done_via text NOT NULL,
    client   text NOT NULL,
    done_at  bigint NOT NULL
  );
  `,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** Key of the advisory lock held while migrating ('callbridge' as a number). */
const MIGRATION_LOCK = 0x63616c6c62726467n;

/** The highest applied migration (0 for an empty database). */
export async function pgSchemaVersion(db: pg.ClientBase): Promise<number> {
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (exists.rows[0]?.t == null) return 0;
  const r = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return r.rows[0]?.v ?? 0;
}

/** Applies the missing migrations under the advisory lock, each in a transaction. Returns them. */
export async function pgMigrate(pool: pg.Pool): Promise<number[]> {
  const db = await pool.connect();
  const applied: number[] = [];
  try {
    await db.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    await db.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)');
    const current = await pgSchemaVersion(db);
    if (current > PG_SCHEMA_VERSION) {
      throw new Error(`the call database is at schema version ${current}, newer than this callbridge (${PG_SCHEMA_VERSION}); upgrade callbridge`);
    }
    for (let version = current + 1; version <= PG_SCHEMA_VERSION; version++) {
      await db.query('BEGIN');
      try {
        await db.query(PG_MIGRATIONS[version - 1]!);
        await db.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version, Date.now()]);
        await db.query('COMMIT');
      } catch (err) {
        await db.query('ROLLBACK');
        throw err;
      }
      applied.push(version);
    }
  } finally {
    await db.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]).catch(() => undefined);
    db.release();
  }
  return applied;
}
