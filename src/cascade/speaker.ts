/**
 * The cascade's voice: sentences of the model's answer go to the speech synthesiser as soon as
 * each is complete, and their audio goes out in order, so the first sentence plays while the model
 * is still writing the rest (docs/cascade.md, "Speaking").
 *
 * Up to `lookahead` sentences are synthesised at once; each is emitted, once its audio is back
 * and every sentence before it has been emitted, as its words (`outputTranscription`, for the
 * transcript and captions) followed by its audio in 100 ms chunks. Audio keeps its rate: 8 kHz
 * (Cloud TTS MULAW, decoded to PCM16; the call sends it to a phone without resampling) or 24 kHz
 * (Gemini TTS); any other rate is resampled to 24 kHz. Aborting the signal (barge-in) drops every
 * sentence not yet emitted.
 */
import { decodeMulaw } from '../audio/mulaw.js';
import { resampleWhole } from '../audio/resampler.js';
import { CallbridgeError } from '../shared/errors.js';
import type { AgentEvent } from '../call/ports.js';
import type { SpeechAudio, SpeechSynth } from './types.js';

const CHUNK_MS = 100;

export interface SpeakerDeps {
  synth: SpeechSynth;
  voice: string;
  signal: AbortSignal;
  emit(event: AgentEvent): void;
  /** Sentences synthesised ahead of the one playing (default 2). */
  lookahead?: number;
  /** Monotonic ms (for the timing figures). */
  now(): number;
}

/** Timing of one reply's first sentence (the bench's split). */
export interface FirstSentenceTiming {
  /** When the first sentence was complete (handed to the synthesiser). */
  sentenceAt?: number;
  /** When its audio came back. */
  audioAt?: number;
}

export class Speaker {
  readonly #d: SpeakerDeps;
  readonly #queue: Array<{ text: string; audio: Promise<SpeechAudio> | undefined }> = [];
  #running: Promise<void> = Promise.resolve();
  #draining = false;
  #failure: unknown;
  /** Text of every sentence whose audio has been emitted. */
  spoken = '';
  readonly timing: FirstSentenceTiming = {};

  constructor(deps: SpeakerDeps) {
    this.#d = deps;
  }

  /** One sentence to speak after those before it. */
  say(text: string): void {
    const t = text.trim();
    if (t === '' || this.#d.signal.aborted) return;
    this.timing.sentenceAt ??= this.#d.now();
    this.#queue.push({ text: t, audio: undefined });
    this.#startSynthesis();
    if (!this.#draining) {
      this.#draining = true;
      this.#running = this.#drain();
    }
  }

  /** Resolves when every sentence said so far has been emitted (or dropped by an abort); rejects on a synthesis failure. */
  async finished(): Promise<void> {
    await this.#running;
    if (this.#failure !== undefined) throw this.#failure;
  }

  #startSynthesis(): void {
    const ahead = this.#d.lookahead ?? 2;
    for (let i = 0; i < Math.min(this.#queue.length, ahead + 1); i++) {
      const s = this.#queue[i]!;
      if (s.audio) continue;
      s.audio = this.#d.synth.synthesize(s.text, { voice: this.#d.voice, signal: this.#d.signal });
      s.audio.catch(() => undefined); // awaited in order by #drain; never an unhandled rejection
    }
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && this.#failure === undefined) {
        const s = this.#queue[0]!;
        let audio: SpeechAudio;
        try {
          audio = await s.audio!;
        } catch (err) {
          if (this.#d.signal.aborted) return;
          this.#failure = err;
          return;
        }
        this.#queue.shift();
        if (this.#d.signal.aborted) return;
        this.timing.audioAt ??= this.#d.now();
        this.#emitSentence(s.text, audio);
        this.#startSynthesis();
      }
    } finally {
      this.#draining = false;
      if (this.#d.signal.aborted) this.#queue.length = 0;
    }
  }

  #emitSentence(text: string, audio: SpeechAudio): void {
    const { samples, sampleRateHz } = toPcm(audio);
    this.#d.emit({ type: 'outputTranscription', text: `${this.spoken === '' ? '' : ' '}${text}`, finished: false });
    this.spoken += `${this.spoken === '' ? '' : ' '}${text}`;
    const chunk = (sampleRateHz * CHUNK_MS) / 1000;
    for (let i = 0; i < samples.length; i += chunk) this.#d.emit({ type: 'audio', samples: samples.subarray(i, i + chunk), sampleRateHz });
  }
}

/** Synthesised audio as PCM16 at 8 kHz or 24 kHz (the two rates the call takes). */
export function toPcm(audio: SpeechAudio): { samples: Int16Array; sampleRateHz: number } {
  const { encoding, sampleRateHz } = audio.format;
  let samples: Int16Array;
  if (encoding === 'mulaw') samples = decodeMulaw(audio.audio);
  else {
    const bytes = audio.audio.byteLength & ~1;
    samples = new Int16Array(bytes / 2);
    new Uint8Array(samples.buffer).set(audio.audio.subarray(0, bytes)); // copy: the bytes may be unaligned
  }
  if (sampleRateHz === 8000 || sampleRateHz === 24000) return { samples, sampleRateHz };
  try {
    return { samples: resampleWhole(samples, sampleRateHz, 24000), sampleRateHz: 24000 };
  } catch (err) {
    throw new CallbridgeError('CB_CASCADE_TTS_REJECTED', `speech came back at ${sampleRateHz} Hz, which callbridge cannot convert`, { cause: err });
  }
}
