/**
 * DeliveryLog on SQLite: the `deliveries` and `delivery_attempts` tables of migration 3, in the
 * transcript store's database (pass `SqliteTranscriptStore.database`). Removed with their call
 * (a trigger on calls).
 */
import type Database from 'better-sqlite3';
import { statementCache } from './sqlite-statements.js';
import type { Delivery, DeliveryAttempt, DeliveryLog, DeliveryState, NewDelivery } from './delivery-log.js';
import { toAttempt, toDelivery, type AttemptRow, type DeliveryRow } from './delivery-rows.js';

export class SqliteDeliveryLog implements DeliveryLog {
  private readonly stmt = statementCache(() => this.db);
  private readonly logAttempt: Database.Transaction<(a: DeliveryAttempt, state: DeliveryState) => void>;

  constructor(private readonly db: Database.Database) {
    this.logAttempt = db.transaction((a: DeliveryAttempt, state: DeliveryState) => {
      this.stmt(
        `INSERT INTO delivery_attempts (delivery_id, attempt, at_ms, duration_ms, status, error, reply) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(a.deliveryId, a.attempt, a.atMs, a.durationMs, a.status, a.error, a.reply);
      const end = a.atMs + a.durationMs;
      this.stmt(
        `UPDATE deliveries SET state = ?, attempts = attempts + 1, last_status = ?, last_error = ?,
           delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END, updated_at = ?
         WHERE id = ?`,
      ).run(state, a.status, a.error, state, end, end, a.deliveryId);
    });
  }

  async createDelivery(d: NewDelivery): Promise<{ delivery: Delivery; created: boolean }> {
    const info = this.stmt(
      `INSERT INTO deliveries (webhook_id, call_sid, event, endpoint, body, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_sid, event, endpoint) DO NOTHING`,
    ).run(d.webhookId, d.callSid, d.event, d.endpoint, d.body, d.nowMs, d.nowMs);
    const row = this.stmt('SELECT * FROM deliveries WHERE call_sid = ? AND event = ? AND endpoint = ?').get(d.callSid, d.event, d.endpoint) as DeliveryRow;
    return { delivery: toDelivery(row), created: info.changes > 0 };
  }

  async getDelivery(id: number): Promise<Delivery | undefined> {
    const row = this.stmt('SELECT * FROM deliveries WHERE id = ?').get(id) as DeliveryRow | undefined;
    return row ? toDelivery(row) : undefined;
  }

  async deliveriesOf(callSid: string): Promise<Delivery[]> {
    return (this.stmt('SELECT * FROM deliveries WHERE call_sid = ? ORDER BY id').all(callSid) as DeliveryRow[]).map(toDelivery);
  }

  async attemptsOf(deliveryId: number): Promise<DeliveryAttempt[]> {
    return (this.stmt('SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY id').all(deliveryId) as AttemptRow[]).map(toAttempt);
  }

  async recordAttempt(attempt: DeliveryAttempt, state: DeliveryState): Promise<void> {
    this.logAttempt(attempt, state);
  }

  async setState(id: number, state: DeliveryState, error: string | null, nowMs: number): Promise<void> {
    this.stmt('UPDATE deliveries SET state = ?, last_error = coalesce(?, last_error), updated_at = ? WHERE id = ?').run(state, error, nowMs, id);
  }
}
