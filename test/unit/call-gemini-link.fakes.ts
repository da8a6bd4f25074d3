/**
 * Fakes for the GeminiLink unit tests (call-gemini-link*.test.ts): a fake GeminiLiveSession with
 * only what the link uses, a fake `connect` with a per-attempt plan, and helpers to drive time
 * with node:test mock timers. Not a test file itself.
 */
import assert from 'node:assert/strict';
import { mock } from 'node:test';
import { classifyClose, type Content, type GeminiEvent, type PendingCall, type SessionEvents, type ToolResponseInput } from '../../src/gemini/index.js';
import type { AgentEvent, ConnectOptions, Instructions, LiveSession, SessionClose } from '../../src/call/ports.js';
import { CallbridgeError } from '../../src/shared/errors.js';
import { TypedEmitter } from '../../src/shared/emitter.js';
import { silentLogger } from '../../src/shared/log.js';
import { GeminiLink, type DownInfo, type FailedInfo, type LinkOptions, type ReadyInfo } from '../../src/call/link/link.js';

/** Close reasons from the catalogue (docs/gemini-live.md §7), one per retry class. */
export const CLOSES = {
  unavailable: [1011, 'The service is currently unavailable.'],
  internal: [1011, 'Internal error encountered.'],
  abnormal: [1006, ''],
  quota: [1011, 'You exceeded your current quota, please check your plan and billing details.'],
  staleHandle: [1008, 'BidiGenerateContent session not found'],
  modelNotFound: [1008, 'models/m-a is not found for API version v1beta, or is not supported for bidiGenerateContent'],
  invalidArgument: [1007, 'Request contains an invalid argument.'],
} as const satisfies Record<string, readonly [number, string]>;

export type Sent =
  | { kind: 'audio'; samples: Int16Array }
  | { kind: 'clientContent'; turns: Content[]; turnComplete: boolean }
  | { kind: 'toolResponse'; responses: ToolResponseInput[] }
  | { kind: 'text'; text: string }
  | { kind: 'instruct'; update: Instructions };

export class FakeSession extends TypedEmitter<SessionEvents> implements LiveSession {
  readonly sent: Sent[] = [];
  readonly model: string;
  /** The handle this session was opened with (a resume), if any. */
  readonly resumedWith: string | undefined;
  resumptionHandle: string | undefined;
  setupLatencyMs: number | undefined = 7;
  isOpen = true;
  closedWith: string | undefined;
  /** Sends attempted after the session closed (the real session drops audio, refuses the rest). */
  lateSends = 0;
  /** When set, close() resolves (and emits `close`) only when finishClose() is called. */
  holdClose = false;
  #finishClose: (() => void) | undefined;
  #pending: PendingCall[] = [];
  /** How instruct() reaches this fake agent (a real session takes it from its model family). */
  instructionChannel: LiveSession['instructionChannel'] = 'clientContent';
  /** Functions the fake declares NON_BLOCKING (every other call is BLOCKING). */
  readonly nonBlocking = new Set<string>();

  constructor(
    readonly id: number,
    readonly options: ConnectOptions,
    readonly journal: string[],
  ) {
    super((_type, err) => {
      throw err;
    });
    this.model = options.config?.model ?? '?';
    this.resumedWith = options.config?.sessionResumption?.handle;
  }

  get pendingToolCalls(): PendingCall[] {
    return [...this.#pending];
  }

  get asSession(): LiveSession {
    return this;
  }

  onEvent(listener: (event: AgentEvent) => void): () => void {
    const types = ['audio', 'text', 'inputTranscription', 'outputTranscription', 'interrupted', 'generationComplete', 'turnComplete', 'waitingForInput', 'toolCall', 'toolCallCancellation', 'goAway', 'sessionResumptionUpdate', 'usage'] as const;
    const offs = types.map((type) => this.on(type, listener as (event: GeminiEvent) => void));
    return () => offs.forEach((off) => off());
  }

  onClose(listener: (close: SessionClose) => void): () => void {
    return this.on('close', listener);
  }

  sendAudio(pcm16k: Int16Array): void {
    if (!this.isOpen) {
      this.lateSends++;
      return;
    }
    this.sent.push({ kind: 'audio', samples: pcm16k.slice() });
  }

  sendText(text: string): void {
    this.#mustBeOpen('sendText');
    this.sent.push({ kind: 'text', text });
  }

  sendClientContent(turns: Content[], turnComplete = true): void {
    this.#mustBeOpen('sendClientContent');
    this.sent.push({ kind: 'clientContent', turns, turnComplete });
  }

  instruct(update: Instructions): void {
    this.#mustBeOpen('instruct');
    this.sent.push({ kind: 'instruct', update });
  }

  sendToolResponse(responses: ToolResponseInput[]): { truncated: []; flushedAudioMs: number } {
    this.#mustBeOpen('sendToolResponse');
    for (const r of responses) {
      if (!this.#pending.some((c) => c.id === r.id)) throw new CallbridgeError('CB_GEMINI_TOOL_RESPONSE_INVALID', `unknown id ${r.id}`);
    }
    this.#pending = this.#pending.filter((c) => !responses.some((r) => r.id === c.id));
    this.sent.push({ kind: 'toolResponse', responses });
    return { truncated: [], flushedAudioMs: 0 };
  }

  close(reason = 'client closing'): Promise<void> {
    this.journal.push(`close #${this.id}`);
    if (!this.isOpen) return Promise.resolve();
    this.isOpen = false;
    this.closedWith = reason;
    this.#pending = [];
    const finish = (): void => {
      this.journal.push(`closed #${this.id}`);
      this.emit('close', { byUs: true, code: 1000, reason });
    };
    if (!this.holdClose) {
      finish();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#finishClose = () => {
        finish();
        resolve();
      };
    });
  }

  finishClose(): void {
    assert.ok(this.#finishClose, 'close() was called with holdClose set');
    this.#finishClose();
  }

  // --- test helpers: what the server does -------------------------------------------------------

  /** A server message, with the session's own bookkeeping first (as the real session does). */
  server(event: GeminiEvent): void {
    if (event.type === 'toolCall') this.#pending.push(...event.calls.map((c) => ({ id: c.id, name: c.name, blocking: !this.nonBlocking.has(c.name) })));
    if (event.type === 'toolCallCancellation') this.#pending = this.#pending.filter((c) => !event.ids.includes(c.id));
    if (event.type === 'sessionResumptionUpdate' && event.resumable && event.newHandle) this.resumptionHandle = event.newHandle;
    this.emit(event.type, event as never);
  }

  /** The model speaks (content): one audio chunk. */
  speak(): void {
    this.server({ type: 'audio', samples: new Int16Array(480), sampleRateHz: 24_000 });
  }

  handle(newHandle: string): void {
    this.server({ type: 'sessionResumptionUpdate', newHandle, resumable: true });
  }

  toolCall(id: string, name = 'lookup'): void {
    this.server({ type: 'toolCall', calls: [{ id, name, args: {} }] });
  }

  /** A close the server (or network) initiated, classified as the real session does. */
  serverClose(close: readonly [number, string]): void {
    const [code, reason] = close;
    assert.ok(this.isOpen, `session #${this.id} is still open when the server closes it`);
    this.isOpen = false;
    this.#pending = [];
    this.journal.push(`server closed #${this.id} ${code}`);
    this.emit('close', { byUs: false, code, reason, error: classifyClose(code, reason) });
  }

  clientContents(): Array<{ turns: Content[]; turnComplete: boolean }> {
    return this.sent.flatMap((s) => (s.kind === 'clientContent' ? [{ turns: s.turns, turnComplete: s.turnComplete }] : []));
  }

  clientText(): string[] {
    return this.clientContents().flatMap((c) => c.turns.flatMap((t) => t.parts.map((p) => p.text ?? '')));
  }

  audioSamples(): number[] {
    return this.sent.flatMap((s) => (s.kind === 'audio' ? [...s.samples] : []));
  }

  #mustBeOpen(what: string): void {
    if (!this.isOpen) {
      this.lateSends++;
      throw new CallbridgeError('CB_GEMINI_SEND_REFUSED', `${what} refused: the session is not open`);
    }
  }
}

/** What one connect attempt should do: open a session, fail, or wait for the test to settle it. */
export type Outcome = 'ok' | 'hold' | Error;

export interface ConnectCall {
  model: string;
  handle: string | undefined;
  options: ConnectOptions;
}

export class FakeGemini {
  readonly journal: string[] = [];
  readonly sessions: FakeSession[] = [];
  readonly calls: ConnectCall[] = [];
  /** Mocked Date.now() of each connect attempt. */
  readonly connectedAt: number[] = [];
  /** Settles the oldest held connect: open a session, or fail with an error. */
  readonly held: Array<(outcome: 'ok' | Error) => void> = [];
  readonly #plan: Outcome[] = [];

  plan(...outcomes: Outcome[]): this {
    this.#plan.push(...outcomes);
    return this;
  }

  get last(): FakeSession {
    const s = this.sessions.at(-1);
    assert.ok(s, 'a session was opened');
    return s;
  }

  readonly connect = (options: ConnectOptions): Promise<LiveSession> => {
    const model = options.config?.model ?? '?';
    const handle = options.config?.sessionResumption?.handle;
    this.calls.push({ model, handle, options });
    this.connectedAt.push(Date.now());
    this.journal.push(`connect ${model}${handle ? ` ${handle}` : ''}`);
    const outcome = this.#plan.shift() ?? 'ok';
    const settle = (o: 'ok' | Error): Promise<LiveSession> => {
      if (o instanceof Error) return Promise.reject(o);
      const session = new FakeSession(this.sessions.length + 1, options, this.journal);
      this.sessions.push(session);
      return Promise.resolve(session.asSession);
    };
    if (outcome !== 'hold') return settle(outcome);
    return new Promise((resolve, reject) => {
      this.held.push((o) => settle(o).then(resolve, reject));
    });
  };
}

/** A connect failure as the real session reports it (a close before setupComplete is classified). */
export function connectError(close: readonly [number, string]): CallbridgeError {
  return classifyClose(close[0], close[1]).error;
}

export const setupTimeout = (): CallbridgeError => new CallbridgeError('CB_GEMINI_SETUP_TIMEOUT', 'no setupComplete within 10000 ms (socket open)');
export const handshakeFailed = (): CallbridgeError =>
  new CallbridgeError('CB_GEMINI_HANDSHAKE_FAILED', 'HTTP 503 before the upgrade', { detail: { status: 503 } });

/** A link on a fake Gemini, recording what it tells the call. */
export class Harness {
  readonly gemini = new FakeGemini();
  readonly link: GeminiLink;
  readonly ready: ReadyInfo[] = [];
  readonly down: DownInfo[] = [];
  readonly failed: FailedInfo[] = [];
  readonly events: AgentEvent[] = [];

  constructor(options: Partial<LinkOptions> = {}) {
    this.link = new GeminiLink({
      models: ['m-a', 'm-b'],
      sessionConfig: (model) => ({ model, systemInstruction: 'Be brief.', tools: [] }),
      log: silentLogger(),
      random: () => 0.5,
      connect: this.gemini.connect,
      ...options,
    });
    this.link.on('ready', (info) => this.ready.push(info));
    this.link.on('down', (info) => this.down.push(info));
    this.link.on('failed', (info) => this.failed.push(info));
    this.link.on('event', (event) => this.events.push(event));
  }

  /** Starts the link and lets the first attempt run; `started` is start()'s promise. */
  async start(): Promise<{ started: Promise<boolean> }> {
    const started = this.link.start();
    await advance(0);
    return { started };
  }
}

/** Lets promise continuations (and anything they queue) run; setImmediate is not mocked. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Moves mocked time on by `ms`, then lets the async work it started run, including 0 ms timers
 * that work set (time does not move for those).
 */
export async function advance(ms: number): Promise<void> {
  mock.timers.tick(ms);
  await flush();
  for (let i = 0; i < 4; i++) {
    mock.timers.tick(0);
    await flush();
  }
}

/**
 * Moves time on 1 ms at a time until `done()` holds; returns the ms that took. Fails after
 * `limitMs` so a link that never gets there fails fast instead of hanging.
 */
export async function advanceUntil(done: () => boolean, limitMs: number): Promise<number> {
  for (let t = 0; t <= limitMs; t++) {
    if (done()) return t;
    await advance(1);
  }
  assert.fail(`condition not reached within ${limitMs} ms of mocked time`);
}

/** Mocks setTimeout and Date; performance.now follows the mocked Date, so outage figures are exact. */
export function useMockTimers(): void {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  mock.method(performance, 'now', () => Date.now());
}

export function resetMockTimers(): void {
  mock.restoreAll();
  mock.timers.reset();
}
