/**
 * The per-call audio conversions, with buffers allocated once per call and reused every frame.
 *
 *   caller → Gemini: μ-law 8 kHz bytes → PCM16 8 kHz → 16 kHz (streaming resampler)
 *   Gemini → caller: PCM16 24 kHz → 8 kHz (streaming resampler) → μ-law bytes
 *
 * No buffering beyond the filters: every chunk is converted and returned at once (the only added
 * delay is the filters' group delay, 1.97 ms in and 2.23 ms out). Returned arrays are views into
 * the converter's buffers: valid until the next call of the same method, which is all the caller
 * needs (it serializes them straight away).
 */
import { decodeMulaw, encodeMulaw } from '../audio/mulaw.js';
import { StreamingResampler } from '../audio/resampler.js';

export const TWILIO_SAMPLE_RATE_HZ = 8000;
export const GEMINI_INPUT_RATE_HZ = 16000;
export const GEMINI_OUTPUT_RATE_HZ = 24000;

export class InboundAudio {
  readonly #resampler = new StreamingResampler(TWILIO_SAMPLE_RATE_HZ, GEMINI_INPUT_RATE_HZ);
  #pcm8k = new Int16Array(160);
  #pcm16k = new Int16Array(320);

  /** Caller μ-law → 16 kHz PCM16 (a view, valid until the next call). */
  convert(mulaw: Uint8Array): Int16Array {
    if (this.#pcm8k.length < mulaw.length) this.#pcm8k = new Int16Array(mulaw.length);
    const pcm8k = decodeMulaw(mulaw, this.#pcm8k);
    const due = this.#resampler.outputLength(pcm8k.length);
    if (this.#pcm16k.length < due) this.#pcm16k = new Int16Array(due);
    const n = this.#resampler.processInto(pcm8k, this.#pcm16k);
    return this.#pcm16k.subarray(0, n);
  }

  /** The 8 kHz PCM of the last converted frame (for VAD and recording). */
  lastPcm8k(length: number): Int16Array {
    return this.#pcm8k.subarray(0, length);
  }
}

export class OutboundAudio {
  readonly #resampler = new StreamingResampler(GEMINI_OUTPUT_RATE_HZ, TWILIO_SAMPLE_RATE_HZ);
  #pcm8k = new Int16Array(480);
  #mulaw = new Uint8Array(480);

  /** Gemini 24 kHz PCM16 → caller μ-law (a view, valid until the next call). */
  convert(pcm24k: Int16Array): Uint8Array {
    const due = this.#resampler.outputLength(pcm24k.length);
    if (this.#pcm8k.length < due) {
      this.#pcm8k = new Int16Array(due);
      this.#mulaw = new Uint8Array(due);
    }
    const n = this.#resampler.processInto(pcm24k, this.#pcm8k);
    return encodeMulaw(this.#pcm8k.subarray(0, n), this.#mulaw);
  }

  /** The 8 kHz PCM of the last converted chunk (for the recording). */
  lastPcm8k(length: number): Int16Array {
    return this.#pcm8k.subarray(0, length);
  }

  /** Forget filter history (a new bot utterance after an interruption starts clean). */
  reset(): void {
    this.#resampler.reset();
  }
}
