/**
 * The per-call audio conversions, with buffers allocated once per call and reused every frame.
 *
 * Phone line (Twilio, and the browser test phone's default "Phone line" quality):
 *   caller → Gemini: μ-law 8 kHz bytes → PCM16 8 kHz → 16 kHz (streaming resampler)
 *   Gemini → caller: PCM16 24 kHz → 8 kHz (streaming resampler) → μ-law bytes
 * Wideband (the browser test phone's "Wideband (16 kHz)", docs/browser-phone.md):
 *   caller → Gemini: PCM16 16 kHz little-endian bytes, unchanged (an 8 kHz copy for VAD, recording)
 *   Gemini → caller: PCM16 24 kHz → 16 kHz (streaming resampler) → little-endian bytes
 *
 * No buffering beyond the filters: every chunk is converted and returned at once (the only added
 * delay is the filters' group delay, 1.97 ms in and 2.23 ms out). Returned arrays are views into
 * the converter's buffers: valid until the next call of the same method, which is all the caller
 * needs (it serializes them straight away).
 */
import { decodeMulaw, encodeMulaw } from '../audio/mulaw.js';
import { StreamingResampler, resampleWhole } from '../audio/resampler.js';
import { sameView } from '../audio/pcm.js';
import { CallbridgeError } from '../shared/errors.js';
import type { AudioFormat } from './ports.js';

/** Phone audio: μ-law at 8 kHz (Twilio Media Streams, docs/twilio-media-streams.md §2). */
export const PHONE_SAMPLE_RATE_HZ = 8000;
/** What the agent takes (Gemini Live: 16 kHz PCM16 in, docs/gemini-live.md §4) and sends (24 kHz). */
export const AGENT_INPUT_RATE_HZ = 16000;
export const AGENT_OUTPUT_RATE_HZ = 24000;
export const PHONE_FORMAT: AudioFormat = { encoding: 'mulaw', sampleRateHz: PHONE_SAMPLE_RATE_HZ };
/** The browser test phone's wideband line: PCM16 (little-endian) at 16 kHz both ways. */
export const WIDEBAND_FORMAT: AudioFormat = { encoding: 'pcm16', sampleRateHz: AGENT_INPUT_RATE_HZ };

/** Bytes of audio per ms in `format` (μ-law 8 kHz: 8; PCM16 16 kHz: 32). */
export function bytesPerMs(format: AudioFormat): number {
  return ((format.encoding === 'mulaw' ? 1 : 2) * format.sampleRateHz) / 1000;
}

/** True when `format` is `like` (same encoding and rate). */
export function isFormat(format: AudioFormat, like: AudioFormat): boolean {
  return format.encoding === like.encoding && format.sampleRateHz === like.sampleRateHz;
}

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
  /** A prepared prompt (8 kHz μ-law, ./prompts.ts) in the caller's format: a new array (not hot path). */
  prompt(mulaw8k: Uint8Array): Uint8Array;
}

export function inboundConverter(format: AudioFormat): InboundConverter {
  if (isFormat(format, PHONE_FORMAT)) return new InboundAudio();
  if (isFormat(format, WIDEBAND_FORMAT)) return new WidebandInbound();
  throw new CallbridgeError('CB_CONFIG_INVALID', `no inbound converter for ${format.encoding} at ${format.sampleRateHz} Hz`);
}

export function outboundConverter(format: AudioFormat): OutboundConverter {
  if (isFormat(format, PHONE_FORMAT)) return new OutboundAudio();
  if (isFormat(format, WIDEBAND_FORMAT)) return new WidebandOutbound();
  throw new CallbridgeError('CB_CONFIG_INVALID', `no outbound converter for ${format.encoding} at ${format.sampleRateHz} Hz`);
}

export class InboundAudio implements InboundConverter {
  readonly #resampler = new StreamingResampler(PHONE_SAMPLE_RATE_HZ, AGENT_INPUT_RATE_HZ);
  #pcm8k = new Int16Array(160);
  #pcm16k = new Int16Array(320);
  /** The views returned, reused while frames keep their size (no allocation per frame). */
  #view8k: Int16Array | undefined;
  #view16k: Int16Array | undefined;

  /** Caller μ-law → 16 kHz PCM16 (a view, valid until the next call). */
  convert(mulaw: Uint8Array): Int16Array {
    if (this.#pcm8k.length < mulaw.length) this.#pcm8k = new Int16Array(mulaw.length);
    const pcm8k = (this.#view8k = sameView(this.#view8k, this.#pcm8k, 0, mulaw.length));
    decodeMulaw(mulaw, pcm8k);
    const due = this.#resampler.outputLength(pcm8k.length);
    if (this.#pcm16k.length < due) this.#pcm16k = new Int16Array(due);
    const n = this.#resampler.processInto(pcm8k, this.#pcm16k);
    return (this.#view16k = sameView(this.#view16k, this.#pcm16k, 0, n));
  }

  /** The 8 kHz PCM of the last converted frame (for VAD and recording). */
  lastPcm8k(): Int16Array {
    return this.#view8k ?? this.#pcm8k.subarray(0, 0);
  }
}

export class OutboundAudio implements OutboundConverter {
  readonly #resampler = new StreamingResampler(AGENT_OUTPUT_RATE_HZ, PHONE_SAMPLE_RATE_HZ);
  #pcm8k = new Int16Array(480);
  #mulaw = new Uint8Array(480);
  /** The views returned, reused while chunks keep their size (no allocation per chunk). */
  #view8k: Int16Array | undefined;
  #viewMulaw: Uint8Array | undefined;

  /** Gemini 24 kHz PCM16 → caller μ-law (a view, valid until the next call). */
  convert(pcm24k: Int16Array): Uint8Array {
    const due = this.#resampler.outputLength(pcm24k.length);
    if (this.#pcm8k.length < due) {
      this.#pcm8k = new Int16Array(due);
      this.#mulaw = new Uint8Array(due);
    }
    const n = this.#resampler.processInto(pcm24k, this.#pcm8k);
    const pcm8k = (this.#view8k = sameView(this.#view8k, this.#pcm8k, 0, n));
    const mulaw = (this.#viewMulaw = sameView(this.#viewMulaw, this.#mulaw, 0, n));
    encodeMulaw(pcm8k, mulaw);
    return mulaw;
  }

  /** The 8 kHz PCM of the last converted chunk (for the recording). */
  lastPcm8k(): Int16Array {
    return this.#view8k ?? this.#pcm8k.subarray(0, 0);
  }

  /** Forget filter history (a new bot utterance after an interruption starts clean). */
  reset(): void {
    this.#resampler.reset();
  }

  prompt(mulaw8k: Uint8Array): Uint8Array {
    return mulaw8k.slice();
  }
}

/** PCM16 bytes on the wire are little-endian; so is every machine Node runs on, checked once. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian PCM16 bytes of `samples` into `out` (a view of the bytes written). */
export function pcm16Bytes(samples: Int16Array, out: Uint8Array): Uint8Array {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.length * 2));
  } else {
    for (let i = 0; i < samples.length; i++) {
      out[i * 2] = samples[i]! & 0xff;
      out[i * 2 + 1] = (samples[i]! >> 8) & 0xff;
    }
  }
  return out.subarray(0, samples.length * 2);
}

/** Wideband caller audio (PCM16 16 kHz bytes) → the agent's 16 kHz, unchanged; an 8 kHz copy alongside. */
export class WidebandInbound implements InboundConverter {
  readonly #to8k = new StreamingResampler(AGENT_INPUT_RATE_HZ, PHONE_SAMPLE_RATE_HZ);
  #pcm16k = new Int16Array(320);
  /** The bytes of #pcm16k (same memory). */
  #raw = new Uint8Array(this.#pcm16k.buffer);
  #pcm8k = new Int16Array(160);
  #last8k = 0;

  /** PCM16 LE bytes → 16 kHz samples (a view, valid until the next call). An odd last byte is dropped. */
  convert(bytes: Uint8Array): Int16Array {
    const n = bytes.length >> 1;
    if (this.#pcm16k.length < n) {
      this.#pcm16k = new Int16Array(n);
      this.#raw = new Uint8Array(this.#pcm16k.buffer);
    }
    const pcm16k = this.#pcm16k;
    if (LITTLE_ENDIAN) this.#raw.set(bytes.subarray(0, n * 2));
    else for (let i = 0; i < n; i++) pcm16k[i] = (bytes[i * 2]! | (bytes[i * 2 + 1]! << 8)) << 16 >> 16;
    const samples = pcm16k.subarray(0, n);
    const due = this.#to8k.outputLength(n);
    if (this.#pcm8k.length < due) this.#pcm8k = new Int16Array(due);
    this.#last8k = this.#to8k.processInto(samples, this.#pcm8k);
    return samples;
  }

  lastPcm8k(): Int16Array {
    return this.#pcm8k.subarray(0, this.#last8k);
  }
}

/** Agent audio (24 kHz) → wideband PCM16 16 kHz bytes for the caller; an 8 kHz copy for the recording. */
export class WidebandOutbound implements OutboundConverter {
  readonly #to16k = new StreamingResampler(AGENT_OUTPUT_RATE_HZ, AGENT_INPUT_RATE_HZ);
  readonly #to8k = new StreamingResampler(AGENT_OUTPUT_RATE_HZ, PHONE_SAMPLE_RATE_HZ);
  #pcm16k = new Int16Array(320);
  #bytes = new Uint8Array(640);
  #pcm8k = new Int16Array(160);
  #last8k = 0;

  /** Gemini 24 kHz PCM16 → PCM16 16 kHz LE bytes (a view, valid until the next call). */
  convert(pcm24k: Int16Array): Uint8Array {
    const due = this.#to16k.outputLength(pcm24k.length);
    if (this.#pcm16k.length < due) {
      this.#pcm16k = new Int16Array(due);
      this.#bytes = new Uint8Array(due * 2);
    }
    const n = this.#to16k.processInto(pcm24k, this.#pcm16k);
    const due8k = this.#to8k.outputLength(pcm24k.length);
    if (this.#pcm8k.length < due8k) this.#pcm8k = new Int16Array(due8k);
    this.#last8k = this.#to8k.processInto(pcm24k, this.#pcm8k);
    return pcm16Bytes(this.#pcm16k.subarray(0, n), this.#bytes);
  }

  lastPcm8k(): Int16Array {
    return this.#pcm8k.subarray(0, this.#last8k);
  }

  reset(): void {
    this.#to16k.reset();
    this.#to8k.reset();
  }

  /** 8 kHz μ-law → 16 kHz PCM16 bytes. */
  prompt(mulaw8k: Uint8Array): Uint8Array {
    const pcm16k = resampleWhole(decodeMulaw(mulaw8k), PHONE_SAMPLE_RATE_HZ, AGENT_INPUT_RATE_HZ);
    return pcm16Bytes(pcm16k, new Uint8Array(pcm16k.length * 2));
  }
}
