/**
 * The agent's voice on its way to the caller: agent audio (24 kHz) converted to the caller's
 * format and sent with playout marks, so that what the caller actually heard is known from the
 * transport's echoes (./playout.ts). Audio the agent generates before the caller's media is up
 * (the greeting, pre-opened at the webhook) is kept and played from its start once it is.
 *
 * Barge-in: after the agent's `interrupted`, the transport's buffer is cleared at once and the
 * rest of the interrupted turn is dropped until the turn ends; a local barge-in (the caller talks
 * over the buffered tail of a finished turn) clears the buffer the same way.
 */
import type { CallRecording } from '../transcripts/recording.js';
import { bytesPerMs, outboundConverter, PHONE_SAMPLE_RATE_HZ, type OutboundConverter } from './audio-path.js';
import { outbound8kConverter, type Outbound8kConverter } from './outbound-8k.js';
import { PlayoutTracker, type PlayedOutcome } from './playout.js';
import type { CallerTransport, Clock } from './ports.js';
import type { Utterances } from './utterances.js';

/** Bot audio kept before the caller's media is up: 60 s at most. */
const PRE_MEDIA_AUDIO_MAX_MS = 60_000;
/**
 * Chunks of one reply share a mark, one per this much audio at most (./playout.ts): per-chunk
 * marks would triple the messages of every 20 ms chunk. What the caller heard is known to within this.
 */
const MARK_EVERY_MS = 100;
const EMPTY = new Uint8Array(0);

export interface BotOutputDeps {
  transport: CallerTransport;
  clock: Clock;
  utterances: Utterances;
  /** Call time now (ms since the call began). */
  now(): number;
  /** A chunk reached the caller's transport (first audio and turn latency, replies). */
  sent(): void;
}

export class BotOutput {
  readonly #d: BotOutputDeps;
  readonly #outbound: OutboundConverter;
  /** For 8 kHz agent audio (the cascade's phone-rate speech): made on first use. */
  #outbound8k: Outbound8kConverter | undefined;
  /** Bytes of caller-format audio per ms (8 kHz μ-law: 8; the browser's wideband PCM16: 32). */
  readonly #bytesPerMs: number;
  readonly playout: PlayoutTracker;
  #live = false;
  #preMedia: Array<{ utteranceId: string; audio: Uint8Array }> = [];
  #preMediaBytes = 0;
  /** After `interrupted`, the rest of that turn's audio is dropped until it ends. */
  #dropping = false;
  /** The chunk `#send` is sending, for `#sendBatched` (one bound function, not a closure per chunk). */
  readonly #sending: { utteranceId: string; audio: Uint8Array; sent: boolean } = { utteranceId: '', audio: EMPTY, sent: false };
  readonly #sendBatched = (): void => {
    const s = this.#sending;
    s.sent = this.#d.transport.sendAudio(s.audio);
    if (s.sent) this.playout.sent(s.utteranceId, s.audio.length / this.#bytesPerMs);
  };
  recording: CallRecording | undefined;

  constructor(deps: BotOutputDeps) {
    this.#d = deps;
    this.#outbound = outboundConverter(deps.transport.outputFormat);
    this.#bytesPerMs = bytesPerMs(deps.transport.outputFormat);
    this.playout = new PlayoutTracker(deps.transport, { markEveryMs: MARK_EVERY_MS, clock: deps.clock });
    deps.utterances.playout = this.playout;
  }

  get isPlaying(): boolean {
    return this.playout.isPlaying;
  }

  get dropping(): boolean {
    return this.#dropping;
  }

  /** The caller's media is up: audio generated before it plays now, from its start. */
  live(): void {
    this.#live = true;
    for (const chunk of this.#preMedia) this.#send(chunk.utteranceId, chunk.audio);
    this.#preMedia = [];
    this.#preMediaBytes = 0;
  }

  /** One chunk of agent audio (24 kHz; 8 kHz from the cascade's phone-rate speech). Hot path. */
  audio(samples: Int16Array, sampleRateHz?: number): void {
    if (this.#dropping) return;
    const atMs = this.#d.now();
    const utterance = this.#d.utterances.current(atMs);
    const outbound = sampleRateHz === PHONE_SAMPLE_RATE_HZ ? (this.#outbound8k ??= outbound8kConverter(this.#d.transport.outputFormat)) : this.#outbound;
    const out = outbound.convert(samples);
    if (out.length === 0) return;
    if (!this.#live) {
      if (this.#preMediaBytes + out.length <= PRE_MEDIA_AUDIO_MAX_MS * this.#bytesPerMs) {
        this.#preMedia.push({ utteranceId: utterance.id, audio: out.slice() });
        this.#preMediaBytes += out.length;
      }
      return;
    }
    this.recording?.botSent(atMs, outbound.lastPcm8k());
    this.#send(utterance.id, out);
  }

  /** A prepared prompt (the apology, 8 kHz μ-law), in chunks, tracked under `utteranceId`. */
  prompt(utteranceId: string, mulaw8k: Uint8Array): void {
    const audio = this.#outbound.prompt(mulaw8k);
    const chunkBytes = 1000 * this.#bytesPerMs;
    for (let i = 0; i < audio.length; i += chunkBytes) {
      const chunk = audio.subarray(i, i + chunkBytes);
      this.#d.transport.sendAudio(chunk);
      this.playout.sent(utteranceId, chunk.length / this.#bytesPerMs);
    }
  }

  /** The agent reports the caller interrupted it: clear what is buffered, drop the rest of the turn. */
  interrupted(): void {
    this.#dropping = true;
    this.#outbound.reset();
    this.#outbound8k?.reset();
    if (!this.#live) {
      this.#preMedia = [];
      this.#preMediaBytes = 0;
      this.#d.utterances.interrupted(null);
      return;
    }
    this.#clear();
  }

  /** The caller talks over the buffered tail of a finished turn: clear it. */
  localBargeIn(): void {
    this.#clear();
    this.#outbound.reset();
    this.#outbound8k?.reset();
  }

  /** The agent's turn ended (or its session was lost): its audio flows again; know promptly when played. */
  turnEnded(flushMark: boolean): void {
    if (flushMark) this.playout.flushMark();
    this.#dropping = false;
  }

  whenPlayed(utteranceId?: string): Promise<PlayedOutcome> {
    return this.playout.whenPlayed(utteranceId);
  }

  /** The caller's media ended: marks will never come. */
  end(): void {
    this.playout.end();
  }

  #clear(): void {
    const playing = this.playout.interrupt();
    this.recording?.botCleared(this.#d.now());
    this.#d.utterances.interrupted(playing);
  }

  /** Hot path: one media message and, when due, its mark, in one write. */
  #send(utteranceId: string, audio: Uint8Array): void {
    const s = this.#sending;
    s.utteranceId = utteranceId;
    s.audio = audio;
    s.sent = false;
    this.#d.transport.batch(this.#sendBatched);
    s.audio = EMPTY; // the chunk is a view valid for this call only: keep no reference to it
    if (s.sent) this.#d.sent();
  }
}
