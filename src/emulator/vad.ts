/**
 * Energy-based voice activity detection on incoming PCM16 mono, driven by audio time (sample
 * counts), not wall time, so audio sent faster than real time gives the same decisions.
 *
 * The signal is cut into frames (10 ms); a frame is voiced when its RMS level is above the
 * threshold (6 dB lower while speech is ongoing: hysteresis). Speech starts once `prefixPaddingMs`
 * of consecutive voiced audio arrived (the event carries the time the run began) and ends once
 * `silenceDurationMs` of consecutive unvoiced audio followed (the event carries the end of the
 * last voiced frame) — the meanings of the Live API's automaticActivityDetection fields.
 */
import type { RealtimeInputConfig } from '../gemini/protocol.js';

export interface VadConfig {
  sampleRateHz: number;
  /** RMS level (dB relative to full scale) a frame must exceed to count as speech. */
  thresholdDbfs: number;
  prefixPaddingMs: number;
  silenceDurationMs: number;
  /** Analysis frame length; default 10 ms. */
  frameMs?: number;
}

export interface VadDefaults {
  thresholdDbfs: number;
  prefixPaddingMs: number;
  silenceDurationMs: number;
}

export type VadEvent = { type: 'start'; atMs: number } | { type: 'end'; atMs: number };

const HYSTERESIS_DB = 6;
const NO_EVENTS: readonly VadEvent[] = Object.freeze([]);

/** The VAD configuration a session's setup asks for, on top of the emulator's defaults. */
export function vadConfigFromSetup(
  config: RealtimeInputConfig | undefined,
  defaults: VadDefaults,
  sampleRateHz: number,
): VadConfig {
  const aad = config?.automaticActivityDetection;
  let thresholdDbfs = defaults.thresholdDbfs;
  if (aad?.startOfSpeechSensitivity === 'START_SENSITIVITY_HIGH') thresholdDbfs -= 5;
  if (aad?.startOfSpeechSensitivity === 'START_SENSITIVITY_LOW') thresholdDbfs += 5;
  let silenceDurationMs = defaults.silenceDurationMs;
  if (aad?.endOfSpeechSensitivity === 'END_SENSITIVITY_HIGH') silenceDurationMs = Math.round(silenceDurationMs * 0.75);
  if (aad?.endOfSpeechSensitivity === 'END_SENSITIVITY_LOW') silenceDurationMs = Math.round(silenceDurationMs * 1.5);
  return {
    sampleRateHz,
    thresholdDbfs,
    prefixPaddingMs: aad?.prefixPaddingMs ?? defaults.prefixPaddingMs,
    silenceDurationMs: aad?.silenceDurationMs ?? silenceDurationMs,
  };
}

export class EnergyVad {
  readonly config: Readonly<VadConfig>;
  readonly #frameSamples: number;
  readonly #frameMs: number;
  /** Mean-square thresholds (PCM16 units²) for starting and for continuing speech. */
  readonly #startPower: number;
  readonly #holdPower: number;
  #frameFill = 0;
  #frameEnergy = 0;
  #framesDone = 0;
  #speaking = false;
  #voicedRunFrames = 0;
  #silentRunFrames = 0;
  #lastVoicedEndMs = 0;

  constructor(config: VadConfig) {
    this.config = Object.freeze({ ...config });
    this.#frameMs = config.frameMs ?? 10;
    this.#frameSamples = Math.max(1, Math.round((config.sampleRateHz * this.#frameMs) / 1000));
    const power = (dbfs: number) => (32768 * 10 ** (dbfs / 20)) ** 2;
    this.#startPower = power(config.thresholdDbfs);
    this.#holdPower = power(config.thresholdDbfs - HYSTERESIS_DB);
  }

  get speaking(): boolean {
    return this.#speaking;
  }

  /** Audio time consumed so far (whole frames). */
  get positionMs(): number {
    return this.#framesDone * this.#frameMs;
  }

  /** Feeds samples; returns the events they complete (usually none; no allocation then). */
  push(samples: Int16Array): readonly VadEvent[] {
    let events: VadEvent[] | undefined;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      this.#frameEnergy += s * s;
      if (++this.#frameFill === this.#frameSamples) {
        const event = this.#endFrame(this.#frameEnergy / this.#frameSamples);
        this.#frameFill = 0;
        this.#frameEnergy = 0;
        if (event) (events ??= []).push(event);
      }
    }
    return events ?? NO_EVENTS;
  }

  /** The stream paused (audioStreamEnd): ongoing speech ends now. */
  flush(): readonly VadEvent[] {
    this.#frameFill = 0;
    this.#frameEnergy = 0;
    this.#voicedRunFrames = 0;
    if (!this.#speaking) return NO_EVENTS;
    this.#speaking = false;
    this.#silentRunFrames = 0;
    return [{ type: 'end', atMs: this.#lastVoicedEndMs }];
  }

  reset(): void {
    this.#frameFill = 0;
    this.#frameEnergy = 0;
    this.#framesDone = 0;
    this.#speaking = false;
    this.#voicedRunFrames = 0;
    this.#silentRunFrames = 0;
    this.#lastVoicedEndMs = 0;
  }

  #endFrame(meanSquare: number): VadEvent | undefined {
    const frame = this.#framesDone++;
    const endMs = (frame + 1) * this.#frameMs;
    if (!this.#speaking) {
      if (meanSquare <= this.#startPower) {
        this.#voicedRunFrames = 0;
        return undefined;
      }
      this.#voicedRunFrames++;
      if (this.#voicedRunFrames * this.#frameMs < this.config.prefixPaddingMs) return undefined;
      this.#speaking = true;
      this.#silentRunFrames = 0;
      this.#lastVoicedEndMs = endMs;
      return { type: 'start', atMs: (frame + 1 - this.#voicedRunFrames) * this.#frameMs };
    }
    if (meanSquare > this.#holdPower) {
      this.#silentRunFrames = 0;
      this.#lastVoicedEndMs = endMs;
      return undefined;
    }
    this.#silentRunFrames++;
    if (this.#silentRunFrames * this.#frameMs < this.config.silenceDurationMs) return undefined;
    this.#speaking = false;
    this.#voicedRunFrames = 0;
    return { type: 'end', atMs: this.#lastVoicedEndMs };
  }
}
