/**
 * ScaleStore (./instances.ts) on PostgreSQL (DATABASE_URL=postgres://…), next to the PostgreSQL
 * call store's `calls` and `call_events` tables. Its three tables are created here if missing,
 * under an advisory lock so instances starting together do not race; they hold coordination
 * state only (no call data), so they stay out of the call-record migrations.
 */
import pg from 'pg';
import { inTransaction } from '../transcripts/pg-pool.js';
import type { InstanceInfo, InstanceState, ScaleStore, TakeOver } from './instances.js';

export const PG_SCALE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS instances (
    id           TEXT PRIMARY KEY,
    url          TEXT NOT NULL,
    state        TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS call_owners (
    call_sid   TEXT PRIMARY KEY,
    instance   TEXT NOT NULL,
    claimed_at BIGINT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS call_owners_by_claim ON call_owners (claimed_at);
  CREATE TABLE IF NOT EXISTS stream_tokens_used (
    mac        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS stream_tokens_used_by_expiry ON stream_tokens_used (expires_at);
`;

/** Any number that fits; BIGINT arrives as a string. */
const num = (v: unknown): number => Number(v);

export class PgScaleStore implements ScaleStore {
  readonly #pool: pg.Pool;
  readonly #now: () => number;

  private constructor(pool: pg.Pool, now: () => number) {
    this.#pool = pool;
    this.#now = now;
  }

  /** Over the call store's pool (src/transcripts/open-store.ts); creates the tables if missing. Closing leaves the pool to its owner. */
  static async open(pool: pg.Pool, now: () => number = Date.now): Promise<PgScaleStore> {
    const store = new PgScaleStore(pool, now);
    await inTransaction(pool, async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('callbridge.scale.schema'))");
      await c.query(PG_SCALE_SCHEMA);
    });
    return store;
  }

  async heartbeat(info: { id: string; url: string; state: InstanceState; startedAt: number }): Promise<void> {
    await this.#pool.query(
      `INSERT INTO instances (id, url, state, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET url = excluded.url, state = excluded.state, heartbeat_at = excluded.heartbeat_at`,
      [info.id, info.url, info.state, info.startedAt, this.#now()],
    );
  }

  async remove(id: string): Promise<void> {
    await this.#pool.query('DELETE FROM instances WHERE id = $1', [id]);
  }

  async live(staleMs: number): Promise<InstanceInfo[]> {
    const { rows } = await this.#pool.query('SELECT * FROM instances WHERE heartbeat_at >= $1 ORDER BY started_at, id', [this.#now() - staleMs]);
    return rows.map((r: Record<string, unknown>) => ({
      id: String(r.id),
      url: String(r.url),
      state: r.state === 'draining' ? 'draining' : 'ready',
      startedAt: num(r.started_at),
      heartbeatAt: num(r.heartbeat_at),
    }));
  }

  async claim(callSid: string, instance: string): Promise<void> {
    await this.#pool.query('INSERT INTO call_owners (call_sid, instance, claimed_at) VALUES ($1, $2, $3) ON CONFLICT (call_sid) DO NOTHING', [callSid, instance, this.#now()]);
  }

  async takeOver(callSid: string, instance: string): Promise<TakeOver> {
    return inTransaction(this.#pool, async (c): Promise<TakeOver> => {
      // Serialises takeovers of one call; the record's outcome is read under the same lock.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`callbridge.call.${callSid}`]);
      const rec = await c.query('SELECT outcome FROM calls WHERE call_sid = $1', [callSid]);
      const outcome: unknown = rec.rows[0]?.outcome;
      if (outcome !== undefined && outcome !== 'in_progress') return { ok: false, reason: 'final' };
      const prev = await c.query('SELECT instance FROM call_owners WHERE call_sid = $1', [callSid]);
      await c.query(
        `INSERT INTO call_owners (call_sid, instance, claimed_at) VALUES ($1, $2, $3)
         ON CONFLICT (call_sid) DO UPDATE SET instance = excluded.instance, claimed_at = excluded.claimed_at`,
        [callSid, instance, this.#now()],
      );
      const seq = await c.query('SELECT max(seq) AS s FROM call_events WHERE call_sid = $1', [callSid]);
      const previous: unknown = prev.rows[0]?.instance;
      return { ok: true, previousOwner: typeof previous === 'string' ? previous : undefined, lastSeq: num(seq.rows[0]?.s ?? 0) };
    });
  }

  async owners(callSids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (callSids.length === 0) return out;
    const { rows } = await this.#pool.query('SELECT call_sid, instance FROM call_owners WHERE call_sid = ANY($1::text[])', [callSids]);
    for (const r of rows as Array<{ call_sid: string; instance: string }>) out.set(r.call_sid, r.instance);
    return out;
  }

  async forgetOwners(beforeMs: number): Promise<number> {
    return (await this.#pool.query('DELETE FROM call_owners WHERE claimed_at < $1', [beforeMs])).rowCount ?? 0;
  }

  async redeem(mac: string, expiresAtMs: number): Promise<boolean> {
    await this.#pool.query('DELETE FROM stream_tokens_used WHERE expires_at < $1', [this.#now()]);
    const r = await this.#pool.query('INSERT INTO stream_tokens_used (mac, expires_at) VALUES ($1, $2) ON CONFLICT (mac) DO NOTHING', [mac, expiresAtMs]);
    return r.rowCount === 1;
  }

  async close(): Promise<void> {
    // The pool belongs to the call store, which closes it.
  }
}
