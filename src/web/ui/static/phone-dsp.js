// The browser test phone's signal processing, shared by its two AudioWorklets (and tested in Node:
// test/unit/browser-phone-dsp.test.ts). No DOM, no allocation per sample. docs/browser-phone.md.
//
//  - Resampler: streaming windowed-sinc resampler between any two rates (the microphone's
//    AudioContext rate → 8 or 16 kHz; 8 or 16 kHz → the speakers' rate). The browser picks the
//    context's rate (Firefox will not open a microphone at a forced one), so the worklets resample.
//  - G.711 μ-law, bit for bit the encoder the server uses (src/audio/mulaw.ts).
//  - Framer: cuts captured audio into 20 ms frames, μ-law or PCM16 little-endian.
//  - JitterBuffer: the bot's audio waits until a small target is buffered (or a mark or the
//    target's time says nothing more is coming), marks are echoed once the audio before them has
//    played, and `clear` drops everything at once (echoing the marks it dropped, as Twilio does).

// --- μ-law -----------------------------------------------------------------------------------------

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;
const MULAW_EXP = new Uint8Array(256);
for (let i = 1; i < 256; i++) MULAW_EXP[i] = Math.floor(Math.log2(i));
const MULAW_DECODE = new Int16Array(256);
const MULAW_BASE = [0, 132, 396, 924, 1980, 4092, 8316, 16764];
for (let code = 0; code < 256; code++) {
  const c = ~code & 0xff;
  const exponent = (c >> 4) & 0x07;
  const magnitude = MULAW_BASE[exponent] + ((c & 0x0f) << (exponent + 3));
  MULAW_DECODE[code] = c & 0x80 ? -magnitude : magnitude;
}

/** One PCM16 sample (integer) → its μ-law byte. */
export function mulawEncodeSample(sample) {
  let s = sample;
  const sign = (s >> 8) & 0x80;
  if (sign !== 0) s = -s;
  s += MULAW_BIAS;
  if (s > MULAW_CLIP) s = MULAW_CLIP;
  const exponent = MULAW_EXP[(s >> 7) & 0xff];
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** One μ-law byte → its PCM16 sample. */
export function mulawDecodeSample(code) {
  return MULAW_DECODE[code & 0xff];
}

/** A float sample (-1..1) → PCM16, clipped. */
export function floatToPcm16(x) {
  const s = Math.round(x * 32768);
  return s > 32767 ? 32767 : s < -32768 ? -32768 : s;
}

// --- resampling ------------------------------------------------------------------------------------

const PHASES = 256;

/**
 * Streaming resampler (windowed sinc, Blackman window). Cut-off 0.45 × the lower rate: flat to
 * 3.4 kHz at 8 kHz and to 7 kHz at 16 kHz, images and aliases well down. Delay: `halfTaps`
 * samples of the lower rate (2 ms with the default 16).
 */
export class Resampler {
  constructor(inRate, outRate, halfTaps = 16) {
    this.inRate = inRate;
    this.outRate = outRate;
    this.step = inRate / outRate;
    const lower = Math.min(inRate, outRate);
    // Kernel half-width in input samples: wider when the input is the faster side.
    this.half = Math.ceil(halfTaps * Math.max(1, inRate / outRate));
    const cutoff = (0.45 * lower) / inRate; // cycles per input sample
    const width = 2 * this.half;
    this.table = new Float32Array((PHASES + 1) * width);
    for (let p = 0; p <= PHASES; p++) {
      const frac = p / PHASES;
      for (let k = 0; k < width; k++) {
        const x = k - this.half + 1 - frac; // distance from the output instant, in input samples
        const sinc = x === 0 ? 1 : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x * 2 * cutoff);
        const w = (x + this.half) / (2 * this.half);
        const blackman = w <= 0 || w >= 1 ? 0 : 0.42 - 0.5 * Math.cos(2 * Math.PI * w) + 0.08 * Math.cos(4 * Math.PI * w);
        this.table[p * width + k] = 2 * cutoff * sinc * blackman;
      }
    }
    this.width = width;
    // Input history: the last `width` samples before the current chunk, then the chunk.
    this.buf = new Float32Array(width + 8192);
    this.filled = width; // starts with `width` zeros of history
    this.pos = this.half - 1; // position (in buf) of the next output instant's integer part
    this.frac = 0;
  }

  /** Output samples the next `process` of `n` inputs returns at most. */
  maxOutput(n) {
    return Math.ceil((n + 1) / this.step) + 1;
  }

  /** Resamples `input` (Float32Array) into `out`; returns how many samples were written. */
  process(input, out) {
    if (this.filled + input.length > this.buf.length) {
      const bigger = new Float32Array(this.filled + input.length + 4096);
      bigger.set(this.buf.subarray(0, this.filled));
      this.buf = bigger;
    }
    this.buf.set(input, this.filled);
    this.filled += input.length;
    const { table, width, buf, step } = this;
    let n = 0;
    // An output at pos+frac needs inputs pos-half+1 .. pos+half.
    while (this.pos + this.half < this.filled && n < out.length) {
      const p = Math.round(this.frac * PHASES);
      const row = p * width;
      const start = this.pos - this.half + 1;
      let acc = 0;
      for (let k = 0; k < width; k++) acc += buf[start + k] * table[row + k];
      out[n++] = acc;
      const next = this.frac + step;
      const whole = Math.floor(next);
      this.pos += whole;
      this.frac = next - whole;
    }
    // Keep what the next outputs still need.
    const keepFrom = Math.max(0, Math.min(this.pos - this.half + 1, this.filled));
    if (keepFrom > 0) {
      buf.copyWithin(0, keepFrom, this.filled);
      this.filled -= keepFrom;
      this.pos -= keepFrom;
    }
    return n;
  }

  reset() {
    this.buf.fill(0, 0, this.width);
    this.filled = this.width;
    this.pos = this.half - 1;
    this.frac = 0;
  }
}

// --- capture framing ---------------------------------------------------------------------------------

/**
 * Cuts a stream of float samples at the line's rate into 20 ms frames: μ-law bytes ("phone")
 * or PCM16 little-endian bytes ("wideband"). `push` calls `emit(bytes)` for each full frame; the
 * bytes are a fresh ArrayBuffer (it is transferred to the page's thread).
 */
export class Framer {
  constructor(quality, emit) {
    this.quality = quality;
    this.rate = quality === 'wideband' ? 16000 : 8000;
    this.samplesPerFrame = this.rate / 50;
    this.emit = emit;
    this.frame = new Int16Array(this.samplesPerFrame);
    this.n = 0;
  }

  push(samples, count = samples.length) {
    for (let i = 0; i < count; i++) {
      this.frame[this.n++] = floatToPcm16(samples[i]);
      if (this.n === this.samplesPerFrame) {
        this.emit(this.encode());
        this.n = 0;
      }
    }
  }

  encode() {
    if (this.quality === 'wideband') {
      const bytes = new Uint8Array(this.samplesPerFrame * 2);
      for (let i = 0; i < this.samplesPerFrame; i++) {
        bytes[2 * i] = this.frame[i] & 0xff;
        bytes[2 * i + 1] = (this.frame[i] >> 8) & 0xff;
      }
      return bytes.buffer;
    }
    const bytes = new Uint8Array(this.samplesPerFrame);
    for (let i = 0; i < this.samplesPerFrame; i++) bytes[i] = mulawEncodeSample(this.frame[i]);
    return bytes.buffer;
  }
}

/** The line's bytes (μ-law or PCM16 LE) → float samples. */
export function decodeLine(quality, bytes) {
  if (quality === 'wideband') {
    const n = bytes.length >> 1;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = ((bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16 >> 16) / 32768;
    return out;
  }
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = MULAW_DECODE[bytes[i]] / 32768;
  return out;
}

// --- playback --------------------------------------------------------------------------------------

/**
 * The bot's audio between the socket and the speakers, at the speakers' rate. Entries are audio
 * chunks and marks, in the order they came. Playback starts once `targetSamples` are buffered,
 * or a mark says the sender paused, or the oldest audio has waited `targetSamples` of render time;
 * after running dry it waits for the target again. `render(out)` fills one render quantum and
 * returns the marks whose audio has now fully played.
 */
export class JitterBuffer {
  constructor(targetSamples) {
    this.target = targetSamples;
    this.queue = []; // { audio: Float32Array, at: number } | { mark: string }
    this.head = 0; // read position in queue[0] when it is audio
    this.buffered = 0;
    this.playing = false;
    this.waited = 0; // render samples spent buffering with audio queued
    this.playedSamples = 0;
  }

  pushAudio(samples) {
    if (samples.length === 0) return;
    this.queue.push({ audio: samples });
    this.buffered += samples.length;
  }

  pushMark(name) {
    this.queue.push({ mark: name });
  }

  /** Drops every queued sample; returns the marks that were waiting (they are echoed as cleared). */
  clear() {
    const marks = [];
    for (const e of this.queue) if (e.mark !== undefined) marks.push(e.mark);
    this.queue = [];
    this.head = 0;
    this.buffered = 0;
    this.playing = false;
    this.waited = 0;
    return marks;
  }

  /** Fills `out` (Float32Array); returns the names of marks now played (in order). */
  render(out) {
    const played = [];
    if (!this.playing) {
      const hasMark = this.queue.some((e) => e.mark !== undefined);
      if (this.buffered > 0) this.waited += out.length;
      if (this.buffered >= this.target || hasMark || (this.buffered > 0 && this.waited >= this.target)) this.playing = true;
    }
    let i = 0;
    while (this.playing && this.queue.length > 0 && (i < out.length || this.queue[0].mark !== undefined)) {
      const e = this.queue[0];
      if (e.mark !== undefined) {
        played.push(e.mark);
        this.queue.shift();
        continue;
      }
      const take = Math.min(out.length - i, e.audio.length - this.head);
      out.set(e.audio.subarray(this.head, this.head + take), i);
      i += take;
      this.head += take;
      this.buffered -= take;
      this.playedSamples += take;
      if (this.head === e.audio.length) {
        this.queue.shift();
        this.head = 0;
      }
    }
    if (i < out.length) {
      out.fill(0, i);
      if (this.queue.length === 0) {
        this.playing = false;
        this.waited = 0;
      }
    }
    return played;
  }
}
