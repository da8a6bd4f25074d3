/**
 * Rows of the `deliveries` and `delivery_attempts` tables as both backends read them
 * (sqlite-deliveries.ts, pg-deliveries.ts: the same columns), and their mapping to the DeliveryLog types.
 */
import type { Delivery, DeliveryAttempt, DeliveryState } from './delivery-log.js';

export interface DeliveryRow {
  id: number;
  webhook_id: string;
  call_sid: string;
  event: string;
  endpoint: string;
  body: string;
  state: DeliveryState;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  delivered_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface AttemptRow {
  delivery_id: number;
  attempt: number;
  at_ms: number;
  duration_ms: number;
  status: number | null;
  error: string | null;
  reply: string | null;
}

export function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    webhookId: r.webhook_id,
    callSid: r.call_sid,
    event: r.event,
    endpoint: r.endpoint,
    body: r.body,
    state: r.state,
    attempts: r.attempts,
    lastStatus: r.last_status,
    lastError: r.last_error,
    deliveredAtMs: r.delivered_at,
    createdAtMs: r.created_at,
    updatedAtMs: r.updated_at,
  };
}

export function toAttempt(r: AttemptRow): DeliveryAttempt {
  return { deliveryId: r.delivery_id, attempt: r.attempt, atMs: r.at_ms, durationMs: r.duration_ms, status: r.status, error: r.error, reply: r.reply };
}
