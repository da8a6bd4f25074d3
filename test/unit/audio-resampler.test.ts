import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StreamingResampler, RATIOS, resampleWhole, groupDelayMs } from '../../src/audio/resampler.js';
import { firModuleBytes } from '../../src/audio/fir-kernel.js';
import { sineWave, fitSine, thdnDb, rms, ratioDb } from '../../src/audio/analysis.js';
import { concatPcm16 } from '../../src/audio/pcm.js';

const CHUNK_SIZES = [1, 7, 160, 161, 479, 480, 1000];
const TONES_HZ = [300, 1000, 3000];
/** The two paths every call runs, and the two for later (browser / recording). */
const PATHS: Array<[number, number]> = [[8000, 16000], [24000, 8000], [16000, 8000], [8000, 24000]];
const KERNELS = ['wasm', 'js'] as const;

function runChunked(input: Int16Array, inHz: number, outHz: number, chunk: number, kernel: 'wasm' | 'js' = 'wasm'): Int16Array {
  const r = new StreamingResampler(inHz, outHz, { kernel });
  const parts: Int16Array[] = [];
  for (let i = 0; i < input.length; i += chunk) parts.push(r.process(input.subarray(i, i + chunk)));
  return concatPcm16(parts);
}

/** Chunk sizes that change from call to call (a jittery network). */
function runIrregular(input: Int16Array, inHz: number, outHz: number, seed: number): Int16Array {
  const r = new StreamingResampler(inHz, outHz);
  const parts: Int16Array[] = [];
  let state = seed;
  for (let i = 0; i < input.length; ) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (state % 700);
    parts.push(r.process(input.subarray(i, i + n)));
    i += n;
  }
  return concatPcm16(parts);
}

describe('StreamingResampler', () => {
  it('the SIMD kernel assembles to a valid WebAssembly module and is the default', () => {
    assert.ok(WebAssembly.validate(firModuleBytes()));
    assert.equal(new StreamingResampler(8000, 16000).kernelKind, 'wasm');
    assert.equal(new StreamingResampler(8000, 16000, { kernel: 'js' }).kernelKind, 'js');
  });

  for (const kernel of KERNELS) {
    for (const [inHz, outHz] of PATHS) {
      it(`${kernel} ${inHz}→${outHz}: THD+N ≥ 60 dB for ${TONES_HZ.join('/')} Hz at chunk sizes ${CHUNK_SIZES.join(', ')}`, () => {
        let worst = Infinity;
        for (const toneHz of TONES_HZ) {
          const input = sineWave(toneHz, inHz, 1000);
          for (const chunk of CHUNK_SIZES) {
            const out = runChunked(input, inHz, outHz, chunk, kernel);
            const db = thdnDb(out, toneHz, outHz);
            assert.ok(db >= 60, `${toneHz} Hz, chunk ${chunk}: THD+N ${db.toFixed(1)} dB < 60 dB`);
            worst = Math.min(worst, db);
          }
        }
        assert.ok(worst > 75, `worst THD+N ${worst.toFixed(1)} dB (expected well above the 60 dB floor)`);
      });
    }
  }

  for (const [inHz, outHz] of PATHS) {
    it(`${inHz}→${outHz}: chunked output equals whole-signal output, for any chunking`, () => {
      const input = sineWave(1234, inHz, 700);
      // Add broadband content so every tap matters.
      for (let i = 0; i < input.length; i++) input[i] = input[i]! + (((i * 7919) % 2001) - 1000);
      const whole = new StreamingResampler(inHz, outHz).process(input);
      assert.equal(whole.length, Math.floor((input.length * outHz - 1) / inHz) + 1);
      for (const chunk of CHUNK_SIZES) {
        const chunked = runChunked(input, inHz, outHz, chunk);
        assert.equal(chunked.length, whole.length, `chunk ${chunk}: length`);
        let maxDiff = 0;
        for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(chunked[i]! - whole[i]!));
        assert.ok(maxDiff / 32768 <= 1e-6, `chunk ${chunk}: max difference ${maxDiff} LSB`);
        assert.deepEqual(chunked, whole, `chunk ${chunk}: bit-identical`);
      }
      for (const seed of [1, 2, 3]) assert.deepEqual(runIrregular(input, inHz, outHz, seed), whole, `irregular chunks, seed ${seed}`);
    });
  }

  it('returns exactly the samples due: outputLength() predicts process() and totals match the ratio', () => {
    for (const [inHz, outHz] of PATHS) {
      const r = new StreamingResampler(inHz, outHz);
      let inTotal = 0;
      let outTotal = 0;
      for (const n of [1, 1, 2, 7, 160, 161, 479, 0, 3, 1000]) {
        const predicted = r.outputLength(n);
        const got = r.process(new Int16Array(n)).length;
        assert.equal(got, predicted, `${inHz}→${outHz} chunk ${n}`);
        inTotal += n;
        outTotal += got;
        // Output o is due once input floor(o·in/out) has arrived, so I inputs give floor((I·out − 1)/in) + 1.
        assert.equal(outTotal, Math.floor((inTotal * outHz - 1) / inHz) + 1, `${inHz}→${outHz} after ${inTotal} inputs`);
      }
    }
  });

  it('WebAssembly and JS kernels agree within 1 LSB', () => {
    for (const [inHz, outHz] of PATHS) {
      const input = sineWave(997, inHz, 300, 30000);
      const a = runChunked(input, inHz, outHz, 160, 'wasm');
      const b = runChunked(input, inHz, outHz, 160, 'js');
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1, `${inHz}→${outHz} sample ${i}: ${a[i]} vs ${b[i]}`);
    }
  });

  it('24 kHz → 8 kHz: 4.5 kHz and 6 kHz tones come out at least 60 dB down (no alias)', () => {
    for (const toneHz of [4500, 6000]) {
      for (const phase of [0, 0.7]) {
        const input = sineWave(toneHz, 24000, 1000, 16384, phase);
        const out = runChunked(input, 24000, 8000, 480);
        const skip = 80; // 10 ms of start-up at 8 kHz
        const db = ratioDb(rms(out, skip), rms(input));
        assert.ok(db <= -60, `${toneHz} Hz leaks at ${db.toFixed(1)} dB`);
      }
    }
  });

  for (const [inHz, outHz] of PATHS) {
    it(`${inHz}→${outHz}: passband 100-3400 Hz flat within 1 dB`, () => {
      const gains: number[] = [];
      for (let f = 100; f <= 3400; f += 100) {
        const out = runChunked(sineWave(f, inHz, 500), inHz, outHz, 160);
        const skip = Math.round(outHz * 0.05);
        gains.push(ratioDb(fitSine(out, f, outHz, skip, out.length).amplitude, 16384));
      }
      const spread = Math.max(...gains) - Math.min(...gains);
      assert.ok(spread <= 1, `passband spread ${spread.toFixed(3)} dB`);
      assert.ok(Math.max(...gains.map(Math.abs)) <= 0.5, `gain stays within ±0.5 dB of unity: ${gains.map((g) => g.toFixed(2)).join(' ')}`);
    });
  }

  for (const [inHz, outHz] of PATHS) {
    it(`${inHz}→${outHz}: group delay ≤ 3 ms, measured on a tone (matches the design figure)`, () => {
      const toneHz = 200; // period 5 ms, so a delay under 5 ms is unambiguous
      const input = sineWave(toneHz, inHz, 500);
      const out = runChunked(input, inHz, outHz, 160);
      const fit = fitSine(out, toneHz, outHz, Math.round(outHz * 0.05), out.length);
      let delaySeconds = -fit.phaseRad / (2 * Math.PI * toneHz);
      while (delaySeconds < 0) delaySeconds += 1 / toneHz;
      const measuredMs = delaySeconds * 1000;
      assert.ok(measuredMs <= 3, `group delay ${measuredMs.toFixed(3)} ms`);
      assert.ok(Math.abs(measuredMs - groupDelayMs(inHz, outHz)) < 0.02, `measured ${measuredMs.toFixed(3)} ms vs design ${groupDelayMs(inHz, outHz).toFixed(3)} ms`);
    });
  }

  it('adding a ratio is a table entry: every RATIOS entry builds and converts a tone cleanly', () => {
    for (const key of Object.keys(RATIOS)) {
      const [inHz, outHz] = key.split(':').map(Number) as [number, number];
      const out = resampleWhole(sineWave(440, inHz, 400), inHz, outHz);
      assert.ok(Math.abs(out.length - (400 * outHz) / 1000) <= 1, `${key} length ${out.length}`);
      assert.ok(thdnDb(out, 440, outHz) >= 60, `${key} THD+N ${thdnDb(out, 440, outHz).toFixed(1)} dB`);
    }
  });

  it('refuses an unsupported pair with an error naming the supported ones', () => {
    assert.throws(() => new StreamingResampler(44100, 8000), /No resampler for 44100 Hz → 8000 Hz; supported: 8000:16000/);
  });

  it('reset() forgets history', () => {
    const r = new StreamingResampler(8000, 16000);
    const first = r.process(sineWave(500, 8000, 20));
    r.process(sineWave(900, 8000, 33));
    r.reset();
    assert.deepEqual(r.process(sineWave(500, 8000, 20)), first);
  });

  it('instances do not share state: interleaved calls give the same output as separate runs', () => {
    const a = sineWave(300, 8000, 200);
    const b = sineWave(3000, 8000, 200);
    const ra = new StreamingResampler(8000, 16000);
    const rb = new StreamingResampler(8000, 16000);
    const pa: Int16Array[] = [];
    const pb: Int16Array[] = [];
    for (let i = 0; i < a.length; i += 160) {
      pa.push(ra.process(a.subarray(i, i + 160)));
      pb.push(rb.process(b.subarray(i, i + 160)));
    }
    assert.deepEqual(concatPcm16(pa), runChunked(a, 8000, 16000, 160));
    assert.deepEqual(concatPcm16(pb), runChunked(b, 8000, 16000, 160));
  });
});
