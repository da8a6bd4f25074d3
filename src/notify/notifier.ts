/**
 * Notifications (docs/after-call.md, "Notifications"): when a call's analysis settles, one
 * delivery per endpoint × event of the call's flow is created — its body built and stored once,
 * its webhook-id fixed — and queued as a 'notify' job in the durable queue; the job runner
 * (src/aftercall/runner.ts) hands each due job to `handle`, which makes one attempt and says when
 * to try again. A delivery exists at most once per call, event and endpoint, so settling twice
 * (a re-analysis) sends nothing new; "resend" re-queues the same delivery, same body, same id.
 *
 * Events: `call.completed` for every call; `call.needs_follow_up` when the analysis says a person
 * must follow up, or callbridge flagged the call itself (amber / red), as in the call list's
 * follow-up filter.
 */
import type { Logger } from '../shared/log.js';
import type { CallAnalysis, Delivery, DeliveryAttempt, DeliveryLog, DeliveryState, Job, JobQueue } from '../transcripts/after-call-store.js';
import type { CallRecord } from '../transcripts/types.js';
import type { NotifyConfig } from '../flows/notify-schema.js';
import type { Resolver } from './address-guard.js';
import { nextStep, sendOnce, type AttemptResult, type Next } from './deliver.js';
import { bodyOf, buildPayload, type NotifyEvent } from './payload.js';
import { RETRY_SCHEDULE_MS } from './schedule.js';
import { newWebhookId, signingKey } from './sign.js';

export interface NotifierOptions {
  deliveries: DeliveryLog;
  queue: JobQueue;
  getCall(callSid: string): Promise<CallRecord | undefined>;
  analysisOf(callSid: string): Promise<CallAnalysis | undefined>;
  /** The notify list of a flow as it is now (hot reload), or undefined when the flow is gone. */
  notifyOf(flow: string): readonly NotifyConfig[] | undefined;
  /** NOTIFY_SECRET (whsec_…); without it, deliveries fail with a message saying so. */
  secret: string | undefined;
  /** The public origin for the call-page link; unset until the server listens (`notifier.publicBaseUrl = …`). */
  publicBaseUrl?: string;
  /** Loopback/private destinations allowed (development, or NOTIFY_ALLOW_PRIVATE=true). */
  allowPrivate: boolean;
  /** Only https:// destinations (production). */
  httpsOnly: boolean;
  log: Logger;
  /** Polls the queue at once (the runner's kick). */
  kick?: () => void;
  nowMs?: () => number;
  /** Test knobs: request timeout, retry schedule, jitter source, DNS. */
  timeoutMs?: number;
  schedule?: readonly number[];
  random?: () => number;
  resolve?: Resolver;
}

/** A delivery as the API shows it: the payload sent and every attempt. */
export interface DeliveryView extends Omit<Delivery, 'body'> {
  payload: unknown;
  attemptLog: DeliveryAttempt[];
}

const stateAfter = (next: Next): DeliveryState => (next.kind === 'done' ? 'delivered' : next.kind === 'failed' ? 'failed' : 'pending');

export class Notifier {
  private readonly o: NotifierOptions;
  private readonly nowMs: () => number;
  private readonly key: Buffer | undefined;
  /** The origin of the call-page links (PUBLIC_BASE_URL, or this machine once listening). */
  publicBaseUrl: string | undefined;

  constructor(options: NotifierOptions) {
    this.o = options;
    this.publicBaseUrl = options.publicBaseUrl;
    this.nowMs = options.nowMs ?? Date.now;
    this.key = options.secret ? signingKey(options.secret) : undefined;
  }

  /** The events this call raises. */
  static eventsOf(record: CallRecord, analysis: CallAnalysis | undefined): NotifyEvent[] {
    return analysis?.followUp === true || record.followUp !== undefined ? ['call.completed', 'call.needs_follow_up'] : ['call.completed'];
  }

  /**
   * The analysis of `callSid` has settled (ok, skipped or failed): create and queue its
   * deliveries. Returns how many deliveries were new. A store failure is logged and thrown, so
   * the analysis job retries this hook (src/aftercall/analyse.ts); doing it twice is harmless.
   */
  async onAnalysisSettled(callSid: string): Promise<number> {
    try {
      return await this.enqueueFor(callSid);
    } catch (err) {
      this.o.log.error({ err, callSid, code: 'CB_NOTIFY_FAILED' }, 'notifications: could not queue the deliveries of a call');
      throw err;
    }
  }

  private async enqueueFor(callSid: string): Promise<number> {
    const record = await this.o.getCall(callSid);
    const endpoints = record?.flow !== undefined ? this.o.notifyOf(record.flow) : undefined;
    if (!record || !endpoints || endpoints.length === 0) return 0;
    const analysis = await this.o.analysisOf(callSid);
    const base = this.publicBaseUrl;
    // Only while the server starts: the analysis job retries this hook shortly.
    if (base === undefined) throw new Error('the server is still starting (no public URL for the call-page link yet)');
    const now = this.nowMs();
    let created = 0;
    for (const event of Notifier.eventsOf(record, analysis)) {
      const body = bodyOf(buildPayload(event, record, analysis, base, now));
      for (const endpoint of endpoints.filter((e) => e.events.includes(event))) {
        const made = await this.o.deliveries.createDelivery({ webhookId: newWebhookId(), callSid, event, endpoint: endpoint.webhook, body, nowMs: now });
        if (made.created) created++;
        // Also when it existed: repairs a delivery whose job was never queued (a crash in between).
        await this.o.queue.enqueue({ kind: 'notify', key: made.delivery.webhookId, callSid, payload: { deliveryId: made.delivery.id }, runAtMs: now });
      }
    }
    if (created > 0) this.o.kick?.();
    return created;
  }

  /** The runner's 'notify' handler: one attempt of the job's delivery. */
  readonly handle = async (job: Job): Promise<Next> => {
    const id = (job.payload as { deliveryId?: unknown } | null)?.deliveryId;
    const delivery = typeof id === 'number' ? await this.o.deliveries.getDelivery(id) : undefined;
    if (!delivery) return { kind: 'failed', error: 'the delivery no longer exists (its call was deleted)' };
    if (delivery.state === 'delivered') return { kind: 'done' };
    if (!this.key) {
      const error = 'NOTIFY_SECRET is not set: notifications cannot be signed (set it to whsec_<base64>, then press Resend)';
      await this.o.deliveries.setState(delivery.id, 'failed', error, this.nowMs());
      this.o.log.error({ code: 'CB_NOTIFY_FAILED', callSid: delivery.callSid, webhookId: delivery.webhookId }, error);
      return { kind: 'failed', error };
    }
    const atMs = this.nowMs();
    const result = await sendOnce(
      { url: delivery.endpoint, webhookId: delivery.webhookId, body: Buffer.from(delivery.body, 'utf8'), key: this.key },
      { allowPrivate: this.o.allowPrivate, httpsOnly: this.o.httpsOnly, ...(this.o.timeoutMs ? { timeoutMs: this.o.timeoutMs } : {}), ...(this.o.resolve ? { resolve: this.o.resolve } : {}) },
      this.nowMs,
    );
    const next = nextStep(result, Math.max(1, job.attempts), this.nowMs(), this.o.schedule ?? RETRY_SCHEDULE_MS, this.o.random);
    const attempt: DeliveryAttempt = {
      deliveryId: delivery.id,
      attempt: delivery.attempts + 1,
      atMs,
      durationMs: result.durationMs,
      status: result.status ?? null,
      error: next.kind === 'done' ? null : next.error,
      reply: result.reply ?? null,
    };
    await this.o.deliveries.recordAttempt(attempt, stateAfter(next));
    this.logAttempt(delivery, result, next);
    return next;
  };

  private logAttempt(d: Delivery, result: AttemptResult, next: Next): void {
    const fields = { callSid: d.callSid, event: d.event, webhookId: d.webhookId, status: result.status, durationMs: result.durationMs };
    if (next.kind === 'done') this.o.log.info(fields, 'notification delivered');
    else if (next.kind === 'retry') this.o.log.warn({ ...fields, code: 'CB_NOTIFY_ATTEMPT_FAILED', error: next.error, retryAt: new Date(next.atMs).toISOString() }, 'notification attempt failed; will retry');
    else this.o.log.error({ ...fields, code: result.refused ? 'CB_NOTIFY_REFUSED' : 'CB_NOTIFY_FAILED', error: next.error }, 'notification not delivered');
  }

  /** Sends a delivery of this call again now: same body, same webhook-id, a fresh retry schedule. */
  async resend(callSid: string, deliveryId: number): Promise<Delivery | undefined> {
    const d = await this.o.deliveries.getDelivery(deliveryId);
    if (!d || d.callSid !== callSid) return undefined;
    const now = this.nowMs();
    await this.o.deliveries.setState(d.id, 'pending', null, now);
    const requeued = await this.o.queue.requeue(d.webhookId, now, now);
    if (!requeued) await this.o.queue.enqueue({ kind: 'notify', key: d.webhookId, callSid, payload: { deliveryId: d.id }, runAtMs: now });
    this.o.kick?.();
    return { ...d, state: 'pending' };
  }

  /** The call's deliveries with their payloads and attempt logs, for the call page. */
  async deliveriesOf(callSid: string): Promise<DeliveryView[]> {
    const list = await this.o.deliveries.deliveriesOf(callSid);
    return Promise.all(
      list.map(async ({ body, ...d }) => {
        let payload: unknown;
        try {
          payload = JSON.parse(body);
        } catch {
          payload = body;
        }
        return { ...d, payload, attemptLog: await this.o.deliveries.attemptsOf(d.id) };
      }),
    );
  }
}
