/**
 * Notifications in a running server: the Notifier over the store's delivery log and job queue,
 * its 'notify' handler registered with the job runner, and the production refusals for the
 * configuration (docs/after-call.md, "Notifications").
 */
import type { Env } from '../config/env.js';
import type { Flow } from '../flows/schema.js';
import type { Logger } from '../shared/log.js';
import type { CallAnalysis, DeliveryLog, Job, JobKind, JobQueue } from '../transcripts/after-call-store.js';
import type { TranscriptStore } from '../transcripts/store.js';
import type { Next } from './deliver.js';
import { Notifier, type NotifierOptions } from './notifier.js';

/** Test knobs (the retry schedule, request timeout, jitter, clock). */
export type NotifyTestOptions = Partial<Pick<NotifierOptions, 'schedule' | 'timeoutMs' | 'random' | 'nowMs' | 'resolve'>>;

/** What notifications need of the after-call machinery (src/aftercall/index.ts AfterCall). */
export interface AfterCallPort {
  queue: JobQueue;
  runner: { register(kind: JobKind, handler: (job: Job) => Promise<Next>, options?: { leaseMs?: number }): void; kick(): void };
  analysisOf(callSid: string): Promise<CallAnalysis | undefined>;
  onAnalysisSettled(hook: (callSid: string) => Promise<void>): void;
}

export interface NotifyWiring {
  env: Env;
  /** The call store, and the delivery log on the same database (openStore gives both). */
  store: TranscriptStore;
  deliveries: DeliveryLog;
  afterCall: AfterCallPort;
  /** The flows serving now (hot reload). */
  flows: () => readonly Flow[];
  log: Logger;
  options?: NotifyTestOptions | undefined;
}

/** A lease well over one attempt (15 s timeout, DNS, the log write). */
const LEASE_MS = 2 * 60_000;

/**
 * The Notifier of this server: its 'notify' handler registered with the runner and its hook with
 * the analysis. Call it right after the after-call runner is created, before anything awaits, so
 * no analysis can settle unnoticed. Set `publicBaseUrl` on the result once the server listens;
 * an analysis settling before that throws from the hook, which the analysis job retries shortly.
 */
export function startNotifications(w: NotifyWiring): Notifier {
  const { env, log } = w;
  const production = env.NODE_ENV === 'production';
  const notifier = new Notifier({
    deliveries: w.deliveries,
    queue: w.afterCall.queue,
    getCall: (sid) => w.store.getCall(sid),
    analysisOf: (sid) => w.afterCall.analysisOf(sid),
    notifyOf: (flow) => w.flows().find((f) => f.name === flow)?.notify,
    secret: env.NOTIFY_SECRET,
    allowPrivate: !production || env.NOTIFY_ALLOW_PRIVATE,
    httpsOnly: production,
    log: log.child({ component: 'notify' }),
    kick: () => w.afterCall.runner.kick(),
    ...w.options,
  });
  w.afterCall.runner.register('notify', notifier.handle, { leaseMs: LEASE_MS });
  w.afterCall.onAnalysisSettled(async (sid) => void (await notifier.onAnalysisSettled(sid)));
  const flowsWithNotify = w.flows().filter((f) => f.notify.length > 0).map((f) => f.name);
  if (flowsWithNotify.length > 0 && !env.NOTIFY_SECRET) {
    log.warn({ flows: flowsWithNotify, code: 'CB_NOTIFY_FAILED' }, 'NOTIFY_SECRET is not set: notifications of these flows cannot be signed and will fail (set NOTIFY_SECRET=whsec_<base64>)');
  }
  return notifier;
}

/** Production refusals (app.ts checkProduction): notify without NOTIFY_SECRET, http:// webhooks. */
export function notifyProductionProblems(env: Env, flows: readonly Flow[]): string[] {
  if (env.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  const withNotify = flows.filter((f) => f.notify.length > 0);
  if (withNotify.length > 0 && !env.NOTIFY_SECRET) {
    problems.push(`NOTIFY_SECRET (flows ${withNotify.map((f) => f.name).join(', ')} send notifications; set whsec_ + base64 of 32 random bytes, e.g. whsec_$(openssl rand -base64 32))`);
  }
  for (const f of withNotify) {
    for (const n of f.notify) {
      if (!n.webhook.startsWith('https://')) problems.push(`${f.file}: notify webhook ${n.webhook} must be https:// in production`);
    }
  }
  return problems;
}
