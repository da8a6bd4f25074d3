/**
 * DeliveryLog on PostgreSQL: `deliveries` and `delivery_attempts` (pg-migrations.ts), as SQLite's
 * (sqlite-deliveries.ts). Removed with their call by the store's retention delete (pg-store.ts;
 * the attempts follow by ON DELETE CASCADE).
 */
import type pg from 'pg';
import type { Delivery, DeliveryAttempt, DeliveryLog, DeliveryState, NewDelivery } from './delivery-log.js';
import { toAttempt, toDelivery, type AttemptRow, type DeliveryRow } from './delivery-rows.js';
import { inTransaction, pgText } from './pg-pool.js';

export class PgDeliveryLog implements DeliveryLog {
  constructor(private readonly pool: pg.Pool) {}

  async createDelivery(d: NewDelivery): Promise<{ delivery: Delivery; created: boolean }> {
    const inserted = await this.pool.query<DeliveryRow>(
      `INSERT INTO deliveries (webhook_id, call_sid, event, endpoint, body, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (call_sid, event, endpoint) DO NOTHING RETURNING *`,
      [d.webhookId, d.callSid, d.event, d.endpoint, d.body, d.nowMs],
    );
    const row = inserted.rows[0];
    if (row) return { delivery: toDelivery(row), created: true };
    const existing = await this.pool.query<DeliveryRow>('SELECT * FROM deliveries WHERE call_sid = $1 AND event = $2 AND endpoint = $3', [d.callSid, d.event, d.endpoint]);
    return { delivery: toDelivery(existing.rows[0]!), created: false };
  }

  async getDelivery(id: number): Promise<Delivery | undefined> {
    const row = (await this.pool.query<DeliveryRow>('SELECT * FROM deliveries WHERE id = $1', [id])).rows[0];
    return row ? toDelivery(row) : undefined;
  }

  async deliveriesOf(callSid: string): Promise<Delivery[]> {
    return (await this.pool.query<DeliveryRow>('SELECT * FROM deliveries WHERE call_sid = $1 ORDER BY id', [callSid])).rows.map(toDelivery);
  }

  async attemptsOf(deliveryId: number): Promise<DeliveryAttempt[]> {
    return (await this.pool.query<AttemptRow>('SELECT * FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id', [deliveryId])).rows.map(toAttempt);
  }

  async recordAttempt(a: DeliveryAttempt, state: DeliveryState): Promise<void> {
    const end = a.atMs + a.durationMs;
    await inTransaction(this.pool, async (db) => {
      await db.query(
        'INSERT INTO delivery_attempts (delivery_id, attempt, at_ms, duration_ms, status, error, reply) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [a.deliveryId, a.attempt, a.atMs, a.durationMs, a.status, pgText(a.error), pgText(a.reply)],
      );
      await db.query(
        `UPDATE deliveries SET state = $1, attempts = attempts + 1, last_status = $2, last_error = $3,
           delivered_at = CASE WHEN $1 = 'delivered' THEN $4 ELSE delivered_at END, updated_at = $4
         WHERE id = $5`,
        [state, a.status, pgText(a.error), end, a.deliveryId],
      );
    });
  }

  async setState(id: number, state: DeliveryState, error: string | null, nowMs: number): Promise<void> {
    await this.pool.query('UPDATE deliveries SET state = $1, last_error = coalesce($2, last_error), updated_at = $3 WHERE id = $4', [state, pgText(error), nowMs, id]);
  }
}
