/**
 * Twilio behind the CallerTransport port, and the Twilio edge's CallHandler in front of the call
 * manager. The edge (src/web/twilio-routes.ts) has verified signatures and the stream token; this
 * file turns the webhook into an admission (and TwiML), and a Media Stream into the caller's
 * transport: μ-law 8 kHz frames in and out, marks, clear, DTMF, transfers through Twilio's REST
 * call update (docs/twilio-media-streams.md §5).
 */
import type { CallDecision, CallHandler, IncomingCall } from '../../twilio/handler.js';
import type { TwilioMediaStream } from '../../twilio/media-stream.js';
import type { TwilioCallControl } from '../../twilio/rest.js';
import { dialTwiml, hangupTwiml, sayHangupTwiml } from '../../twilio/twiml.js';
import { CallbridgeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { PHONE_FORMAT } from '../audio-path.js';
import type { Admission, CallManager } from '../manager.js';
import type { CallerTransport, TransportListener } from '../ports.js';

const BUSY_MESSAGE = 'Sorry, we cannot take your call right now. Please call back in a minute.';
const CLOSED_MESSAGE = 'We are closed right now. Please call back during business hours.';

export interface TwilioAdapterOptions {
  manager: CallManager;
  /** Twilio REST call control (transfers); without it, calls cannot be transferred. */
  rest: TwilioCallControl | undefined;
  log: Logger;
  /** FALLBACK_NUMBER: new calls while draining (shutdown) or at capacity are dialled here; without it they hear a short message. */
  fallbackNumber?: string;
}

/** The Twilio edge's handler: webhooks become admissions, media streams the calls' transports. */
export class TwilioCalls implements CallHandler {
  readonly #o: TwilioAdapterOptions;
  /** The caller legs of admitted calls, until their call finishes. */
  readonly #legs = new Map<string, TwilioLeg>();

  constructor(options: TwilioAdapterOptions) {
    this.#o = options;
  }

  async onIncomingCall(incoming: IncomingCall): Promise<CallDecision> {
    if (await this.#o.manager.ended(incoming.callSid)) {
      this.#o.log.warn({ code: 'CB_TWILIO_CALL_ENDED', callSid: incoming.callSid }, 'webhook for a call that already ended (replayed?): answered with a hang-up');
      return { kind: 'twiml', twiml: hangupTwiml() };
    }
    const admission = this.#o.manager.admit(
      { callSid: incoming.callSid, accountSid: incoming.accountSid, from: incoming.from, to: incoming.to, channel: 'phone' },
      () => this.#leg(incoming.callSid),
    );
    // Several instances: the stream may land on another one, which must find the call claimed and its record stored.
    if (admission.kind === 'accepted') await this.#o.manager.admitted(incoming.callSid);
    return this.#decision(admission);
  }

  onStreamStart(stream: TwilioMediaStream): void {
    const leg = this.#legs.get(stream.callSid);
    if (!leg) {
      void this.#adopt(stream);
      return;
    }
    this.#o.manager.mediaStarted(stream.callSid);
    leg.attach(stream);
  }

  /**
   * Media for a call whose webhook went elsewhere (another instance, a restart): the call is
   * rebuilt from the stream, unless its record is already final (e.g. this process ended it
   * when no stream came in time, and the unused token arrives late): a closed record is never
   * reopened. With several instances the call is taken over (src/call/ownership.ts): it keeps
   * its stored record (caller, start) and only this instance writes it from now on.
   */
  async #adopt(stream: TwilioMediaStream): Promise<void> {
    const { callSid, streamSid } = stream;
    // Registered before the await, so a second stream for the call meanwhile finds a leg and is refused.
    const leg = this.#leg(callSid);
    const refuse = (code: 'CB_TWILIO_CALL_ENDED' | 'CB_TWILIO_STREAM_REFUSED', reason: string, closeCode: number): void => {
      if (this.#legs.get(callSid) === leg) this.#legs.delete(callSid);
      this.#o.log.warn({ code, callSid, streamSid, reason }, 'media stream for an unknown call refused');
      stream.close(closeCode, reason === 'call already ended' ? reason : 'not accepting calls');
    };
    try {
      const flowName = stream.customParameters['flow'] ?? '';
      const busy = (): void => refuse('CB_TWILIO_STREAM_REFUSED', this.#o.manager.draining ? 'draining' : this.#o.manager.status().atCapacity ? 'at capacity' : 'no flow', 1001);
      if (await this.#o.manager.ended(callSid)) return refuse('CB_TWILIO_CALL_ENDED', 'call already ended', 1008);
      const now = this.#o.manager.status(); // checked before taking the call over: a refused call stays its first instance's to end
      if (now.draining || (now.maxCalls !== null && now.active >= now.maxCalls)) return busy();
      const taken = await this.#o.manager.takeOver(callSid);
      if (!taken) return refuse('CB_TWILIO_CALL_ENDED', 'call already ended', 1008);
      if (stream.ended) {
        if (this.#legs.get(callSid) === leg) this.#legs.delete(callSid);
        return;
      }
      if (!this.#o.manager.adopt({ callSid, accountSid: stream.accountSid, channel: 'phone' }, flowName, leg, taken)) return busy();
      leg.attach(stream);
    } catch (err) {
      this.#o.log.error({ err, callSid, streamSid }, 'could not adopt the media stream; closing it');
      if (this.#legs.get(callSid) === leg) this.#legs.delete(callSid);
      stream.close(1011, 'internal error');
    }
  }

  onStreamStatus(status: { callSid: string; streamSid: string; event: string; error?: string }): void {
    if (status.event === 'stream-error') this.#o.manager.abort(status.callSid, 'CB_TWILIO_STREAM_ERROR', status.error ?? 'stream error');
  }

  #leg(callSid: string): TwilioLeg {
    const leg = new TwilioLeg(callSid, this.#o.rest, this.#o.log, () => {
      if (this.#legs.get(callSid) === leg) this.#legs.delete(callSid);
    });
    this.#legs.set(callSid, leg);
    return leg;
  }

  #decision(admission: Admission): CallDecision {
    switch (admission.kind) {
      case 'accepted':
        return { kind: 'stream', parameters: { flow: admission.flow } };
      case 'draining':
      case 'busy':
        return { kind: 'twiml', twiml: this.#o.fallbackNumber ? dialTwiml(this.#o.fallbackNumber) : sayHangupTwiml(BUSY_MESSAGE) };
      case 'no-flow':
        return { kind: 'twiml', twiml: sayHangupTwiml('Sorry, this number is not in service.') };
      case 'closed': {
        const sayOptions = admission.language ? { language: admission.language } : {};
        const say = admission.say;
        const twiml = admission.transfer
          ? dialTwiml(admission.transfer.number, { ...(say ? { say } : {}), sayOptions })
          : sayHangupTwiml(say || CLOSED_MESSAGE, sayOptions);
        return { kind: 'twiml', twiml };
      }
    }
  }
}

/** One call's caller leg: created at the webhook, its Media Stream attached when it starts. */
export class TwilioLeg implements CallerTransport {
  readonly channel = 'phone' as const;
  readonly inputFormat = PHONE_FORMAT;
  readonly outputFormat = PHONE_FORMAT;
  readonly capabilities: CallerTransport['capabilities'];
  readonly #callSid: string;
  readonly #rest: TwilioCallControl | undefined;
  readonly #log: Logger;
  readonly #onRelease: () => void;
  #stream: TwilioMediaStream | undefined;
  #listener: TransportListener | undefined;
  #released = false;

  constructor(callSid: string, rest: TwilioCallControl | undefined, log: Logger, onRelease: () => void) {
    this.#callSid = callSid;
    this.#rest = rest;
    this.#log = log;
    this.#onRelease = onRelease;
    this.capabilities = { transfer: rest !== undefined, dtmf: true };
  }

  listen(listener: TransportListener): void {
    this.#listener = listener;
  }

  /** The call's Media Stream started. A second stream for the call, or one after it ended, is refused. */
  attach(stream: TwilioMediaStream): void {
    const listener = this.#listener;
    if (this.#stream || this.#released || !listener) {
      const reason = this.#stream ? 'call already has a stream' : 'call already ended';
      this.#log.warn({ code: 'CB_TWILIO_STREAM_REFUSED', callSid: this.#callSid, streamSid: stream.streamSid, reason }, 'second media stream for a call refused');
      stream.close(1008, reason);
      return;
    }
    this.#stream = stream;
    stream.on('media', (m) => listener.audio(m.payload, m.timestampMs));
    stream.on('dtmf', ({ digit }) => listener.dtmf(digit));
    stream.on('mark', ({ name }) => listener.played(name));
    stream.on('end', ({ reason }) => listener.ended(reason));
    listener.connected({ mediaId: stream.streamSid });
  }

  sendAudio(audio: Uint8Array): boolean {
    return this.#stream?.sendMedia(audio) ?? false;
  }

  sendMark(name: string): void {
    this.#stream?.sendMark(name);
  }

  clear(): void {
    this.#stream?.sendClear();
  }

  batch(send: () => void): void {
    if (this.#stream) this.#stream.batch(send);
    else send();
  }

  /** Twilio replaces the call's TwiML with a <Dial>, then sends `stop` and closes the stream. */
  async transfer(number: string): Promise<void> {
    if (!this.#rest) throw new CallbridgeError('CB_TWILIO_REST_FAILED', 'transfers need TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN');
    await this.#rest.updateCallTwiml(this.#callSid, dialTwiml(number));
  }

  /** Closing the stream ends the call: nothing follows <Connect> in our TwiML. */
  close(kind: 'normal' | 'going-away', reason: string): void {
    this.#stream?.close(kind === 'normal' ? 1000 : 1001, reason);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#onRelease();
  }
}
