/**
 * The browser test phone behind the CallerTransport port (docs/browser-phone.md): a signed-in
 * user calls a flow from /phone; the page's WebSocket carries the caller's audio (μ-law 8 kHz on
 * the "Phone line", exactly what a Twilio Media Stream carries, or PCM16 16 kHz on "Wideband"),
 * keypad presses, and the page's mark echoes; it gets the bot's audio, marks, clear, and the
 * call's events as they are recorded (captions, stages, functions, transfers, errors).
 *
 * The call itself is an ordinary call of the CallManager (same flow, functions, transcript,
 * recording), stored with channel "browser". A transfer is not placed: the page is told where
 * the call would have gone, the transfer is recorded, and the test call ends.
 *
 * This file knows the page's messages, not the socket: the web edge (src/web/phone-routes.ts)
 * owns the HTTP upgrade, authentication and the WebSocket, and hands frames in through
 * `BrowserCall.frame`.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import type { LiveChange } from '../../transcripts/writer.js';
import { PHONE_FORMAT, WIDEBAND_FORMAT, bytesPerMs } from '../audio-path.js';
import type { CallManager } from '../manager.js';
import type { AudioFormat, CallerTransport, TransportListener } from '../ports.js';

/** "Phone line (8 kHz μ-law)" or "Wideband (16 kHz)". */
export type LineQuality = 'phone' | 'wideband';
export const LINE_QUALITIES: readonly LineQuality[] = ['phone', 'wideband'];

/** Close codes the server uses on the phone's WebSocket (docs/browser-phone.md §4). */
export const PHONE_CLOSE = {
  normal: 1000,
  goingAway: 1001,
  /** A frame that is not one of the page's messages, or not well-formed. */
  badFrame: 4400,
  /** The call was not taken: the server is shutting down, or the flow is gone. */
  refused: 4409,
} as const;

/** Largest audio frame accepted, in ms of audio (the page sends 20 ms frames). */
export const MAX_AUDIO_FRAME_MS = 200;
/** Largest text frame accepted (bytes). */
export const MAX_TEXT_FRAME_BYTES = 1024;
/** Audio may run ahead of real time by this much (a page sending faster is closed). */
const AUDIO_AHEAD_LIMIT_MS = 5000;
const MARK_NAME_MAX = 200;
const DTMF_DIGIT = /^[0-9*#]$/;

/** The socket as the call sees it (the web edge wraps its `ws` in this). */
export interface PhoneSocket {
  sendText(text: string): void;
  sendBinary(bytes: Uint8Array): void;
  close(code: number, reason: string): void;
}

/** Where the page's call events come from (the transcript writer's live feed). */
export interface LiveFeed {
  subscribe(listener: (change: LiveChange) => void): () => void;
}

export interface BrowserPhoneOptions {
  manager: CallManager;
  feed: LiveFeed;
  log: Logger;
  /** Monotonic ms (tests inject one). */
  now?: () => number;
}

export interface BrowserCallRequest {
  /** The signed-in user: the call's `from`. */
  user: string;
  /** One browser call per session at a time. */
  session: string;
  flowName?: string;
  quality: LineQuality;
  /** The page's "Pretend it is…" time. */
  pretendNow?: Date;
}

/** What the web edge hands frames to. */
export interface BrowserCall {
  readonly callSid: string | undefined;
  /** One WebSocket message from the page. */
  frame(data: Uint8Array, isBinary: boolean): void;
  /** The socket closed (either side). */
  closed(): void;
}

/** Every browser call of the process, one per session at a time. */
export class BrowserPhone {
  readonly #o: BrowserPhoneOptions;
  /** Sessions with a call reserved or running. */
  readonly #sessions = new Set<string>();

  constructor(options: BrowserPhoneOptions) {
    this.#o = options;
  }

  /** Browser calls reserved or running. */
  get active(): number {
    return this.#sessions.size;
  }

  /**
   * Holds the session's one call slot (before the WebSocket upgrade); false when the session has
   * a call already. Every true must be followed by `start` or `unreserve`.
   */
  reserve(session: string): boolean {
    if (this.#sessions.has(session)) return false;
    this.#sessions.add(session);
    return true;
  }

  /** The session has a browser call reserved or running. */
  busy(session: string): boolean {
    return this.#sessions.has(session);
  }

  unreserve(session: string): void {
    this.#sessions.delete(session);
  }

  /** The WebSocket is open: admit the call (on a reserved session). */
  start(request: BrowserCallRequest, socket: PhoneSocket): BrowserCall {
    const log = this.#o.log.child({ channel: 'browser' });
    const callSid = `BR${randomBytes(16).toString('hex')}`;
    const leg = new BrowserLeg({ callSid, quality: request.quality, socket, log, now: this.#o.now ?? (() => performance.now()), onRelease: () => this.unreserve(request.session) });
    const admission = this.#o.manager.admit(
      {
        callSid,
        accountSid: 'browser',
        from: request.user,
        to: 'browser',
        channel: 'browser',
        ...(request.flowName !== undefined ? { flowName: request.flowName } : {}),
        ...(request.pretendNow ? { pretendNow: request.pretendNow } : {}),
      },
      () => leg,
    );
    if (admission.kind !== 'accepted') {
      this.unreserve(request.session);
      leg.refuse(admission);
      return leg;
    }
    leg.follow(this.#o.feed);
    leg.open(admission.flow);
    this.#o.manager.mediaStarted(callSid);
    return leg;
  }
}

interface LegOptions {
  callSid: string;
  quality: LineQuality;
  socket: PhoneSocket;
  log: Logger;
  now(): number;
  onRelease(): void;
}

/** One browser call's caller leg. */
export class BrowserLeg implements CallerTransport, BrowserCall {
  readonly channel = 'browser' as const;
  readonly inputFormat: AudioFormat;
  readonly outputFormat: AudioFormat;
  /** Transfers are "placed" by telling the page; keys come from the on-screen keypad. */
  readonly capabilities = { transfer: true, dtmf: true };
  readonly callSid: string;
  readonly #o: LegOptions;
  readonly #maxAudioBytes: number;
  readonly #bytesPerMs: number;
  #listener: TransportListener | undefined;
  #unfollow: (() => void) | undefined;
  /** Media is open: frames are taken and bot audio is sent. */
  #open = false;
  #ended = false;
  #released = false;
  /** Caller audio received, in ms of media. */
  #mediaMs = 0;
  #openedAt = 0;

  constructor(options: LegOptions) {
    this.#o = options;
    this.callSid = options.callSid;
    this.inputFormat = options.quality === 'wideband' ? WIDEBAND_FORMAT : PHONE_FORMAT;
    this.outputFormat = this.inputFormat;
    this.#bytesPerMs = bytesPerMs(this.inputFormat);
    this.#maxAudioBytes = MAX_AUDIO_FRAME_MS * this.#bytesPerMs;
  }

  listen(listener: TransportListener): void {
    this.#listener = listener;
  }

  /** The call was admitted: tell the page, and the call that media flows. */
  open(flow: string): void {
    this.#open = true;
    this.#openedAt = this.#o.now();
    this.#send({ type: 'ready', callSid: this.callSid, flow, quality: this.#o.quality, format: this.inputFormat, frameMs: 20 });
    this.#listener?.connected({ mediaId: this.callSid });
  }

  /** The call was not taken: say why (closed hours carry the flow's message), then close. */
  refuse(admission: { kind: 'draining' | 'busy' | 'no-flow' | 'closed'; say?: string; transfer?: { target: string; number: string } }): void {
    this.#ended = true;
    if (admission.kind === 'closed') {
      this.#send({ type: 'closed', say: admission.say ?? '', ...(admission.transfer ? { transfer: admission.transfer } : {}) });
      this.#o.socket.close(PHONE_CLOSE.normal, 'outside business hours');
      return;
    }
    const message =
      admission.kind === 'draining'
        ? 'The server is shutting down; try again in a minute.'
        : admission.kind === 'busy'
          ? 'The server is at capacity (MAX_CALLS or MAX_PENDING_CALLS); try again in a minute.'
          : 'That flow is not available.';
    this.#send({ type: 'refused', reason: admission.kind, message });
    this.#o.socket.close(PHONE_CLOSE.refused, admission.kind);
  }

  /** Forwards this call's recorded events (and its record's end) to the page. */
  follow(feed: LiveFeed): void {
    this.#unfollow = feed.subscribe((change) => {
      if (change.type === 'event' && change.callSid === this.callSid) this.#send({ type: 'event', event: change.event });
    });
  }

  // --- from the page ----------------------------------------------------------------------------

  frame(data: Uint8Array, isBinary: boolean): void {
    if (!this.#open || this.#ended) return;
    if (isBinary) return this.#audio(data);
    if (data.length > MAX_TEXT_FRAME_BYTES) return this.#bad(`text frame of ${data.length} bytes (at most ${MAX_TEXT_FRAME_BYTES})`);
    let message: unknown;
    try {
      message = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8'));
    } catch {
      return this.#bad('text frame is not JSON');
    }
    this.#message(message);
  }

  closed(): void {
    this.#end('close');
  }

  /** Hot path: one frame of caller audio. */
  #audio(data: Uint8Array): void {
    if (data.length === 0 || data.length > this.#maxAudioBytes) return this.#bad(`audio frame of ${data.length} bytes (1-${this.#maxAudioBytes})`);
    if (this.inputFormat.encoding === 'pcm16' && data.length % 2 !== 0) return this.#bad(`PCM16 audio frame of an odd ${data.length} bytes`);
    const timestampMs = this.#mediaMs;
    this.#mediaMs += data.length / this.#bytesPerMs;
    if (this.#mediaMs - (this.#o.now() - this.#openedAt) > AUDIO_AHEAD_LIMIT_MS) return this.#bad('audio arrives faster than real time');
    this.#listener?.audio(data, timestampMs);
  }

  #message(message: unknown): void {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return this.#bad('message is not a JSON object');
    const m = message as Record<string, unknown>;
    switch (m['type']) {
      case 'dtmf':
        if (typeof m['digit'] !== 'string' || !DTMF_DIGIT.test(m['digit'])) return this.#bad('dtmf.digit must be one of 0-9, * and #');
        return this.#listener?.dtmf(m['digit']);
      case 'mark':
        if (typeof m['name'] !== 'string' || m['name'].length === 0 || m['name'].length > MARK_NAME_MAX) return this.#bad(`mark.name must be a string of 1-${MARK_NAME_MAX} characters`);
        return this.#listener?.played(m['name']);
      case 'hangup':
        this.#o.socket.close(PHONE_CLOSE.normal, 'caller hung up');
        return this.#end('stop');
      default:
        return this.#bad(`unknown message type ${JSON.stringify(String(m['type'])).slice(0, 40)}`);
    }
  }

  /** A frame the page should never send: that socket closes (and so the call ends); nothing else is affected. */
  #bad(reason: string): void {
    this.#o.log.warn({ code: 'CB_PHONE_BAD_FRAME', callSid: this.callSid, reason }, 'browser phone: bad frame; closing its socket');
    this.#send({ type: 'error', code: 'CB_PHONE_BAD_FRAME', message: reason });
    this.#o.socket.close(PHONE_CLOSE.badFrame, 'bad frame');
    this.#end('close');
  }

  #end(reason: 'stop' | 'close'): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#open = false;
    this.#listener?.ended(reason);
  }

  // --- to the page (CallerTransport) -------------------------------------------------------------

  #send(message: Record<string, unknown>): void {
    this.#o.socket.sendText(JSON.stringify(message));
  }

  sendAudio(audio: Uint8Array): boolean {
    if (!this.#open) return false;
    this.#o.socket.sendBinary(audio);
    return true;
  }

  /** Live captions: words as they are transcribed (the recorded utterance follows as an event). */
  caption(who: 'caller' | 'bot', text: string, utteranceId?: string): void {
    if (this.#open) this.#send({ type: 'caption', who, text, ...(utteranceId !== undefined ? { id: utteranceId } : {}) });
  }

  sendMark(name: string): void {
    if (this.#open) this.#send({ type: 'mark', name });
  }

  clear(): void {
    if (this.#open) this.#send({ type: 'clear' });
  }

  batch(send: () => void): void {
    send();
  }

  /** No call is placed: the page is told where it would have gone, and the test call ends. */
  async transfer(number: string): Promise<void> {
    if (!this.#open) return;
    this.#send({ type: 'transfer', number });
    this.#o.socket.close(PHONE_CLOSE.normal, 'transferred');
    this.#end('stop');
  }

  close(kind: 'normal' | 'going-away', reason: string): void {
    if (this.#ended) return;
    this.#send({ type: 'hangup', reason });
    this.#o.socket.close(kind === 'normal' ? PHONE_CLOSE.normal : PHONE_CLOSE.goingAway, reason.slice(0, 100));
    this.#end('close');
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#unfollow?.();
    this.#o.onRelease();
  }
}
