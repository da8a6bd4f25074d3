/**
 * After the call, composed: the durable queue and analyses on the transcript store's database,
 * the job runner, and the 'analysis' handler on the right generateContent endpoint. The app starts
 * it with the server and stops it at shutdown; notifications (src/notify/) register their own
 * handler on `runner` and a hook with `onAnalysisSettled`. Ending a call never waits for any of
 * this: a final record queues its job in the store's write (docs/after-call.md).
 */
import type { Logger } from '../shared/log.js';
import type { Flow } from '../flows/index.js';
import type { AnalysisStore, CallAnalysis, JobQueue, TranscriptStore, TranscriptWriter } from '../transcripts/index.js';
import { JobRunner } from './runner.js';
import { analysisHandler, analysisKey, currentAnalysis, queueAnalysis, type RetryLimits } from './analyse.js';
import { DEFAULT_ANALYSIS_MODEL, GOOGLE_API_BASE_URL, type GeminiRestOptions } from './gemini-rest.js';

export { JobRunner, type JobHandler, type JobOutcome } from './runner.js';
export { analysisKey, DEFAULT_RETRY_LIMITS } from './analyse.js';
export { DEFAULT_ANALYSIS_MODEL, GOOGLE_API_BASE_URL } from './gemini-rest.js';
export { PROMPT_VERSION } from './prompt.js';

export interface AnalysisEndpointEnv {
  GEMINI_API_KEY?: string | undefined;
  GEMINI_LIVE_URL?: string | undefined;
  GEMINI_API_BASE_URL?: string | undefined;
  ANALYSIS_MODEL?: string | undefined;
}

/**
 * Where generateContent goes: GEMINI_API_BASE_URL when set; else the origin of a GEMINI_LIVE_URL
 * that is not Google's (a local emulator or proxy); else Google's with a key; else the built-in
 * emulator's origin (`emulatorUrl`, its ws URL).
 */
export function analysisEndpoint(env: AnalysisEndpointEnv, emulatorUrl: string | undefined): Omit<GeminiRestOptions, 'fetch'> {
  const model = env.ANALYSIS_MODEL ?? DEFAULT_ANALYSIS_MODEL;
  const apiKey = env.GEMINI_API_KEY ?? 'emulator';
  if (env.GEMINI_API_BASE_URL) return { baseUrl: env.GEMINI_API_BASE_URL, apiKey, model };
  const live = env.GEMINI_LIVE_URL ?? (env.GEMINI_API_KEY ? undefined : emulatorUrl);
  if (live && !/(^|\.)googleapis\.com$/.test(new URL(live).hostname)) {
    return { baseUrl: httpOrigin(live), apiKey, model };
  }
  return { baseUrl: GOOGLE_API_BASE_URL, apiKey, model };
}

function httpOrigin(wsUrl: string): string {
  const u = new URL(wsUrl);
  return `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}`;
}

/** Test knobs a server accepts (StartOptions.afterCall). */
export interface AfterCallTestOptions {
  pollMs?: number;
  limits?: Partial<RetryLimits>;
  nowMs?: () => number;
}

export interface AfterCallOptions {
  /** The call store, and the queue and analyses on the same database (openStore gives all three). */
  store: TranscriptStore;
  queue: JobQueue;
  analyses: AnalysisStore;
  /** The flows serving now (a call's flow is looked up by name when its job runs). */
  flows: () => readonly Flow[];
  gemini: GeminiRestOptions;
  log: Logger;
  /** Kicks the runner soon after a call's record is closed (else the 1 s poll finds it). */
  writer?: TranscriptWriter;
  nowMs?: () => number;
  pollMs?: number;
  limits?: Partial<RetryLimits>;
}

export interface AfterCall {
  readonly queue: JobQueue;
  readonly analyses: AnalysisStore;
  readonly runner: JobRunner;
  readonly model: string;
  /** The call's analysis, or a pending one for a call whose analysis is queued; undefined otherwise. */
  analysisOf(callSid: string): Promise<CallAnalysis | undefined>;
  /** Adds a hook run after each analysis settles (ok / skipped / failed); a throw retries the hook. */
  onAnalysisSettled(hook: (callSid: string) => Promise<void> | void): void;
  /** Queues the call's analysis again (now), or for the first time. */
  reanalyse(callSid: string): Promise<void>;
  stop(): Promise<void>;
}

export function startAfterCall(options: AfterCallOptions): AfterCall {
  const { log } = options;
  const nowMs = options.nowMs ?? Date.now;
  const { queue, analyses } = options;
  const runner = new JobRunner({ queue, log: log.child({ component: 'aftercall' }), nowMs, pollMs: options.pollMs ?? 1000 });
  const hooks: Array<(callSid: string) => Promise<void> | void> = [];
  runner.register(
    'analysis',
    analysisHandler({
      store: options.store,
      analyses,
      flowOf: (name) => (name === undefined ? undefined : options.flows().find((f) => f.name === name)),
      gemini: options.gemini,
      log: log.child({ component: 'analysis' }),
      nowMs,
      ...(options.limits ? { limits: options.limits } : {}),
      onSettled: async (callSid) => {
        for (const hook of hooks) await hook(callSid);
      },
    }),
    { leaseMs: 3 * 60_000 },
  );
  const unsubscribe = options.writer?.subscribe((change) => {
    if (change.type === 'call' && change.record.outcome !== 'in_progress') setTimeout(() => runner.kick(), 400).unref();
  });
  runner.start();
  log.info({ model: options.gemini.model, endpoint: options.gemini.baseUrl }, 'post-call analysis ready');

  return {
    queue,
    analyses,
    runner,
    model: options.gemini.model,
    async analysisOf(callSid) {
      const stored = await analyses.getAnalysis(callSid);
      if (stored && stored.status !== 'pending') return stored;
      const job = (await queue.jobsOf(callSid)).find((j) => j.key === analysisKey(callSid));
      return currentAnalysis(stored, job, options.gemini.model);
    },
    onAnalysisSettled(hook) {
      hooks.push(hook);
    },
    async reanalyse(callSid) {
      // The previous answer gives way to "pending" until the new one settles.
      await queueAnalysis(queue, analyses, callSid, options.gemini.model, nowMs());
      runner.kick();
    },
    async stop() {
      unsubscribe?.();
      await runner.stop();
    },
  };
}
