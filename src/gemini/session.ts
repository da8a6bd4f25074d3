/**
 * One Gemini Live connection: connect (setup → setupComplete), typed events, sends, tool-call
 * bookkeeping, audio held during blocking tool calls, resumption handle, classified closes.
 * Reconnecting/resuming is the caller's job (src/call): it reads `resumptionHandle`, `goAway`
 * and the `close` event's retryClass. All state is per instance.
 */
import type { ClientOptions, RawData, WebSocket } from 'ws';
import type { Content, ContextUpdate, FunctionDeclaration, Setup } from './protocol.js';
import type { ModelFamily } from './families.js';
import { INPUT_AUDIO_MIME, INPUT_SAMPLE_RATE_HZ } from './protocol.js';
import { Handshake, liveUrl } from './connect.js';
import { buildSetup, type BuiltSetup, type LiveSessionConfig } from './setup.js';
import { parseServerFrame, type GeminiEvent } from './parse.js';
import { classifyClose, type ClassifiedClose } from './close-codes.js';
import { TypedEmitter } from '../shared/emitter.js';
import { PcmRing } from '../audio/pcm-ring.js';
import { PendingToolCalls, type PendingCall, type ToolResponseInput, type TruncatedResponse } from './tool-calls.js';
import { pcm16ToBytes } from '../audio/pcm.js';
import { CallbridgeError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { SessionLog } from './session-log.js';

export interface GeminiLiveSessionOptions {
  /** Sent as the x-goog-api-key header, never in the URL. */
  apiKey: string;
  config?: LiveSessionConfig;
  /** GEMINI_LIVE_URL override (emulator, proxy); a URL without a path gets the Live path. Default LIVE_URL. */
  url?: string;
  /** From socket creation to setupComplete; default 10 000. */
  setupTimeoutMs?: number;
  log?: Logger;
  /** Serialized size cap of one tool response; default 16 384 (minimum 1024). */
  toolResponseMaxBytes?: number;
  /** Caller audio kept while a blocking tool call is pending (oldest dropped); default 1000. */
  heldAudioMaxMs?: number;
  /** Largest inbound frame; default 16 MiB. */
  maxPayloadBytes?: number;
  /** Test hook. */
  createWebSocket?: (url: string, options: ClientOptions) => WebSocket;
}

export interface SessionClose {
  /** True when our close() (or a failed connect) ended the socket: not an error. */
  byUs: boolean;
  code: number;
  reason: string;
  /** Set for every close the server (or the network) initiated. */
  error?: ClassifiedClose;
}

export type SessionEvents = { [E in GeminiEvent as E['type']]: E } & {
  close: SessionClose;
  malformed: { reason: string };
};

export interface ToolResponseResult {
  truncated: TruncatedResponse[];
  /** Held caller audio sent right after the response. */
  flushedAudioMs: number;
}

const AUDIO_PREFIX = `{"realtimeInput":{"audio":{"mimeType":"${INPUT_AUDIO_MIME}","data":"`;
const AUDIO_SUFFIX = '"}}}';
const SAMPLES_PER_MS = INPUT_SAMPLE_RATE_HZ / 1000;
const FLUSH_CHUNK_SAMPLES = 100 * SAMPLES_PER_MS;
const CLOSE_GRACE_MS = 2000;

type State = 'connecting' | 'open' | 'closed';
type EarlyEvent = { [K in Exclude<keyof SessionEvents, 'close'>]: { type: K; event: SessionEvents[K] } }[Exclude<keyof SessionEvents, 'close'>];

export class GeminiLiveSession extends TypedEmitter<SessionEvents> {
  /** Validates the config, opens the socket, sends setup and resolves on setupComplete. */
  static async connect(options: GeminiLiveSessionOptions): Promise<GeminiLiveSession> {
    const built = buildSetup(options.config); // throws CB_GEMINI_SETUP_INVALID before any I/O
    const session = new GeminiLiveSession(options, built);
    await session.#open();
    return session;
  }

  readonly modelId: string;
  /** The model's family (undefined for an id no family lists): what may be sent mid-session. */
  readonly family: ModelFamily | undefined;
  readonly setup: Setup;
  sessionId: string | undefined;
  setupLatencyMs: number | undefined;
  #resumptionHandle: string | undefined;
  #goAway: { timeLeftMs?: number; receivedAtMs: number } | undefined;

  readonly #options: GeminiLiveSessionOptions;
  readonly #built: BuiltSetup;
  readonly #log: SessionLog;
  readonly #tools: PendingToolCalls;
  readonly #hold: PcmRing;
  #ws: WebSocket | undefined;
  #state: State = 'connecting';
  #closingByUs = false;
  #closed: Promise<void>;
  #markClosed!: () => void;
  #droppedLoggedMs = 0;
  /** The model has produced content: on an 'initial-history' family clientContent is over (§2.2). */
  #modelActed = false;
  #closeGraceTimer: NodeJS.Timeout | undefined;
  #handshake: Handshake | undefined;
  /** Events (malformed included) until the caller has the session (setupComplete + one macrotask); then undefined. */
  #early: EarlyEvent[] | undefined = [];
  /** The last caller audio sent and its bytes (callers pass the same reused view every frame). */
  #audioIn: Int16Array | undefined;
  #audioBytes: Buffer | undefined;

  private constructor(options: GeminiLiveSessionOptions, built: BuiltSetup) {
    super((type, err) => this.#log.listenerThrew(String(type), err));
    this.#options = options;
    this.#built = built;
    this.modelId = built.modelId;
    this.family = built.capabilities;
    this.setup = built.setup;
    this.#log = new SessionLog((options.log ?? silentLogger()).child({ component: 'gemini', model: built.modelId }));
    this.#tools = new PendingToolCalls((name) => built.blockingFunctions.get(name) ?? true, built.capabilities?.functions.scheduling);
    this.#hold = new PcmRing((options.heldAudioMaxMs ?? 1000) * SAMPLES_PER_MS);
    this.#closed = new Promise((resolve) => (this.#markClosed = resolve));
  }

  /** Latest non-empty resumption handle (only kept while resumable). */
  get resumptionHandle(): string | undefined {
    return this.#resumptionHandle;
  }

  /** Set once the server announced the end of this connection. */
  get goAway(): { timeLeftMs?: number; receivedAtMs: number } | undefined {
    return this.#goAway;
  }

  /** The model has produced content (audio, text or a function call) on this connection. */
  get modelActed(): boolean {
    return this.#modelActed;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  get pendingToolCalls(): PendingCall[] {
    return this.#tools.list();
  }

  /** Caller audio currently held, and dropped so far, in ms. */
  get heldAudio(): { heldMs: number; droppedMs: number } {
    return { heldMs: this.#hold.lengthSamples / SAMPLES_PER_MS, droppedMs: this.#hold.droppedSamples / SAMPLES_PER_MS };
  }

  async #open(): Promise<void> {
    const url = liveUrl(this.#options.url);
    const started = performance.now();
    this.#log.connecting(url, this.#built.capabilities !== undefined);
    const hs = (this.#handshake = new Handshake({
      url,
      apiKey: this.#options.apiKey,
      setupJson: JSON.stringify({ setup: this.setup }),
      timeoutMs: this.#options.setupTimeoutMs ?? 10_000,
      maxPayloadBytes: this.#options.maxPayloadBytes ?? 16 * 1024 * 1024,
      createWebSocket: this.#options.createWebSocket,
      log: this.#log,
    }));
    this.#ws = hs.ws;
    hs.ws?.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
    hs.ws?.on('close', (code, reason) => this.#onClose(code, reason));
    await hs.ready;
    this.setupLatencyMs = Math.round(performance.now() - started);
    this.#log.setupComplete(this.setupLatencyMs, this.sessionId);
  }

  #onFrame(data: RawData, isBinary: boolean): void {
    const result = parseServerFrame(data, isBinary);
    if (result.kind === 'malformed') {
      this.#log.malformed(result.reason, result.preview);
      this.#emitOrHold({ type: 'malformed', event: { reason: result.reason } });
      return;
    }
    if (result.unknownFields.length > 0 || result.skipped.length > 0) this.#log.oddities(result.unknownFields, result.skipped);
    for (const event of result.events) {
      this.#apply(event);
      // Hot path (every audio chunk): no wrapper object unless the event is held.
      if (this.#early) this.#early.push({ type: event.type, event } as EarlyEvent);
      else this.emit(event.type, event as never);
    }
  }

  #emitOrHold(e: EarlyEvent): void {
    if (this.#early) this.#early.push(e);
    else this.emit(e.type, e.event as never);
  }

  /** Session bookkeeping for an event, before listeners see it. */
  #apply(event: GeminiEvent): void {
    switch (event.type) {
      case 'setupComplete':
        this.sessionId = event.sessionId;
        if (this.#handshake?.complete()) {
          this.#state = 'open';
          // Events that came with or right after setupComplete reach listeners attached after `await connect()`.
          setImmediate(() => this.#flushEarly());
        }
        break;
      case 'toolCall':
        this.#modelActed = true;
        this.#tools.add(event.calls);
        break;
      case 'audio':
      case 'text':
        this.#modelActed = true;
        break;
      case 'toolCallCancellation':
        this.#tools.cancel(event.ids);
        if (!this.#tools.blockingPending) this.#flushHeld();
        break;
      case 'sessionResumptionUpdate':
        if (event.resumable && event.newHandle) this.#resumptionHandle = event.newHandle;
        break;
      case 'goAway':
        this.#goAway = { ...(event.timeLeftMs !== undefined ? { timeLeftMs: event.timeLeftMs } : {}), receivedAtMs: Date.now() };
        this.#log.goAway(event.timeLeftMs, this.#resumptionHandle !== undefined);
        break;
      default:
    }
  }

  #flushEarly(): void {
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const e of early) this.emit(e.type, e.event as never);
  }

  #onClose(code: number, reasonBuffer: Buffer): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    clearTimeout(this.#closeGraceTimer);
    const reason = reasonBuffer.toString('utf8');
    const byUs = this.#closingByUs || this.#handshake?.failed === true;
    const error = byUs ? undefined : classifyClose(code, reason);
    if (error) this.#log.closed(error, this.#tools.list().length);
    else this.#log.closedByUs(code);
    this.#handshake?.closedEarly(error ? error.error : new CallbridgeError('CB_GEMINI_CLOSED', 'closed before setupComplete'));
    this.#tools.clear();
    this.#hold.clear();
    if (wasOpen) this.#flushEarly();
    this.#early = undefined;
    this.#markClosed();
    this.emit('close', { byUs, code, reason, ...(error ? { error } : {}) });
  }

  // --- sending ---------------------------------------------------------------------------------

  /**
   * Caller audio, 16 kHz PCM16 mono (hot path: no logging, one base64 string, no other copy).
   * Held back (bounded) while a blocking tool call is pending; dropped when the session is closed.
   */
  sendAudio(pcm16k: Int16Array): void {
    if (this.#state !== 'open') return;
    if (this.#tools.blockingPending) return this.#hold.push(pcm16k);
    // The bytes are reused while the caller passes the same reused view: they are that view's own
    // memory (little-endian hosts); a copy (big-endian) is made again for every frame.
    if (pcm16k !== this.#audioIn || this.#audioBytes?.buffer !== pcm16k.buffer) {
      this.#audioIn = pcm16k;
      this.#audioBytes = pcm16ToBytes(pcm16k);
    }
    this.#ws!.send(AUDIO_PREFIX + this.#audioBytes.toString('base64') + AUDIO_SUFFIX);
  }

  /** Typed text as realtime input. */
  sendText(text: string): void {
    this.#send({ realtimeInput: { text } }, 'sendText');
  }

  /**
   * Conversation turns (history seeding, or a turn; turnComplete starts generation). Refused once
   * the model has spoken on a family whose clientContent only seeds history (docs/gemini-live.md §2.2).
   */
  sendClientContent(turns: Content[], turnComplete = true): void {
    if (this.#modelActed && this.family?.midSession.clientContent === 'initial-history') {
      throw this.#refused('sendClientContent', `${this.family.label} takes clientContent only as initial history; send text as realtime input`);
    }
    for (const turn of turns) {
      for (const part of turn.parts) {
        if (part.inlineData && 'displayName' in part.inlineData) throw this.#refused('sendClientContent', 'inlineData.displayName is Vertex AI only');
      }
    }
    this.#send({ clientContent: { turns, turnComplete } }, 'sendClientContent');
  }

  /**
   * Replaces the system instruction and/or tools mid-session (docs/gemini-live.md §2.5), on the
   * families that accept it; refused (nothing sent) on the others.
   */
  sendContextUpdate(update: { systemInstruction?: string; tools?: FunctionDeclaration[] }): void {
    if (this.family && !this.family.midSession.contextUpdate) throw this.#refused('sendContextUpdate', `${this.family.label} does not accept contextUpdate`);
    const contextUpdate: ContextUpdate = {};
    if (update.systemInstruction !== undefined) contextUpdate.systemInstruction = { parts: [{ text: update.systemInstruction }] };
    if (update.tools !== undefined) contextUpdate.tools = { tools: update.tools.length > 0 ? [{ functionDeclarations: update.tools }] : [] };
    this.#send({ contextUpdate }, 'sendContextUpdate');
  }

  /** Tells automatic VAD the audio stream paused (> ~1 s); send audio again to resume. */
  sendAudioStreamEnd(): void {
    if (!this.#built.automaticActivityDetection) throw this.#refused('sendAudioStreamEnd', 'only valid with automatic activity detection');
    this.#send({ realtimeInput: { audioStreamEnd: true } }, 'sendAudioStreamEnd');
  }

  sendActivityStart(): void {
    if (this.#built.automaticActivityDetection) throw this.#refused('sendActivityStart', 'only valid when realtimeInputConfig.automaticActivityDetection.disabled is true');
    this.#send({ realtimeInput: { activityStart: {} } }, 'sendActivityStart');
  }

  sendActivityEnd(): void {
    if (this.#built.automaticActivityDetection) throw this.#refused('sendActivityEnd', 'only valid when realtimeInputConfig.automaticActivityDetection.disabled is true');
    this.#send({ realtimeInput: { activityEnd: {} } }, 'sendActivityEnd');
  }

  /**
   * Answers pending tool calls by id. Throws CB_GEMINI_TOOL_RESPONSE_INVALID (nothing sent) for an
   * unknown/answered id or a response that is not a plain object with output/error; oversized
   * responses are truncated with a note to the model. Held caller audio is flushed afterwards.
   */
  sendToolResponse(responses: ToolResponseInput[]): ToolResponseResult {
    if (this.#state !== 'open') throw this.#refused('sendToolResponse', 'the session is not open');
    const prepared = this.#tools.prepare(responses, Math.max(1024, this.#options.toolResponseMaxBytes ?? 16 * 1024));
    this.#send(prepared.json, 'sendToolResponse');
    this.#tools.commit(prepared);
    for (const t of prepared.truncated) this.#log.truncated(t);
    const flushedAudioMs = this.#tools.blockingPending ? 0 : this.#flushHeld();
    const droppedMs = this.heldAudio.droppedMs - this.#droppedLoggedMs;
    if (flushedAudioMs > 0 || droppedMs > 0) {
      this.#log.heldAudio(flushedAudioMs, droppedMs);
      this.#droppedLoggedMs += droppedMs;
    }
    return { truncated: prepared.truncated, flushedAudioMs };
  }

  /** Closes with 1000 (not an error); resolves once the socket is closed. */
  close(reason = 'client closing'): Promise<void> {
    const ws = this.#ws;
    if (this.#state === 'closed' || !ws) return this.#closed;
    this.#closingByUs = true;
    ws.close(1000, reason.slice(0, 120));
    // Do not wait up to ws's 30 s for the server's close frame.
    this.#closeGraceTimer ??= setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    return this.#closed;
  }

  #flushHeld(): number {
    const ws = this.#ws;
    if (this.#state !== 'open' || !ws) return 0;
    const samples = this.#hold.drain(FLUSH_CHUNK_SAMPLES, (chunk) => ws.send(AUDIO_PREFIX + pcm16ToBytes(chunk).toString('base64') + AUDIO_SUFFIX));
    return samples / SAMPLES_PER_MS;
  }

  #send(message: object | string, what: string): void {
    if (this.#state !== 'open') throw this.#refused(what, 'the session is not open');
    this.#ws!.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  #refused(what: string, why: string): CallbridgeError {
    return new CallbridgeError('CB_GEMINI_SEND_REFUSED', `${what} refused: ${why}`, { detail: { model: this.modelId } });
  }
}
