/**
 * Per-frame cost and quality of the two conversions every call runs 50 times a second:
 *   in:  160 μ-law bytes (20 ms at 8 kHz) → decode → 8→16 kHz → 320 PCM16 samples
 *   out: 480 PCM16 samples (20 ms at 24 kHz) → 24→8 kHz → encode → 160 μ-law bytes
 * for callbridge's resampler (WebAssembly SIMD kernel, and its plain-JS reference kernel),
 * wave-resampler called per chunk, and libsamplerate-js's stateful full() API.
 *
 * Cost: each frame timed on its own with process.hrtime.bigint() (median and p99 over
 * FRAMES frames after WARMUP frames), one core, nothing else running in the process.
 * Quality: THD+N (least-squares sine fit) of 300 Hz, 1 kHz and 3 kHz tones fed in 20 ms chunks,
 * PCM in and PCM out (μ-law excluded, so the figure is the resampler's alone); the worst of the
 * three is reported. `--json` also writes bench/results/audio.json.
 *
 * Run: npm run bench:audio [-- --frames 20000 --json]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resultsDir } from './results-dir.js';
import os from 'node:os';
import waveResampler from 'wave-resampler'; // UMD: its functions hang off the default export
const waveResample = waveResampler.resample;
import LibSampleRate from '@alexanderolsen/libsamplerate-js'; // a UMD bundle: named exports hang off the default
import { StreamingResampler } from '../src/audio/resampler.js';
import { decodeMulaw, encodeMulaw } from '../src/audio/mulaw.js';
import { sineWave, thdnDb } from '../src/audio/analysis.js';
import { concatPcm16 } from '../src/audio/pcm.js';

const args = process.argv.slice(2);
const FRAMES = Number(args[args.indexOf('--frames') + 1]) || 20000;
const WARMUP = 2000;
const JSON_OUT = args.includes('--json');

/** One implementation: makes a fresh per-call pair of converters. */
interface Contender {
  name: string;
  /** μ-law 20 ms frame → 16 kHz PCM16. */
  inbound(): (mulaw: Uint8Array) => Int16Array;
  /** 24 kHz PCM16 20 ms frame → μ-law. */
  outbound(): (pcm: Int16Array) => Uint8Array;
  /** Any PCM → PCM conversion, chunk by chunk (quality measurement). */
  pcm(inHz: number, outHz: number): (chunk: Int16Array) => Int16Array;
}

function ours(kernel: 'wasm' | 'js'): Contender {
  return {
    name: kernel === 'wasm' ? 'callbridge (WASM SIMD kernel)' : 'callbridge (JS reference kernel)',
    inbound() {
      const r = new StreamingResampler(8000, 16000, { kernel });
      const pcm8 = new Int16Array(160);
      const pcm16 = new Int16Array(320);
      return (mulaw) => {
        const n = r.processInto(decodeMulaw(mulaw, pcm8), pcm16);
        return pcm16.subarray(0, n);
      };
    },
    outbound() {
      const r = new StreamingResampler(24000, 8000, { kernel });
      const pcm8 = new Int16Array(160);
      const bytes = new Uint8Array(160);
      return (pcm) => encodeMulaw(pcm8.subarray(0, r.processInto(pcm, pcm8)), bytes);
    },
    pcm(inHz, outHz) {
      const r = new StreamingResampler(inHz, outHz, { kernel });
      return (chunk) => r.process(chunk);
    },
  };
}

function toInt16(values: ArrayLike<number>, scale = 1): Int16Array {
  const out = new Int16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(values[i]! * scale);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

function waveResamplerPerChunk(method: 'sinc' | 'linear'): Contender {
  const conv = (inHz: number, outHz: number) => (chunk: Int16Array) =>
    toInt16(waveResample(chunk.slice(), inHz, outHz, { method })); // slice: it filters its input in place
  return {
    name: `wave-resampler 1.0 per chunk ('${method}')`,
    inbound() {
      const c = conv(8000, 16000);
      return (mulaw) => c(decodeMulaw(mulaw));
    },
    outbound() {
      const c = conv(24000, 8000);
      return (pcm) => encodeMulaw(c(pcm));
    },
    pcm: conv,
  };
}

async function libsamplerate(): Promise<Contender> {
  const make = async (inHz: number, outHz: number) => {
    const src = await LibSampleRate.create(1, inHz, outHz, { converterType: LibSampleRate.ConverterType.SRC_SINC_FASTEST });
    const f32 = new Float32Array(4096);
    return (chunk: Int16Array): Int16Array => {
      const input = f32.subarray(0, chunk.length);
      for (let i = 0; i < chunk.length; i++) input[i] = chunk[i]! / 32768;
      return toInt16(src.full(input), 32768);
    };
  };
  // create() is async; pre-build the converters the measurements will ask for.
  const pool = new Map<string, Array<(c: Int16Array) => Int16Array>>();
  const take = (inHz: number, outHz: number) => {
    const list = pool.get(`${inHz}:${outHz}`);
    const fn = list?.pop();
    if (!fn) throw new Error(`no libsamplerate converter ready for ${inHz}:${outHz}`);
    return fn;
  };
  for (const [key, count] of [['8000:16000', 5], ['24000:8000', 5]] as const) {
    const [inHz, outHz] = key.split(':').map(Number) as [number, number];
    const list: Array<(c: Int16Array) => Int16Array> = [];
    for (let i = 0; i < count; i++) list.push(await make(inHz, outHz));
    pool.set(key, list);
  }
  return {
    name: 'libsamplerate-js 2.1 full() SINC_FASTEST',
    inbound() {
      const c = take(8000, 16000);
      return (mulaw) => c(decodeMulaw(mulaw));
    },
    outbound() {
      const c = take(24000, 8000);
      return (pcm) => encodeMulaw(c(pcm));
    },
    pcm: take,
  };
}

function timeFrames<T>(frames: readonly T[], fn: (frame: T) => unknown): { medianUs: number; p99Us: number } {
  for (let i = 0; i < WARMUP; i++) fn(frames[i % frames.length]!);
  const times = new Float64Array(FRAMES);
  for (let i = 0; i < FRAMES; i++) {
    const frame = frames[i % frames.length]!;
    const t0 = process.hrtime.bigint();
    fn(frame);
    times[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  times.sort();
  return { medianUs: times[FRAMES >> 1]!, p99Us: times[Math.floor(FRAMES * 0.99)]! };
}

function worstThdn(c: Contender, inHz: number, outHz: number): number {
  let worst = Infinity;
  const chunk = inHz / 50;
  for (const toneHz of [300, 1000, 3000]) {
    const input = sineWave(toneHz, inHz, 2000);
    const conv = c.pcm(inHz, outHz);
    const parts: Int16Array[] = [];
    for (let i = 0; i < input.length; i += chunk) parts.push(conv(input.subarray(i, i + chunk)));
    worst = Math.min(worst, thdnDb(concatPcm16(parts), toneHz, outHz));
  }
  return worst;
}

function framesOf<T extends Int16Array | Uint8Array>(signal: T, size: number): T[] {
  const out: T[] = [];
  for (let i = 0; i + size <= signal.length; i += size) out.push(signal.slice(i, i + size) as T);
  return out;
}

const contenders = [ours('wasm'), ours('js'), waveResamplerPerChunk('sinc'), waveResamplerPerChunk('linear'), await libsamplerate()];
const mulawFrames = framesOf(encodeMulaw(sineWave(1000, 8000, 1000)), 160);
const pcm24Frames = framesOf(sineWave(1000, 24000, 1000), 480);

interface Row {
  name: string;
  inMedianUs: number; inP99Us: number; inThdnDb: number;
  outMedianUs: number; outP99Us: number; outThdnDb: number;
}
const rows: Row[] = [];
for (const c of contenders) {
  const inbound = c.inbound();
  const outbound = c.outbound();
  const tin = timeFrames(mulawFrames, inbound);
  const tout = timeFrames(pcm24Frames, outbound);
  rows.push({
    name: c.name,
    inMedianUs: tin.medianUs, inP99Us: tin.p99Us, inThdnDb: worstThdn(c, 8000, 16000),
    outMedianUs: tout.medianUs, outP99Us: tout.p99Us, outThdnDb: worstThdn(c, 24000, 8000),
  });
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`Audio path per 20 ms frame — ${cpu}, ${os.cpus().length} cores, Node ${process.version}, ${FRAMES} frames each`);
console.log('in = 160 μ-law bytes → 320 PCM16 @16 kHz; out = 480 PCM16 @24 kHz → 160 μ-law bytes; THD+N = worst of 300/1k/3k Hz, 20 ms chunks\n');
const header = ['implementation', 'in median µs', 'in p99 µs', 'in THD+N dB', 'out median µs', 'out p99 µs', 'out THD+N dB'];
const table = rows.map((r) => [
  r.name, r.inMedianUs.toFixed(1), r.inP99Us.toFixed(1), r.inThdnDb.toFixed(1),
  r.outMedianUs.toFixed(1), r.outP99Us.toFixed(1), r.outThdnDb.toFixed(1),
]);
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
for (const line of table) console.log(`| ${line.join(' | ')} |`);
const best = rows[0]!;
console.log(`\ntarget: ≤ 15 µs median per direction → in ${best.inMedianUs <= 15 ? 'MET' : 'MISSED'} (${best.inMedianUs.toFixed(1)} µs), out ${best.outMedianUs <= 15 ? 'MET' : 'MISSED'} (${best.outMedianUs.toFixed(1)} µs)`);

if (JSON_OUT) {
  const file = join(resultsDir(), 'audio.json');
  writeFileSync(file, JSON.stringify({ cpu, node: process.version, frames: FRAMES, rows }, null, 2));
  console.log(`wrote ${file}`);
}
