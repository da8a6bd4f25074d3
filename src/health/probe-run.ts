/**
 * The model probe: real Live sessions on each model, N short spoken turns each, to see before going
 * live how a model behaves from this account (docs/gemini-failure-modes.md, seed 002: one model
 * closed 1011 before any content on 80-90 % of turns while another was clean). Used by
 * `npm run probe` (scripts/probe.ts) and, one turn at a time, by the breakers' background probe
 * (./model-probe.ts).
 *
 * A turn is a recorded sentence (./probe-audio.ts) sent as realtimeInput.audio between
 * activityStart and activityEnd (automatic activity detection off, so the end of the caller's turn
 * is exact and the timings hold no VAD delay; docs/gemini-live.md §2.3). The first turn of a
 * session asks for the opening hours, which the model should look up with the one declared
 * function (answered at once), until one such lookup has been measured; the other turns are plain.
 * A session that fails is replaced for the next turn; turns are never retried.
 *
 * Outcome of a turn: `ok` (content, then turnComplete), or the failure: closed before any content
 * (the seed 002 pattern), closed after some, no content in time, content but no turnComplete in
 * time, turnComplete with no content, or the session could not be opened. Times (ms, `now()`):
 * setup = socket → setupComplete; first content = activityEnd → first audio/text/toolCall;
 * function round trip = toolCall → first content after our toolResponse.
 */
import { CallbridgeError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { GeminiLiveSession, type GeminiLiveSessionOptions, type LiveSessionConfig, type SessionClose, type ToolCallRequest } from '../gemini/index.js';
import {
  PROBE_FUNCTION,
  PROBE_FUNCTION_ANSWER,
  PROBE_FUNCTION_NAME,
  PROBE_INPUT_RATE_HZ,
  PROBE_SYSTEM_INSTRUCTION,
  loadProbeUtterances,
  type ProbeUtterance,
} from './probe-audio.js';

export type TurnStatus = 'ok' | 'closed-before-content' | 'closed-after-content' | 'no-content' | 'incomplete' | 'no-reply' | 'setup-failed';

export interface TurnResult {
  /** 0-based turn of the model's run. */
  index: number;
  kind: 'function' | 'plain';
  /** 1-based session the turn ran on. */
  session: number;
  status: TurnStatus;
  /** The close (server's, or the failed setup's) that ended the turn. */
  close?: { code?: number; reason: string; error: string };
  /** Set on the first turn of a session: socket → setupComplete. */
  setupMs?: number;
  firstContentMs?: number;
  /** The model called the probe's function in this turn. */
  functionCalled?: boolean;
  functionRoundTripMs?: number;
}

export interface ModelRun {
  model: string;
  sessions: number;
  turns: TurnResult[];
}

export interface ProbeSessionOptions {
  apiKey: string;
  /** GEMINI_LIVE_URL; default Google's endpoint. */
  url?: string | undefined;
  log?: Logger;
  /** Audio pace: 1 = real time (default), Infinity = as fast as the socket takes it. */
  pace?: number;
  /** Per setup (default 10 000). */
  setupTimeoutMs?: number;
  /** activityEnd → first content (default 10 000). */
  replyTimeoutMs?: number;
  /** activityEnd → turnComplete (default 30 000). */
  turnTimeoutMs?: number;
  /**
   * The URL of one session (an offline run names the emulator scenario here, see
   * probeScenarios); default `url`.
   */
  sessionUrl?: (s: { model: string; firstTurn: 'function' | 'plain' }) => string | undefined;
  connect?: (options: GeminiLiveSessionOptions) => Promise<GeminiLiveSession>;
  now?: () => number;
}

export interface ProbeModelOptions extends ProbeSessionOptions {
  turns: number;
  /** Play the function turn (default true; the breakers' one-turn check plays a plain one). */
  functionTurn?: boolean;
  /** Called after every turn (progress). */
  onTurn?: (model: string, turn: TurnResult) => void;
}

const CHUNK_MS = 40;
const CHUNK_SAMPLES = (PROBE_INPUT_RATE_HZ / 1000) * CHUNK_MS;

/** The probe's session config: BLOCKING lookup, manual activity detection, output transcription. */
export function probeSessionConfig(model: string): LiveSessionConfig {
  return {
    model,
    systemInstruction: PROBE_SYSTEM_INSTRUCTION,
    tools: [{ ...PROBE_FUNCTION }],
    realtimeInputConfig: { automaticActivityDetection: { disabled: true } },
    inputTranscription: false,
    outputTranscription: true,
  };
}

/** Runs `turns` turns on one model; sessions are opened as needed. */
export async function probeModel(model: string, o: ProbeModelOptions): Promise<ModelRun> {
  const log = (o.log ?? silentLogger()).child({ component: 'probe', model });
  const now = o.now ?? (() => performance.now());
  const audio = loadProbeUtterances();
  const run: ModelRun = { model, sessions: 0, turns: [] };
  let session: GeminiLiveSession | undefined;
  let functionMeasured = o.functionTurn === false;
  let plain = 0;
  try {
    for (let index = 0; index < o.turns; index++) {
      const fresh = !session || !session.isOpen || session.goAway !== undefined;
      const kind = fresh && !functionMeasured ? 'function' : 'plain';
      let setupMs: number | undefined;
      if (fresh) {
        await session?.close('probe: next session');
        session = undefined;
        run.sessions++;
        const opened = await openSession(model, kind, o, log);
        if ('failure' in opened) {
          const failed: TurnResult = { index, kind, session: run.sessions, status: 'setup-failed', close: opened.failure };
          run.turns.push(failed);
          o.onTurn?.(model, failed);
          if (!opened.retryable) {
            // The model is refused (unknown id, invalid setup): every remaining turn fails the same way.
            for (let rest = index + 1; rest < o.turns; rest++) run.turns.push({ ...failed, index: rest });
            break;
          }
          continue;
        }
        session = opened.session;
        setupMs = opened.setupMs;
      }
      const utterance = kind === 'function' ? audio.functionTurn : audio.plain[plain++ % audio.plain.length]!;
      const result = await playTurn(session!, utterance, o, now);
      const turn: TurnResult = { index, kind, session: run.sessions, ...(setupMs !== undefined ? { setupMs } : {}), ...result };
      if (turn.functionRoundTripMs !== undefined) functionMeasured = true;
      run.turns.push(turn);
      o.onTurn?.(model, turn);
      log.debug({ turn }, 'probe turn');
      if (turn.status !== 'ok') {
        await session?.close('probe: turn failed');
        session = undefined;
      }
    }
  } finally {
    await session?.close('probe done');
  }
  return run;
}

type Opened = { session: GeminiLiveSession; setupMs: number } | { failure: NonNullable<TurnResult['close']>; retryable: boolean };

async function openSession(model: string, firstTurn: 'function' | 'plain', o: ProbeSessionOptions, log: Logger): Promise<Opened> {
  const connect = o.connect ?? ((opts: GeminiLiveSessionOptions) => GeminiLiveSession.connect(opts));
  const url = o.sessionUrl?.({ model, firstTurn }) ?? o.url;
  try {
    const session = await connect({
      apiKey: o.apiKey,
      ...(url ? { url } : {}),
      setupTimeoutMs: o.setupTimeoutMs ?? 10_000,
      log,
      config: probeSessionConfig(model),
    });
    return { session, setupMs: session.setupLatencyMs ?? 0 };
  } catch (err) {
    const e = err instanceof CallbridgeError ? err : new CallbridgeError('CB_GEMINI_HANDSHAKE_FAILED', String((err as Error)?.message ?? err));
    const detail = (e.detail ?? {}) as { closeCode?: unknown; closeReason?: unknown };
    const code = typeof detail.closeCode === 'number' ? detail.closeCode : undefined;
    const reason = typeof detail.closeReason === 'string' ? detail.closeReason : e.message;
    return { failure: { ...(code !== undefined ? { code } : {}), reason, error: e.code }, retryable: e.retryable };
  }
}

type PlayResult = Omit<TurnResult, 'index' | 'kind' | 'session' | 'setupMs'>;

/** One spoken turn on an open session: activityStart, the sentence, activityEnd, then the model's reply. */
export function playTurn(session: GeminiLiveSession, utterance: ProbeUtterance, o: ProbeSessionOptions, now: () => number = () => performance.now()): Promise<PlayResult> {
  return new Promise<PlayResult>((resolve) => {
    const t = new TurnWatch(session, o, now, resolve);
    t.start(utterance.samples);
  });
}

/** The bookkeeping of one turn, from the first audio chunk to its outcome (settled exactly once). */
class TurnWatch {
  readonly #session: GeminiLiveSession;
  readonly #o: ProbeSessionOptions;
  readonly #now: () => number;
  readonly #resolve: (r: PlayResult) => void;
  readonly #offs: (() => void)[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #settled = false;
  #endedAt: number | undefined;
  #firstContentMs: number | undefined;
  #toolCallAt: number | undefined;
  #answeredAt: number | undefined;
  #roundTripMs: number | undefined;
  #functionCalled = false;

  constructor(session: GeminiLiveSession, o: ProbeSessionOptions, now: () => number, resolve: (r: PlayResult) => void) {
    this.#session = session;
    this.#o = o;
    this.#now = now;
    this.#resolve = resolve;
  }

  start(samples: Int16Array): void {
    const s = this.#session;
    this.#offs.push(
      s.on('audio', () => this.#content()),
      s.on('text', () => this.#content()),
      s.on('toolCall', (e) => this.#toolCall(e.calls)),
      s.on('turnComplete', () => this.#turnComplete()),
      s.on('close', (c) => this.#closed(c)),
    );
    try {
      s.sendActivityStart();
    } catch {
      return this.#closed({ byUs: false, code: 0, reason: 'the session closed before the turn' });
    }
    this.#speak(samples).catch((err: unknown) => this.#settle('no-content', { reason: `the probe could not send the turn: ${(err as Error)?.message ?? String(err)}`, error: 'CB_GEMINI_SEND_REFUSED' }));
  }

  async #speak(samples: Int16Array): Promise<void> {
    const pace = this.#o.pace ?? 1;
    const started = this.#now();
    for (let at = 0; at < samples.length && !this.#settled; at += CHUNK_SAMPLES) {
      if (!this.#session.isOpen) return;
      this.#session.sendAudio(samples.subarray(at, at + CHUNK_SAMPLES));
      if (Number.isFinite(pace)) {
        const dueMs = ((at + CHUNK_SAMPLES) / (PROBE_INPUT_RATE_HZ / 1000)) / pace;
        const wait = dueMs - (this.#now() - started);
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      }
    }
    if (this.#settled || !this.#session.isOpen) return;
    try {
      this.#session.sendActivityEnd();
    } catch {
      return; // closed meanwhile: the close event settles the turn
    }
    this.#endedAt = this.#now();
    this.#timers.push(
      setTimeout(() => this.#settle(this.#firstContentMs === undefined ? 'no-content' : 'incomplete'), this.#o.replyTimeoutMs ?? 10_000),
    );
  }

  /** audio, text or a toolCall: the model answered. */
  #content(): void {
    const t = this.#now();
    if (this.#firstContentMs === undefined && this.#endedAt !== undefined) {
      this.#firstContentMs = t - this.#endedAt;
      // Content came: the turn now has until turnTimeoutMs to complete.
      for (const timer of this.#timers.splice(0)) clearTimeout(timer);
      const left = (this.#o.turnTimeoutMs ?? 30_000) - (t - this.#endedAt);
      this.#timers.push(setTimeout(() => this.#settle('incomplete'), Math.max(0, left)));
    }
    if (this.#answeredAt !== undefined && this.#roundTripMs === undefined) this.#roundTripMs = t - this.#toolCallAt!;
  }

  #toolCall(calls: readonly ToolCallRequest[]): void {
    this.#content();
    this.#functionCalled ||= calls.some((c) => c.name === PROBE_FUNCTION_NAME);
    this.#toolCallAt ??= this.#now();
    try {
      this.#session.sendToolResponse(
        calls.map((c) => ({ id: c.id, name: c.name, response: c.name === PROBE_FUNCTION_NAME ? { ...PROBE_FUNCTION_ANSWER } : { error: `no function named ${c.name}` } })),
      );
      this.#answeredAt ??= this.#now();
    } catch {
      // The session closed meanwhile: its close event settles the turn.
    }
  }

  #turnComplete(): void {
    if (this.#endedAt === undefined) return;
    // A model that called the function owes the answer that uses it before the turn counts.
    if (this.#answeredAt !== undefined && this.#roundTripMs === undefined) return;
    this.#settle(this.#firstContentMs === undefined ? 'no-reply' : 'ok');
  }

  #closed(c: SessionClose): void {
    const close = { ...(c.code ? { code: c.code } : {}), reason: c.reason, error: c.error?.error.code ?? 'CB_GEMINI_CLOSED' };
    this.#settle(this.#firstContentMs === undefined ? 'closed-before-content' : 'closed-after-content', close);
  }

  #settle(status: TurnStatus, close?: TurnResult['close']): void {
    if (this.#settled) return;
    this.#settled = true;
    for (const off of this.#offs) off();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#resolve({
      status,
      ...(close ? { close } : {}),
      ...(this.#firstContentMs !== undefined ? { firstContentMs: this.#firstContentMs } : {}),
      ...(this.#functionCalled ? { functionCalled: true } : {}),
      ...(this.#roundTripMs !== undefined ? { functionRoundTripMs: this.#roundTripMs } : {}),
    });
  }
}

export interface ProbeRunOptions extends ProbeModelOptions {
  models: readonly string[];
}

/** Every model at once (each one's turns in order). */
export function runProbe(o: ProbeRunOptions): Promise<ModelRun[]> {
  return Promise.all(o.models.map((model) => probeModel(model, o)));
}
