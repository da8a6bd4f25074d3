/**
 * One Twilio media stream over one accepted WebSocket: typed events in, media/mark/clear out.
 *
 * Inbound: frames are parsed with ./parse.ts; malformed or out-of-order input (media before
 * start, a second start, a wrong streamSid, an unknown event, a binary frame) is logged once per
 * kind per stream with a CB_TWILIO_* code and ignored. The socket closing, or a `stop` message,
 * gives exactly one `end` event.
 *
 * `media.timestamp` is not taken on trust: one that runs more than MAX_TIMESTAMP_LEAD_MS ahead of
 * the stream's progress (the wall-clock time since `start` or the audio received, whichever is
 * further; the second keeps faster-than-real-time simulated calls exact) is logged once and
 * replaced by the end of the previous frame, so a forged or corrupt "1e15 ms" cannot make
 * listeners that place audio on a timeline (the call recording) fill hours of silence.
 *
 * Hot path (every 20 ms): no logging, the base64 payload is decoded into a buffer reused for the
 * life of the stream and the `media` event object is reused too, so a listener must consume
 * `payload` before returning (copy it to keep it). Outbound JSON is built by string
 * concatenation and always sent as a TEXT frame (binary frames are warning 31950 at Twilio).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../shared/log.js';
import type { ErrorCode } from '../shared/errors.js';
import { parseTwilioFrame } from './parse.js';
import { MULAW_BYTES_PER_MS, type StartMessage, type TwilioInboundMessage } from './protocol.js';

/** The part of a `ws` WebSocket this class uses (a real `ws` socket fits). */
export interface MediaSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

const OPEN = 1;
/** How far `media.timestamp` may run ahead of the stream's progress before it is not believed. */
export const MAX_TIMESTAMP_LEAD_MS = 10_000;

export interface MediaEvent {
  /** μ-law 8 kHz bytes; a view into a reused buffer, valid until the listener returns. */
  payload: Uint8Array;
  /** Presentation timestamp, ms from the start of the stream. */
  timestampMs: number;
  /** Twilio's media chunk counter (starts at 1). */
  chunk: number;
}

export type StreamEndReason = 'stop' | 'close';

export interface TwilioMediaStreamEvents {
  /** The `start` message was accepted (the edge listens; handlers receive the stream after it). */
  start: [];
  media: [MediaEvent];
  dtmf: [{ digit: string }];
  /** The echo of a mark: the audio before it was played, or cleared. */
  mark: [{ name: string }];
  /** Twilio sent `stop` (call ended, or its TwiML was replaced). */
  stop: [];
  close: [{ code: number; reason: string }];
  /** Exactly once, on `stop` or socket close, whichever comes first. */
  end: [{ reason: StreamEndReason }];
}

export interface TwilioMediaStreamOptions {
  log: Logger;
  /**
   * The TCP socket under the WebSocket, when the caller has it: `batch()` corks it so that the
   * messages sent together (a media message and its mark) leave in one write.
   */
  transport?: { cork(): void; uncork(): void };
}

export class TwilioMediaStream extends EventEmitter<TwilioMediaStreamEvents> {
  streamSid = '';
  callSid = '';
  accountSid = '';
  customParameters: Readonly<Record<string, string>> = {};
  /** When `start` arrived (undefined before). */
  startedAt: Date | undefined;
  mediaFormat: StartMessage['start']['mediaFormat'] | undefined;

  readonly #socket: MediaSocket;
  readonly #log: Logger;
  readonly #transport: TwilioMediaStreamOptions['transport'];
  readonly #warned = new Set<string>();
  #connected = false;
  #ended = false;
  #mediaPrefix = '';
  #markPrefix = '';
  #clearMessage = '';
  #decodeBuffer = Buffer.alloc(1024);
  /** performance.now() at `start`; audio received since, and where the last frame ended (ms). */
  #startedPerfMs = 0;
  #receivedMs = 0;
  #nextTimestampMs = 0;
  readonly #mediaEvent: MediaEvent = { payload: new Uint8Array(0), timestampMs: 0, chunk: 0 };
  /** The last audio sent and a Buffer over its bytes (callers pass the same reused view every chunk). */
  #sentAudio: Uint8Array | undefined;
  #sentBytes: Buffer | undefined;

  constructor(socket: MediaSocket, options: TwilioMediaStreamOptions) {
    super();
    this.#socket = socket;
    this.#log = options.log;
    this.#transport = options.transport;
    socket.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
    socket.on('close', (code, reason) => this.#onClose(code, reason.toString('utf8')));
    socket.on('error', (err) => this.#warnOnce('socket-error', 'CB_TWILIO_MALFORMED_MESSAGE', { err: err.message }));
  }

  get started(): boolean {
    return this.startedAt !== undefined;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Bytes queued in the socket and not yet sent (back-pressure indicator). */
  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  /** Runs `send` with the socket corked: whatever it sends goes out in one write. */
  batch(send: () => void): void {
    const t = this.#transport;
    if (!t) return send();
    t.cork();
    try {
      send();
    } finally {
      t.uncork();
    }
  }

  /** Sends μ-law 8 kHz audio (any length). Returns false when the stream cannot send any more. */
  sendMedia(mulaw: Uint8Array): boolean {
    if (this.#ended || this.#mediaPrefix === '' || this.#socket.readyState !== OPEN) return false;
    if (mulaw !== this.#sentAudio || this.#sentBytes === undefined) {
      this.#sentAudio = mulaw;
      this.#sentBytes = Buffer.from(mulaw.buffer, mulaw.byteOffset, mulaw.byteLength);
    }
    this.#socket.send(this.#mediaPrefix + this.#sentBytes.toString('base64') + '"}}');
    return true;
  }

  /** Sends a mark; Twilio echoes it once the audio sent before it has played (or was cleared). */
  sendMark(name: string): boolean {
    if (this.#ended || this.#markPrefix === '' || this.#socket.readyState !== OPEN) return false;
    this.#socket.send(this.#markPrefix + JSON.stringify(name) + '}}');
    return true;
  }

  /** Empties Twilio's playback buffer; Twilio then echoes every pending mark. */
  sendClear(): boolean {
    if (this.#ended || this.#clearMessage === '' || this.#socket.readyState !== OPEN) return false;
    this.#socket.send(this.#clearMessage);
    return true;
  }

  /** Closes the socket (Twilio then runs the TwiML after `</Connect>`, or ends the call). */
  close(code = 1000, reason = ''): void {
    if (this.#socket.readyState === OPEN || this.#socket.readyState === 0) this.#socket.close(code, reason);
  }

  #onFrame(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.#ended) return;
    const result = parseTwilioFrame(data, isBinary);
    if (result.kind === 'message') this.#dispatch(result.message);
    else if (result.kind === 'unknown') this.#warnOnce('unknown-event', 'CB_TWILIO_MALFORMED_MESSAGE', { event: result.event });
    else this.#warnOnce(isBinary ? 'binary-frame' : 'malformed', 'CB_TWILIO_MALFORMED_MESSAGE', { reason: result.reason });
  }

  #dispatch(message: TwilioInboundMessage): void {
    if (message.event === 'connected') {
      if (this.#connected || this.started) this.#warnOnce('duplicate-connected', 'CB_TWILIO_UNEXPECTED_MESSAGE');
      this.#connected = true;
      return;
    }
    if (message.event === 'start') {
      if (this.started) {
        this.#warnOnce('duplicate-start', 'CB_TWILIO_UNEXPECTED_MESSAGE');
        return;
      }
      this.#onStart(message);
      return;
    }
    if (!this.started) {
      this.#warnOnce(`${message.event}-before-start`, 'CB_TWILIO_UNEXPECTED_MESSAGE');
      return;
    }
    if (message.streamSid !== this.streamSid) {
      this.#warnOnce('wrong-stream-sid', 'CB_TWILIO_UNEXPECTED_MESSAGE', { event: message.event });
      return;
    }
    switch (message.event) {
      case 'media': {
        const payload = message.media.payload;
        const maxBytes = (payload.length >> 2) * 3;
        if (this.#decodeBuffer.length < maxBytes) this.#decodeBuffer = Buffer.alloc(Math.max(maxBytes, 2 * this.#decodeBuffer.length));
        const n = this.#decodeBuffer.write(payload, 'base64');
        const event = this.#mediaEvent;
        event.payload = this.#decodeBuffer.subarray(0, n);
        let timestampMs = Number(message.media.timestamp);
        if (timestampMs > Math.max(performance.now() - this.#startedPerfMs, this.#receivedMs) + MAX_TIMESTAMP_LEAD_MS) {
          this.#warnOnce('timestamp-ahead', 'CB_TWILIO_UNEXPECTED_MESSAGE', { timestamp: message.media.timestamp.slice(0, 20) });
          timestampMs = this.#nextTimestampMs;
        }
        this.#receivedMs += n / MULAW_BYTES_PER_MS;
        this.#nextTimestampMs = timestampMs + n / MULAW_BYTES_PER_MS;
        event.timestampMs = timestampMs;
        event.chunk = Number(message.media.chunk);
        this.#emitSafely('media', event);
        return;
      }
      case 'dtmf':
        this.#emitSafely('dtmf', { digit: message.dtmf.digit });
        return;
      case 'mark':
        this.#emitSafely('mark', { name: message.mark.name });
        return;
      case 'stop':
        this.#emitSafely('stop');
        this.#end('stop');
        return;
    }
  }

  #onStart(message: StartMessage): void {
    const s = message.start;
    this.streamSid = s.streamSid;
    this.callSid = s.callSid;
    this.accountSid = s.accountSid;
    this.customParameters = Object.freeze({ ...s.customParameters });
    this.mediaFormat = s.mediaFormat;
    this.startedAt = new Date();
    this.#startedPerfMs = performance.now();
    const sid = JSON.stringify(s.streamSid);
    this.#mediaPrefix = `{"event":"media","streamSid":${sid},"media":{"payload":"`;
    this.#markPrefix = `{"event":"mark","streamSid":${sid},"mark":{"name":`;
    this.#clearMessage = `{"event":"clear","streamSid":${sid}}`;
    const f = s.mediaFormat;
    if (f.encoding !== 'audio/x-mulaw' || f.sampleRate !== 8000 || f.channels !== 1) {
      this.#warnOnce('media-format', 'CB_TWILIO_UNEXPECTED_MESSAGE', { mediaFormat: f });
    }
    this.#emitSafely('start');
  }

  #onClose(code: number, reason: string): void {
    this.#emitSafely('close', { code, reason });
    this.#end('close');
  }

  #end(reason: StreamEndReason): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#emitSafely('end', { reason });
  }

  /** A throwing listener must not break the receive loop (nor crash the process). */
  #emitSafely<K extends keyof TwilioMediaStreamEvents>(event: K, ...args: TwilioMediaStreamEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: TwilioMediaStreamEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      if (!this.#warned.has(`listener-${event}`)) {
        this.#warned.add(`listener-${event}`);
        this.#log.error({ err, event, streamSid: this.streamSid, callSid: this.callSid }, 'media stream listener threw');
      }
    }
  }

  #warnOnce(kind: string, code: ErrorCode, detail: Record<string, unknown> = {}): void {
    if (this.#warned.has(kind)) return;
    this.#warned.add(kind);
    this.#log.warn({ code, kind, ...detail, streamSid: this.streamSid || undefined, callSid: this.callSid || undefined }, 'media stream message ignored');
  }
}
