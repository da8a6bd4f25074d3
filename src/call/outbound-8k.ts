/**
 * Agent audio that is already at the phone's 8 kHz (the cascade's Cloud Text-to-Speech answers
 * in 8 kHz μ-law, src/cascade/speaker.ts decodes it to PCM16): to a phone caller it is only
 * μ-law encoded, no resampler in the way; to the browser's wideband line it is resampled to
 * 16 kHz. Buffers are allocated once per call and reused (views valid until the next call).
 */
import { encodeMulaw } from '../audio/mulaw.js';
import { StreamingResampler } from '../audio/resampler.js';
import { sameView } from '../audio/pcm.js';
import { CallbridgeError } from '../shared/errors.js';
import { AGENT_INPUT_RATE_HZ, PHONE_FORMAT, PHONE_SAMPLE_RATE_HZ, WIDEBAND_FORMAT, isFormat, pcm16Bytes, type OutboundConverter } from './audio-path.js';
import type { AudioFormat } from './ports.js';

/** An outbound converter for 8 kHz agent audio. Prompts never take this path (they go through the call's own converter). */
export type Outbound8kConverter = Omit<OutboundConverter, 'prompt'>;

/** 8 kHz PCM16 → the caller's format, keeping the 8 kHz copy for the recording. */
export function outbound8kConverter(format: AudioFormat): Outbound8kConverter {
  if (isFormat(format, PHONE_FORMAT)) return new Phone8k();
  if (isFormat(format, WIDEBAND_FORMAT)) return new Upsampled8k();
  throw new CallbridgeError('CB_CONFIG_INVALID', `no outbound converter for ${format.encoding} at ${format.sampleRateHz} Hz`);
}

class Phone8k implements Outbound8kConverter {
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
}

/** Wideband (16 kHz PCM16 bytes): 8 kHz → 24 kHz is not needed; 8 kHz → 16 kHz, then the wideband bytes. */
class Upsampled8k implements Outbound8kConverter {
  readonly #to16k = new StreamingResampler(PHONE_SAMPLE_RATE_HZ, AGENT_INPUT_RATE_HZ);
  #pcm16k = new Int16Array(1600);
  #bytes = new Uint8Array(3200);
  #last: Int16Array = new Int16Array(0);

  convert(pcm8k: Int16Array): Uint8Array {
    const due = this.#to16k.outputLength(pcm8k.length);
    if (this.#pcm16k.length < due) {
      this.#pcm16k = new Int16Array(due);
      this.#bytes = new Uint8Array(due * 2);
    }
    const n = this.#to16k.processInto(pcm8k, this.#pcm16k);
    this.#last = pcm8k;
    return pcm16Bytes(this.#pcm16k.subarray(0, n), this.#bytes);
  }

  lastPcm8k(): Int16Array {
    return this.#last;
  }

  reset(): void {
    this.#to16k.reset();
  }
}
