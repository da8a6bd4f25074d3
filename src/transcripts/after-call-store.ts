/**
 * What happens after a call, as backend-neutral store interfaces: the durable job queue (post-call
 * analysis, notifications) and the stored analyses. SQLite implements them today
 * (`sqlite-jobs.ts`, `sqlite-analysis.ts`, over the transcript store's database); a PostgreSQL
 * backend implements the same interfaces later. Every method is async for that reason.
 *
 * Delivery is at least once: a job whose lease expires (the process died while running it) is
 * claimed again, so handlers must be idempotent. The facts behind the design are in
 * docs/after-call.md.
 */

export type JobKind = 'analysis' | 'notify';
export const JOB_KINDS: readonly JobKind[] = ['analysis', 'notify'];

export interface Job {
  id: number;
  kind: JobKind;
  /** Unique across the queue: `analysis:<CallSid>`, a notification's webhook-id … */
  key: string;
  callSid: string;
  payload: unknown;
  /** Claims so far, including the current one. */
  attempts: number;
  runAtMs: number;
  createdAtMs: number;
  lastError?: string;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface JobQueue {
  /** Adds a job unless one with the same key exists; true when added. */
  enqueue(job: { kind: JobKind; key: string; callSid: string; payload: unknown; runAtMs: number }): Promise<boolean>;
  /** Takes up to `limit` due jobs of these kinds (queued with runAt ≤ now, or running with an expired lease), leasing them until now+leaseMs; attempts+1. */
  claim(kinds: readonly JobKind[], nowMs: number, limit: number, leaseMs: number): Promise<Job[]>;
  complete(id: number, nowMs: number): Promise<void>;
  retryAt(id: number, runAtMs: number, error: string, nowMs: number): Promise<void>;
  fail(id: number, error: string, nowMs: number): Promise<void>;
  /**
   * Puts the job with this key back in the queue at runAtMs (manual resend / re-analyse), with its
   * attempts reset to 0 (a fresh retry schedule); false when no such job.
   */
  requeue(key: string, runAtMs: number, nowMs: number): Promise<boolean>;
  jobsOf(callSid: string): Promise<Array<Job & { state: JobState }>>;
  /** The earliest runAt of a queued job of these kinds (for the runner's next wake-up), or undefined. */
  nextRunAt?(kinds: readonly JobKind[]): Promise<number | undefined>;
}

export type AnalysisStatus = 'pending' | 'ok' | 'skipped' | 'failed';
export type Sentiment = 'positive' | 'neutral' | 'negative' | 'mixed';
export const SENTIMENTS: readonly Sentiment[] = ['positive', 'neutral', 'negative', 'mixed'];

/** A declared field's value: null when the caller never said it. */
export type AnalysisFieldValue = string | number | boolean | null;

/**
 * A call's post-call analysis, as the API (`analysis` in GET /api/calls/:id), the exports and the
 * notifications show it. `summary`/`intent` are empty and `fields` all null unless status is ok.
 */
export interface CallAnalysis {
  status: AnalysisStatus;
  /** Two or three sentences. */
  summary: string;
  /** What the caller wanted, in a few words. */
  intent: string;
  resolved: boolean;
  /** A person must act on this call (call back, fix a booking …). */
  followUp: boolean;
  followUpReason: string | null;
  sentiment: Sentiment;
  /** Every field the flow declares, null when not said. */
  fields: Record<string, AnalysisFieldValue>;
  /** The model that answered (or would have). */
  model: string;
  /** Version of the prompt that produced this (src/aftercall/prompt.ts). */
  promptVersion: string;
  /** When this status was reached (epoch ms). */
  analysedAtMs: number;
  /** Why it failed or was skipped (plain words), with a CB_* code where there is one. */
  error?: string;
  errorCode?: string;
}

/** List filters on analyses (combined with the call list's own filters by the store). */
export interface AnalysisFilter {
  /** Field name → the value as text ('true', '42', 'booking'); matches the stored value's text form. */
  fields?: Record<string, string>;
}

export interface AnalysisStore {
  getAnalysis(callSid: string): Promise<CallAnalysis | undefined>;
  /** Replaces the call's analysis. */
  putAnalysis(callSid: string, analysis: CallAnalysis, nowMs: number): Promise<void>;
  /** Analyses of these calls (those that have one), for a list page. */
  analysesOf(callSids: readonly string[]): Promise<Map<string, CallAnalysis>>;
}

/** The notifications' delivery log (delivery-log.ts). */
export type * from './delivery-log.js';

/** The owner's dashboard: figures per local day, follow-ups and their "done" marks (dashboard-store.ts). */
export type * from './dashboard-store.js';
