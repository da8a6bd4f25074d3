/**
 * ScaleStore (./instances.ts) in the SQLite call database: several instances on one machine
 * sharing one DATA_DIR (development, tests). Its three tables are created here if missing
 * (`CREATE TABLE IF NOT EXISTS`): they hold coordination state only, no call data, so they are
 * kept out of the numbered call-record migrations.
 */
import type Database from 'better-sqlite3';
import type { InstanceInfo, InstanceState, ScaleStore, TakeOver } from './instances.js';

export const SQLITE_SCALE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS instances (
    id           TEXT PRIMARY KEY,
    url          TEXT NOT NULL,
    state        TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS call_owners (
    call_sid   TEXT PRIMARY KEY,
    instance   TEXT NOT NULL,
    claimed_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS call_owners_by_claim ON call_owners (claimed_at);
  CREATE TABLE IF NOT EXISTS stream_tokens_used (
    mac        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS stream_tokens_used_by_expiry ON stream_tokens_used (expires_at);
`;

interface InstanceRow {
  id: string;
  url: string;
  state: string;
  started_at: number;
  heartbeat_at: number;
}

export class SqliteScaleStore implements ScaleStore {
  readonly #db: Database.Database;
  readonly #now: () => number;

  constructor(db: Database.Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
    db.exec(SQLITE_SCALE_SCHEMA);
  }

  async heartbeat(info: { id: string; url: string; state: InstanceState; startedAt: number }): Promise<void> {
    this.#db
      .prepare(
        `INSERT INTO instances (id, url, state, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, state = excluded.state, heartbeat_at = excluded.heartbeat_at`,
      )
      .run(info.id, info.url, info.state, info.startedAt, this.#now());
  }

  async remove(id: string): Promise<void> {
    this.#db.prepare('DELETE FROM instances WHERE id = ?').run(id);
  }

  async live(staleMs: number): Promise<InstanceInfo[]> {
    const rows = this.#db.prepare('SELECT * FROM instances WHERE heartbeat_at >= ? ORDER BY started_at, id').all(this.#now() - staleMs) as InstanceRow[];
    return rows.map((r) => ({ id: r.id, url: r.url, state: r.state === 'draining' ? 'draining' : 'ready', startedAt: r.started_at, heartbeatAt: r.heartbeat_at }));
  }

  async claim(callSid: string, instance: string): Promise<void> {
    this.#db.prepare('INSERT INTO call_owners (call_sid, instance, claimed_at) VALUES (?, ?, ?) ON CONFLICT (call_sid) DO NOTHING').run(callSid, instance, this.#now());
  }

  async takeOver(callSid: string, instance: string): Promise<TakeOver> {
    return this.#db
      .transaction((): TakeOver => {
        const rec = this.#db.prepare('SELECT outcome FROM calls WHERE call_sid = ?').get(callSid) as { outcome: string } | undefined;
        if (rec && rec.outcome !== 'in_progress') return { ok: false, reason: 'final' };
        const prev = this.#db.prepare('SELECT instance FROM call_owners WHERE call_sid = ?').get(callSid) as { instance: string } | undefined;
        this.#db
          .prepare('INSERT INTO call_owners (call_sid, instance, claimed_at) VALUES (?, ?, ?) ON CONFLICT (call_sid) DO UPDATE SET instance = excluded.instance, claimed_at = excluded.claimed_at')
          .run(callSid, instance, this.#now());
        const seq = this.#db.prepare('SELECT max(seq) AS s FROM call_events WHERE call_sid = ?').get(callSid) as { s: number | null };
        return { ok: true, previousOwner: prev?.instance, lastSeq: seq.s ?? 0 };
      })
      .immediate();
  }

  async owners(callSids: readonly string[]): Promise<Map<string, string>> {
    return this.ownersNow(callSids);
  }

  /** `owners`, synchronously: for the write filter, inside the batch's own transaction (./owned-store.ts). */
  ownersNow(callSids: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    if (callSids.length === 0) return out;
    const rows = this.#db.prepare(`SELECT call_sid, instance FROM call_owners WHERE call_sid IN (${callSids.map(() => '?').join(', ')})`).all(...callSids) as Array<{
      call_sid: string;
      instance: string;
    }>;
    for (const r of rows) out.set(r.call_sid, r.instance);
    return out;
  }

  async forgetOwners(beforeMs: number): Promise<number> {
    return this.#db.prepare('DELETE FROM call_owners WHERE claimed_at < ?').run(beforeMs).changes;
  }

  async redeem(mac: string, expiresAtMs: number): Promise<boolean> {
    return this.#db
      .transaction(() => {
        this.#db.prepare('DELETE FROM stream_tokens_used WHERE expires_at < ?').run(this.#now());
        return this.#db.prepare('INSERT INTO stream_tokens_used (mac, expires_at) VALUES (?, ?) ON CONFLICT (mac) DO NOTHING').run(mac, expiresAtMs).changes === 1;
      })
      .immediate();
  }

  /** Runs `fn` in one write transaction of this database (the write filter and the batch together). */
  inTransaction(fn: () => void): void {
    this.#db.transaction(fn).immediate();
  }

  async close(): Promise<void> {
    // The database belongs to the transcript store, which closes it.
  }
}
