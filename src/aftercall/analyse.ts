/**
 * The 'analysis' job: one call's post-call analysis (docs/after-call.md). Reads the final record,
 * its events and its flow; skips calls with no conversation or whose flow says `analysis: false`;
 * otherwise asks Gemini (gemini-rest.ts) with the flow's schema, checks the answer (answer.ts;
 * a bad answer is asked again once, then stored as failed), retries 429/5xx/network with backoff
 * (RetryInfo honoured, bounded in attempts and time, then failed) and stores 400/403/404 as failed
 * at once. Every settled analysis (ok / skipped / failed) is stored, then `onSettled` runs (the
 * notifications hook). A job key is `analysis:<CallSid>`.
 */
import type { Logger } from '../shared/log.js';
import type { Flow } from '../flows/index.js';
import type { AnalysisConfig } from '../flows/analysis-schema.js';
import { buildResponseJsonSchema } from '../flows/analysis-schema.js';
import type { AnalysisStore, CallAnalysis, Job, JobQueue, JobState, TranscriptStore } from '../transcripts/index.js';
import { generateContent, type GeminiRestOptions, type GenerateResult } from './gemini-rest.js';
import { analysisRequest, hasConversation, PROMPT_VERSION } from './prompt.js';
import { parseAnswer } from './answer.js';
import type { JobHandler, JobOutcome } from './runner.js';

/** What the analysis needs of a flow (the CLI reads just this from the flow files). */
export type AnalysisFlow = Pick<Flow, 'name' | 'persona' | 'analysis'>;

export const analysisKey = (callSid: string): string => `analysis:${callSid}`;

export interface RetryLimits {
  /** Attempts (claims) before giving up on a transient failure. */
  maxAttempts: number;
  /** Give up when the next try would be later than this after the job was created. */
  maxAgeMs: number;
  baseMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_LIMITS: RetryLimits = { maxAttempts: 8, maxAgeMs: 24 * 3600_000, baseMs: 15_000, maxDelayMs: 60 * 60_000 };

export interface AnalysisDeps {
  store: TranscriptStore;
  analyses: AnalysisStore;
  /** The flow a call ran on, by name (the current version), or undefined when gone. */
  flowOf(name: string | undefined): AnalysisFlow | undefined;
  gemini: GeminiRestOptions;
  log: Logger;
  nowMs?: () => number;
  /** 0..1; jitter of ±10 % on backoff (tests pass () => 0.5 for none). */
  random?: () => number;
  limits?: Partial<RetryLimits>;
  /** Runs after an analysis settles (ok / skipped / failed); a throw retries just this hook. */
  onSettled?: (callSid: string) => Promise<void> | void;
}

const HOOK_FAILED = 'settled hook failed: ';
const NO_FIELDS: AnalysisConfig = { fields: {}, responseJsonSchema: buildResponseJsonSchema({}) };

/** The placeholder shown while an analysis is queued (first time, or again). */
export function pendingAnalysis(model: string, nowMs: number): CallAnalysis {
  return {
    status: 'pending', summary: '', intent: '', resolved: false, followUp: false, followUpReason: null, sentiment: 'neutral',
    fields: {}, model, promptVersion: PROMPT_VERSION, analysedAtMs: nowMs,
  };
}

/**
 * Queues the call's analysis now (again, or for the first time) and shows it as pending until it
 * settles (re-analyse in the app and the `calls analyse` command). The pending row is written
 * before the job is queued, so a run that settles right after the requeue overwrites it, and not
 * the other way round.
 */
export async function queueAnalysis(queue: JobQueue, analyses: AnalysisStore, callSid: string, model: string, nowMs: number): Promise<void> {
  await analyses.putAnalysis(callSid, pendingAnalysis(model, nowMs), nowMs);
  const key = analysisKey(callSid);
  if (!(await queue.requeue(key, nowMs, nowMs))) await queue.enqueue({ kind: 'analysis', key, callSid, payload: null, runAtMs: nowMs });
}

/**
 * The analysis to show for a call, from its stored row and its analysis job: a settled row as it
 * is; while the job is queued or running, the pending row (or a pending one made from the job);
 * a pending row whose job ended without storing an answer (failed after its handler kept
 * throwing, or done) is failed, not pending for ever; no row and no live job, none.
 */
export function currentAnalysis(
  stored: CallAnalysis | undefined,
  job: (Job & { state: JobState }) | undefined,
  model: string,
): CallAnalysis | undefined {
  if (stored && stored.status !== 'pending') return stored;
  if (job && (job.state === 'queued' || job.state === 'running')) return stored ?? pendingAnalysis(model, job.createdAtMs);
  if (!stored) return undefined;
  const why = 'the analysis job ended without an answer';
  return notOk('failed', stored.model, stored.analysedAtMs, job?.lastError ? `${why}: ${job.lastError}` : why);
}

/** A settled analysis that is not ok. */
function notOk(status: 'skipped' | 'failed', model: string, nowMs: number, error: string, errorCode?: string): CallAnalysis {
  const a: CallAnalysis = {
    status, summary: '', intent: '', resolved: false, followUp: false, followUpReason: null, sentiment: 'neutral',
    fields: {}, model, promptVersion: PROMPT_VERSION, analysedAtMs: nowMs, error,
  };
  if (errorCode) a.errorCode = errorCode;
  return a;
}

export function analysisHandler(deps: AnalysisDeps): JobHandler {
  const now = deps.nowMs ?? Date.now;
  const random = deps.random ?? Math.random;
  const limits = { ...DEFAULT_RETRY_LIMITS, ...deps.limits };
  const model = deps.gemini.model;

  const settle = async (job: Job, analysis: CallAnalysis): Promise<JobOutcome> => {
    await deps.analyses.putAnalysis(job.callSid, analysis, now());
    deps.log.info({ callSid: job.callSid, status: analysis.status, code: analysis.errorCode }, 'post-call analysis settled');
    return runHook(job);
  };
  const runHook = async (job: Job): Promise<JobOutcome> => {
    try {
      await deps.onSettled?.(job.callSid);
      return { kind: 'done' };
    } catch (err) {
      deps.log.error({ err, callSid: job.callSid }, 'the analysis-settled hook failed; retrying it');
      return { kind: 'retry', atMs: now() + limits.baseMs, error: `${HOOK_FAILED}${err instanceof Error ? err.message : String(err)}` };
    }
  };

  return async (job) => {
    const sid = job.callSid;
    if (job.lastError?.startsWith(HOOK_FAILED)) {
      const stored = await deps.analyses.getAnalysis(sid);
      if (stored && stored.status !== 'pending') return runHook(job);
    }
    const record = await deps.store.getCall(sid);
    if (!record) return { kind: 'failed', error: 'no such call (deleted?)' };
    const flow = deps.flowOf(record.flow);
    const config = flow ? flow.analysis : NO_FIELDS;
    if (config === false) return settle(job, notOk('skipped', model, now(), 'analysis is off for this flow (analysis: false)'));
    const events = await deps.store.getEvents(sid);
    if (!hasConversation(events)) return settle(job, notOk('skipped', model, now(), 'no conversation: the caller said nothing'));

    const request = analysisRequest({ record, events, flow }, config);
    let result: GenerateResult = await generateContent(deps.gemini, request);
    let problem: string | undefined;
    for (let tries = 1; ; tries++) {
      if (result.kind === 'ok') {
        const parsed = parseAnswer(result.text, config.fields);
        if (parsed.ok) {
          return settle(job, { status: 'ok', ...parsed.answer, model, promptVersion: PROMPT_VERSION, analysedAtMs: now() });
        }
        problem = parsed.problem;
      } else if (result.kind === 'unusable') {
        problem = result.message;
        if (result.blocked) break;
      } else {
        break;
      }
      // An answer that does not fit is asked for again once.
      if (tries >= 2) break;
      deps.log.warn({ callSid: sid, problem }, 'post-call analysis: the answer does not fit; asking again once');
      result = await generateContent(deps.gemini, request);
    }
    if (result.kind === 'rejected') {
      deps.log.error({ callSid: sid, code: 'CB_ANALYSIS_REJECTED', status: result.status, model, err: result.message }, 'post-call analysis refused by Gemini');
      return settle(job, notOk('failed', model, now(), result.message, 'CB_ANALYSIS_REJECTED'));
    }
    if (result.kind === 'transient') return transient(job, result);
    deps.log.error({ callSid: sid, code: 'CB_ANALYSIS_INVALID_ANSWER', problem }, 'post-call analysis: no usable answer');
    return settle(job, notOk('failed', model, now(), problem ?? 'no usable answer', 'CB_ANALYSIS_INVALID_ANSWER'));
  };

  async function transient(job: Job, result: Extract<GenerateResult, { kind: 'transient' }>): Promise<JobOutcome> {
    const backoff = Math.min(limits.baseMs * 2 ** Math.max(0, job.attempts - 1), limits.maxDelayMs);
    const jittered = Math.round(backoff * (0.9 + 0.2 * random()));
    const delay = Math.max(jittered, result.retryAfterMs ?? 0);
    const at = now() + delay;
    if (job.attempts >= limits.maxAttempts || at - job.createdAtMs > limits.maxAgeMs) {
      deps.log.error({ callSid: job.callSid, code: 'CB_ANALYSIS_UNAVAILABLE', attempts: job.attempts, err: result.message }, 'post-call analysis: giving up after retries');
      const msg = `gave up after ${job.attempts} attempts: ${result.message}`;
      return settle(job, notOk('failed', model, now(), msg, 'CB_ANALYSIS_UNAVAILABLE'));
    }
    deps.log.warn({ callSid: job.callSid, code: 'CB_ANALYSIS_UNAVAILABLE', attempts: job.attempts, retryInMs: delay, err: result.message }, 'post-call analysis: retrying later');
    return { kind: 'retry', atMs: at, error: result.message };
  }
}
