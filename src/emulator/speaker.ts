/**
 * Streams one stretch of the emulated model's output: 24 kHz PCM16 audio in chunks (as
 * `serverContent.modelTurn` inlineData), paced at a multiple of real time, with the transcript
 * interleaved as `outputTranscription` pieces; or, for a TEXT-modality session, text parts.
 * Cancellable at every chunk (interruption); can stop part-way for a socket cut (fault): run()
 * then resolves 'cut' and the caller cuts.
 */
import { pcm16ToBytes } from '../audio/pcm.js';
import { OUTPUT_RATE_HZ } from './tts.js';

export const OUTPUT_AUDIO_MIME = `audio/pcm;rate=${OUTPUT_RATE_HZ}`;

export interface SpeakerHost {
  /** Sends a prebuilt JSON message; false once the socket is gone. */
  sendJson(json: string, audioBytes?: number): boolean;
}

export interface SpeechPlan {
  /** Audio to stream (AUDIO modality); absent for TEXT modality. */
  samples?: Int16Array | undefined;
  /** Transcript of the audio, or the text parts for TEXT modality. */
  text?: string | undefined;
  /** Send outputTranscription pieces (outputAudioTranscription enabled). */
  transcribe: boolean;
  chunkMs: number;
  /** Multiple of real time; Infinity sends as fast as possible (still yielding between chunks). */
  pace: number;
  /** Cut the socket once this fraction of the audio is sent (fault). */
  cutAtFraction?: number | undefined;
  /**
   * 3.x: a transcription piece rides in the same serverContent as the audio chunk it belongs to
   * (docs/gemini-live.md §3); otherwise it follows in a message of its own.
   */
  combineTranscription?: boolean | undefined;
}

export type SpeechOutcome = 'done' | 'cancelled' | 'cut' | 'gone';

const AUDIO_PREFIX = `{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"${OUTPUT_AUDIO_MIME}","data":"`;
const AUDIO_SUFFIX = '"}}]}}}';
/** Closes the audio part and modelTurn, then adds outputTranscription to the same serverContent. */
const AUDIO_THEN_TRANSCRIPT = '"}}]},"outputTranscription":{"text":';
const WORDS_PER_PIECE = 3;
/** Pseudo duration of one text piece in TEXT modality. */
const TEXT_PIECE_MS = 120;

export class Speech {
  readonly #host: SpeakerHost;
  readonly #plan: SpeechPlan;
  #cancelled = false;
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  sentSamples = 0;
  sentChunks = 0;
  /** Transcript (or text) sent so far. */
  sentText = '';

  constructor(host: SpeakerHost, plan: SpeechPlan) {
    this.#host = host;
    this.#plan = plan;
  }

  get sentMs(): number {
    return Math.round((this.sentSamples / OUTPUT_RATE_HZ) * 1000);
  }

  /** Stops at the next chunk boundary; run() then resolves 'cancelled'. */
  cancel(): void {
    this.#cancelled = true;
    if (this.#timer) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
      this.#timer = undefined;
    }
    this.#wake?.();
  }

  async run(): Promise<SpeechOutcome> {
    const { samples, text } = this.#plan;
    const words = text ? (text.match(/\s*\S+/g) ?? []) : [];
    if (!samples) return this.#runText(words);
    const chunk = Math.max(1, Math.round((OUTPUT_RATE_HZ * this.#plan.chunkMs) / 1000));
    const total = samples.length;
    const start = performance.now();
    let wordsSent = 0;
    for (let offset = 0, i = 0; offset < total; offset += chunk, i++) {
      if (i > 0 && !(await this.#sleepUntil(start + (i * this.#plan.chunkMs) / this.#plan.pace))) return 'cancelled';
      if (this.#cancelled) return 'cancelled';
      if (this.#plan.cutAtFraction !== undefined && offset / total >= this.#plan.cutAtFraction) return 'cut';
      const piece = samples.subarray(offset, Math.min(total, offset + chunk));
      const bytes = pcm16ToBytes(piece);
      const sentAfter = this.sentSamples + piece.length;
      const due = Math.ceil((words.length * sentAfter) / total);
      // Pieces of a few words, like the service's; the rest with the last chunk. The transcript of
      // what was sent is kept for history even without transcription.
      let t: string | undefined;
      if (due - wordsSent >= WORDS_PER_PIECE || (due > wordsSent && sentAfter >= total)) {
        t = words.slice(wordsSent, due).join('');
        wordsSent = due;
      }
      const transcript = t !== undefined && this.#plan.transcribe ? t : undefined;
      const combined = transcript !== undefined && this.#plan.combineTranscription === true;
      const audio = AUDIO_PREFIX + bytes.toString('base64') + (combined ? `${AUDIO_THEN_TRANSCRIPT}${JSON.stringify(transcript)}}}}` : AUDIO_SUFFIX);
      if (!this.#host.sendJson(audio, bytes.length)) return 'gone';
      this.sentSamples = sentAfter;
      this.sentChunks++;
      if (t !== undefined) this.sentText += t;
      if (transcript !== undefined && !combined && !this.#host.sendJson(JSON.stringify({ serverContent: { outputTranscription: { text: transcript } } }))) {
        return 'gone';
      }
    }
    return this.#cancelled ? 'cancelled' : 'done';
  }

  async #runText(words: string[]): Promise<SpeechOutcome> {
    const start = performance.now();
    for (let i = 0; i < words.length; i += WORDS_PER_PIECE) {
      const at = start + ((i / WORDS_PER_PIECE) * TEXT_PIECE_MS) / this.#plan.pace;
      if (i > 0 && !(await this.#sleepUntil(at))) return 'cancelled';
      if (this.#cancelled) return 'cancelled';
      const t = words.slice(i, i + WORDS_PER_PIECE).join('');
      if (!this.#host.sendJson(JSON.stringify({ serverContent: { modelTurn: { parts: [{ text: t }] } } }))) return 'gone';
      this.sentText += t;
      this.sentChunks++;
    }
    return 'done';
  }

  /** Waits until `at` (performance.now() time); false when cancelled meanwhile. */
  #sleepUntil(at: number): Promise<boolean> {
    if (this.#cancelled) return Promise.resolve(false);
    const delay = at - performance.now();
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve(false);
      };
      const done = () => {
        this.#timer = undefined;
        this.#wake = undefined;
        resolve(!this.#cancelled);
      };
      this.#timer = Number.isFinite(delay) && delay >= 1 ? setTimeout(done, delay) : setImmediate(done);
    });
  }
}
