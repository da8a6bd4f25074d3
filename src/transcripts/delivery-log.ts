/**
 * The notifications' delivery log, backend-neutral like the rest of after-call-store.ts (SQLite
 * today: sqlite-deliveries.ts). A delivery is one event of one call to one endpoint; its body is
 * stored once and re-sent byte for byte on every attempt, under the same webhook-id. Every
 * attempt is logged (time, status, duration, the reply's start or the error).
 */

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface Delivery {
  id: number;
  /** Standard Webhooks `webhook-id` (msg_…), the same on every attempt; the job's key. */
  webhookId: string;
  callSid: string;
  /** call.completed | call.needs_follow_up */
  event: string;
  /** The webhook URL. */
  endpoint: string;
  /** The exact JSON body sent. */
  body: string;
  state: DeliveryState;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAtMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface DeliveryAttempt {
  deliveryId: number;
  /** 1 for the first attempt (a resend continues the count). */
  attempt: number;
  atMs: number;
  durationMs: number;
  /** HTTP status, or null when no reply came (refused, timeout, connection error). */
  status: number | null;
  error: string | null;
  /** The reply's first characters. */
  reply: string | null;
}

export interface NewDelivery {
  webhookId: string;
  callSid: string;
  event: string;
  endpoint: string;
  body: string;
  nowMs: number;
}

export interface DeliveryLog {
  /**
   * The delivery of this event of this call to this endpoint: created (`created: true`) unless
   * one exists already, which is returned unchanged (one event per call and endpoint, ever).
   */
  createDelivery(d: NewDelivery): Promise<{ delivery: Delivery; created: boolean }>;
  getDelivery(id: number): Promise<Delivery | undefined>;
  deliveriesOf(callSid: string): Promise<Delivery[]>;
  /** Attempts of one delivery, oldest first. */
  attemptsOf(deliveryId: number): Promise<DeliveryAttempt[]>;
  /** Logs an attempt and sets the delivery's state, attempt count and last status/error. */
  recordAttempt(attempt: DeliveryAttempt, state: DeliveryState): Promise<void>;
  /** Sets a delivery's state (a resend puts it back to pending; a job that cannot run marks it failed). */
  setState(id: number, state: DeliveryState, error: string | null, nowMs: number): Promise<void>;
}
