/**
 * The call's connection to its agent, kept alive across the agent's faults. One link per call: it
 * holds the current LiveSession (../ports.ts) and replaces it when it dies, as ./retry.ts decides
 * (retry by close class with backoff, resume with the latest handle or start fresh, fall back
 * along the flow's models past open breakers). Caller audio during an outage is kept (the last
 * 2 s) and sent once a session is up; tool results and an unanswered turn are re-told
 * (./link-context.ts); a stalled reply is cut short (./stall-watch.ts); a goAway is handed over
 * at a quiet moment (./handover.ts); fresh sessions are re-seeded with the conversation so far.
 * Session events are forwarded as `event`; `ready`/`down`/`failed` report the link itself.
 */
import { CallbridgeError } from '../../shared/errors.js';
import { TypedEmitter } from '../../shared/emitter.js';
import { ReplyTimes } from '../../health/reply-times.js';
import { PcmRing } from '../../audio/pcm-ring.js';
import type { AgentEvent, Clock, LiveSession, RetryClass, SessionClose, TimerHandle, ToolResult, Turn } from '../ports.js';
import { realClock } from '../clock.js';
import { AGENT_INPUT_RATE_HZ } from '../audio-path.js';
import { LinkContext } from './link-context.js';
import { StallWatch } from './stall-watch.js';
import { TurnState } from './turn-state.js';
import { Handover } from './handover.js';
import type { LinkEvents, LinkOptions, LinkState, ReadyInfo } from './types.js';
import { DEFAULT_RETRY, decideRecovery, firstModelIndex, type RetryPolicy } from './retry.js';

export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
export type { LinkBreakers, DownInfo, FailedInfo, LinkOptions, LinkState, ReadyInfo } from './types.js';
/** Agent input audio is 16 kHz PCM16 (docs/gemini-live.md §4). */
const SAMPLES_PER_MS = AGENT_INPUT_RATE_HZ / 1000;

export class GeminiLink extends TypedEmitter<LinkEvents> {
  readonly #o: LinkOptions;
  readonly #retry: RetryPolicy;
  readonly #random: () => number;
  readonly #clock: Clock;
  readonly #ring: PcmRing;
  #state: LinkState = 'idle';
  #session: LiveSession | undefined;
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
  #timer: TimerHandle | undefined;
  readonly #handover: Handover;
  /** What a restored session must be told: an unanswered client turn, results not acted on. */
  readonly #context = new LinkContext();
  readonly #stall: StallWatch;
  readonly #turn = new TurnState();
  #startResolve: ((ok: boolean) => void) | undefined;
  readonly modelsTried: string[] = [];

  constructor(options: LinkOptions) {
    super((type, err) => options.log.error({ err, event: String(type) }, 'link listener threw'));
    if (options.models.length === 0) throw new Error('GeminiLink needs at least one model');
    this.#o = options;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#random = options.random ?? Math.random;
    this.#clock = options.clock ?? realClock;
    this.#ring = new PcmRing((options.outageAudioMs ?? 2000) * SAMPLES_PER_MS);
    this.#stall = new StallWatch(options.replyTimes ?? new ReplyTimes(), this.#clock, (waitedMs) => this.#onStall(waitedMs));
    this.#handover = new Handover(this.#clock, options.goAwayMarginMs ?? 1000, () => void this.#handOver());
  }

  get state(): LinkState {
    return this.#state;
  }

  get model(): string {
    return this.#o.models[this.#modelIndex]!;
  }

  /** The session in use (undefined while none is up). */
  get session(): LiveSession | undefined {
    return this.#session;
  }

  /** Tool calls the current session waits on (none while no session is up). */
  get pendingToolCalls(): number {
    return this.#session?.pendingToolCalls.length ?? 0;
  }

  /** Opens the first session; resolves true when ready, false when every attempt failed. */
  start(): Promise<boolean> {
    if (this.#state !== 'idle') return Promise.resolve(this.#state === 'ready');
    this.#modelIndex = firstModelIndex(this.#o.models, this.#o.breakers);
    this.#state = 'connecting';
    this.#outageStartedAt = this.#clock.now();
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
   * The caller is talking (the bridge's own voice detection). The agent cannot be expected to
   * start its reply meanwhile, so the stall watch waits until the caller stops.
   */
  callerSpeaking(speaking: boolean): void {
    this.#turn.caller(speaking);
    if (speaking) this.#stall.disarm();
    else if (this.#turn.awaitingFirstContent && this.#state === 'ready') this.#stall.arm(this.model);
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
  sendClientContent(turns: Turn[], turnComplete = true): boolean {
    if (turnComplete) this.#context.clientTurn(turns);
    if (this.#state !== 'ready') return false;
    this.#session!.sendClientContent(turns, turnComplete);
    return true;
  }

  /**
   * Answers tool calls. Calls that belong to the current session are answered by id; results for
   * calls of a session that died are told to the new session as context once it is up.
   */
  sendToolResponse(responses: ToolResult[]): void {
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
    this.#clock.clearTimeout(this.#timer);
    this.#handover.cancel();
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
    let session: LiveSession;
    try {
      // Inside the try: a config builder that throws is a failed attempt, not an unhandled rejection.
      const config = this.#o.sessionConfig(model);
      session = await this.#o.connect({
        config: { ...config, model, sessionResumption: { enabled: true, ...(this.#handle ? { handle: this.#handle } : {}) } },
        log: this.#o.log,
      });
    } catch (err) {
      if (this.#closed()) return;
      this.#connectFailed(err, model, cause);
      return;
    }
    if (this.#closed()) {
      void session.close('call ended');
      return;
    }
    this.#up(session, model, cause);
  }

  #connectFailed(err: unknown, model: string, cause: ReadyInfo['cause']): void {
    const error = err instanceof CallbridgeError ? err : new CallbridgeError('CB_GEMINI_HANDSHAKE_FAILED', String(err), { cause: err });
    const retryClass = (error.detail?.['retryClass'] as RetryClass | undefined) ?? (error.retryable ? 'transient' : 'none');
    // As for a live close: a config error is this call's setup, not the model failing.
    if (retryClass !== 'none') this.#o.breakers?.record(model, false);
    this.emit('down', {
      model,
      error: undefined,
      duringConnect: true,
      errorCode: error.code,
      code: Number(error.detail?.['closeCode'] ?? 0),
      reason: String(error.detail?.['closeReason'] ?? error.message),
    });
    this.#recover(retryClass, error, cause);
  }

  /** A session is set up: attach it, tell the call, then give it what the old one was owed. */
  #up(session: LiveSession, model: string, cause: ReadyInfo['cause']): void {
    const resumed = this.#handle !== undefined;
    this.#attach(session);
    const outageMs = Math.round(this.#clock.now() - this.#outageStartedAt);
    const attempts = this.#attempts;
    this.#attempts = 0;
    this.#state = 'ready';
    this.#turn.reset();
    // A fresh session knows nothing: give it the conversation so far.
    if (!resumed && cause !== 'start') this.#safely('re-seeding the new session', () => this.#context.reseed(session, this.#o.history?.() ?? []));
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
   * Carries out the recovery decision (./retry.ts). `beforeContent`: the session died after the
   * agent started a reply and before any of it (docs/gemini-failure-modes.md, seed 002).
   */
  #recover(retryClass: RetryClass, error: CallbridgeError, cause: ReadyInfo['cause'], beforeContent = false): void {
    if (this.#state === 'closed') return;
    this.#state = cause === 'start' && this.#startResolve ? 'connecting' : 'recovering';
    this.#incidentFailures++;
    const decision = decideRecovery(
      this.#retry,
      {
        models: this.#o.models,
        modelIndex: this.#modelIndex,
        hasHandle: this.#handle !== undefined,
        attempts: this.#incidentAttempts,
        failures: this.#incidentFailures,
        sameModelRetries: this.#sameModelRetries,
        configFailed: this.#configFailed,
      },
      { retryClass, beforeContent },
      this.#o.breakers,
      this.#random,
    );
    if (decision.kind === 'give-up') {
      if (retryClass === 'none') this.#configFailed.add(this.model);
      return this.#fail(error);
    }
    if (decision.configFailed) this.#configFailed.add(decision.configFailed);
    if (decision.dropHandle) this.#handle = undefined;
    this.#modelIndex = decision.modelIndex;
    this.#sameModelRetries = decision.sameModelRetries;
    if (decision.quotaPause) this.#o.breakers?.pauseForQuota(decision.quotaPause.model, decision.quotaPause.ms);
    // A shared quota pause can push the next attempt further out than the backoff.
    const outageMs = this.#clock.now() - this.#outageStartedAt;
    const startsAfterMs = Math.max(decision.delayMs, this.#o.breakers?.quotaWaitMs(this.model) ?? 0);
    if (outageMs + startsAfterMs > this.#retry.maxOutageMs) {
      return this.#fail(new CallbridgeError(error.code, `${error.message} (no agent for ${Math.round(outageMs)} ms; the next try could not start within ${this.#retry.maxOutageMs} ms)`, { cause: error }));
    }
    this.#schedule(cause === 'start' ? 'start' : 'fault', decision.delayMs);
  }

  /** The next attempt after `delayMs`, or later if the model is paused for quota process-wide. */
  #schedule(cause: ReadyInfo['cause'], delayMs: number): void {
    const wait = Math.max(delayMs, this.#o.breakers?.quotaWaitMs(this.model) ?? 0);
    this.#timer = this.#clock.setTimeout(() => {
      const still = this.#o.breakers?.quotaWaitMs(this.model) ?? 0;
      if (still > 0) return this.#schedule(cause, still); // another call hit the quota meanwhile
      void this.#attempt(cause);
    }, wait);
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

  #attach(session: LiveSession): void {
    this.#session = session;
    this.#unsubscribe = [session.onEvent((event) => this.#onEvent(event)), session.onClose((close) => this.#onClose(session, close))];
  }

  #detach(): LiveSession | undefined {
    this.#stall.disarm();
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    const session = this.#session;
    this.#session = undefined;
    return session;
  }

  #onEvent(event: AgentEvent): void {
    const signal = this.#turn.onEvent(event);
    if (event.type === 'audio' || event.type === 'text' || event.type === 'toolCall') {
      // The model acted: the client turn and tool results before it are in its context.
      this.#context.modelActed();
      this.#stall.content();
    }
    if (signal === 'first-content') {
      // The session works: the incident is over.
      this.#sameModelRetries = 0;
      this.#incidentAttempts = 0;
      this.#incidentFailures = 0;
      this.#o.breakers?.record(this.model, true);
    } else if (signal === 'turn-ended') this.#stall.disarm();
    // The agent is working on a reply: it must start one in time (docs/gemini-failure-modes.md, seed 002).
    else if (signal === 'busy' && !this.#turn.callerSpeaking) this.#stall.arm(this.model);
    if (event.type === 'sessionResumptionUpdate' && event.resumable && event.newHandle) this.#handle = event.newHandle;
    if (event.type === 'goAway') this.#handover.plan(event.timeLeftMs);
    this.emit('event', event);
    if (this.#handover.wanted && this.#turn.quiet(this.pendingToolCalls)) void this.#handOver();
  }

  /** State re-read after an await (a method, so TypeScript keeps no stale narrowing). */
  #closed(): boolean {
    return this.#state === 'closed';
  }

  /** goAway: close the old socket first (a resume while it is open is refused), then resume. */
  async #handOver(): Promise<void> {
    if (!this.#handover.wanted || this.#state !== 'ready') return;
    this.#handover.cancel();
    this.#state = 'recovering';
    this.#outageStartedAt = this.#clock.now();
    const old = this.#detach();
    await old?.close('goAway handover');
    if (this.#closed()) return;
    this.#schedule('goAway', 0);
  }

  #onClose(session: LiveSession, close: SessionClose): void {
    if (session !== this.#session) return;
    this.#detach();
    if (close.byUs || this.#state === 'closed') return;
    this.#handover.cancel();
    this.#outageStartedAt = this.#clock.now();
    const model = this.model;
    const error = close.error;
    if (!this.#turn.contentThisTurn && error?.retryable) this.#o.breakers?.record(model, false);
    this.emit('down', { model, error, duringConnect: false, errorCode: error?.error.code ?? 'CB_GEMINI_CLOSED', code: close.code, reason: close.reason });
    this.#state = 'recovering';
    this.#recover(error?.retryClass ?? 'transient', error?.error ?? new CallbridgeError('CB_GEMINI_CLOSED'), 'fault', this.#turn.awaitingFirstContent);
  }

  #safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#o.log.warn({ err }, `${what} failed`);
    }
  }

  /**
   * The agent said it was generating but sent nothing in time (docs/gemini-failure-modes.md,
   * seed 002): replace the session now rather than wait for its 1011, which can come 3 s later.
   */
  #onStall(waitedMs: number): void {
    const session = this.#session;
    if (!session || this.#state !== 'ready') return;
    const model = this.model;
    this.#detach();
    void session.close('stalled');
    this.#handover.cancel();
    this.#outageStartedAt = this.#clock.now() - waitedMs;
    this.#o.breakers?.record(model, false);
    const reason = `no content ${waitedMs} ms after Gemini started a reply`;
    this.#o.log.warn({ model, waitedMs, code: 'CB_GEMINI_STALLED' }, 'Gemini stalled before replying: replacing the session');
    this.emit('down', { model, error: undefined, duringConnect: false, errorCode: 'CB_GEMINI_STALLED', code: 0, reason });
    this.#state = 'recovering';
    this.#recover('transient', new CallbridgeError('CB_GEMINI_STALLED', reason), 'fault', true);
  }
}
