/**
 * Agent audio that is already at the phone's 8 kHz (the cascade's Cloud Text-to-Speech answers
 * in 8 kHz μ-law, src/cascade/speaker.ts decodes it to PCM16): to a phone caller it is only
 * μ-law encoded, no resampler in the way; to the browser's wideband line it is resampled to
 * 16 kHz. Buffers are allocated once per call and reused (views valid until the next call).
 */
import { encodeMulaw } from '../audio/mulaw.js';
import { StreamingResampler } from '../audio/resampler.js';
import { sameView } from '../audio/pcm.js';
import { AGENT_INPUT_RATE_HZ, PHONE_FORMAT, PHONE_SAMPLE_RATE_HZ, isFormat, outboundConverter, type OutboundConverter } from './audio-path.js';
import type { AudioFormat } from './ports.js';

/** 8 kHz PCM16 → the caller's format, keeping the 8 kHz copy for the recording. */
export function outbound8kConverter(format: AudioFormat): OutboundConverter {
  if (isFormat(format, PHONE_FORMAT)) return new Phone8k();
  return new Upsampled8k(format);
}

class Phone8k implements OutboundConverter {
  #mulaw = new Uint8Array(800);
  #view: Uint8Array | undefined;
  #last: Int16Array = new Int16Array(0);

  convert(pcm8k: Int16Array): Uint8Array {
    if (this.#mulaw.length < pcm8k.length) this.#mulaw = new Uint8Array(pcm8k.length);
    const out = (this.#view = sameView(this.#view, this.#mulaw, 0, pcm8k.length));
    encodeMulaw(pcm8k, out);
    this.#last = pcm8k;
    return out;
  }

  lastPcm8k(): Int16Array {
    return this.#last;
  }

  reset(): void {}

  prompt(mulaw8k: Uint8Array): Uint8Array {
    return mulaw8k.slice();
  }
}

/** Wideband (16 kHz PCM16 bytes): 8 kHz → 24 kHz is not needed; 8 kHz → 16 kHz, then the wideband bytes. */
class Upsampled8k implements OutboundConverter {
  readonly #to16k = new StreamingResampler(PHONE_SAMPLE_RATE_HZ, AGENT_INPUT_RATE_HZ);
  readonly #bytes: OutboundConverter;
  #bytesOut = new Uint8Array(3200);
  /** #bytesOut as samples (same memory: little-endian machines, as in audio-path.ts). */
  #samplesOut = new Int16Array(this.#bytesOut.buffer);
  #view: Uint8Array | undefined;
  #last: Int16Array = new Int16Array(0);

  constructor(format: AudioFormat) {
    this.#bytes = outboundConverter(format); // validates the format
  }

  convert(pcm8k: Int16Array): Uint8Array {
    const due = this.#to16k.outputLength(pcm8k.length);
    if (this.#samplesOut.length < due) {
      this.#bytesOut = new Uint8Array(due * 2);
      this.#samplesOut = new Int16Array(this.#bytesOut.buffer);
    }
    const n = this.#to16k.processInto(pcm8k, this.#samplesOut);
    this.#last = pcm8k;
    return (this.#view = sameView(this.#view, this.#bytesOut, 0, n * 2));
  }

  lastPcm8k(): Int16Array {
    return this.#last;
  }

  reset(): void {
    this.#to16k.reset();
  }

  prompt(mulaw8k: Uint8Array): Uint8Array {
    return this.#bytes.prompt(mulaw8k);
  }
}
