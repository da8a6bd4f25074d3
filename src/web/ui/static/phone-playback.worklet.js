// The browser test phone's speaker side (docs/browser-phone.md): the bot's audio as the line
// carries it (μ-law 8 kHz or PCM16 16 kHz) → the context's rate → a small jitter buffer →
// the speakers. Marks are echoed (posted to the page, which sends them back to the server) once
// the audio before them has played; `clear` drops everything buffered at once.
import { JitterBuffer, Resampler, decodeLine } from './phone-dsp.js';

class PhonePlayback extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions ?? {};
    this.quality = o.quality === 'wideband' ? 'wideband' : 'phone';
    this.resampler = new Resampler(this.quality === 'wideband' ? 16000 : 8000, sampleRate);
    this.jitter = new JitterBuffer(Math.round((sampleRate * (o.targetMs ?? 40)) / 1000));
    this.stopped = false;
    this.port.onmessage = (e) => this.message(e.data);
  }

  message(m) {
    if (m.type === 'audio') {
      const samples = decodeLine(this.quality, new Uint8Array(m.bytes));
      const out = new Float32Array(this.resampler.maxOutput(samples.length));
      const n = this.resampler.process(samples, out);
      this.jitter.pushAudio(out.subarray(0, n));
    } else if (m.type === 'mark') {
      this.jitter.pushMark(m.name);
    } else if (m.type === 'clear') {
      const marks = this.jitter.clear();
      this.resampler.reset();
      if (marks.length > 0) this.port.postMessage({ type: 'played', marks });
    } else if (m.type === 'stop') {
      this.stopped = true;
    }
  }

  process(_inputs, outputs) {
    const channels = outputs[0];
    const first = channels[0];
    const marks = this.jitter.render(first);
    for (let c = 1; c < channels.length; c++) channels[c].set(first);
    if (marks.length > 0) this.port.postMessage({ type: 'played', marks });
    return !this.stopped;
  }
}

registerProcessor('phone-playback', PhonePlayback);
