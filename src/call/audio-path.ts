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
import { CallbridgeError } from '../shared/errors.js';
import type { AudioFormat } from './ports.js';

/** Phone audio: μ-law at 8 kHz (Twilio Media Streams, docs/twilio-media-streams.md §2). */
export const PHONE_SAMPLE_RATE_HZ = 8000;
/** What the agent takes (Gemini Live: 16 kHz PCM16 in, docs/gemini-live.md §4) and sends (24 kHz). */
export const AGENT_INPUT_RATE_HZ = 16000;
export const AGENT_OUTPUT_RATE_HZ = 24000;
export const PHONE_FORMAT: AudioFormat = { encoding: 'mulaw', sampleRateHz: PHONE_SAMPLE_RATE_HZ };

/** Caller audio → the agent's 16 kHz, keeping an 8 kHz copy for the detector and the recording. */
export interface InboundConverter {
  convert(payload: Uint8Array): Int16Array;
  lastPcm8k(): Int16Array;
}

/** Agent audio (24 kHz) → the caller's format, keeping an 8 kHz copy for the recording. */
export interface OutboundConverter {
  convert(pcm24k: Int16Array): Uint8Array;
  lastPcm8k(): Int16Array;
  reset(): void;
}

export function inboundConverter(format: AudioFormat): InboundConverter {
  if (format.encoding === 'mulaw' && format.sampleRateHz === PHONE_SAMPLE_RATE_HZ) return new InboundAudio();
  throw new CallbridgeError('CB_CONFIG_INVALID', `no inbound converter for ${format.encoding} at ${format.sampleRateHz} Hz`);
}

export function outboundConverter(format: AudioFormat): OutboundConverter {
  if (format.encoding === 'mulaw' && format.sampleRateHz === PHONE_SAMPLE_RATE_HZ) return new OutboundAudio();
  throw new CallbridgeError('CB_CONFIG_INVALID', `no outbound converter for ${format.encoding} at ${format.sampleRateHz} Hz`);
}

export class InboundAudio implements InboundConverter {
  readonly #resampler = new StreamingResampler(PHONE_SAMPLE_RATE_HZ, AGENT_INPUT_RATE_HZ);
  #pcm8k = new Int16Array(160);
  #pcm16k = new Int16Array(320);
  #last8k = 0;

  /** Caller μ-law → 16 kHz PCM16 (a view, valid until the next call). */
  convert(mulaw: Uint8Array): Int16Array {
    if (this.#pcm8k.length < mulaw.length) this.#pcm8k = new Int16Array(mulaw.length);
    const pcm8k = decodeMulaw(mulaw, this.#pcm8k);
    this.#last8k = mulaw.length;
    const due = this.#resampler.outputLength(pcm8k.length);
    if (this.#pcm16k.length < due) this.#pcm16k = new Int16Array(due);
    const n = this.#resampler.processInto(pcm8k, this.#pcm16k);
    return this.#pcm16k.subarray(0, n);
  }

  /** The 8 kHz PCM of the last converted frame (for VAD and recording). */
  lastPcm8k(): Int16Array {
    return this.#pcm8k.subarray(0, this.#last8k);
  }
}

export class OutboundAudio implements OutboundConverter {
  readonly #resampler = new StreamingResampler(AGENT_OUTPUT_RATE_HZ, PHONE_SAMPLE_RATE_HZ);
  #pcm8k = new Int16Array(480);
  #mulaw = new Uint8Array(480);
  #last8k = 0;

  /** Gemini 24 kHz PCM16 → caller μ-law (a view, valid until the next call). */
  convert(pcm24k: Int16Array): Uint8Array {
    const due = this.#resampler.outputLength(pcm24k.length);
    if (this.#pcm8k.length < due) {
      this.#pcm8k = new Int16Array(due);
      this.#mulaw = new Uint8Array(due);
    }
    const n = this.#resampler.processInto(pcm24k, this.#pcm8k);
    this.#last8k = n;
    return encodeMulaw(this.#pcm8k.subarray(0, n), this.#mulaw);
  }

  /** The 8 kHz PCM of the last converted chunk (for the recording). */
  lastPcm8k(): Int16Array {
    return this.#pcm8k.subarray(0, this.#last8k);
  }

  /** Forget filter history (a new bot utterance after an interruption starts clean). */
  reset(): void {
    this.#resampler.reset();
  }
}
