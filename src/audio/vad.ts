/**
 * A small energy-based voice activity detector for 8 kHz telephone audio, run by the bridge on
 * the caller's frames to timestamp when the caller starts and stops talking (for per-turn latency
 * figures: caller stop → first bot audio). Gemini does its own detection; this one only measures.
 *
 * Per frame it computes the RMS level; speech starts after `startMs` above the threshold and
 * stops after `hangoverMs` below it. The threshold adapts to the line's noise floor (a slow
 * minimum tracker) so a noisy line does not read as endless speech.
 */

export interface VadOptions {
  sampleRateHz?: number;
  /** Level above the noise floor that counts as speech, in dB. */
  marginDb?: number;
  /** Absolute floor for the threshold (RMS, PCM16 units). */
  minThreshold?: number;
  startMs?: number;
  hangoverMs?: number;
}

export type VadTransition = 'start' | 'stop' | undefined;

export class EnergyVad {
  readonly #sampleRateHz: number;
  readonly #margin: number;
  readonly #minThreshold: number;
  readonly #startMs: number;
  readonly #hangoverMs: number;
  /** Estimated line noise RMS; seeded by the first frame (a call starts with line noise, not speech). */
  #noiseFloor = -1;
  #aboveMs = 0;
  #belowMs = 0;
  #speaking = false;
  /** Stream time (ms) of the end of the last processed frame. */
  #clockMs = 0;
  /** Stream time at which the current/last speech stopped (start of the trailing silence). */
  lastStopMs: number | undefined;
  lastStartMs: number | undefined;

  constructor(options: VadOptions = {}) {
    this.#sampleRateHz = options.sampleRateHz ?? 8000;
    this.#margin = 10 ** ((options.marginDb ?? 12) / 20);
    this.#minThreshold = options.minThreshold ?? 300;
    this.#startMs = options.startMs ?? 60;
    this.#hangoverMs = options.hangoverMs ?? 400;
  }

  /** Audio processed so far, in ms (the detector's own clock; lastStartMs/lastStopMs are on it). */
  get clockMs(): number {
    return this.#clockMs;
  }

  get speaking(): boolean {
    return this.#speaking;
  }

  /** Feeds one frame; returns 'start' / 'stop' on a transition. */
  push(frame: Int16Array): VadTransition {
    let sum = 0;
    for (let i = 0; i < frame.length; i++) sum += frame[i]! * frame[i]!;
    const level = Math.sqrt(sum / Math.max(1, frame.length));
    const frameMs = (frame.length * 1000) / this.#sampleRateHz;
    const frameStartMs = this.#clockMs;
    this.#clockMs += frameMs;
    // Noise floor: fall fast, rise slowly (about 6 dB per second).
    if (this.#noiseFloor < 0) this.#noiseFloor = Math.max(level, 1);
    else this.#noiseFloor = level < this.#noiseFloor ? Math.max(level, 1) : this.#noiseFloor * (1 + 0.7 * (frameMs / 1000));
    const threshold = Math.max(this.#minThreshold, this.#noiseFloor * this.#margin);
    if (level >= threshold) {
      this.#aboveMs += frameMs;
      this.#belowMs = 0;
      if (!this.#speaking && this.#aboveMs >= this.#startMs) {
        this.#speaking = true;
        this.lastStartMs = this.#clockMs - this.#aboveMs;
        return 'start';
      }
    } else {
      if (this.#belowMs === 0) this.#silenceStartMs = frameStartMs;
      this.#belowMs += frameMs;
      this.#aboveMs = 0;
      if (this.#speaking && this.#belowMs >= this.#hangoverMs) {
        this.#speaking = false;
        this.lastStopMs = this.#silenceStartMs;
        return 'stop';
      }
    }
    return undefined;
  }

  #silenceStartMs = 0;
}
