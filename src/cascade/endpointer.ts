/**
 * The cascade's ears: finds where a caller's turn starts and ends in the 16 kHz audio the call
 * sends its agent, and keeps that turn's audio for the text model (docs/cascade.md, "Hearing").
 *
 * The bridge's energy detector (src/audio/vad.ts) runs on every frame; a turn ends once the caller
 * has been quiet for `silenceMs` (its hang-over), and counts only if the speech lasted at least
 * `minSpeechMs` (a cough, a click or "mm" is not a turn). The turn's audio starts `prerollMs`
 * before the detected start (the detector confirms speech late) and ends at the detected stop.
 *
 * Hot path: `push` copies the frame into a ring allocated once; nothing is allocated per frame.
 * The turn's audio is copied out once, at its end.
 */
import { EnergyVad } from '../audio/vad.js';
import { PcmRing } from '../audio/pcm-ring.js';

export const INPUT_RATE_HZ = 16000;
const SAMPLES_PER_MS = INPUT_RATE_HZ / 1000;

export interface EndpointingOptions {
  /** Quiet this long ends the caller's turn (default 500 ms). */
  silenceMs?: number;
  /** Speech shorter than this is not a turn (default 250 ms). */
  minSpeechMs?: number;
  /** Audio before the detected start kept with the turn (default 300 ms). */
  prerollMs?: number;
  /** Longest turn kept (default 60 s; longer speech keeps its last 60 s). */
  maxTurnMs?: number;
}

export const DEFAULT_ENDPOINTING: Required<EndpointingOptions> = { silenceMs: 500, minSpeechMs: 250, prerollMs: 300, maxTurnMs: 60_000 };

/** What one frame changed. */
export type EndpointEvent =
  | { kind: 'speech-start' }
  /** The turn ended: its audio (16 kHz), its length, and when it ended on the detector's clock. */
  | { kind: 'turn-end'; audio: Int16Array; speechMs: number; silenceMs: number }
  /** Speech ended but was too short to be a turn. */
  | { kind: 'too-short'; speechMs: number };

export class Endpointer {
  readonly options: Required<EndpointingOptions>;
  readonly #vad: EnergyVad;
  readonly #ring: PcmRing;
  /** Samples pushed since the last turn started (while speaking), or 0. */
  #turnSamples = 0;
  #speaking = false;

  constructor(options: EndpointingOptions = {}) {
    this.options = { ...DEFAULT_ENDPOINTING, ...options };
    this.#vad = new EnergyVad({ sampleRateHz: INPUT_RATE_HZ, hangoverMs: this.options.silenceMs });
    this.#ring = new PcmRing((this.options.maxTurnMs + this.options.prerollMs + this.options.silenceMs) * SAMPLES_PER_MS);
  }

  /** One frame of caller audio. Returns what changed, or undefined. Hot path. */
  push(pcm16k: Int16Array): EndpointEvent | undefined {
    this.#ring.push(pcm16k);
    const vad = this.#vad;
    const transition = vad.push(pcm16k);
    if (this.#speaking) this.#turnSamples += pcm16k.length;
    if (transition === 'start') {
      this.#speaking = true;
      // From the detected start (which lies behind the clock), plus the pre-roll.
      this.#turnSamples = Math.round((vad.clockMs - vad.lastStartMs! + this.options.prerollMs) * SAMPLES_PER_MS);
      return { kind: 'speech-start' };
    }
    if (transition !== 'stop') return undefined;
    this.#speaking = false;
    const speechMs = vad.lastStopMs! - vad.lastStartMs!;
    const trailingMs = vad.clockMs - vad.lastStopMs!;
    const turnSamples = this.#turnSamples;
    this.#turnSamples = 0;
    if (speechMs < this.options.minSpeechMs) return { kind: 'too-short', speechMs };
    // The ring ends with the trailing silence: keep the speech (and pre-roll) only.
    const all = this.#ring.tail(turnSamples);
    const keep = Math.max(0, all.length - Math.round(trailingMs * SAMPLES_PER_MS));
    return { kind: 'turn-end', audio: all.subarray(0, keep), speechMs, silenceMs: trailingMs };
  }
}
