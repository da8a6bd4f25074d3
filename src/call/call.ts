/**
 * One phone call: the only place that knows both ends.
 *
 *   Twilio media (μ-law 8k) ──InboundAudio──▶ GeminiLink.sendAudio (16k)
 *   GeminiLink audio (24k) ──OutboundAudio──▶ Twilio media + marks (PlayoutTracker)
 *   GeminiLink toolCall ──ToolDispatcher──▶ toolResponse;  DTMF / silence / results ──FlowSession──▶ actions
 *   everything ──▶ CallLog (batched transcript writer) and, when the flow says so, the recording
 *
 * Created at the webhook (so the Gemini session can open before the stream starts and the
 * greeting is already generated when the caller is connected), attached to the media stream on
 * `start`, finished exactly once when the stream ends or the bot ends or transfers the call.
 */
import type { FlowSession, FlowAction, StageChange, Flow } from '../flows/index.js';
import { ToolDispatcher, ToolError, type CallControl, type ToolRegistry } from '../tools/index.js';
import type { GeminiEvent, LiveSessionConfig, Content } from '../gemini/index.js';
import type { TwilioMediaStream, MediaEvent } from '../twilio/media-stream.js';
import { trackPlayout, type PlayoutTracker } from '../twilio/playout.js';
import { dialTwiml } from '../twilio/twiml.js';
import type { TwilioCallControl } from '../twilio/rest.js';
import type { CallLog } from '../transcripts/writer.js';
import { openCallRecording, type CallRecording } from '../transcripts/recording.js';
import type { CallEventBody, CallOutcome, OutcomeDetail, TurnLatency } from '../transcripts/types.js';
import { CallbridgeError, type ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { EnergyVad } from '../audio/vad.js';
import { PcmRing } from '../audio/pcm-ring.js';
import { InboundAudio, OutboundAudio } from './audio-path.js';
import { GeminiLink, type LinkOptions, type ReadyInfo, type DownInfo } from './gemini-link.js';
import { Utterances } from './utterances.js';
import type { Prompt } from './prompts.js';

export interface CallServices {
  log: Logger;
  dataDir: string;
  /** Builds the call's Gemini link (the manager fills in key, URL, breakers, retry policy). */
  link(options: Pick<LinkOptions, 'models' | 'sessionConfig' | 'history' | 'log'>): GeminiLink;
  rest: TwilioCallControl | undefined;
  /** Played when the voice agent cannot be reached: before hanging up, or before a transfer. */
  prompts: { apology: Prompt; apologyTransfer: Prompt };
  /** Called once when the call has finished (the manager forgets it). */
  ended(call: Call): void;
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
}

interface PendingExit {
  kind: 'end' | 'transfer';
  reason: string;
  target?: string;
  number?: string;
  errorCode?: ErrorCode;
}

/** Caps on waits before hanging up or transferring (a bot that never finishes must not hold the line). */
const EXIT_TURN_WAIT_MS = 8000;
const EXIT_PLAYOUT_WAIT_MS = 30_000;
const PRE_STREAM_AUDIO_MAX_BYTES = 60 * 8000;
const SILENCE_CHECK_EVERY_FRAMES = 10;
/**
 * Caller speech this long over bot audio that is still playing at Twilio, when the model has
 * already finished generating it, clears the rest: Gemini only sends `interrupted` for a turn it is
 * still generating, and it generates faster than real time, so the tail of a long answer sits in
 * Twilio's buffer where only `clear` can stop it.
 */
const LOCAL_BARGE_IN_MS = 300;
/**
 * Chunks of one reply share a Twilio mark, one per this much audio at most (twilio/playout.ts):
 * per-chunk marks would triple the messages of every 20 ms chunk. What the caller heard is known
 * to within this.
 */
const MARK_EVERY_MS = 100;
/** Caller audio (16 kHz) kept for replay after a fault: the last 10 s. */
const REPLAY_KEEP_SAMPLES = 10 * 16000;
/** Audio before the detected start of speech replayed with it (the detector starts late). */
const REPLAY_PREROLL_SAMPLES = 300 * 16;

export class Call {
  readonly callSid: string;
  readonly from: string;
  readonly to: string;
  readonly flow: Flow;
  readonly #s: CallServices;
  readonly #session: FlowSession;
  readonly #record: CallLog;
  readonly #log: Logger;
  readonly #link: GeminiLink;
  readonly #dispatcher: ToolDispatcher;
  readonly #utterances: Utterances;
  readonly #inbound = new InboundAudio();
  readonly #outbound = new OutboundAudio();
  readonly #vad = new EnergyVad();
  /** performance.now() at the webhook: every atMs is measured from here. */
  readonly #t0 = performance.now();
  #stream: TwilioMediaStream | undefined;
  #playout: PlayoutTracker | undefined;
  #recording: CallRecording | undefined;
  #streamStartMs: number | undefined;
  #preStream: Array<{ utteranceId: string; mulaw: Uint8Array }> = [];
  #preStreamBytes = 0;
  /** After `interrupted`, the rest of that turn's audio is dropped until turnComplete. */
  #dropAudio = false;
  #greeted = false;
  #failed: CallbridgeError | undefined;
  #exit: PendingExit | undefined;
  #exiting = false;
  #finished = false;
  /** Flow actions held back while a tool call is unanswered (no clientContent before a toolResponse). */
  #deferred: FlowAction[] = [];
  #turnWaiters: Array<() => void> = [];
  #maxDurationTimer: NodeJS.Timeout | undefined;
  // Latency and usage figures for the record.
  #firstBotAudioMs: number | undefined;
  #callerStopMs: number | undefined;
  readonly #turns: TurnLatency[] = [];
  readonly #usage = { promptTokens: 0, responseTokens: 0, totalTokens: 0 };
  readonly #closes: Array<{ atMs: number; code: number; reason: string; errorCode: string; model: string }> = [];
  #reconnects = 0;
  #lastCallerSpeechEndMs = 0;
  #framesSinceSilenceCheck = 0;
  /** Call time the caller's current speech started (bridge VAD), while speaking. */
  #speechStartMs: number | undefined;
  #bargedInThisSpeech = false;
  /**
   * Replay after a fault: when a Gemini session dies after the caller spoke and before any reply,
   * the new (or resumed) session never heard those words — a resumption handle dates from the
   * last quiet moment — so they are sent again from this ring once the session is back.
   */
  readonly #callerAudio = new PcmRing(REPLAY_KEEP_SAMPLES);
  #callerSamples = 0;
  /** Sample index (into everything the caller sent) where the caller's unanswered words start. */
  #unansweredFrom: number | undefined;
  /** A reply the lost session was in the middle of: the restored one is asked to finish it. */
  #cutReply: string | undefined;

  constructor(init: CallInit, services: CallServices) {
    this.callSid = init.callSid;
    this.from = init.from;
    this.to = init.to;
    this.flow = init.flow;
    this.#s = services;
    this.#session = init.session;
    this.#record = init.record;
    this.#log = services.log.child({ callSid: init.callSid, flow: init.flow.name });
    this.#utterances = new Utterances((body, atMs) => this.#event(body, atMs));
    this.#dispatcher = new ToolDispatcher({
      registry: init.registry,
      session: init.session,
      control: this.#control(),
      callSid: init.callSid,
      log: this.#log,
    });
    this.#link = services.link({
      models: init.models,
      sessionConfig: (model) => this.#sessionConfig(model),
      history: () => this.#history(),
      log: this.#log,
    });
    this.#link.on('event', (event) => this.#onGemini(event));
    this.#link.on('ready', (info) => this.#onReady(info));
    this.#link.on('down', (info) => this.#onDown(info));
    this.#link.on('failed', ({ error }) => this.#onFailed(error));
    this.#maxDurationTimer = setTimeout(() => this.#onMaxDuration(), init.flow.maxCallDurationS * 1000);
    this.#maxDurationTimer.unref?.();
  }

  /** ms since the webhook. */
  #now(): number {
    return Math.round(performance.now() - this.#t0);
  }

  get finished(): boolean {
    return this.#finished;
  }

  get linkState(): string {
    return this.#link.state;
  }

  /** Opens the Gemini session (at the webhook, or at stream start when pre-opening is off). */
  startAgent(): void {
    void this.#link.start();
  }

  // --- the media stream ------------------------------------------------------------------------

  attachStream(stream: TwilioMediaStream): void {
    if (this.#stream || this.#finished) {
      const reason = this.#finished ? 'call already ended' : 'call already has a stream';
      this.#log.warn({ code: 'CB_TWILIO_STREAM_REFUSED', streamSid: stream.streamSid, reason }, 'second media stream for a call refused');
      stream.close(1008, reason);
      return;
    }
    this.#stream = stream;
    this.#streamStartMs = this.#now();
    this.#playout = trackPlayout(stream, { markEveryMs: MARK_EVERY_MS });
    this.#utterances.playout = this.#playout;
    if (this.flow.recording) this.#recording = openCallRecording({ dataDir: this.#s.dataDir, callSid: this.callSid, log: this.#log });
    this.#record.update({
      streamSid: stream.streamSid,
      answeredAt: Date.now(),
      ...(this.#recording ? { recordingPath: this.#recording.relativePath } : {}),
    });
    stream.on('media', (m) => this.#onMedia(m));
    stream.on('dtmf', ({ digit }) => this.#onDtmf(digit));
    stream.on('end', ({ reason }) => this.#onStreamEnd(reason));
    if (this.#link.state === 'idle') this.startAgent();
    if (this.#failed) return void this.#playApology();
    // Greeting audio generated before the caller was connected plays now, from its start.
    for (const chunk of this.#preStream) this.#sendToCaller(chunk.utteranceId, chunk.mulaw);
    this.#preStream = [];
    this.#preStreamBytes = 0;
  }

  #onMedia(m: MediaEvent): void {
    const pcm16k = this.#inbound.convert(m.payload);
    this.#link.sendAudio(pcm16k);
    this.#callerAudio.push(pcm16k);
    this.#callerSamples += pcm16k.length;
    const pcm8k = this.#inbound.lastPcm8k(m.payload.length);
    const transition = this.#vad.push(pcm8k);
    if (transition === 'stop') {
      // The detector confirms a stop after its hang-over: the caller stopped that much audio ago.
      this.#callerStopMs = this.#now() - (this.#vad.clockMs - this.#vad.lastStopMs!);
      this.#lastCallerSpeechEndMs = this.#callerStopMs;
      this.#speechStartMs = undefined;
      this.#link.callerSpeaking(false);
    } else if (transition === 'start') {
      this.#callerStopMs = undefined;
      this.#speechStartMs = this.#vadStartMs();
      this.#bargedInThisSpeech = false;
      this.#link.callerSpeaking(true);
      // Words since the last reply: from the start of this speech unless earlier ones are still unanswered.
      const speechSamples = Math.round((this.#vad.clockMs - this.#vad.lastStartMs!) * 16) + REPLAY_PREROLL_SAMPLES;
      this.#unansweredFrom ??= Math.max(0, this.#callerSamples - speechSamples);
    }
    if (this.#speechStartMs !== undefined && !this.#bargedInThisSpeech && this.#now() - this.#speechStartMs >= LOCAL_BARGE_IN_MS) {
      this.#bargedInThisSpeech = true;
      if (this.#playout!.isPlaying && !this.#utterances.generating) this.#localBargeIn();
    }
    this.#recording?.caller(this.#streamStartMs! + m.timestampMs, pcm8k);
    if (++this.#framesSinceSilenceCheck >= SILENCE_CHECK_EVERY_FRAMES) {
      this.#framesSinceSilenceCheck = 0;
      this.#checkSilence();
    }
  }

  #onDtmf(digit: string): void {
    this.#event({ kind: 'dtmf', digit }, this.#now());
    this.#lastCallerSpeechEndMs = this.#now();
    this.#step(this.#session.onDtmf(digit));
  }

  /** Flow silence rules: how long the caller has been quiet while the bot was not talking. */
  #checkSilence(): void {
    if (this.#vad.speaking || this.#utterances.generating || this.#playout?.isPlaying || this.#exit) {
      this.#lastCallerSpeechEndMs = this.#now();
      return;
    }
    const silentMs = this.#now() - this.#lastCallerSpeechEndMs;
    this.#step(this.#session.onSilence(silentMs));
  }

  #onStreamEnd(reason: 'stop' | 'close'): void {
    if (this.#exit?.kind === 'transfer' && this.#exiting) return this.#finish('transferred', this.#exitDetail());
    if (this.#exit?.kind === 'end' && this.#exiting) return this.#finish('ended_by_bot', this.#exitDetail());
    if (this.#failed) return this.#finish('failed', { errorCode: this.#failed.code, reason: 'voice agent unavailable' });
    // Twilio ended the stream: the caller hung up. Mid-conversation (bot talking, a function
    // running, or the caller's words unanswered) it is an abandoned call; otherwise a normal end.
    const abandoned = this.#utterances.generating || this.#playout?.isPlaying === true || this.#dispatcher.pending > 0 || this.#callerStopMs !== undefined;
    this.#log.info({ reason, abandoned }, 'media stream ended');
    this.#finish(abandoned ? 'caller_hung_up' : 'completed', {});
  }

  // --- Gemini ----------------------------------------------------------------------------------

  #sessionConfig(model: string): LiveSessionConfig {
    return {
      model,
      systemInstruction: this.#session.systemInstruction(new Date()),
      tools: this.#session.declarations(),
      ...(this.flow.voice ? { voiceName: this.flow.voice } : {}),
      ...(this.flow.language ? { languageCode: this.flow.language } : {}),
    };
  }

  #history(): Content[] {
    const turns: Content[] = this.#utterances.history.map((h) => ({ role: h.role, parts: [{ text: h.text }] }));
    if (turns.length > 0 && turns[turns.length - 1]!.role !== 'user') {
      turns.push({ role: 'user', parts: [{ text: '(The line to the assistant dropped for a moment. Continue the conversation naturally; do not greet again.)' }] });
    }
    return turns;
  }

  #onReady(info: ReadyInfo): void {
    this.#record.update({ models: [...this.#link.modelsTried] });
    if (info.cause === 'start') {
      if (!this.#greeted) this.#greet();
      return;
    }
    this.#reconnects++;
    this.#dropAudio = false;
    this.#replayUnanswered(info.outageMs);
    if (this.#cutReply !== undefined) {
      // Everything generated before the loss still plays out at Twilio; the rest is owed.
      const said = this.#cutReply ? ` You had said: "${this.#cutReply}".` : '';
      this.#link.sendClientContent(
        [{ role: 'user', parts: [{ text: `(System note, not the caller: the connection to you dropped while you were answering.${said} Finish your answer from where you stopped, without repeating yourself.)` }] }],
        true,
      );
      this.#event({ kind: 'note', text: 'Asked the restored session to finish the answer it was giving' }, this.#now());
      this.#cutReply = undefined;
    }
    this.#event({ kind: 'reconnect', model: info.model, resumed: info.resumed, silenceMs: info.outageMs }, this.#now());
    this.#record.update({ reconnects: this.#reconnects });
    this.#log.info({ model: info.model, resumed: info.resumed, outageMs: info.outageMs, attempts: info.attempts, cause: info.cause }, 'Gemini session restored');
  }

  /**
   * Sends the restored session what the caller said since the last reply, up to the moment the
   * old session was lost; the link then sends what was said during the outage.
   */
  #replayUnanswered(outageMs: number): void {
    if (this.#unansweredFrom === undefined) return;
    const upTo = this.#callerSamples - Math.round(outageMs * 16);
    const count = upTo - this.#unansweredFrom;
    if (count <= 0) return;
    const replay = this.#callerAudio.tail(this.#callerSamples - this.#unansweredFrom).subarray(0, count);
    this.#link.sendAudioBurst(replay);
    this.#event({ kind: 'note', text: `Replayed ${Math.round(replay.length / 16)} ms of the caller's unanswered words to the restored session` }, this.#now());
  }

  #onDown(info: DownInfo): void {
    const atMs = this.#now();
    this.#closes.push({ atMs, code: info.code, reason: info.reason, errorCode: info.errorCode, model: info.model });
    this.#event({ kind: 'gemini_close', code: info.code, reason: info.reason, errorCode: info.errorCode, model: info.model }, atMs);
    this.#record.update({ geminiCloses: [...this.#closes] });
    if (this.#utterances.generating && this.#cutReply === undefined) this.#cutReply = this.#utterances.currentText() ?? '';
    this.#utterances.cut();
    this.#dropAudio = false;
    this.#resolveTurnWaiters();
  }

  #greet(): void {
    this.#greeted = true;
    const greeting = this.#session.greeting();
    this.#link.sendClientContent(
      [{ role: 'user', parts: [{ text: `(The caller has just been connected.) Greet them now by saying exactly: "${greeting}"` }] }],
      true,
    );
    this.#step(this.#session.start(), ['instruct']);
  }

  #onGemini(event: GeminiEvent): void {
    switch (event.type) {
      case 'audio':
        if (!this.#dropAudio) this.#onBotAudio(event.samples);
        return;
      case 'outputTranscription':
        if (!this.#dropAudio) this.#utterances.botText(event.text, this.#now());
        return;
      case 'inputTranscription':
        this.#utterances.callerText(event.text, this.#now(), this.#vadStartMs());
        if (event.finished) this.#utterances.flushCaller();
        return;
      case 'interrupted':
        this.#onInterrupted();
        return;
      case 'turnComplete':
        this.#playout?.flushMark(); // the reply's last audio: know promptly when it has played
        this.#dropAudio = false;
        this.#utterances.turnComplete();
        this.#resolveTurnWaiters();
        return;
      case 'toolCall':
        this.#utterances.functionCall();
        for (const call of event.calls) void this.#runTool(call);
        return;
      case 'toolCallCancellation':
        this.#dispatcher.cancel(event.ids);
        return;
      case 'usage':
        this.#usage.promptTokens += event.usage.promptTokenCount ?? 0;
        this.#usage.responseTokens += event.usage.responseTokenCount ?? 0;
        this.#usage.totalTokens += event.usage.totalTokenCount ?? 0;
        this.#record.update({ usage: { ...this.#usage } });
        return;
      default:
    }
  }

  /** When the caller's current speech started, on the call clock (from the detector's own clock). */
  #vadStartMs(): number | undefined {
    return this.#vad.lastStartMs !== undefined ? this.#now() - (this.#vad.clockMs - this.#vad.lastStartMs) : undefined;
  }

  #onBotAudio(samples: Int16Array): void {
    const atMs = this.#now();
    const utterance = this.#utterances.current(atMs);
    const mulaw = this.#outbound.convert(samples);
    if (mulaw.length === 0) return;
    if (!this.#stream) {
      if (this.#preStreamBytes + mulaw.length <= PRE_STREAM_AUDIO_MAX_BYTES) {
        this.#preStream.push({ utteranceId: utterance.id, mulaw: mulaw.slice() });
        this.#preStreamBytes += mulaw.length;
      }
      return;
    }
    if (this.#recording) this.#recording.botSent(atMs, this.#outbound.lastPcm8k(mulaw.length));
    this.#sendToCaller(utterance.id, mulaw);
  }

  /** Hot path: one media message and one mark per chunk of bot audio, in one socket write. */
  #sendToCaller(utteranceId: string, mulaw: Uint8Array): void {
    const stream = this.#stream!;
    let sent = false;
    stream.batch(() => {
      sent = stream.sendMedia(mulaw);
      if (sent) this.#playout!.sent(utteranceId, mulaw.length / 8);
    });
    if (!sent) return;
    if (this.#firstBotAudioMs === undefined) {
      this.#firstBotAudioMs = this.#now() - this.#streamStartMs!;
      this.#record.update({ latency: { firstBotAudioMs: this.#firstBotAudioMs, turns: this.#turns } });
    }
    if (!this.#vad.speaking) this.#unansweredFrom = undefined; // the caller's words got a reply
    if (this.#callerStopMs !== undefined) {
      const firstBotAudioMs = this.#now();
      this.#turns.push({ callerStopMs: this.#callerStopMs, firstBotAudioMs, latencyMs: firstBotAudioMs - this.#callerStopMs });
      this.#callerStopMs = undefined;
      this.#record.update({ latency: { ...(this.#firstBotAudioMs !== undefined ? { firstBotAudioMs: this.#firstBotAudioMs } : {}), turns: [...this.#turns] } });
    }
  }

  /** The caller talks over the buffered tail of a finished turn: clear it (see LOCAL_BARGE_IN_MS). */
  #localBargeIn(): void {
    const playing = this.#playout!.interrupt();
    this.#recording?.botCleared(this.#now());
    this.#utterances.interrupted(playing);
    this.#outbound.reset();
  }

  #onInterrupted(): void {
    this.#dropAudio = true;
    this.#outbound.reset();
    if (!this.#stream) {
      this.#preStream = [];
      this.#preStreamBytes = 0;
      this.#utterances.interrupted(null);
      return;
    }
    const playing = this.#playout!.interrupt();
    this.#recording?.botCleared(this.#now());
    this.#utterances.interrupted(playing);
  }

  // --- business functions and flow actions ------------------------------------------------------

  async #runTool(call: { id: string; name: string; args?: unknown }): Promise<void> {
    const result = await this.#dispatcher.dispatch(call);
    if (result.duplicate) return;
    this.#event(result.event, this.#now());
    if (result.event.status === 'cancelled') return; // Gemini withdrew it; no answer expected
    this.#link.sendToolResponse([{ id: result.id, name: result.name, response: result.response as Record<string, unknown> }]);
    if ('output' in result.response && result.stage === this.#session.stage) {
      this.#step(this.#session.onFunctionResult(result.name, result.response.output));
    }
    this.#flushDeferred();
  }

  #control(): CallControl {
    return {
      transfer: async (targetName) => {
        const number = this.flow.transfers[targetName];
        if (!number) throw new ToolError(`There is no transfer target called "${targetName}".`);
        if (!this.#s.rest) throw new ToolError('Transfers are not available on this line right now; offer to take a message instead.');
        this.#scheduleExit({ kind: 'transfer', reason: `transfer to ${targetName}`, target: targetName, number });
        return { number };
      },
      endCall: async (reason) => {
        this.#scheduleExit({ kind: 'end', reason });
      },
      goToStage: async (name) => {
        this.#step(this.#session.goTo(name, 'the assistant moved on'));
      },
    };
  }

  /** Applies a flow step: records stage changes, runs or defers its actions. */
  #step(step: { actions: FlowAction[]; events: StageChange[] }, skip: FlowAction['type'][] = []): void {
    for (const e of step.events) this.#event(e, this.#now());
    for (const action of step.actions) if (!skip.includes(action.type)) this.#deferred.push(action);
    this.#flushDeferred();
  }

  #flushDeferred(): void {
    if ((this.#link.session?.pendingToolCalls.length ?? 0) > 0 || this.#dispatcher.pending > 0) return;
    const actions = this.#deferred;
    this.#deferred = [];
    for (const action of actions) this.#apply(action);
  }

  #apply(action: FlowAction): void {
    switch (action.type) {
      case 'say':
        this.#link.sendClientContent([{ role: 'user', parts: [{ text: `(System instruction, not the caller.) Say exactly this to the caller now: "${action.text}"` }] }], true);
        return;
      case 'instruct':
        this.#link.sendClientContent([{ role: 'user', parts: [{ text: `(System instruction, not the caller.) ${action.text}` }] }], false);
        return;
      case 'tell_model':
        this.#link.sendClientContent([{ role: 'user', parts: [{ text: action.text }] }], true);
        return;
      case 'transfer':
        if (!this.#s.rest) {
          this.#event({ kind: 'error', code: 'CB_TWILIO_REST_FAILED', message: `cannot transfer to ${action.target}: Twilio credentials are not configured` }, this.#now());
          return;
        }
        this.#scheduleExit({ kind: 'transfer', reason: `transfer to ${action.target}`, target: action.target, number: action.number });
        return;
      case 'end_call':
        this.#scheduleExit({ kind: 'end', reason: action.reason });
        return;
    }
  }

  #onMaxDuration(): void {
    this.#event({ kind: 'error', code: 'CB_CALL_MAX_DURATION', message: `the call reached ${this.flow.maxCallDurationS} s` }, this.#now());
    this.#apply({ type: 'say', text: 'We have reached the time limit for this call. Thank you for calling, goodbye.' });
    this.#scheduleExit({ kind: 'end', reason: 'maximum call duration', errorCode: 'CB_CALL_MAX_DURATION' });
  }

  // --- leaving the call ------------------------------------------------------------------------

  #scheduleExit(exit: PendingExit): void {
    if (this.#exit || this.#finished) return;
    this.#exit = exit;
    void this.#runExit();
  }

  /** After the bot's last words have been generated and played (capped), hang up or transfer. */
  async #runExit(): Promise<void> {
    const exit = this.#exit!;
    // Let the model finish the turn that answers the function call (its goodbye), then let it play.
    await this.#nextTurnComplete(EXIT_TURN_WAIT_MS);
    if (this.#playout) await withTimeout(this.#playout.whenPlayed(), EXIT_PLAYOUT_WAIT_MS);
    if (this.#finished) return;
    this.#exiting = true;
    if (exit.kind === 'transfer') {
      this.#event({ kind: 'transfer', target: `${exit.target} (${exit.number})` }, this.#now());
      try {
        // Twilio replaces the call's TwiML, then sends `stop` and closes the stream (→ #onStreamEnd).
        await this.#s.rest!.updateCallTwiml(this.callSid, dialTwiml(exit.number!));
        if (!this.#stream) this.#finish('transferred', this.#exitDetail());
      } catch (err) {
        const error = err as CallbridgeError;
        this.#event({ kind: 'error', code: error.code ?? 'CB_TWILIO_REST_FAILED', message: error.message }, this.#now());
        this.#exiting = false;
        this.#exit = undefined;
        this.#apply({ type: 'tell_model', text: 'The transfer could not be completed. Apologise to the caller and offer to take a message.' });
      }
      return;
    }
    // Ending: closing the media stream ends the call (nothing follows <Connect> in our TwiML).
    if (this.#stream) this.#stream.close(1000, 'call ended by the assistant');
    else this.#finish('ended_by_bot', this.#exitDetail());
  }

  #exitDetail(): OutcomeDetail {
    const exit = this.#exit;
    if (!exit) return {};
    return {
      reason: exit.reason,
      ...(exit.kind === 'transfer' ? { transferTarget: `${exit.target} (${exit.number})` } : {}),
      ...(exit.errorCode ? { errorCode: exit.errorCode } : {}),
    };
  }

  #nextTurnComplete(timeoutMs: number): Promise<void> {
    if (!this.#utterances.generating && !this.#link.session?.pendingToolCalls.length && this.#dispatcher.pending === 0) {
      // Nothing is being generated: give the model a moment to start its goodbye.
      return withTimeout(new Promise<void>((resolve) => this.#turnWaiters.push(resolve)), 1500).then(() => undefined);
    }
    return withTimeout(new Promise<void>((resolve) => this.#turnWaiters.push(resolve)), timeoutMs).then(() => undefined);
  }

  #resolveTurnWaiters(): void {
    const waiters = this.#turnWaiters;
    this.#turnWaiters = [];
    for (const w of waiters) w();
  }

  #onFailed(error: CallbridgeError): void {
    if (this.#finished) return;
    this.#failed = error;
    this.#event({ kind: 'error', code: error.code, message: error.message }, this.#now());
    if (this.#stream) this.#playApology();
  }

  /**
   * The voice agent is gone for good: a short recorded apology, then the flow's choice — hang up,
   * or transfer to one of its targets (when Twilio call control is configured).
   */
  #playApology(): void {
    const stream = this.#stream!;
    this.#playout?.interrupt();
    const then = this.flow.agentUnavailable.then;
    const transfer = then !== 'hangup' && this.#s.rest ? { target: then.transfer, number: this.flow.transfers[then.transfer]! } : undefined;
    const apology = transfer ? this.#s.prompts.apologyTransfer : this.#s.prompts.apology;
    const chunkBytes = 8000;
    for (let i = 0; i < apology.mulaw.length; i += chunkBytes) {
      const chunk = apology.mulaw.subarray(i, i + chunkBytes);
      stream.sendMedia(chunk);
      this.#playout!.sent('apology', chunk.length / 8);
    }
    void withTimeout(this.#playout!.whenPlayed('apology'), apology.durationMs + 5000).then(() => {
      if (this.#finished) return;
      if (!transfer) return stream.close(1000, 'voice agent unavailable');
      this.#exit = { kind: 'transfer', reason: 'voice agent unavailable', target: transfer.target, number: transfer.number, errorCode: this.#failed!.code };
      this.#exiting = true;
      this.#event({ kind: 'transfer', target: `${transfer.target} (${transfer.number})` }, this.#now());
      this.#s.rest!.updateCallTwiml(this.callSid, dialTwiml(transfer.number)).catch((err: unknown) => {
        this.#event({ kind: 'error', code: 'CB_TWILIO_REST_FAILED', message: (err as Error).message }, this.#now());
        stream.close(1000, 'voice agent unavailable');
      });
    });
  }

  // --- records ---------------------------------------------------------------------------------

  #event(body: CallEventBody, atMs: number): void {
    this.#record.event(body, atMs);
  }

  /** Ends the call's bookkeeping exactly once. */
  #finish(outcome: CallOutcome, detail: OutcomeDetail): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#maxDurationTimer);
    this.#dispatcher.cancelAll();
    this.#utterances.finish();
    this.#playout?.end();
    void this.#link.close();
    const endAtMs = this.#now();
    const recording = this.#recording;
    if (recording) void recording.close(endAtMs).catch((err: unknown) => this.#log.warn({ err }, 'closing the recording failed'));
    this.#record.close({
      outcome,
      ...(Object.keys(detail).length > 0 ? { outcomeDetail: detail } : {}),
      endedAt: Date.now(),
      models: [...this.#link.modelsTried],
      geminiCloses: [...this.#closes],
      reconnects: this.#reconnects,
      usage: { ...this.#usage },
      latency: { ...(this.#firstBotAudioMs !== undefined ? { firstBotAudioMs: this.#firstBotAudioMs } : {}), turns: [...this.#turns] },
    });
    this.#log.info({ outcome, ...detail, durationMs: endAtMs, reconnects: this.#reconnects }, 'call finished');
    this.#s.ended(this);
  }

  /** Ends the call from outside (shutdown deadline, no stream ever came). */
  abort(code: ErrorCode, reason: string): void {
    if (this.#finished) return;
    this.#event({ kind: 'error', code, message: reason }, this.#now());
    this.#stream?.close(1001, reason.slice(0, 100));
    this.#finish('failed', { errorCode: code, reason });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    timer.unref?.();
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}
