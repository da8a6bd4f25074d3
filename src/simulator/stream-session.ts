/**
 * The simulated caller's media stream, behaving like Twilio's side of `<Connect><Stream>`:
 * opens the signed WebSocket, sends `connected` and `start`, then 20 ms `media` frames paced by
 * the call clock (frame k leaves when the clock reaches its end; late ticks catch up, so there is
 * no drift), `dtmf` for key presses and `stop` on hang-up. Inbound media/mark/clear go through the
 * playback buffer model, after the checks Twilio makes (./server-messages.ts); violations are
 * recorded as protocol errors (Twilio's warnings 31950/31951).
 *
 * Reads frames with its own code: the simulator imports only types from src/twilio.
 */
import WebSocket from 'ws';
import { decodeMulaw } from '../audio/mulaw.js';
import type { StartMessage } from '../twilio/protocol.js';
import type { CallClock } from './clock.js';
import { CallerMic, FRAME_MS, FRAME_SAMPLES } from './mic.js';
import { PlaybackBuffer, type PlaybackOptions } from './playback.js';
import type { PreparedStep } from './script.js';
import { readServerMessage } from './server-messages.js';
import { ScriptRunner } from './script-runner.js';
import type { TimelineEvent } from './timeline.js';

export interface SessionCounts {
  mediaFramesSent: number;
  mediaMessagesReceived: number;
  mediaBytesReceived: number;
  marksReceived: number;
  marksEchoed: number;
  marksEchoedCleared: number;
  clearsReceived: number;
  dtmfSent: number;
}

export type StreamEndedBy = 'caller' | 'server' | 'api' | 'refused' | 'error' | 'max-duration';

export interface StreamEnd {
  by: StreamEndedBy;
  /** Close code (server close) or HTTP status (refused). */
  code?: number;
  reason?: string;
}

export interface StreamSessionOptions {
  clock: CallClock;
  /** Where to connect (host possibly rewritten to the local server). */
  connectUrl: string;
  /** The URL exactly as in the TwiML: what gets signed. */
  signedUrl: string;
  /** Signature header value (absent: unsigned). */
  signature?: string;
  accountSid: string;
  callSid: string;
  streamSid: string;
  customParameters: Record<string, string>;
  steps: readonly PreparedStep[];
  /** After the last step: hang up (default) or keep the line open until the server ends it. */
  afterScript: 'hangup' | 'wait';
  /** Hang up at this call time at the latest. */
  maxDurationMs: number;
  playback?: PlaybackOptions;
  counts: SessionCounts;
  emit: (event: TimelineEvent) => void;
  protocolError: (reason: string) => void;
}

const OPEN = 1;
/** Twilio's handshake timeout is undocumented (failures show as 31901); wall-clock ms. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

export class StreamSession {
  readonly mic = new CallerMic();
  readonly playback: PlaybackBuffer;
  readonly #o: StreamSessionOptions;
  #ws: WebSocket | undefined;
  #seq = 0;
  #chunk = 0;
  #startSample = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #script: ScriptRunner;
  #ended = false;
  #opened = false;
  #closingBy: StreamEndedBy | undefined;
  #finish: (end: StreamEnd) => void = () => {};

  constructor(options: StreamSessionOptions) {
    this.#o = options;
    const sampleMs = (s: number) => s / 8;
    this.playback = new PlaybackBuffer(
      {
        markEchoed: (name, atSample, cleared) => {
          this.#send(`{"event":"mark","sequenceNumber":"${++this.#seq}","streamSid":${JSON.stringify(options.streamSid)},"mark":{"name":${JSON.stringify(name)}}}`);
          options.counts.marksEchoed++;
          if (cleared) options.counts.marksEchoedCleared++;
          options.emit({ atMs: sampleMs(atSample), kind: 'mark-echo', name, cleared });
        },
        speechStarted: (at) => options.emit({ atMs: sampleMs(at), kind: 'bot-speech-start' }),
        speechStopped: (at) => options.emit({ atMs: sampleMs(at), kind: 'bot-speech-stop' }),
      },
      options.playback,
    );
    const session = this;
    this.#script = new ScriptRunner({
      clock: options.clock,
      mic: this.mic,
      playback: this.playback,
      get done() {
        return session.#ended || session.#closingBy !== undefined;
      },
      sendDtmf: (digit) => this.#sendDtmf(digit),
      hangUp: (reason) => this.#hangUp('caller', reason),
      emit: options.emit,
    });
  }

  /** Script steps this stream ran to their end. */
  get stepsDone(): number {
    return this.#script.stepsDone;
  }

  /** Call-clock sample where the stream started (the first media frame's position). */
  get startSample(): number {
    return this.#startSample;
  }

  /** Runs the stream until it ends; never rejects. */
  run(): Promise<StreamEnd> {
    return new Promise<StreamEnd>((resolve) => {
      this.#finish = (end) => {
        if (this.#ended) return;
        this.#ended = true;
        clearTimeout(this.#timer);
        this.playback.advance(this.#o.clock.nowSamples());
        this.#script.cancel();
        resolve(end);
      };
      this.#open();
    });
  }

  /** Ends the stream the way Twilio does when the call's TwiML is replaced or the call completed over REST. */
  endByApi(reason: string): void {
    this.#hangUp('api', reason);
  }

  #open(): void {
    const o = this.#o;
    const headers: Record<string, string> = {};
    if (o.signature !== undefined) headers['X-Twilio-Signature'] = o.signature;
    const ws = new WebSocket(o.connectUrl, { headers, perMessageDeflate: false, handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
    this.#ws = ws;
    ws.on('unexpected-response', (_req, res) => {
      o.emit({ atMs: o.clock.nowMs(), kind: 'stream-refused', status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
      this.#finish({ by: 'refused', code: res.statusCode ?? 0 });
    });
    ws.on('error', (err) => {
      if (this.#ended) return;
      o.protocolError(`socket error: ${err.message}`);
    });
    ws.on('open', () => this.#onOpen());
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on('close', (code, reason) => {
      if (this.#ended) return;
      const text = reason.toString('utf8');
      if (!this.#opened) {
        o.protocolError(`media WebSocket failed before opening (${code})`);
        this.#finish({ by: 'error', code, reason: text });
      } else if (this.#closingBy === undefined) {
        o.emit({ atMs: o.clock.nowMs(), kind: 'server-closed', code, reason: text });
        this.#finish({ by: 'server', code, reason: text });
      } else {
        o.emit({ atMs: o.clock.nowMs(), kind: 'socket-closed', code, reason: text });
        this.#finish({ by: this.#closingBy, code, reason: text });
      }
    });
  }

  #onOpen(): void {
    const o = this.#o;
    this.#opened = true;
    o.emit({ atMs: o.clock.nowMs(), kind: 'stream-open', url: o.signedUrl });
    this.#send('{"event":"connected","protocol":"Call","version":"1.0.0"}');
    const start: StartMessage = {
      event: 'start',
      sequenceNumber: String(++this.#seq),
      start: {
        accountSid: o.accountSid,
        streamSid: o.streamSid,
        callSid: o.callSid,
        tracks: ['inbound'],
        customParameters: o.customParameters,
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
      streamSid: o.streamSid,
    };
    this.#send(JSON.stringify(start));
    this.#startSample = o.clock.nowSamples();
    this.playback.advance(this.#startSample);
    o.emit({ atMs: this.#startSample / 8, kind: 'start-sent', streamSid: o.streamSid });
    this.#tick();
    void this.#script.run(o.steps, o.afterScript);
  }

  #tick(): void {
    if (this.#ended) return;
    const o = this.#o;
    const nowMs = o.clock.nowMs();
    // Frame k covers [start + 20k, start + 20k + 20) ms and leaves once that has elapsed.
    while (!this.#ended && (this.#startSample + (this.#chunk + 1) * FRAME_SAMPLES) / 8 <= nowMs) this.#sendFrame();
    this.playback.advance(o.clock.nowSamples());
    this.#script.check(nowMs);
    if (nowMs >= o.maxDurationMs) {
      this.#hangUp('max-duration', 'maximum call duration');
      return;
    }
    if (this.#ended) return;
    const nextMs = (this.#startSample + (this.#chunk + 1) * FRAME_SAMPLES) / 8;
    // The work runs in the check phase (setImmediate), after the event loop's I/O poll: when the
    // process was stalled, media that arrived meanwhile is queued before playback advances over
    // the stall, instead of being counted as an underrun.
    this.#timer = setTimeout(() => setImmediate(() => this.#tick()), o.clock.wallDelayUntil(nextMs));
  }

  #sendFrame(): void {
    const k = this.#chunk++;
    const frame = this.mic.nextFrame(this.#startSample + k * FRAME_SAMPLES);
    const payload = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('base64');
    this.#send(
      `{"event":"media","sequenceNumber":"${++this.#seq}","media":{"track":"inbound","chunk":"${k + 1}","timestamp":"${k * FRAME_MS}","payload":"${payload}"},"streamSid":${JSON.stringify(this.#o.streamSid)}}`,
    );
    this.#o.counts.mediaFramesSent++;
  }

  #sendDtmf(digit: string): void {
    this.#send(
      `{"event":"dtmf","streamSid":${JSON.stringify(this.#o.streamSid)},"sequenceNumber":"${++this.#seq}","dtmf":{"track":"inbound_track","digit":${JSON.stringify(digit)}}}`,
    );
    this.#o.counts.dtmfSent++;
    this.#o.emit({ atMs: this.#o.clock.nowMs(), kind: 'dtmf', digit });
  }

  #send(text: string): void {
    if (this.#ws?.readyState === OPEN) this.#ws.send(text);
  }

  #hangUp(by: StreamEndedBy, reason: string): void {
    if (this.#ended || this.#closingBy !== undefined) return;
    this.#closingBy = by;
    clearTimeout(this.#timer);
    this.mic.drop();
    this.playback.advance(this.#o.clock.nowSamples());
    this.#send(
      `{"event":"stop","sequenceNumber":"${++this.#seq}","stop":{"accountSid":${JSON.stringify(this.#o.accountSid)},"callSid":${JSON.stringify(this.#o.callSid)}},"streamSid":${JSON.stringify(this.#o.streamSid)}}`,
    );
    this.#o.emit({ atMs: this.#o.clock.nowMs(), kind: 'stop-sent', reason });
    const ws = this.#ws;
    if (ws && (ws.readyState === OPEN || ws.readyState === WebSocket.CONNECTING)) ws.close(1000);
    else this.#finish({ by });
  }

  // --- inbound (server → "Twilio") ---------------------------------------------------------

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#ended || this.#closingBy !== undefined) return;
    const o = this.#o;
    const msg = readServerMessage(data, isBinary, o.streamSid);
    const now = o.clock.nowSamples();
    switch (msg.kind) {
      case 'invalid':
        o.protocolError(msg.reason);
        return;
      case 'media':
        o.counts.mediaMessagesReceived++;
        o.counts.mediaBytesReceived += msg.bytes.length;
        this.playback.enqueueAudio(decodeMulaw(msg.bytes), now);
        break;
      case 'mark':
        o.counts.marksReceived++;
        this.playback.enqueueMark(msg.name, now);
        break;
      case 'clear': {
        o.counts.clearsReceived++;
        const { droppedSamples, marks } = this.playback.clear(now);
        o.emit({ atMs: now / 8, kind: 'clear', droppedMs: droppedSamples / 8, marksEchoed: marks.length });
        break;
      }
    }
    this.#script.check(o.clock.nowMs());
  }
}
