/**
 * The browser test phone's page-side signal processing (src/web/ui/static/phone-dsp.js, run by
 * its AudioWorklets), tested in Node: μ-law bit for bit as the server encodes it, the resampler
 * between the browser's rates and the line's, 20 ms framing, and the playback jitter buffer
 * (start threshold, marks echoed after their audio, clear at once).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error -- a browser module without type declarations
import * as dsp from '../../src/web/ui/static/phone-dsp.js';
import { encodeMulawSample, decodeMulaw } from '../../src/audio/mulaw.js';
import { fitSine, ratioDb, rms, thdnDb } from '../../src/audio/analysis.js';

interface ResamplerT {
  maxOutput(n: number): number;
  process(input: Float32Array, out: Float32Array): number;
  reset(): void;
}
interface JitterT {
  pushAudio(s: Float32Array): void;
  pushMark(name: string): void;
  clear(): string[];
  render(out: Float32Array): string[];
}
const { mulawEncodeSample, mulawDecodeSample, Resampler, Framer, JitterBuffer, decodeLine } = dsp as {
  mulawEncodeSample(s: number): number;
  mulawDecodeSample(c: number): number;
  Resampler: new (inRate: number, outRate: number) => ResamplerT;
  Framer: new (quality: string, emit: (b: ArrayBuffer) => void) => { push(s: Float32Array, n?: number): void };
  JitterBuffer: new (target: number) => JitterT;
  decodeLine(quality: string, bytes: Uint8Array): Float32Array;
};

function tone(hz: number, rate: number, ms: number, amp = 0.5): Float32Array {
  const out = new Float32Array(Math.round((rate * ms) / 1000));
  for (let i = 0; i < out.length; i++) out[i] = amp * Math.sin((2 * Math.PI * hz * i) / rate);
  return out;
}

/** Runs a signal through a resampler in 128-sample render quanta, as a worklet does. */
function run(r: ResamplerT, input: Float32Array): Int16Array {
  const out = new Float32Array(r.maxOutput(128));
  const all: number[] = [];
  for (let i = 0; i < input.length; i += 128) {
    const n = r.process(input.subarray(i, i + 128), out);
    for (let j = 0; j < n; j++) all.push(Math.round(out[j]! * 32767));
  }
  return Int16Array.from(all);
}

describe('browser phone page DSP', () => {
  it('μ-law: every PCM16 sample encodes to the server\'s byte, every byte decodes to its sample', () => {
    for (let s = -32768; s < 32768; s++) {
      if (mulawEncodeSample(s) !== encodeMulawSample(s)) assert.fail(`sample ${s}: ${mulawEncodeSample(s)} vs ${encodeMulawSample(s)}`);
    }
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const server = decodeMulaw(codes);
    for (let c = 0; c < 256; c++) assert.equal(mulawDecodeSample(c), server[c], `code ${c}`);
  });

  for (const [inRate, outRate] of [[48000, 8000], [44100, 8000], [48000, 16000], [44100, 16000], [8000, 48000], [16000, 48000], [8000, 44100]] as const) {
    it(`resampler ${inRate} → ${outRate} Hz: length, level and purity of a 1 kHz tone`, () => {
      const out = run(new Resampler(inRate, outRate), tone(1000, inRate, 1000));
      assert.ok(Math.abs(out.length - outRate) <= 40, `length ${out.length}`);
      const fit = fitSine(out, 1000, outRate, outRate / 10, out.length - outRate / 10);
      const level = ratioDb(fit.amplitude, 0.5 * 32767);
      assert.ok(Math.abs(level) < 0.3, `level ${level.toFixed(2)} dB`);
      assert.ok(thdnDb(out.subarray(outRate / 10, out.length - outRate / 10), 1000, outRate) > 45, 'clean');
    });
  }

  it('resampler 48 → 8 kHz: a 6 kHz tone (above the line\'s band) does not alias into it', () => {
    const out = run(new Resampler(48000, 8000), tone(6000, 48000, 1000));
    const db = ratioDb(rms(out, 800), 0.5 * 32767 / Math.SQRT2);
    assert.ok(db < -40, `alias at ${db.toFixed(1)} dB`);
  });

  it('framer: 20 ms frames, 160 μ-law bytes ("phone") or 640 PCM16 bytes ("wideband"), decoded back by decodeLine', () => {
    for (const [quality, rate, bytes] of [['phone', 8000, 160], ['wideband', 16000, 640]] as const) {
      const frames: Uint8Array[] = [];
      const framer = new Framer(quality, (b) => frames.push(new Uint8Array(b)));
      const signal = tone(400, rate, 110);
      framer.push(signal);
      assert.equal(frames.length, 5, `${quality}: 110 ms make five whole frames`);
      assert.ok(frames.every((f) => f.length === bytes));
      const back = decodeLine(quality, frames[1]!);
      const error = Math.max(...back.map((x, i) => Math.abs(x - signal[rate / 50 + i]!)));
      assert.ok(error < (quality === 'phone' ? 0.02 : 0.0001), `${quality} round trip error ${error}`);
    }
  });

  it('jitter buffer: waits for its target, then plays in order and echoes a mark once the audio before it has played', () => {
    const jb = new JitterBuffer(256);
    const q = () => new Float32Array(128);
    jb.pushAudio(new Float32Array(200).fill(0.1));
    const first = q();
    assert.deepEqual(jb.render(first), []);
    assert.equal(first[0], 0, 'below the target: silence');
    jb.pushAudio(new Float32Array(200).fill(0.2));
    jb.pushMark('m1');
    jb.pushAudio(new Float32Array(100).fill(0.3));
    jb.pushMark('m2');
    const played: string[] = [];
    const out: number[] = [];
    for (let i = 0; i < 5; i++) {
      const buf = q();
      played.push(...jb.render(buf).map((m) => `${m}@${out.length + 128}`));
      out.push(...buf);
    }
    assert.deepEqual(played, ['m1@512', 'm2@512'], 'both marks after the quantum that played their audio');
    assert.equal(out[0], Math.fround(0.1));
    assert.equal(out[200], Math.fround(0.2));
    assert.equal(out[400], Math.fround(0.3));
    assert.equal(out[500], 0, 'ran dry: silence');
  });

  it('jitter buffer: a mark starts playback below the target (the sender paused); a lone mark echoes at once', () => {
    const jb = new JitterBuffer(10_000);
    jb.pushAudio(new Float32Array(64).fill(0.5));
    jb.pushMark('end');
    const buf = new Float32Array(128);
    assert.deepEqual(jb.render(buf), ['end']);
    assert.equal(buf[0], 0.5);
    jb.pushMark('lone');
    assert.deepEqual(jb.render(new Float32Array(128)), ['lone']);
  });

  it('jitter buffer: audio below the target starts after waiting the target\'s time', () => {
    const jb = new JitterBuffer(300);
    jb.pushAudio(new Float32Array(50).fill(0.5));
    const quanta: number[] = [];
    for (let i = 0; i < 4; i++) {
      const buf = new Float32Array(128);
      jb.render(buf);
      quanta.push(buf[0]!);
    }
    assert.deepEqual(quanta, [0, 0, 0.5, 0], 'plays in the quantum where 300 samples of waiting are reached');
  });

  it('jitter buffer: clear drops every buffered sample at once and hands back the marks it dropped', () => {
    const jb = new JitterBuffer(0);
    jb.pushAudio(new Float32Array(1000).fill(0.5));
    jb.pushMark('a');
    jb.pushAudio(new Float32Array(1000).fill(0.5));
    jb.pushMark('b');
    jb.render(new Float32Array(128));
    assert.deepEqual(jb.clear(), ['a', 'b']);
    const buf = new Float32Array(128).fill(1);
    assert.deepEqual(jb.render(buf), []);
    assert.ok(buf.every((x) => x === 0), 'silence right after the clear');
  });
});
