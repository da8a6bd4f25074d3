/**
 * One emulated session's conversation, input side: listens to the caller (energy VAD on
 * realtimeInput.audio, or manual activityStart/activityEnd), takes client text, picks the
 * scenario's reply for each input and hands it to the turn runner (model-turn.ts), which speaks.
 * The connection itself (setup, validation, closes) is session.ts.
 *
 * Barge-in: caller speech (or activityStart, or clientContent turnComplete) while a model turn is
 * under way interrupts it, unless activityHandling is NO_INTERRUPTION; then the caller's turn is
 * answered after the current one.
 *
 * Tool responses go to the turn that waits for them (BLOCKING) or to the open asynchronous calls
 * (NON_BLOCKING), whose results are spoken per `scheduling` (background-calls.ts). A contextUpdate
 * replaces the tools (and so the behaviours) and the system instruction (docs/gemini-live.md §2.5).
 */
import type { ClientContent, RealtimeInput, ServerMessage, Setup, ToolResponse } from '../gemini/protocol.js';
import { bytesToPcm16 } from '../audio/pcm.js';
import { StreamingResampler } from '../audio/resampler.js';
import { CLOSE_POLICY, REASONS, close, type CloseSpec } from './close-reasons.js';
import { BackgroundCalls, ToolBehaviors, type FunctionResponseIn, type GroupDone } from './background-calls.js';
import { ScenarioCursor, type CursorSnapshot } from './cursor.js';
import type { FamilyRules } from './models.js';
import type { FaultKind, FaultPlan, SeededRng } from './faults.js';
import { TurnRunner } from './model-turn.js';
import type { EmulatorTiming } from './options.js';
import type { SessionRecord } from './recorder.js';
import type { Scenario } from './scenario.js';
import type { ContextUpdate } from './validate-family.js';
import { OUTPUT_RATE_HZ, type SpeechSynth } from './tts.js';
import { EnergyVad, vadConfigFromSetup, type VadDefaults, type VadEvent } from './vad.js';

export interface ConversationHost {
  readonly record: SessionRecord;
  readonly faults: FaultPlan;
  readonly rng: SeededRng;
  send(message: ServerMessage): boolean;
  sendJson(json: string, audioBytes?: number): boolean;
  closeWith(spec: CloseSpec, fault?: FaultKind): void;
  cut(fault: FaultKind): void;
  /** Runs `fn` after `ms` unless the session ends first; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
  /** A new resumption handle for the snapshot, or undefined when the setup did not enable resumption. */
  issueHandle(snapshot: CursorSnapshot): string | undefined;
  logError(err: unknown, message: string): void;
}

export interface TurnConfig {
  setup: Setup;
  /** The model family's rules (models.ts). */
  rules: FamilyRules;
  modality: 'AUDIO' | 'TEXT';
  voice: string;
  timing: EmulatorTiming;
  tts: SpeechSynth;
  usageMetadata: boolean;
}


/** EmulatorOptions.audioTap with the session's id bound. */
export interface BoundTap {
  received(samples: Int16Array, sampleRateHz: number): void;
  sent(samples: Int16Array, sampleRateHz: number): void;
}

export interface ConversationConfig extends TurnConfig {
  /** Send caller audio straight back (see ModelSpec.echo). */
  echo?: boolean;
  /** The echo talks in windows (EmulatorOptions.echo); absent: all the time. */
  echoWindows?: { talkMs: number; quietMs: number; bargeInEvery: number };
  tap?: BoundTap;
  scenario: Scenario;
  snapshot?: CursorSnapshot | undefined;
  vad: VadDefaults;
  audioDuringToolCall: 'ignore' | 'abort';
}

export class Conversation {
  readonly cursor: ScenarioCursor;
  readonly #host: ConversationHost;
  readonly #config: ConversationConfig;
  readonly #turns: TurnRunner;
  readonly #automaticVad: boolean;
  readonly #interrupts: boolean;
  readonly #queued: (() => void)[] = [];
  readonly #behaviors: ToolBehaviors;
  readonly #background: BackgroundCalls;
  #vad: EnergyVad | undefined;
  #activity = false;
  /** Between a start and an end of caller speech (VAD or manual activity). */
  #callerSpeaking = false;
  /** INTERRUPT results waiting for the caller to finish (3.8). */
  #afterCaller: GroupDone[] = [];
  #pendingText: string[] = [];
  #inputAudioMs = 0;
  #echo: StreamingResampler | undefined;
  /** Echo windows: whether the echo is talking, and how many windows have ended. */
  #echoTalking = true;
  #echoWindowsEnded = 0;
  #echoWindowStartMs = 0;

  constructor(host: ConversationHost, config: ConversationConfig) {
    this.#host = host;
    this.#config = config;
    this.cursor = new ScenarioCursor(config.scenario, config.snapshot);
    const ric = config.setup.realtimeInputConfig;
    this.#automaticVad = ric?.automaticActivityDetection?.disabled !== true;
    this.#interrupts = ric?.activityHandling !== 'NO_INTERRUPTION';
    this.#behaviors = new ToolBehaviors(config.rules, config.setup.tools);
    this.#background = new BackgroundCalls(config.rules);
    this.#turns = new TurnRunner(host, config, this.cursor, {
      inputAudioMs: () => this.#inputAudioMs,
      onIdle: () => this.#drain(),
      behaviors: this.#behaviors,
      background: this.#background,
    });
  }

  get automaticVad(): boolean {
    return this.#automaticVad;
  }

  /** Model turns started so far (3.1 refuses clientContent after the first). */
  get modelTurns(): number {
    return this.#turns.started;
  }

  /** Renders the scenario's fixed lines in the background so replies start without a TTS wait. */
  prerender(): void {
    if (this.#config.modality !== 'AUDIO') return;
    for (const line of this.cursor.lines()) {
      this.#config.tts.render(line.text, line.voice ?? this.#config.voice).catch(() => undefined);
    }
  }

  /** At an idle turn boundary (e.g. right after setupComplete): a fresh resumption handle. */
  announceHandle(): void {
    this.#turns.announceHandle();
  }

  /** Stops speaking; the session is ending. */
  dispose(): void {
    this.#turns.dispose();
  }

  onClientContent(cc: ClientContent): void {
    const turnsIn = cc.turns ?? [];
    if (cc.turnComplete !== true && turnsIn.some((t) => t.role === 'model')) {
      // History seeding of a fresh session: continue the scenario after what was already said.
      // Bracketed user notes ("(The line dropped…)") are the client's, not the caller's.
      const callerTurns = turnsIn.filter((t) => t.role !== 'model' && !(t.parts ?? []).some((p) => (p.text ?? '').startsWith('('))).length;
      this.cursor.continueAfter(callerTurns);
      for (const t of turnsIn) {
        const text = (t.parts ?? []).map((p) => p.text ?? '').join('');
        if (text !== '') this.cursor.history.push({ role: t.role === 'model' ? 'model' : 'user', text });
      }
      return;
    }
    const texts: string[] = [];
    for (const content of cc.turns ?? []) {
      const text = (content.parts ?? []).map((p) => p.text ?? '').join('');
      if (text === '') continue;
      this.cursor.history.push({ role: content.role === 'model' ? 'model' : 'user', text });
      if (content.role !== 'model') texts.push(text);
    }
    if (cc.turnComplete === true) {
      const text = [...this.#pendingText, ...texts].join('\n');
      this.#pendingText = [];
      this.#onText(text, 'clientContent');
    } else {
      this.#pendingText.push(...texts);
    }
  }

  onRealtimeInput(ri: RealtimeInput, audioRateHz: number | undefined): void {
    if (typeof ri.audio?.data === 'string' && audioRateHz !== undefined) this.#onAudio(ri.audio.data, audioRateHz);
    if (ri.audioStreamEnd === true && this.#vad) this.#onVad(this.#vad.flush());
    if (ri.activityStart !== undefined && !this.#activity) {
      this.#activity = true;
      this.#onSpeechStart(this.#inputAudioMs, 'activityStart');
    }
    if (ri.activityEnd !== undefined && this.#activity) {
      this.#activity = false;
      this.#onSpeechEnd(this.#inputAudioMs, 'activityEnd');
    }
    if (typeof ri.text === 'string' && ri.text !== '') {
      this.cursor.history.push({ role: 'user', text: ri.text });
      this.#onText(ri.text, 'realtimeInput.text');
    }
  }

  /** BLOCKING responses go to the waiting turn; NON_BLOCKING ones to the open background calls. */
  onToolResponse(tr: ToolResponse): void {
    const all = (tr.functionResponses ?? []) as FunctionResponseIn[];
    const background = all.filter((fr) => this.#background.has(fr.id));
    const blocking = all.filter((fr) => !this.#background.has(fr.id));
    for (const fr of background) {
      const done = this.#background.respond(fr);
      this.#host.record.event('toolResponse', {
        ids: [fr.id],
        behavior: 'NON_BLOCKING',
        scheduling: this.#background.schedulingOf(fr.scheduling),
        willContinue: fr.willContinue === true,
        open: this.#background.size,
      });
      if (done) this.#onGroupDone(done);
    }
    if (blocking.length > 0 || background.length === 0) this.#turns.toolResponse({ functionResponses: blocking } as ToolResponse);
  }

  /** docs/gemini-live.md §2.5: new system instruction and/or tools (the scenario stays the same). */
  onContextUpdate(update: ContextUpdate): void {
    const systemInstruction = update.systemInstruction
      ? (update.systemInstruction.parts ?? []).map((p) => p.text ?? '').join('\n')
      : undefined;
    if (update.tools !== undefined) this.#behaviors.update(update.tools.tools ?? []);
    const tools = update.tools === undefined ? undefined : (update.tools.tools ?? []).flatMap((t) => ((t as { functionDeclarations?: { name?: string }[] }).functionDeclarations ?? []).map((d) => d.name ?? '?'));
    this.#host.record.event('contextUpdate', { systemInstruction, tools });
  }

  /** 2.5: new caller input cancels the open NON_BLOCKING calls (docs/gemini-live.md §2.4). */
  #cancelOpenCalls(): void {
    if (!this.#config.rules.nonBlockingCancelledByInput || this.#background.size === 0 || this.#turns.doomed) return;
    const ids = this.#background.cancelAll();
    this.#turns.noteCancelled(ids);
    this.#host.send({ toolCallCancellation: { ids } });
    this.#host.record.event('toolCallCancellation', { ids, behavior: 'NON_BLOCKING' });
  }

  /** An asynchronous call group has all its results: speak them per `scheduling`. */
  #onGroupDone(done: GroupDone): void {
    const host = this.#host;
    const fail = host.faults.closeAfterToolResponse();
    if (fail) {
      this.#turns.doomed = true;
      host.record.fault('closeAfterToolResponse', { code: fail.close.code, delayMs: fail.delayMs });
      host.after(fail.delayMs, () => host.closeWith(fail.close));
      return;
    }
    if (this.#turns.doomed) return;
    if (done.scheduling === 'SILENT') return this.#turns.absorbSilently(done);
    if (done.scheduling === 'INTERRUPT') {
      if (this.#callerSpeaking && this.#config.rules.interruptWaitsForCaller) this.#afterCaller.push(done);
      else this.#cutIn([done]);
      return;
    }
    // WHEN_IDLE: after the current output.
    this.#queued.push(() => void this.#turns.followUp(done));
    this.#drain();
  }

  /** INTERRUPT: cuts the current output and speaks the results before anything queued. */
  #cutIn(results: readonly GroupDone[]): void {
    // Queued first: the interruption's turnComplete drains the queue.
    this.#queued.unshift(...results.map((d) => () => void this.#turns.followUp(d)));
    this.#turns.interrupt();
    this.#drain();
  }

  /** Starts queued turns while the model is idle. */
  #drain(): void {
    while (!this.#turns.active && this.#queued.length > 0) this.#queued.shift()!();
  }

  #onAudio(data: string, rateHz: number): void {
    if (this.#turns.awaitingTool && this.#config.audioDuringToolCall === 'abort') {
      this.#host.closeWith(close(CLOSE_POLICY, REASONS.operationAborted), 'operationAborted');
      return;
    }
    const samples = bytesToPcm16(Buffer.from(data, 'base64'));
    this.#host.record.counts.audioBytesReceived += samples.length * 2;
    this.#config.tap?.received(samples, rateHz);
    this.#inputAudioMs += (samples.length / rateHz) * 1000;
    if (this.#config.echo) return this.#echoWindow(samples, rateHz);
    if (!this.#automaticVad) return;
    if (!this.#vad || this.#vad.config.sampleRateHz !== rateHz) {
      this.#vad = new EnergyVad(vadConfigFromSetup(this.#config.setup.realtimeInputConfig, this.#config.vad, rateHz));
    }
    const events = this.#vad.push(samples);
    if (events.length > 0) this.#onVad(events);
  }

  /** Echo windows (by caller audio received): talk, then end the turn and stay quiet. */
  #echoWindow(samples: Int16Array, rateHz: number): void {
    const w = this.#config.echoWindows;
    if (!w) return this.#sendEcho(samples, rateHz);
    const inWindowMs = this.#inputAudioMs - this.#echoWindowStartMs;
    if (this.#echoTalking && inWindowMs > w.talkMs) {
      this.#echoTalking = false;
      this.#echoWindowsEnded++;
      const bargeIn = w.bargeInEvery > 0 && this.#echoWindowsEnded % w.bargeInEvery === 0;
      if (bargeIn) this.#host.sendJson('{"serverContent":{"interrupted":true}}');
      else this.#host.sendJson('{"serverContent":{"generationComplete":true}}');
      this.#host.sendJson('{"serverContent":{"turnComplete":true}}');
      this.#echo?.reset();
    } else if (!this.#echoTalking && inWindowMs > w.talkMs + w.quietMs) {
      this.#echoTalking = true;
      this.#echoWindowStartMs = this.#inputAudioMs;
    }
    if (this.#echoTalking) this.#sendEcho(samples, rateHz);
  }

  /** Echo model: the caller's audio straight back as 24 kHz model audio, at once. */
  #sendEcho(samples: Int16Array, rateHz: number): void {
    if (rateHz !== 16000) return;
    this.#echo ??= new StreamingResampler(16000, OUTPUT_RATE_HZ);
    const out = this.#echo.process(samples);
    if (out.length === 0) return;
    const b64 = Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64');
    this.#host.sendJson(
      `{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm;rate=${OUTPUT_RATE_HZ}","data":"${b64}"}}]}}}`,
      out.byteLength,
    );
    this.#config.tap?.sent(out, OUTPUT_RATE_HZ);
  }

  #onVad(events: readonly VadEvent[]): void {
    for (const e of events) {
      if (e.type === 'start') this.#onSpeechStart(e.atMs, 'vad');
      else this.#onSpeechEnd(e.atMs, 'vad');
    }
  }

  #onSpeechStart(atMs: number, source: string): void {
    this.#callerSpeaking = true;
    this.#host.record.event('vad', { speech: 'start', atMs, source });
    this.#cancelOpenCalls();
    if (this.#turns.active && this.#interrupts && !this.#turns.doomed) this.#turns.interrupt();
  }

  #onSpeechEnd(atMs: number, source: string): void {
    this.#callerSpeaking = false;
    this.#host.record.event('vad', { speech: 'end', atMs, source });
    if (this.#turns.doomed) return;
    // 3.8 INTERRUPT results held while the caller talked are spoken first, then the caller is answered.
    if (this.#afterCaller.length > 0) this.#cutIn(this.#afterCaller.splice(0));
    const go = () => this.#turns.start(this.cursor.forUtterance(), 'audio');
    if (this.#turns.active) this.#queued.push(go);
    else go();
  }

  /** Client text interrupts a turn under way (clientContent turnComplete does, unconditionally). */
  #onText(text: string, source: string): void {
    if (this.#turns.doomed || this.#config.echo) return; // the echo model only echoes audio
    this.#cancelOpenCalls();
    this.#turns.interrupt();
    this.#turns.start(this.cursor.forText(text), source);
  }
}
