/**
 * A simulated inbound phone call, behaving like Twilio towards callbridge: the signed voice
 * webhook, following the TwiML (`<Connect><Stream>` opens the signed media stream; `<Say>`,
 * `<Hangup>`, `<Dial>`, `<Redirect>` are reported as the outcome), stream status callbacks, and a
 * recording of what the caller heard, aligned on the call clock.
 *
 * The call clock starts when the call is placed (after the script's audio is rendered); the
 * script starts when the stream does.
 */
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { encodeWav } from '../audio/wav.js';
import { CallClock } from './clock.js';
import { prepareScript, type PreparedStep, CALLER_SAMPLE_RATE_HZ } from './script.js';
import { twilioSignature } from './signing.js';
import { StreamSession, type SessionCounts, type StreamEnd } from './stream-session.js';
import type { TimelineEvent } from './timeline.js';
import { describeVerb, isTerminal, readTwiml, type StreamNoun, type TwimlVerb } from './twiml-reader.js';
import type { CallOutcome, CallResult, PlaceCallOptions } from './types.js';
import { randomSid, rewriteToServer } from './urls.js';

export type { CallEndedBy, CallOutcome, CallResult, PlaceCallOptions } from './types.js';
export { randomSid, rewriteToServer } from './urls.js';

/** Calls by CallSid, for the fake REST API. */
export class SimulatedCallRegistry {
  readonly #calls = new Map<string, SimulatedCall>();
  add(call: SimulatedCall): void {
    this.#calls.set(call.callSid, call);
  }
  get(callSid: string): SimulatedCall | undefined {
    return this.#calls.get(callSid);
  }
  delete(callSid: string): void {
    this.#calls.delete(callSid);
  }
}

export class SimulatedCall {
  readonly callSid: string;
  readonly accountSid: string;
  /** The current (or last) stream's StreamSid: a stream opened by replaced TwiML gets a new one, as on Twilio. */
  streamSid: string;
  readonly from: string;
  readonly to: string;
  /** Settles when the call is over; never rejects for call failures (see outcome.error). */
  readonly result: Promise<CallResult>;
  readonly #o: PlaceCallOptions;
  readonly #publicBase: string;
  readonly #timeline: TimelineEvent[] = [];
  readonly #protocolErrors: string[] = [];
  readonly #callbacks: Promise<void>[] = [];
  readonly #counts: SessionCounts & { statusCallbacks: number } = {
    mediaFramesSent: 0, mediaMessagesReceived: 0, mediaBytesReceived: 0, marksReceived: 0,
    marksEchoed: 0, marksEchoedCleared: 0, clearsReceived: 0, dtmfSent: 0, statusCallbacks: 0,
  };
  #clock: CallClock | undefined;
  #session: StreamSession | undefined;
  #lastSession: StreamSession | undefined;
  #replacement: { endedBy: 'twiml-replaced' | 'api-completed'; verbs: TwimlVerb[] } | undefined;
  #over = false;

  constructor(options: PlaceCallOptions) {
    this.#o = options;
    this.callSid = options.callSid ?? randomSid('CA');
    this.accountSid = options.accountSid ?? randomSid('AC');
    this.streamSid = randomSid('MZ');
    this.from = options.from;
    this.to = options.to;
    this.#publicBase = (options.publicBaseUrl ?? options.serverUrl).replace(/\/+$/, '');
    options.registry?.add(this);
    this.result = this.#run().finally(() => options.registry?.delete(this.callSid));
  }

  /** Twilio's behaviour when the call's TwiML is replaced over REST: `stop`, close, run the new TwiML. */
  replaceTwiml(twiml: string): boolean {
    let verbs: TwimlVerb[];
    try {
      verbs = readTwiml(twiml);
    } catch (err) {
      this.#protocolError(`REST Twiml is not valid TwiML: ${(err as Error).message}`);
      verbs = [];
    }
    return this.#endByApi({ endedBy: 'twiml-replaced', verbs }, 'TwiML replaced');
  }

  /** Twilio's behaviour on status=completed: the call ends (`stop`, close). */
  complete(): boolean {
    return this.#endByApi({ endedBy: 'api-completed', verbs: [] }, 'call completed over REST');
  }

  #endByApi(replacement: { endedBy: 'twiml-replaced' | 'api-completed'; verbs: TwimlVerb[] }, reason: string): boolean {
    if (this.#over || this.#replacement) return false;
    this.#replacement = replacement;
    if (replacement.endedBy === 'twiml-replaced') this.#emit({ atMs: this.#now(), kind: 'twiml-replaced', verbs: replacement.verbs.map(describeVerb) });
    this.#session?.endByApi(reason);
    return true;
  }

  /** True once the call is over (the REST API then answers like for a finished call). */
  get over(): boolean {
    return this.#over;
  }

  #now(): number {
    return this.#clock?.nowMs() ?? 0;
  }

  #emit(e: TimelineEvent): void {
    this.#timeline.push(e);
  }

  #protocolError(reason: string): void {
    if (!this.#protocolErrors.includes(reason)) this.#emit({ atMs: this.#now(), kind: 'protocol-error', reason });
    this.#protocolErrors.push(reason);
  }

  async #run(): Promise<CallResult> {
    const o = this.#o;
    const wallStart = performance.now();
    const steps = await prepareScript(o.script, o.synthesize);
    const clock = (this.#clock = new CallClock(o.timeScale ?? 1));
    let webhookStatus = 0;
    let twiml: string | undefined;
    let customParameters: Record<string, string> = {};
    let outcome: CallOutcome;
    try {
      const params: Record<string, string> = {
        AccountSid: this.accountSid, ApiVersion: '2010-04-01', CallSid: this.callSid, CallStatus: 'ringing',
        Called: o.to, Caller: o.from, Direction: 'inbound', From: o.from, To: o.to, ...o.webhookParams,
      };
      const voicePath = o.voicePath ?? '/twilio/voice';
      const res = await this.#post(o.serverUrl.replace(/\/+$/, '') + voicePath, this.#publicBase + voicePath, params);
      webhookStatus = res.status;
      this.#emit({ atMs: clock.nowMs(), kind: 'webhook', status: res.status });
      if (res.status !== 200) {
        outcome = { endedBy: 'error', verbs: [], error: `voice webhook answered HTTP ${res.status}` };
      } else {
        twiml = res.body;
        const verbs = readTwiml(twiml);
        this.#emit({ atMs: clock.nowMs(), kind: 'twiml', verbs: verbs.map(describeVerb) });
        const stream = verbs.find((v) => v.verb === 'Connect')?.stream;
        if (stream) customParameters = stream.parameters;
        outcome = await this.#follow(verbs, steps);
      }
    } catch (err) {
      outcome = { endedBy: 'error', verbs: [], error: (err as Error).message };
    }
    this.#over = true;
    await Promise.allSettled(this.#callbacks);
    return this.#finish(outcome, { webhookStatus, twiml, customParameters, wallStart });
  }

  async #follow(verbs: TwimlVerb[], steps: readonly PreparedStep[]): Promise<CallOutcome> {
    const done: TwimlVerb[] = [];
    let streamEnd: StreamEnd | undefined;
    for (const verb of verbs) {
      if (verb.verb !== 'Connect') {
        done.push(verb);
        if (isTerminal(verb)) return { endedBy: 'twiml', verbs: done, ...(streamEnd ? { stream: streamEnd } : {}) };
        continue;
      }
      if (!verb.stream) {
        this.#protocolError('<Connect> without <Stream> (not simulated)');
        continue;
      }
      streamEnd = await this.#runStream(verb.stream, steps);
      const moved = this.#replacement?.endedBy === 'twiml-replaced' && this.#replacement.verbs.some((v) => v.verb === 'Connect' && v.stream);
      if (moved && this.#replacement) {
        // Twilio runs the new TwiML: its <Connect><Stream> opens a new stream (e.g. on another server); the caller's script goes on.
        const next = this.#replacement.verbs;
        this.#replacement = undefined;
        this.streamSid = randomSid('MZ');
        return this.#follow(next, steps.slice(this.#lastSession?.stepsDone ?? 0));
      }
      if (this.#replacement) {
        const replaced = this.#replacement.verbs;
        const end = replaced.findIndex(isTerminal);
        return { endedBy: this.#replacement.endedBy, verbs: end === -1 ? replaced : replaced.slice(0, end + 1), stream: streamEnd };
      }
      if (streamEnd.by === 'caller') return { endedBy: 'caller', verbs: done, stream: streamEnd };
      if (streamEnd.by === 'max-duration') return { endedBy: 'max-duration', verbs: done, stream: streamEnd };
      if (verb.action) {
        done.push({ verb: 'Redirect', url: verb.action, method: 'POST' });
        return { endedBy: 'twiml', verbs: done, stream: streamEnd };
      }
      // The server closed the socket (or the stream failed): Twilio runs the next verb.
    }
    return { endedBy: 'twiml', verbs: done, ...(streamEnd ? { stream: streamEnd } : {}) };
  }

  async #runStream(stream: StreamNoun, steps: readonly PreparedStep[]): Promise<StreamEnd> {
    const o = this.#o;
    const clock = this.#clock!;
    if (stream.url.includes('?')) this.#protocolError('Stream url has a query string (Twilio: unsupported, handshake error 31920)');
    if (new URL(this.#publicBase).protocol === 'https:' && !stream.url.startsWith('wss://')) {
      this.#protocolError('Stream url is not wss:// (Twilio error 31922)');
    }
    if (o.connectDelayMs) await new Promise((resolve) => setTimeout(resolve, clock.wallDelayUntil(clock.nowMs() + o.connectDelayMs!)));
    const session = new StreamSession({
      clock,
      connectUrl: rewriteToServer(stream.url, this.#publicBase, o.serverUrl),
      signedUrl: stream.url,
      ...(o.authToken === undefined ? {} : { signature: twilioSignature(o.authToken, stream.url, {}) }),
      accountSid: this.accountSid,
      callSid: this.callSid,
      streamSid: this.streamSid,
      customParameters: stream.parameters,
      steps,
      afterScript: o.afterScript ?? 'hangup',
      maxDurationMs: o.maxDurationMs ?? 10 * 60_000,
      ...(o.playback === undefined ? {} : { playback: o.playback }),
      counts: this.#counts,
      emit: (e) => {
        this.#emit(e);
        if (e.kind === 'start-sent') this.#statusCallback(stream, 'stream-started');
      },
      protocolError: (reason) => this.#protocolError(reason),
    });
    if (this.#replacement) return { by: 'api' }; // replaced before the stream opened
    this.#session = session;
    const end = await session.run();
    this.#session = undefined;
    if (end.by === 'refused' || end.by === 'error') this.#statusCallback(stream, 'stream-error', `Stream - WebSocket - Handshake Error (${end.code ?? '?'})`);
    else this.#statusCallback(stream, 'stream-stopped');
    this.#lastSession = session;
    return end;
  }

  #statusCallback(stream: StreamNoun, event: string, error?: string): void {
    const o = this.#o;
    if (o.statusCallbacks === false || stream.statusCallback === undefined) return;
    const url = stream.statusCallback;
    const params: Record<string, string> = {
      AccountSid: this.accountSid, CallSid: this.callSid, StreamSid: this.streamSid, StreamName: stream.name ?? this.streamSid,
      StreamEvent: event, Timestamp: new Date().toISOString(),
    };
    if (error !== undefined) params['StreamError'] = error;
    this.#callbacks.push(
      this.#post(rewriteToServer(url, this.#publicBase, o.serverUrl), url, params).then(
        (res) => {
          this.#counts.statusCallbacks++;
          this.#emit({ atMs: this.#now(), kind: 'status-callback', event, status: res.status });
        },
        (err: Error) => this.#protocolError(`status callback ${event} failed: ${err.message}`),
      ),
    );
  }

  async #post(url: string, signedUrl: string, params: Record<string, string>): Promise<{ status: number; body: string }> {
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': 'TwilioProxy/1.1 (callbridge simulator)' };
    if (this.#o.authToken !== undefined) headers['X-Twilio-Signature'] = twilioSignature(this.#o.authToken, signedUrl, params);
    // Twilio gives a webhook 15 s (error 31408); wall-clock.
    const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString(), signal: AbortSignal.timeout(15_000) });
    return { status: res.status, body: await res.text() };
  }

  async #finish(
    outcome: CallOutcome,
    info: { webhookStatus: number; twiml: string | undefined; customParameters: Record<string, string>; wallStart: number },
  ): Promise<CallResult> {
    const clock = this.#clock!;
    const durationMs = clock.nowMs();
    const endSample = Math.ceil((durationMs * CALLER_SAMPLE_RATE_HZ) / 1000);
    const session = this.#lastSession;
    const heard = session ? session.playback.heard.toArray(Math.max(endSample, session.playback.heard.length)) : new Int16Array(endSample);
    const sent = session ? session.mic.sent.toArray(heard.length) : new Int16Array(heard.length);
    this.#emit({ atMs: durationMs, kind: 'outcome', endedBy: outcome.endedBy, verbs: outcome.verbs.map(describeVerb) });
    const timeline = this.#timeline.map((e, i) => ({ e, i })).sort((a, b) => a.e.atMs - b.e.atMs || a.i - b.i).map(({ e }) => e);
    const result: CallResult = {
      originPerfMs: this.#clock!.originPerfMs,
      timeScale: this.#clock!.timeScale,
      callSid: this.callSid,
      accountSid: this.accountSid,
      streamSid: session ? this.streamSid : undefined,
      webhookStatus: info.webhookStatus,
      twiml: info.twiml,
      customParameters: info.customParameters,
      outcome,
      timeline,
      sampleRateHz: CALLER_SAMPLE_RATE_HZ,
      heard,
      sent,
      streamStartMs: session ? session.startSample / 8 : undefined,
      durationMs,
      wallMs: performance.now() - info.wallStart,
      counts: { ...this.#counts },
      protocolErrors: [...this.#protocolErrors],
      timeouts: timeline.flatMap((e) => (e.kind === 'wait-timeout' ? [e.step] : [])),
    };
    if (this.#o.recordPath !== undefined) {
      await writeFile(this.#o.recordPath, encodeWav(recording(heard, sent, this.#o.recordStereo === true)));
      result.recordPath = this.#o.recordPath;
    }
    return result;
  }
}

function recording(heard: Int16Array, sent: Int16Array, stereo: boolean) {
  if (!stereo) return { sampleRateHz: CALLER_SAMPLE_RATE_HZ, channels: 1, samples: heard };
  const samples = new Int16Array(heard.length * 2);
  for (let i = 0; i < heard.length; i++) {
    samples[2 * i] = sent[i] ?? 0;
    samples[2 * i + 1] = heard[i]!;
  }
  return { sampleRateHz: CALLER_SAMPLE_RATE_HZ, channels: 2, samples };
}

/** Starts a call; control it (fake REST API) through the returned object, await `result`. */
export function startCall(options: PlaceCallOptions): SimulatedCall {
  return new SimulatedCall(options);
}

/** Places a call and resolves with its result when it is over. */
export function placeCall(options: PlaceCallOptions): Promise<CallResult> {
  return startCall(options).result;
}
