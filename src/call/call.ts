/**
 * One call: the only place that knows both ends, each through its port (./ports.ts).
 *
 *   caller transport ──audio──▶ CallerSpeech (16 kHz, VAD, replay) ──▶ GeminiLink.sendAudio
 *   GeminiLink audio (24 kHz) ──▶ BotOutput (caller format, marks, clear) ──▶ caller transport
 *   GeminiLink toolCall / DTMF / silence ──▶ FlowDriver (functions, flow steps, actions)
 *   end_call, transfers, time limit, apology ──▶ Exits (the one exit path)
 *   everything ──▶ the call's record (CallLog, CallMetrics) and, when the flow says so, the recording
 *
 * Created when the call is admitted (so the agent can start before the caller's media and the
 * greeting is ready when the caller is connected); its Lifecycle moves pending → live → exiting
 * → ended, and it is finished exactly once.
 */
import type { FlowSession, Flow } from '../flows/index.js';
import { withModes, type ToolRegistry } from '../tools/index.js';
import type { CallLog } from '../transcripts/writer.js';
import { openCallRecording, type CallRecording } from '../transcripts/recording.js';
import type { CallEventBody, CallOutcome, OutcomeDetail } from '../transcripts/types.js';
import type { CallbridgeError, ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { GeminiLink, LinkOptions, ReadyInfo, DownInfo } from './link/link.js';
import type { AgentEvent, CallerTransport, Clock, SessionConfig, TimerHandle } from './ports.js';
import { Utterances } from './utterances.js';
import { AGENT_INPUT_RATE_HZ } from './audio-path.js';
import { CallMetrics } from './metrics.js';
import { CallerSpeech } from './caller-speech.js';
import { BotOutput } from './bot-output.js';
import { FlowDriver } from './flow-driver.js';
import { Exits } from './exit.js';
import { playApology } from './apology.js';
import { Lifecycle, outcomeAtMediaEnd, type CallState } from './lifecycle.js';
import { FollowUpWatch } from './follow-up.js';
import type { Prompt } from './prompts.js';
import { FrameTimer, type FrameTimeSink } from './frame-timer.js';

export interface CallServices {
  log: Logger;
  dataDir: string;
  clock: Clock;
  /** Builds the call's agent link (the manager fills in the endpoint, breakers, retry policy). */
  link(options: Pick<LinkOptions, 'models' | 'sessionConfig' | 'history' | 'log'>): GeminiLink;
  /** Played when the voice agent cannot be reached: before hanging up, or before a transfer. */
  prompts: { apology: Prompt; apologyTransfer: Prompt };
  /** Called once when the call has finished (the manager forgets it). */
  ended(call: Call): void;
  /** Sampled per-frame handling times for /metrics (./frame-timer.ts), when set. */
  frameTime?: FrameTimeSink | undefined;
}

export interface CallInit {
  callSid: string;
  accountSid: string;
  from: string;
  to: string;
  flow: Flow;
  session: FlowSession;
  registry: ToolRegistry;
  models: string[];
  /** The transcript record of this call (opened by the manager). */
  record: CallLog;
  /** The caller's end (its media may come later). */
  transport: CallerTransport;
  /** The business clock (the prompt's date, functions' ctx.now()) when it is a test clock; default the call clock. */
  businessNow?: () => Date;
}

/** Flow silence rules are checked every this many inbound frames (200 ms of 20 ms frames). */
const SILENCE_CHECK_EVERY_FRAMES = 10;

export class Call {
  readonly callSid: string;
  readonly from: string;
  readonly to: string;
  readonly flow: Flow;
  readonly transport: CallerTransport;
  readonly #s: CallServices;
  readonly #clock: Clock;
  readonly #record: CallLog;
  readonly #session: FlowSession;
  readonly #log: Logger;
  readonly #life: Lifecycle;
  readonly #link: GeminiLink;
  readonly #utterances: Utterances;
  readonly #metrics: CallMetrics;
  readonly #speech: CallerSpeech;
  readonly #bot: BotOutput;
  readonly #flowDriver: FlowDriver;
  readonly #exits: Exits;
  readonly #businessNow: () => Date;
  readonly #followUp = new FollowUpWatch();
  /** Clock time at admission: every atMs is measured from here. */
  readonly #t0: number;
  #mediaStartMs: number | undefined;
  #recording: CallRecording | undefined;
  #greeted = false;
  #agentFailure: CallbridgeError | undefined;
  #framesSinceSilenceCheck = 0;
  #maxDurationTimer: TimerHandle | undefined;
  /** A reply the lost session was in the middle of: the restored one is asked to finish it. */
  #cutReply: string | undefined;

  constructor(init: CallInit, services: CallServices) {
    this.callSid = init.callSid;
    this.from = init.from;
    this.to = init.to;
    this.flow = init.flow;
    this.transport = init.transport;
    this.#s = services;
    this.#clock = services.clock;
    this.#t0 = this.#clock.now();
    this.#record = init.record;
    this.#businessNow = init.businessNow ?? (() => new Date(this.#clock.wallNow()));
    this.#session = init.session;
    this.#log = services.log.child({ callSid: init.callSid, flow: init.flow.name });
    this.#life = new Lifecycle();
    // Live words skip redaction (a digit run can span pieces): a redacting flow shows only recorded words.
    const live = init.flow.redactDigits ? undefined : (who: 'caller' | 'bot', text: string, id?: string) => init.transport.caption?.(who, text, id);
    this.#utterances = new Utterances((body, atMs) => this.#event(body, atMs), live);
    this.#metrics = new CallMetrics(init.record);
    this.#speech = new CallerSpeech(init.transport.inputFormat);
    this.#link = services.link({
      models: init.models,
      sessionConfig: (model) => this.#sessionConfig(model),
      history: () => this.#utterances.turns(),
      log: this.#log,
    });
    this.#bot = new BotOutput({
      transport: init.transport,
      clock: this.#clock,
      utterances: this.#utterances,
      now: () => this.#now(),
      sent: () => this.#botAudioSent(),
    });
    this.#flowDriver = this.#newFlowDriver(init);
    this.#exits = this.#newExits();
    const timer = new FrameTimer(services.frameTime, () => this.#clock.now()); // sampled, for /metrics
    this.#link.on('event', timer.outbound((event) => this.#onAgent(event)));
    this.#link.on('ready', (info) => this.#onReady(info));
    this.#link.on('down', (info) => this.#onDown(info));
    this.#link.on('failed', ({ error }) => this.#onFailed(error));
    init.transport.listen({
      connected: ({ mediaId }) => this.#onConnected(mediaId),
      audio: timer.inbound((payload, timestampMs) => this.#onAudio(payload, timestampMs)),
      dtmf: (digit) => this.#flowDriver.dtmf(digit),
      played: (name) => this.#bot.playout.onMark(name),
      ended: (reason) => this.#onMediaEnd(reason),
    });
    this.#maxDurationTimer = this.#clock.setTimeout(() => this.#onMaxDuration(), init.flow.maxCallDurationS * 1000);
  }

  get state(): CallState {
    return this.#life.state;
  }

  /** Starts the agent (at admission, or when the media starts when pre-opening is off). */
  startAgent(): void {
    void this.#link.start();
  }

  /** Another instance runs this call's media: the record says so (live views here drop it; the store never gets it). */
  takenBy(instance: string): void { this.#record.update({ instance }); }

  /** Ends the call from outside (shutdown deadline, no media ever came). */
  abort(code: ErrorCode, reason: string): void {
    if (this.#life.ended) return;
    this.#event({ kind: 'error', code, message: reason }, this.#now());
    this.transport.close('going-away', reason.slice(0, 100));
    this.#finish('failed', { errorCode: code, reason });
  }

  /** ms since admission, on the call's clock. */
  #now(): number {
    return Math.round(this.#clock.now() - this.#t0);
  }

  #newFlowDriver(init: CallInit): FlowDriver {
    return new FlowDriver({
      callSid: init.callSid,
      from: init.from, to: init.to, businessNow: this.#businessNow,
      flow: init.flow,
      session: init.session,
      registry: init.registry,
      agent: this.#link,
      log: this.#log,
      canTransfer: () => this.transport.capabilities.transfer,
      now: () => this.#now(),
      event: (body, atMs) => this.#event(body, atMs),
      exit: (exit) => this.#exits.schedule(exit),
    });
  }

  #newExits(): Exits {
    return new Exits({
      clock: this.#clock,
      now: () => this.#now(),
      event: (body, atMs) => this.#event(body, atMs),
      agentBusy: () => this.#utterances.generating || this.#flowDriver.toolsPending,
      whenPlayed: () => this.#bot.whenPlayed(),
      ended: () => this.#life.ended,
      exiting: (on) => void this.#life.to(on ? 'exiting' : this.#mediaStartMs !== undefined ? 'live' : 'pending'),
      hasMedia: () => this.#mediaStartMs !== undefined,
      transfer: (number) => this.transport.transfer(number),
      hangUp: (reason) => this.transport.close('normal', reason),
      finishWithoutMedia: () => this.#onMediaEnd('close'),
      tellAgent: (text) => this.#flowDriver.apply({ type: 'tell_model', text }),
    });
  }

  // --- the caller ------------------------------------------------------------------------------

  #onConnected(mediaId: string): void {
    if (!this.#life.to('live')) return;
    this.#mediaStartMs = this.#now();
    if (this.flow.recording) {
      this.#recording = openCallRecording({ dataDir: this.#s.dataDir, callSid: this.callSid, log: this.#log });
      this.#bot.recording = this.#recording;
    }
    this.#record.update({
      streamSid: mediaId,
      answeredAt: this.#clock.wallNow(),
      ...(this.#recording ? { recordingPath: this.#recording.relativePath } : {}),
    });
    if (this.#link.state === 'idle') this.startAgent();
    if (this.#agentFailure) return this.#playApology(this.#agentFailure);
    this.#bot.live();
  }

  /** One inbound frame. Hot path. */
  #onAudio(payload: Uint8Array, timestampMs: number): void {
    const now = this.#now();
    const change = this.#speech.frame(payload, now);
    this.#link.sendAudio(this.#speech.pcm16k);
    if (change === 'stopped') {
      this.#metrics.callerStopped(this.#speech.stopAtMs);
      this.#flowDriver.callerActive(this.#speech.stopAtMs);
      this.#utterances.callerSpoke(this.#speech.lastStartAtMs, this.#speech.stopAtMs);
      this.#link.callerSpeaking(false);
    } else if (change === 'started') {
      this.#metrics.callerStarted();
      this.#link.callerSpeaking(true);
    } else if (change === 'talking-over' && this.#bot.isPlaying && !this.#utterances.generating) {
      this.#bot.localBargeIn();
    }
    this.#recording?.caller(this.#mediaStartMs! + timestampMs, this.#speech.pcm8k);
    if (++this.#framesSinceSilenceCheck >= SILENCE_CHECK_EVERY_FRAMES) {
      this.#framesSinceSilenceCheck = 0;
      this.#flowDriver.checkSilence(this.#speech.speaking || this.#utterances.generating || this.#bot.isPlaying || this.#exits.pending !== undefined);
    }
  }

  #onMediaEnd(reason: 'stop' | 'close'): void {
    if (this.#life.ended) return;
    this.#bot.end();
    const midConversation = this.#utterances.generating || this.#bot.isPlaying || this.#flowDriver.dispatcher.pending > 0 || this.#metrics.awaitingReply;
    const { outcome, detail } = outcomeAtMediaEnd({
      state: this.#life.state,
      exit: this.#exits.pending,
      exitDetail: this.#exits.detail(),
      agentFailure: this.#agentFailure,
      midConversation,
    });
    if (outcome === 'completed' || outcome === 'caller_hung_up') this.#log.info({ reason, abandoned: midConversation }, 'media stream ended');
    this.#finish(outcome, detail);
  }

  #botAudioSent(): void {
    this.#metrics.botAudioSent(this.#now(), this.#mediaStartMs!);
    this.#speech.replied();
  }

  // --- the agent -------------------------------------------------------------------------------

  #sessionConfig(model: string): SessionConfig {
    return {
      model,
      systemInstruction: this.#session.systemInstruction(this.#businessNow()),
      tools: withModes(this.#session.declarations(), this.flow.functionModes),
      ...(this.flow.voice ? { voiceName: this.flow.voice } : {}),
      ...(this.flow.language ? { languageCode: this.flow.language } : {}),
    };
  }

  #onAgent(event: AgentEvent): void {
    switch (event.type) {
      case 'audio':
        return this.#bot.audio(event.samples, event.sampleRateHz);
      case 'outputTranscription':
        if (!this.#bot.dropping) this.#utterances.botText(event.text, this.#now());
        return;
      case 'inputTranscription':
        this.#utterances.callerText(event.text, this.#now(), this.#speech.startMs(this.#now()));
        if (event.finished) this.#utterances.flushCaller();
        return;
      case 'interrupted':
        return this.#bot.interrupted();
      case 'turnComplete':
        this.#bot.turnEnded(true); // the reply's last audio: know promptly when it has played
        this.#utterances.turnComplete();
        return this.#exits.turnEnded();
      case 'toolCall':
        this.#utterances.functionCall();
        for (const call of event.calls) void this.#flowDriver.runTool(call);
        return;
      case 'toolCallCancellation':
        return this.#flowDriver.dispatcher.cancel(event.ids);
      case 'usage':
        return this.#metrics.usage(event.usage);
      default:
    }
  }

  #onReady(info: ReadyInfo): void {
    this.#record.update({ models: [...this.#link.modelsTried] });
    if (info.cause === 'start') {
      if (!this.#greeted) {
        this.#greeted = true;
        this.#flowDriver.greet();
      }
      return;
    }
    this.#bot.turnEnded(false);
    const replay = this.#speech.unanswered(info.outageMs);
    if (replay) {
      this.#link.sendAudioBurst(replay);
      this.#event({ kind: 'note', text: `Replayed ${Math.round(replay.length / (AGENT_INPUT_RATE_HZ / 1000))} ms of the caller's unanswered words to the restored session` }, this.#now());
    }
    if (this.#cutReply !== undefined) {
      // Everything generated before the loss still plays out at the caller; the rest is owed.
      const said = this.#cutReply ? ` You had said: "${this.#cutReply}".` : '';
      const text = `(System note, not the caller: the connection to you dropped while you were answering.${said} Finish your answer from where you stopped, without repeating yourself.)`;
      this.#link.sendClientContent([{ role: 'user', parts: [{ text }] }], true);
      this.#event({ kind: 'note', text: 'Asked the restored session to finish the answer it was giving' }, this.#now());
      this.#cutReply = undefined;
    }
    this.#event({ kind: 'reconnect', model: info.model, resumed: info.resumed, silenceMs: info.outageMs }, this.#now());
    this.#metrics.reconnected();
    this.#log.info({ model: info.model, resumed: info.resumed, outageMs: info.outageMs, attempts: info.attempts, cause: info.cause }, 'Gemini session restored');
  }

  #onDown(info: DownInfo): void {
    const atMs = this.#now();
    this.#event({ kind: 'gemini_close', code: info.code, reason: info.reason, errorCode: info.errorCode, model: info.model }, atMs);
    this.#metrics.agentClosed({ atMs, code: info.code, reason: info.reason, errorCode: info.errorCode, model: info.model });
    if (this.#utterances.generating && this.#cutReply === undefined) this.#cutReply = this.#utterances.currentText() ?? '';
    this.#utterances.cut();
    this.#bot.turnEnded(false);
    this.#exits.turnEnded();
  }

  #onFailed(error: CallbridgeError): void {
    if (this.#life.ended) return;
    this.#agentFailure = error;
    this.#event({ kind: 'error', code: error.code, message: error.message }, this.#now());
    if (this.#mediaStartMs !== undefined) this.#playApology(error);
  }

  #playApology(failure: CallbridgeError): void {
    playApology(
      { flow: this.flow, transport: this.transport, bot: this.#bot, exits: this.#exits, clock: this.#clock, prompts: this.#s.prompts, ended: () => this.#life.ended },
      failure,
    );
  }

  #onMaxDuration(): void {
    this.#event({ kind: 'error', code: 'CB_CALL_MAX_DURATION', message: `the call reached ${this.flow.maxCallDurationS} s` }, this.#now());
    this.#flowDriver.apply({ type: 'say', text: 'We have reached the time limit for this call. Thank you for calling, goodbye.' });
    this.#exits.schedule({ kind: 'end', reason: 'maximum call duration', errorCode: 'CB_CALL_MAX_DURATION' });
  }

  // --- the record ------------------------------------------------------------------------------

  #event(body: CallEventBody, atMs: number): void {
    this.#record.event(body, atMs);
    this.#followUp.observe(body);
  }

  /** Ends the call's bookkeeping exactly once. */
  #finish(outcome: CallOutcome, detail: OutcomeDetail): void {
    if (!this.#life.to('ended')) return;
    this.#clock.clearTimeout(this.#maxDurationTimer);
    this.#flowDriver.dispatcher.cancelAll();
    this.#utterances.finish();
    this.#bot.end();
    void this.#link.close();
    const endAtMs = this.#now();
    const recording = this.#recording;
    if (recording) void recording.close(endAtMs).catch((err: unknown) => this.#log.warn({ err }, 'closing the recording failed'));
    this.#record.close({
      outcome,
      ...(Object.keys(detail).length > 0 ? { outcomeDetail: detail } : {}),
      ...this.#followUp.patch(outcome, detail),
      endedAt: this.#clock.wallNow(),
      models: [...this.#link.modelsTried],
      ...this.#metrics.final(),
    });
    this.#log.info({ outcome, ...detail, durationMs: endAtMs, reconnects: this.#metrics.reconnects }, 'call finished');
    this.transport.release();
    this.#s.ended(this);
  }
}
