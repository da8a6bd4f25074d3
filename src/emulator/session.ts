/**
 * One emulated connection: the setup handshake (first message only, once), validation of every
 * frame with the real close codes, session resumption, lifetimes (goAway), connection-level faults
 * (quota, socket cuts, garbage frames), and sending every JSON message in a binary frame like the
 * real server. The conversation inside is conversation.ts.
 *
 * States: connected → setting-up (setup accepted, setupComplete pending; other messages queue)
 *         → active → closed.
 */
import type { WebSocket, RawData } from 'ws';
import type { ServerMessage, Setup } from '../gemini/protocol.js';
import type { Logger } from '../shared/log.js';
import {
  CLOSE_INTERNAL,
  CLOSE_INVALID_ARGUMENT,
  CLOSE_POLICY,
  REASONS,
  SESSION_LIMIT_CLOSE,
  close,
  type CloseSpec,
} from './close-reasons.js';
import { Conversation, type BoundTap } from './conversation.js';
import type { CursorSnapshot } from './cursor.js';
import { FaultPlan, SeededRng, deriveSeed, type FaultKind } from './faults.js';
import type { HandleStore } from './handles.js';
import { planLifetime } from './lifetimes.js';
import { rulesOf, type ModelSpec } from './models.js';
import type { AudioTap, ResolvedOptions } from './options.js';
import type { SessionRecord } from './recorder.js';
import type { Scenario } from './scenario.js';
import { espeakVoiceFor, type SpeechSynth } from './tts.js';
import { checkRealtimeInput, checkSetup, parseClientFrame, type ClientMessageType } from './validate.js';
import { checkClientContent, checkContextUpdate, type ContextUpdate } from './validate-family.js';

/**
 * What a resumption handle names: the model (may not change on resume), the scenario position and
 * when the session began (its length limit counts across connections, lifetimes.ts).
 */
export interface ResumeSnapshot {
  model: string;
  cursor: CursorSnapshot;
  sessionStartedAt: number;
}

export interface SessionContext {
  readonly options: ResolvedOptions;
  readonly models: Readonly<Record<string, ModelSpec>>;
  readonly handles: HandleStore<ResumeSnapshot>;
  readonly tts: SpeechSynth;
  readonly log: Logger;
  scenarioFor(modelId: string, systemInstruction: string): Scenario;
  /** Sessions holding a slot (setting up or active), other than `except`. */
  activeSessions(except: number): number;
  onClosed(session: EmulatedSession): void;
}

/** protobuf Duration JSON: "5s", "0.5s". */
export function formatDuration(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

export class EmulatedSession {
  readonly record: SessionRecord;
  readonly #ws: WebSocket;
  readonly #ctx: SessionContext;
  readonly #authorized: boolean;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #queue: { type: ClientMessageType; message: Record<string, unknown> }[] = [];
  readonly #rng: SeededRng;
  #faults: FaultPlan;
  #spec: ModelSpec | undefined;
  #conversation: Conversation | undefined;
  #closing = false;
  #sessionStartedAt = Date.now();

  /** The scenario of the flow the connection URL named (`?flow=`), when the emulator resolves flows. */
  readonly #flowScenario: Scenario | undefined;

  constructor(ws: WebSocket, record: SessionRecord, ctx: SessionContext, authorized: boolean, flowScenario?: Scenario) {
    this.#ws = ws;
    this.#flowScenario = flowScenario;
    this.record = record;
    this.#ctx = ctx;
    this.#authorized = authorized;
    this.#rng = new SeededRng(deriveSeed(ctx.options.seed, record.id, 'session'));
    this.#faults = new FaultPlan(ctx.options.faults, ctx.options.seed, record.id, '');
    ws.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
    ws.on('close', (code, reason) => this.#onClose(code, reason.toString('utf8')));
    ws.on('error', (err) => ctx.log.debug({ session: record.id, err }, 'emulator socket error'));
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  #onFrame(data: RawData, isBinary: boolean): void {
    if (this.#closing) return;
    try {
      this.#handleFrame(data, isBinary);
    } catch (err) {
      // An emulator bug must not take the process down: log it and fail like the service would.
      this.#ctx.log.error({ session: this.record.id, err }, 'emulator failed on a client message');
      this.closeWith(close(CLOSE_INTERNAL, REASONS.internal));
    }
  }

  #handleFrame(data: RawData, isBinary: boolean): void {
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const parsed = parseClientFrame(buf);
    this.record.receive(parsed.kind === 'ok' ? parsed.type : 'invalid', parsed.json, isBinary, buf.length);
    if (!this.#authorized) return this.closeWith(close(CLOSE_POLICY, REASONS.unregistered));
    if (parsed.kind === 'reject') return this.closeWith(parsed.close);
    const message = (parsed.message as Record<string, unknown>)[parsed.type] as Record<string, unknown>;
    switch (this.record.state) {
      case 'connected':
        if (parsed.type !== 'setup') return this.closeWith(close(CLOSE_INVALID_ARGUMENT, REASONS.invalidArgument));
        return this.#onSetup(message as unknown as Setup);
      case 'setting-up':
        if (parsed.type === 'setup') return this.closeWith(close(CLOSE_INVALID_ARGUMENT, REASONS.invalidArgument));
        this.#queue.push({ type: parsed.type, message });
        return;
      case 'active':
        return this.#dispatch(parsed.type, message);
      default:
        return;
    }
  }

  #dispatch(type: ClientMessageType, message: Record<string, unknown>): void {
    const conversation = this.#conversation;
    if (!conversation || this.#closing) return;
    switch (type) {
      case 'setup':
        return this.closeWith(close(CLOSE_INVALID_ARGUMENT, REASONS.invalidArgument));
      case 'clientContent': {
        const problem = this.#spec && this.record.setup ? checkClientContent(this.record.setup, this.#spec, conversation.modelTurns) : undefined;
        if (problem) return this.closeWith(problem);
        return conversation.onClientContent(message);
      }
      case 'toolResponse':
        return conversation.onToolResponse(message as never);
      case 'contextUpdate': {
        const problem = this.#spec ? checkContextUpdate(message as ContextUpdate, this.#spec) : undefined;
        if (problem) return this.closeWith(problem);
        return conversation.onContextUpdate(message as ContextUpdate);
      }
      case 'realtimeInput': {
        const check = checkRealtimeInput(message, {
          strictAudioMime: this.#ctx.options.strictAudioMime,
          rejectMediaChunks: this.#ctx.options.rejectMediaChunks,
          automaticActivityDetection: conversation.automaticVad,
        });
        if (check.kind === 'reject') return this.closeWith(check.close);
        return conversation.onRealtimeInput(message, check.audioRateHz);
      }
    }
  }

  #onSetup(setup: Setup): void {
    const { options, handles } = this.#ctx;
    const checked = checkSetup(setup, this.#ctx.models, this.record.apiVersion);
    if (checked.kind === 'reject') return this.closeWith(checked.close);
    const { facts } = checked;
    this.record.model = facts.modelId;
    this.record.setup = setup;
    const max = options.faults.maxConcurrentSessions;
    if (max !== undefined && this.#ctx.activeSessions(this.record.id) >= max) {
      return this.closeWith(close(CLOSE_INTERNAL, REASONS.quota), 'quota');
    }
    let logicalId = `session-${this.record.id}`;
    let snapshot: CursorSnapshot | undefined;
    const handle = setup.sessionResumption?.handle;
    if (handle) {
      const entry = handles.lookup(handle);
      if (!entry) return this.closeWith(close(CLOSE_POLICY, REASONS.sessionNotFound));
      // docs/gemini-live.md §5: resuming while the old socket of the session is open is refused with 1011.
      if (handles.openConnection(entry.logicalId) !== undefined) return this.closeWith(close(CLOSE_INTERNAL, REASONS.internal));
      // APPROXIMATE: every setup field may change on resume except the model; the wording is a guess.
      if (entry.snapshot.model !== facts.modelId) return this.closeWith(close(CLOSE_INVALID_ARGUMENT, REASONS.invalidArgument));
      logicalId = entry.logicalId;
      snapshot = entry.snapshot.cursor;
      this.#sessionStartedAt = entry.snapshot.sessionStartedAt;
      this.record.resumedFrom = handle;
    }
    this.record.logicalId = logicalId;
    this.record.state = 'setting-up';
    handles.open(logicalId, this.record.id);
    this.#spec = facts.spec;
    this.#faults = new FaultPlan(options.faults, options.seed, this.record.id, facts.modelId);
    const systemText = (setup.systemInstruction?.parts ?? []).map((p) => p.text ?? '').join('\n');
    const scenario = snapshot?.scenario ?? this.#flowScenario ?? this.#ctx.scenarioFor(facts.modelId, systemText);
    this.record.scenario = scenario.name;
    const voiceName = setup.generationConfig?.speechConfig?.voiceConfig?.prebuiltVoiceConfig?.voiceName;
    this.#conversation = new Conversation(this.#host(facts.modelId), {
      echo: facts.spec.echo === true,
      ...(options.echo ? { echoWindows: options.echo } : {}),
      ...(options.audioTap ? { tap: bindTap(options.audioTap, this.record.id) } : {}),
      scenario,
      snapshot,
      setup,
      rules: rulesOf(facts.spec),
      modality: facts.modality,
      voice: options.voice ?? scenario.voice ?? espeakVoiceFor(voiceName),
      timing: options.timing,
      vad: options.vad,
      tts: this.#ctx.tts,
      usageMetadata: options.usageMetadata,
      audioDuringToolCall: options.faults.audioDuringToolCall ?? 'ignore',
    });
    const { setupLatencyMs, setupLatencyJitterMs } = options.timing;
    const latency = setupLatencyMs + (setupLatencyJitterMs > 0 ? this.#rng.int(0, setupLatencyJitterMs) : 0);
    this.after(latency, () => this.#activate());
  }

  #activate(): void {
    const { options } = this.#ctx;
    this.record.state = 'active';
    this.send({ setupComplete: {} });
    this.record.event('setupComplete');
    this.#conversation?.prerender();
    this.#conversation?.announceHandle();
    const setup = this.record.setup;
    if (this.#spec && setup) {
      const plan = planLifetime(options, this.#spec, setup, this.#sessionStartedAt, Date.now());
      const goAway = plan.goAway;
      if (goAway) this.after(goAway.afterMs, () => this.#goAway(goAway.timeLeftMs));
      if (plan.sessionEndsInMs !== undefined) this.after(plan.sessionEndsInMs, () => this.closeWith(SESSION_LIMIT_CLOSE, 'sessionLimit'));
    }
    const cutAfter = options.faults.cutSocketAfterMs;
    if (cutAfter !== undefined) this.after(cutAfter, () => this.cut('cutSocket'));
    for (const { type, message } of this.#queue.splice(0)) this.#dispatch(type, message);
  }

  /** docs/gemini-live.md §5: goAway, then the family's close unless the client closed first. */
  #goAway(timeLeftMs: number): void {
    this.send({ goAway: { timeLeft: formatDuration(timeLeftMs) } });
    this.record.event('goAway', { timeLeftMs });
    this.after(timeLeftMs, () => {
      const policy = this.#spec !== undefined && rulesOf(this.#spec).goAwayIgnoredClose === 'goaway-1008';
      this.closeWith(policy ? close(CLOSE_POLICY, REASONS.goAwayIgnored) : close(CLOSE_INTERNAL, REASONS.deadline), 'goAwayClose');
    });
  }

  #host(modelId: string) {
    return {
      record: this.record,
      faults: this.#faults,
      rng: this.#rng,
      send: (m: ServerMessage) => this.send(m),
      sendJson: (json: string, audioBytes?: number) => this.sendJson(json, audioBytes),
      closeWith: (spec: CloseSpec, fault?: FaultKind) => this.closeWith(spec, fault),
      cut: (fault: FaultKind) => this.cut(fault),
      after: (ms: number, fn: () => void) => this.after(ms, fn),
      issueHandle: (cursor: CursorSnapshot) => {
        if (this.record.setup?.sessionResumption === undefined || !this.record.logicalId) return undefined;
        const handle = this.#ctx.handles.issue(this.record.logicalId, { model: modelId, cursor, sessionStartedAt: this.#sessionStartedAt });
        this.record.handles.push(handle);
        return handle;
      },
      logError: (err: unknown, message: string) => this.#ctx.log.error({ session: this.record.id, err }, message),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Sending and closing

  send(message: ServerMessage): boolean {
    return this.sendJson(JSON.stringify(message));
  }

  /** Sends one JSON message in a binary frame (like the real server); maybe a garbage frame first. */
  sendJson(json: string, audioBytes?: number): boolean {
    if (this.#closing || this.#ws.readyState !== this.#ws.OPEN) return false;
    const garbage = this.#faults.garbageFrame();
    if (garbage) {
      this.#ws.send(garbage.data, { binary: true });
      this.record.counts.garbageSent++;
      this.record.fault('garbage', { garbage: garbage.kind });
    }
    this.#ws.send(Buffer.from(json, 'utf8'), { binary: true });
    this.record.counts.sent++;
    if (audioBytes !== undefined) {
      this.record.counts.audioChunksSent++;
      this.record.counts.audioBytesSent += audioBytes;
    }
    return true;
  }

  /** Closes with a close frame (code + reason, already truncated to 123 bytes). */
  closeWith(spec: CloseSpec, fault?: FaultKind): void {
    if (this.#closing) return;
    this.#closing = true;
    if (fault) this.record.fault(fault, { code: spec.code });
    this.record.close = { code: spec.code, reason: spec.reason, by: 'server' };
    this.record.event('close', { code: spec.code, reason: spec.reason, ...(spec.why ? { why: spec.why } : {}) });
    this.#conversation?.dispose();
    this.#ws.close(spec.code, spec.reason);
  }

  /** Destroys the TCP socket without a close frame: the client sees 1006. */
  cut(fault: FaultKind): void {
    if (this.#closing) return;
    this.#closing = true;
    this.record.fault(fault);
    this.record.close = { code: 1006, reason: '', by: 'cut' };
    this.record.event('close', { code: 1006, cut: true });
    this.#conversation?.dispose();
    this.#ws.terminate();
  }

  /** Runs `fn` after `ms` unless the session closes first. */
  after(ms: number, fn: () => void): () => void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closing) fn();
    }, ms);
    this.#timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.#timers.delete(timer);
    };
  }

  #onClose(code: number, reason: string): void {
    this.#closing = true;
    this.record.state = 'closed';
    this.record.closedAt = Date.now();
    this.record.close ??= { code, reason, by: 'client' };
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#conversation?.dispose();
    if (this.record.logicalId) this.#ctx.handles.closed(this.record.logicalId, this.record.id);
    this.#ctx.onClosed(this);
  }
}

/** The tap with this session's id bound (so the conversation need not know it). */
function bindTap(tap: AudioTap, sessionId: number): BoundTap {
  return {
    received: (samples, sampleRateHz) => tap.received(sessionId, samples, sampleRateHz),
    sent: (samples, sampleRateHz) => tap.sent(sessionId, samples, sampleRateHz),
  };
}
