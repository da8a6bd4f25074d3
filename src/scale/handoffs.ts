/**
 * Call hand-offs for live migration (docs/scale-out.md, "Live migration"): what a draining
 * instance leaves in the shared database for the instance it redirects a call to (flow, Gemini
 * resumption handle, conversation so far). One row per call, read once by the receiving instance
 * (taken: deleted as it is read), or dropped when the redirect failed. Rows older than a day are
 * pruned at each write (a call that never arrived). Like ./sqlite-scale.ts and ./pg-scale.ts the
 * table holds coordination state, created here if missing, outside the call-record migrations.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { Handoff } from '../call/migration.js';
import { inTransaction } from '../transcripts/pg-pool.js';

export interface HandoffStore {
  put(handoff: Handoff): Promise<void>;
  /** The hand-off for `callSid`, deleted as it is read. */
  take(callSid: string): Promise<Handoff | undefined>;
  drop(callSid: string): Promise<void>;
}

const SCHEMA = (bigint: string) => `
  CREATE TABLE IF NOT EXISTS call_handoffs (
    call_sid   TEXT PRIMARY KEY,
    body       TEXT NOT NULL,
    created_at ${bigint} NOT NULL
  )`;

const KEEP_MS = 24 * 3600_000;

/** The row's JSON back into a Handoff; undefined when it is not one (a broken row never throws at a caller). */
export function parseHandoff(body: string): Handoff | undefined {
  try {
    const h = JSON.parse(body) as Partial<Handoff>;
    if (typeof h.id !== 'string' || typeof h.callSid !== 'string' || typeof h.from !== 'string' || typeof h.to !== 'string') return undefined;
    if (typeof h.flow !== 'string' || typeof h.createdAt !== 'number' || !Array.isArray(h.history)) return undefined;
    return { id: h.id, callSid: h.callSid, from: h.from, to: h.to, flow: h.flow, history: h.history, createdAt: h.createdAt, ...(typeof h.handle === 'string' ? { handle: h.handle } : {}), ...(typeof h.stage === 'string' ? { stage: h.stage } : {}) };
  } catch {
    return undefined;
  }
}

export class SqliteHandoffStore implements HandoffStore {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
    db.exec(SCHEMA('INTEGER'));
  }

  async put(h: Handoff): Promise<void> {
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM call_handoffs WHERE created_at < ?').run(h.createdAt - KEEP_MS);
      this.#db.prepare('INSERT OR REPLACE INTO call_handoffs (call_sid, body, created_at) VALUES (?, ?, ?)').run(h.callSid, JSON.stringify(h), h.createdAt);
    })();
  }

  async take(callSid: string): Promise<Handoff | undefined> {
    const row = this.#db.prepare('DELETE FROM call_handoffs WHERE call_sid = ? RETURNING body').get(callSid) as { body: string } | undefined;
    return row ? parseHandoff(row.body) : undefined;
  }

  async drop(callSid: string): Promise<void> {
    this.#db.prepare('DELETE FROM call_handoffs WHERE call_sid = ?').run(callSid);
  }
}

export class PgHandoffStore implements HandoffStore {
  readonly #pool: pg.Pool;
  /** The table, created at first use (under an advisory lock: instances starting together do not race). */
  readonly #ready: Promise<void>;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.#ready = this.#create();
    this.#ready.catch(() => undefined); // reported by the first operation
  }

  async #create(): Promise<void> {
    await inTransaction(this.#pool, async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('callbridge.handoffs.schema'))");
      await c.query(SCHEMA('BIGINT'));
    });
  }

  async put(h: Handoff): Promise<void> {
    await this.#ready;
    await this.#pool.query('DELETE FROM call_handoffs WHERE created_at < $1', [h.createdAt - KEEP_MS]);
    await this.#pool.query(
      'INSERT INTO call_handoffs (call_sid, body, created_at) VALUES ($1, $2, $3) ON CONFLICT (call_sid) DO UPDATE SET body = excluded.body, created_at = excluded.created_at',
      [h.callSid, JSON.stringify(h), h.createdAt],
    );
  }

  async take(callSid: string): Promise<Handoff | undefined> {
    await this.#ready;
    const r = await this.#pool.query<{ body: string }>('DELETE FROM call_handoffs WHERE call_sid = $1 RETURNING body', [callSid]);
    const row = r.rows[0];
    return row ? parseHandoff(row.body) : undefined;
  }

  async drop(callSid: string): Promise<void> {
    await this.#ready;
    await this.#pool.query('DELETE FROM call_handoffs WHERE call_sid = $1', [callSid]);
  }
}
