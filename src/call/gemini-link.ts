/**
 * The call's connection to Gemini Live, kept alive across Gemini's faults.
 *
 * One link per call. It holds the current GeminiLiveSession and replaces it when it dies:
 *  - retry policy from the close catalogue: config errors are not retried on the same model;
 *    transient closes (1011 internal/unavailable/deadline, 1006, handshake/setup failures) are
 *    retried with capped exponential backoff and jitter, resuming with the latest handle; quota
 *    closes back off longer; a stale handle starts a fresh session;
 *  - model fallback along the flow's list, skipping models whose circuit breaker is open;
 *  - caller audio during an outage is kept (bounded, the last 2 s) and sent once a session is up;
 *  - tool results the dead session may not have acted on are re-sent to the new one;
 *  - goAway: hand over to a new socket (closing the old one first) at the next quiet moment before
 *    the deadline, resuming with the handle, so the caller hears nothing of it;
 *  - fresh sessions are re-seeded with the conversation so far (the call provides it).
 * Events of the current session are forwarded as `event`; `ready`/`down`/`failed` tell the call
 * about the link itself.
 */
import { GeminiLiveSession, type GeminiEvent, type LiveSessionConfig, type ClassifiedClose, type GeminiLiveSessionOptions, type Content, type ToolResponseInput } from '../gemini/index.js';
import { CallbridgeError } from '../shared/errors.js';
import { TypedEmitter } from '../shared/emitter.js';
import type { Logger } from '../shared/log.js';
import type { ModelBreakers } from './breakers.js';
import { PcmRing } from '../audio/pcm-ring.js';
import { LinkContext } from './link-context.js';
import { ReplyTimes, StallWatch } from './stall-watch.js';

export interface RetryPolicy {
  /** First backoff step; later steps double up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** ± share of each delay chosen at random. */
  jitter: number;
  /** Retries on the same model within one incident before moving to the next model. */
  retriesPerModel: number;
  /** Backoff for quota closes (longer, and shared by every call: see ModelBreakers.pauseForQuota). */
  quotaBaseDelayMs: number;
  quotaMaxDelayMs: number;
  /** Retries on the same model after quota closes before moving on (then the apology). */
  quotaRetries: number;
  /** Connection attempts per incident, all models together, before giving up. */
  maxAttempts: number;
  /**
   * The longest a call may go without an agent: a retry that could not start before this much
   * silence gives up instead (the caller hears the apology rather than dead air).
   */
  maxOutageMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  baseDelayMs: 100,
  maxDelayMs: 2000,
  jitter: 0.3,
  retriesPerModel: 1,
  quotaBaseDelayMs: 1000,
  quotaMaxDelayMs: 8000,
  quotaRetries: 2,
  maxAttempts: 6,
  maxOutageMs: 8000,
};

export interface LinkOptions {
  apiKey: string;
  url?: string;
  /** Primary model first, then fallbacks. */
  models: readonly string[];
  /** The session config for a model (system instruction, tools, voice…); the link adds resumption. */
  sessionConfig(model: string): LiveSessionConfig;
  /** The conversation so far, for re-seeding a fresh session (ends with a user turn when given). */
  history?(): Content[];
  breakers?: ModelBreakers;
  /** Healthy reply delays, shared by the process's calls (see stall-watch.ts). */
  replyTimes?: ReplyTimes;
  retry?: Partial<RetryPolicy>;
  setupTimeoutMs?: number;
  /** Caller audio kept during an outage, in ms of 16 kHz audio. */
  outageAudioMs?: number;
  /** Hand over this long before a goAway deadline at the latest. */
  goAwayMarginMs?: number;
  log: Logger;
  random?: () => number;
  /** Test hook / alternative transport. */
  connect?(options: GeminiLiveSessionOptions): Promise<GeminiLiveSession>;
  /** Extra session options (tool response cap, held audio). */
  sessionOptions?: Partial<Pick<GeminiLiveSessionOptions, 'toolResponseMaxBytes' | 'heldAudioMaxMs'>>;
}

export type LinkState = 'idle' | 'connecting' | 'ready' | 'recovering' | 'failed' | 'closed';

export interface ReadyInfo {
  model: string;
  /** Resumed with a handle (the model keeps its context) rather than a fresh session. */
  resumed: boolean;
  /** First session of the call, or why this one replaced another. */
  cause: 'start' | 'fault' | 'goAway';
  /** Connection attempts this incident took (1 = first try). */
  attempts: number;
  /** Time without a session, from the failure (or handover) to this ready. */
  outageMs: number;
  setupLatencyMs: number | undefined;
}

export interface DownInfo {
  model: string;
  error: ClassifiedClose | undefined;
  /** The failure came from a connect attempt rather than a live session. */
  duringConnect: boolean;
  errorCode: string;
  code: number;
  reason: string;
}

export interface FailedInfo {
  error: CallbridgeError;
  attempts: number;
}

type LinkEvents = {
  event: GeminiEvent;
  ready: ReadyInfo;
  down: DownInfo;
  failed: FailedInfo;
};

const SAMPLES_PER_MS = 16;


export class GeminiLink extends TypedEmitter<LinkEvents> {
  readonly #o: LinkOptions;
  readonly #retry: RetryPolicy;
  readonly #random: () => number;
  readonly #ring: PcmRing;
  #state: LinkState = 'idle';
  #session: GeminiLiveSession | undefined;
  #unsubscribe: Array<() => void> = [];
  /** Index into options.models of the model in use. */
  #modelIndex = 0;
  #handle: string | undefined;
  /** Connection attempts since the last ready (ReadyInfo.attempts). */
  #attempts = 0;
  /**
   * Attempts and failures of the current incident, for maxAttempts and the backoff step. An
   * incident ends when a session produces model content, not at ready: a session that opens and
   * dies at once (a flapping server) must not restart the count, or the link reconnects for ever.
   */
  #incidentAttempts = 0;
  #incidentFailures = 0;
  #sameModelRetries = 0;
  /** Models that refused this call's session for a config reason (retry class none): never retried. */
  readonly #configFailed = new Set<string>();
  #outageStartedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #goAwayTimer: NodeJS.Timeout | undefined;
  #handoverWanted = false;
  #generating = false;
  #contentThisTurn = false;
  /** What a restored session must be told: an unanswered client turn, results not acted on. */
  readonly #context = new LinkContext();
  readonly #stall: StallWatch;
  /** Gemini signalled (resumable: false) that it is working on a reply in this turn. */
  #busy = false;
  #callerSpeaking = false;
  /** The caller finished speaking after the last reply ended: a reply is due (not a quiet moment). */
  #replyDue = false;
  #startResolve: ((ok: boolean) => void) | undefined;
  readonly modelsTried: string[] = [];

  constructor(options: LinkOptions) {
    super((type, err) => options.log.error({ err, event: String(type) }, 'link listener threw'));
    if (options.models.length === 0) throw new Error('GeminiLink needs at least one model');
    this.#o = options;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#random = options.random ?? Math.random;
    this.#ring = new PcmRing((options.outageAudioMs ?? 2000) * SAMPLES_PER_MS);
    this.#stall = new StallWatch(options.replyTimes ?? new ReplyTimes(), (waitedMs) => this.#onStall(waitedMs));
  }

  get state(): LinkState {
    return this.#state;
  }

  get model(): string {
    return this.#o.models[this.#modelIndex]!;
  }

  get session(): GeminiLiveSession | undefined {
    return this.#session;
  }

  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** Opens the first session; resolves true when ready, false when every attempt failed. */
  start(): Promise<boolean> {
    if (this.#state !== 'idle') return Promise.resolve(this.#state === 'ready');
    const usable = this.#o.breakers?.usable(this.#o.models) ?? this.#o.models;
    this.#modelIndex = this.#o.models.indexOf(usable[0]!);
    this.#state = 'connecting';
    this.#outageStartedAt = performance.now();
    return new Promise((resolve) => {
      this.#startResolve = resolve;
      this.#schedule('start', 0);
    });
  }

  // --- sending ---------------------------------------------------------------------------------

  /** Caller audio (16 kHz). Kept in the outage ring while no session is up. Hot path. */
  sendAudio(pcm16k: Int16Array): void {
    if (this.#state === 'ready') this.#session!.sendAudio(pcm16k);
    else if (this.#state === 'connecting' || this.#state === 'recovering') this.#ring.push(pcm16k);
  }

  /**
   * The caller is talking (the bridge's own voice detection). Gemini cannot be expected to start
   * its reply meanwhile, so the stall watch waits until the caller stops.
   */
  callerSpeaking(speaking: boolean): void {
    this.#callerSpeaking = speaking;
    if (!speaking) this.#replyDue = true;
    if (speaking) this.#stall.disarm();
    else if (this.#busy && !this.#contentThisTurn && this.#state === 'ready') this.#stall.arm(this.model);
  }

  /** Audio sent as a burst (replaying the caller's unanswered words to a new session). */
  sendAudioBurst(pcm16k: Int16Array): void {
    if (this.#state !== 'ready') return;
    const chunk = 100 * SAMPLES_PER_MS;
    for (let i = 0; i < pcm16k.length; i += chunk) this.#session!.sendAudio(pcm16k.subarray(i, i + chunk));
  }

  /**
   * Conversation turns. One that asks for a reply (turnComplete) is kept until the model answers,
   * and asked again of a restored session if the current one dies first; when no session is up
   * it is sent to the next one.
   */
  sendClientContent(turns: Content[], turnComplete = true): boolean {
    if (turnComplete) this.#context.clientTurn(turns);
    if (this.#state !== 'ready') return false;
    this.#session!.sendClientContent(turns, turnComplete);
    return true;
  }

  /**
   * Answers tool calls. Calls that belong to the current session are answered by id; results for
   * calls of a session that died are told to the new session as context once it is up.
   */
  sendToolResponse(responses: Array<ToolResponseInput & { name: string }>): void {
    const session = this.#session;
    const pendingIds = new Set(this.#state === 'ready' && session ? session.pendingToolCalls.map((c) => c.id) : []);
    const now = responses.filter((r) => pendingIds.has(r.id));
    const later = responses.filter((r) => !pendingIds.has(r.id));
    if (now.length > 0) {
      try {
        session!.sendToolResponse(now);
      } catch (err) {
        this.#o.log.warn({ err, code: (err as CallbridgeError).code }, 'tool response refused');
      }
    }
    this.#context.results([...now, ...later].map((r) => ({ name: r.name, response: r.response })));
    // Only the late ones: the others went by id, or were told when this session came up.
    if (later.length > 0 && this.#state === 'ready') {
      this.#safely('re-sending tool results', () => this.#context.tellResults(session!, later.map((r) => ({ name: r.name, response: r.response }))));
    }
  }

  /** Closes the session for good (end of call). */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#timer);
    clearTimeout(this.#goAwayTimer);
    this.#startResolve?.(false);
    this.#startResolve = undefined;
    const session = this.#detach();
    await session?.close('call ended');
  }

  // --- connecting ------------------------------------------------------------------------------

  async #attempt(cause: ReadyInfo['cause']): Promise<void> {
    if (this.#state === 'closed') return;
    this.#attempts++;
    this.#incidentAttempts++;
    const model = this.model;
    if (!this.modelsTried.includes(model)) this.modelsTried.push(model);
    const connect = this.#o.connect ?? ((o: GeminiLiveSessionOptions) => GeminiLiveSession.connect(o));
    let session: GeminiLiveSession;
    try {
      // Inside the try: a config builder that throws is a failed attempt, not an unhandled rejection.
      const config = this.#o.sessionConfig(model);
      session = await connect({
        apiKey: this.#o.apiKey,
        ...(this.#o.url ? { url: this.#o.url } : {}),
        config: { ...config, model, sessionResumption: { enabled: true, ...(this.#handle ? { handle: this.#handle } : {}) } },
        log: this.#o.log,
        ...(this.#o.setupTimeoutMs ? { setupTimeoutMs: this.#o.setupTimeoutMs } : {}),
        ...this.#o.sessionOptions,
      });
    } catch (err) {
      if (this.#closed()) return;
      const error = err instanceof CallbridgeError ? err : new CallbridgeError('CB_GEMINI_HANDSHAKE_FAILED', String(err), { cause: err });
      const classified = (error.detail?.['retryClass'] as ClassifiedClose['retryClass'] | undefined) ?? (error.retryable ? 'transient' : 'none');
      // As for a live close: a config error is this call's setup, not the model failing.
      if (classified !== 'none') this.#o.breakers?.record(model, false);
      this.emit('down', {
        model,
        error: undefined,
        duringConnect: true,
        errorCode: error.code,
        code: Number(error.detail?.['closeCode'] ?? 0),
        reason: String(error.detail?.['closeReason'] ?? error.message),
      });
      this.#recover(classified, error, cause);
      return;
    }
    if (this.#closed()) {
      void session.close('call ended');
      return;
    }
    const resumed = this.#handle !== undefined;
    this.#attach(session);
    const outageMs = Math.round(performance.now() - this.#outageStartedAt);
    const attempts = this.#attempts;
    this.#attempts = 0;
    this.#state = 'ready';
    this.#generating = false;
    this.#contentThisTurn = false;
    this.#busy = false;
    if (!resumed && cause !== 'start') this.#reseed();
    const owed = this.#context.owed(); // before listeners send new turns on 'ready'
    this.emit('ready', { model, resumed, cause, attempts, outageMs, setupLatencyMs: session.setupLatencyMs });
    if (this.#startResolve) {
      this.#startResolve(true);
      this.#startResolve = undefined;
    }
    // Caller audio that arrived without a session, then the reply the old session owed.
    this.#ring.drain(100 * SAMPLES_PER_MS, (chunk) => session.sendAudio(chunk));
    this.#safely('restoring the conversation', () => this.#context.restore(session, owed));
  }

  /**
   * `beforeContent`: the session died after Gemini started a reply and before any of it (seed
   * 002's signature). Then the same model is not tried again for this turn when another is usable:
   * the fallback model answers at once instead of a second wait on a failing model.
   */
  #recover(retryClass: ClassifiedClose['retryClass'], error: CallbridgeError, cause: ReadyInfo['cause'], beforeContent = false): void {
    if (this.#state === 'closed') return;
    this.#state = cause === 'start' && this.#startResolve ? 'connecting' : 'recovering';
    const r = this.#retry;
    this.#incidentFailures++;
    if (this.#incidentAttempts >= r.maxAttempts) return this.#fail(error);
    const outageMs = performance.now() - this.#outageStartedAt;
    const failedModel = this.model;
    let delayMs = 0;
    if (retryClass === 'fresh-session' && this.#handle !== undefined) {
      // The handle is stale: drop it and start fresh at once.
      this.#handle = undefined;
    } else {
      // A "session not found" with no handle to drop is just a failure: back off like a transient one.
      const retry = retryClass === 'fresh-session' ? 'transient' : retryClass;
      if (retry === 'none') this.#configFailed.add(failedModel);
      const spent = this.#sameModelRetries >= (retry === 'quota' ? r.quotaRetries : r.retriesPerModel);
      const moveOn = retry === 'none' || spent || !this.#breakerAllows(failedModel) || (beforeContent && retry === 'transient' && this.#hasNextModel());
      if (moveOn) {
        // Not worth another try on this model: next one, fresh (a handle only resumes the same model).
        if (!this.#nextModel()) {
          if (retry === 'none') return this.#fail(error);
          // Every model was tried: keep cycling while attempts remain, from the first usable one
          // (never one that refused this call's config).
          const candidates = this.#o.models.filter((m) => !this.#configFailed.has(m));
          if (candidates.length === 0) return this.#fail(error);
          this.#modelIndex = this.#o.models.indexOf((this.#o.breakers?.usable(candidates) ?? candidates)[0]!);
        }
        this.#handle = undefined;
        this.#sameModelRetries = 0;
      } else {
        this.#sameModelRetries++;
      }
      // The model that hit the quota is paused for every call; the next model is not, so moving on
      // waits only a transient backoff.
      if (retry === 'quota') this.#o.breakers?.pauseForQuota(failedModel, this.#backoff('quota'));
      delayMs = this.#backoff(this.model !== failedModel ? 'transient' : retry);
    }
    // A shared quota pause can push the next attempt further out than the backoff.
    const startsAfterMs = Math.max(delayMs, this.#o.breakers?.quotaWaitMs(this.model) ?? 0);
    if (outageMs + startsAfterMs > r.maxOutageMs) {
      return this.#fail(new CallbridgeError(error.code, `${error.message} (no agent for ${Math.round(outageMs)} ms; the next try could not start within ${r.maxOutageMs} ms)`, { cause: error }));
    }
    this.#schedule(cause === 'start' ? 'start' : 'fault', delayMs);
  }

  /** The next attempt after `delayMs`, or later if the model is paused for quota process-wide. */
  #schedule(cause: ReadyInfo['cause'], delayMs: number): void {
    const wait = Math.max(delayMs, this.#o.breakers?.quotaWaitMs(this.model) ?? 0);
    this.#timer = setTimeout(() => {
      const still = this.#o.breakers?.quotaWaitMs(this.model) ?? 0;
      if (still > 0) return this.#schedule(cause, still); // another call hit the quota meanwhile
      void this.#attempt(cause);
    }, wait);
  }

  #backoff(retryClass: ClassifiedClose['retryClass']): number {
    const r = this.#retry;
    const step = Math.max(0, this.#incidentFailures - 1);
    const [base, max] = retryClass === 'quota' ? [r.quotaBaseDelayMs, r.quotaMaxDelayMs] : [r.baseDelayMs, r.maxDelayMs];
    const delay = Math.min(max, base * 2 ** step);
    return Math.round(delay * (1 - r.jitter + 2 * r.jitter * this.#random()));
  }

  #breakerAllows(model: string): boolean {
    return this.#o.breakers ? this.#o.breakers.allows(model) : true;
  }

  #hasNextModel(): boolean {
    for (let i = this.#modelIndex + 1; i < this.#o.models.length; i++) {
      if (!this.#configFailed.has(this.#o.models[i]!) && this.#breakerAllows(this.#o.models[i]!)) return true;
    }
    return false;
  }

  /** Moves to the next model in the list whose breaker allows it; false when there is none. */
  #nextModel(): boolean {
    for (let i = this.#modelIndex + 1; i < this.#o.models.length; i++) {
      if (!this.#configFailed.has(this.#o.models[i]!) && this.#breakerAllows(this.#o.models[i]!)) {
        this.#modelIndex = i;
        return true;
      }
    }
    return false;
  }

  #fail(error: CallbridgeError): void {
    const attempts = this.#incidentAttempts;
    this.#state = 'failed';
    this.#o.log.error({ code: error.code, attempts, models: this.modelsTried }, 'Gemini Live unavailable for this call: giving up');
    this.emit('failed', { error: new CallbridgeError('CB_CALL_GEMINI_UNAVAILABLE', error.message, { cause: error }), attempts });
    this.#startResolve?.(false);
    this.#startResolve = undefined;
  }

  // --- the live session ------------------------------------------------------------------------

  #attach(session: GeminiLiveSession): void {
    this.#session = session;
    const forward = (event: GeminiEvent) => this.#onEvent(event);
    const types = [
      'audio', 'text', 'inputTranscription', 'outputTranscription', 'interrupted', 'generationComplete',
      'turnComplete', 'waitingForInput', 'toolCall', 'toolCallCancellation', 'goAway', 'sessionResumptionUpdate', 'usage',
    ] as const;
    this.#unsubscribe = types.map((type) => session.on(type, forward));
    this.#unsubscribe.push(session.on('close', (close) => this.#onClose(session, close.byUs, close.error, close.code, close.reason)));
  }

  #detach(): GeminiLiveSession | undefined {
    this.#stall.disarm();
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    const session = this.#session;
    this.#session = undefined;
    return session;
  }

  #onEvent(event: GeminiEvent): void {
    switch (event.type) {
      case 'audio':
      case 'text':
      case 'toolCall':
        this.#generating = true;
        // The model acted: the client turn and tool results before it are in its context.
        this.#context.modelActed();
        this.#stall.content();
        this.#replyDue = false; // the answer is under way
        if (!this.#contentThisTurn) {
          this.#contentThisTurn = true;
          // The session works: the incident is over.
          this.#sameModelRetries = 0;
          this.#incidentAttempts = 0;
          this.#incidentFailures = 0;
          this.#o.breakers?.record(this.model, true);
        }
        break;
      case 'interrupted':
      case 'turnComplete':
        this.#generating = false;
        this.#contentThisTurn = false;
        this.#busy = false;
        this.#stall.disarm();
        break;
      case 'sessionResumptionUpdate':
        if (event.resumable && event.newHandle) this.#handle = event.newHandle;
        else if (!event.resumable && !this.#contentThisTurn) {
          // Gemini is working on a reply: it must start one in time (seed 002: it may never).
          this.#busy = true;
          if (!this.#callerSpeaking) this.#stall.arm(this.model);
        }
        break;
      case 'goAway':
        this.#planHandover(event.timeLeftMs);
        break;
      default:
    }
    this.emit('event', event);
    if (this.#handoverWanted && this.#quiet()) void this.#handover();
  }

  /** State re-read after an await (a method call, so TypeScript does not keep a stale narrowing). */
  #closed(): boolean {
    return this.#state === 'closed';
  }

  /**
   * A moment to hand over without costing the caller anything: the model is not speaking or
   * working on a reply, no tool call is pending, and the caller is neither talking nor waiting for
   * an answer to what they just said (a hand-over then would lose the reply being prepared and
   * add a reconnect to its latency). Right after a reply's turnComplete is the usual one.
   */
  #quiet(): boolean {
    return !this.#generating && !this.#busy && !this.#callerSpeaking && !this.#replyDue && (this.#session?.pendingToolCalls.length ?? 0) === 0;
  }

  #planHandover(timeLeftMs: number | undefined): void {
    this.#handoverWanted = true;
    const margin = this.#o.goAwayMarginMs ?? 1000;
    const leftMs = Math.max(0, (timeLeftMs ?? 0) - margin);
    clearTimeout(this.#goAwayTimer);
    this.#goAwayTimer = setTimeout(() => void this.#handover(), leftMs);
    this.#goAwayTimer.unref?.();
  }

  /** goAway: close the old socket first (a resume while it is open is refused), then resume. */
  async #handover(): Promise<void> {
    if (!this.#handoverWanted || this.#state !== 'ready') return;
    this.#handoverWanted = false;
    clearTimeout(this.#goAwayTimer);
    this.#state = 'recovering';
    this.#outageStartedAt = performance.now();
    const old = this.#detach();
    await old?.close('goAway handover');
    if (this.#closed()) return;
    this.#schedule('goAway', 0);
  }

  #onClose(session: GeminiLiveSession, byUs: boolean, error: ClassifiedClose | undefined, code: number, reason: string): void {
    if (session !== this.#session) return;
    this.#detach();
    if (byUs || this.#state === 'closed') return;
    clearTimeout(this.#goAwayTimer);
    this.#handoverWanted = false;
    this.#outageStartedAt = performance.now();
    const model = this.model;
    if (!this.#contentThisTurn && error?.retryable) this.#o.breakers?.record(model, false);
    this.emit('down', {
      model,
      error,
      duringConnect: false,
      errorCode: error?.error.code ?? 'CB_GEMINI_CLOSED',
      code,
      reason,
    });
    this.#state = 'recovering';
    const beforeContent = this.#busy && !this.#contentThisTurn;
    this.#recover(error?.retryClass ?? 'transient', error?.error ?? new CallbridgeError('CB_GEMINI_CLOSED'), 'fault', beforeContent);
  }

  #safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#o.log.warn({ err }, `${what} failed`);
    }
  }

  /**
   * Gemini said it was generating but sent nothing in time (seed 002): replace the session now
   * rather than wait for its 1011, which can come 3 s later.
   */
  #onStall(waitedMs: number): void {
    const session = this.#session;
    if (!session || this.#state !== 'ready') return;
    const model = this.model;
    this.#detach();
    void session.close('stalled');
    clearTimeout(this.#goAwayTimer);
    this.#handoverWanted = false;
    this.#outageStartedAt = performance.now() - waitedMs;
    this.#o.breakers?.record(model, false);
    const reason = `no content ${waitedMs} ms after Gemini started a reply`;
    this.#o.log.warn({ model, waitedMs, code: 'CB_GEMINI_STALLED' }, 'Gemini stalled before replying: replacing the session');
    this.emit('down', { model, error: undefined, duringConnect: false, errorCode: 'CB_GEMINI_STALLED', code: 0, reason });
    this.#state = 'recovering';
    this.#recover('transient', new CallbridgeError('CB_GEMINI_STALLED', reason), 'fault', true);
  }

  /** A fresh session knows nothing: give it the conversation so far. */
  #reseed(): void {
    try {
      const history = this.#o.history?.() ?? [];
      if (history.length === 0) return;
      this.#session!.sendClientContent(history, false);
    } catch (err) {
      this.#o.log.warn({ err }, 're-seeding the new session failed');
    }
  }


}
