// The browser test phone's microphone side (docs/browser-phone.md): audio at the AudioContext's
// own rate → the line's rate (8 kHz "Phone line", 16 kHz "Wideband") → 20 ms frames, μ-law or
// PCM16, posted to the page (which sends each as one binary WebSocket message).
import { Framer, Resampler } from './phone-dsp.js';

class PhoneCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const quality = options.processorOptions?.quality === 'wideband' ? 'wideband' : 'phone';
    this.framer = new Framer(quality, (buffer) => this.port.postMessage(buffer, [buffer]));
    // `sampleRate` is the context's rate (a global of the worklet scope).
    this.resampler = new Resampler(sampleRate, this.framer.rate);
    this.out = new Float32Array(this.resampler.maxOutput(128) + 8);
    this.stopped = false;
    this.port.onmessage = (e) => {
      if (e.data === 'stop') this.stopped = true;
    };
  }

  process(inputs) {
    if (this.stopped) return false;
    const channel = inputs[0]?.[0];
    if (channel) {
      const n = this.resampler.process(channel, this.out);
      this.framer.push(this.out, n);
    }
    return true;
  }
}

registerProcessor('phone-capture', PhoneCapture);
