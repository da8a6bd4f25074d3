/**
 * Streaming polyphase resampler for PCM16 mono.
 *
 * One instance per call and direction. It keeps its filter history across calls, accepts chunks of
 * any length and returns exactly the samples that are due, so concatenating the outputs of a
 * chunked stream gives the same samples (bit for bit) as resampling the whole signal at once.
 *
 * Every supported rate pair is one entry of {@link RATIOS}: up/down factors, taps per polyphase
 * branch and the band edges. The filter is a Kaiser-windowed sinc designed once per ratio.
 *
 * How it works: conceptually the input is upsampled by `up` (zeros inserted), low-pass filtered
 * at `up × inRate`, and every `down`-th sample kept. Output n sits at upsampled index n·down, i.e.
 * it needs input sample floor(n·down/up) and uses filter branch (n·down mod up). An output is due
 * as soon as that input sample has arrived.
 */
import { designLowPass } from './fir.js';
import { firKernel, type FirKernel, type FirRun } from './fir-kernel.js';
import { sameView } from './pcm.js';

export interface RatioSpec {
  /** Interpolation factor L. */
  up: number;
  /** Decimation factor M. */
  down: number;
  /** Taps per polyphase branch K; the prototype filter has L·K taps. */
  tapsPerPhase: number;
  /** Highest frequency kept flat. */
  passbandHz: number;
  /** Lowest frequency fully attenuated (images or aliases start here). */
  stopbandHz: number;
}

/**
 * Supported conversions. Adding a ratio is adding an entry here. Group delay of each is
 * (L·K − 1) / 2 samples at L × input rate (see {@link groupDelayMs}).
 */
export const RATIOS: Readonly<Record<string, RatioSpec>> = Object.freeze({
  // Twilio caller audio → Gemini input. 64-tap prototype at 16 kHz: 1.97 ms, ~76 dB image rejection.
  '8000:16000': { up: 2, down: 1, tapsPerPhase: 32, passbandHz: 3400, stopbandHz: 4600 },
  // Gemini speech → Twilio. 108 taps at 24 kHz: 2.23 ms, ~75 dB alias rejection from 4.45 kHz up.
  '24000:8000': { up: 1, down: 3, tapsPerPhase: 108, passbandHz: 3400, stopbandHz: 4450 },
  // Browser or recording paths.
  '16000:8000': { up: 1, down: 2, tapsPerPhase: 72, passbandHz: 3400, stopbandHz: 4450 },
  '8000:24000': { up: 3, down: 1, tapsPerPhase: 32, passbandHz: 3400, stopbandHz: 4600 },
  // Gemini speech → the browser test phone's wideband line. 192 taps at 48 kHz: 2.0 ms.
  '24000:16000': { up: 2, down: 3, tapsPerPhase: 96, passbandHz: 7000, stopbandHz: 8000 },
  // The emulator's echo model (caller audio back as model audio).
  '16000:24000': { up: 3, down: 2, tapsPerPhase: 32, passbandHz: 6000, stopbandHz: 8000 },
  // espeak-ng (22.05 kHz) → Gemini's 24 kHz output rate, for the emulator's synthesized speech.
  '22050:24000': { up: 160, down: 147, tapsPerPhase: 32, passbandHz: 8000, stopbandHz: 11025 },
});

interface Design {
  spec: RatioSpec;
  /** Taps per branch, padded with zeros (at the oldest end) to a multiple of 8 for the kernel. */
  k: number;
  /** Branch p's coefficients, time-reversed, at offset p·k (gain L folded in). */
  bank: Float32Array;
  groupDelayMs: number;
}

const designs = new Map<string, Design>();

function designFor(inRateHz: number, outRateHz: number): Design {
  const key = `${inRateHz}:${outRateHz}`;
  const cached = designs.get(key);
  if (cached) return cached;
  const spec = RATIOS[key];
  if (!spec) {
    throw new RangeError(
      `No resampler for ${inRateHz} Hz → ${outRateHz} Hz; supported: ${Object.keys(RATIOS).join(', ')}`,
    );
  }
  if (inRateHz * spec.up !== outRateHz * spec.down) {
    throw new RangeError(`RATIOS['${key}'] is inconsistent: ${inRateHz}·${spec.up} ≠ ${outRateHz}·${spec.down}`);
  }
  const { up, tapsPerPhase } = spec;
  const prototypeRateHz = inRateHz * up;
  const h = designLowPass({
    taps: up * tapsPerPhase,
    sampleRateHz: prototypeRateHz,
    passbandHz: spec.passbandHz,
    stopbandHz: spec.stopbandHz,
    gain: up,
  });
  const k = Math.ceil(tapsPerPhase / 8) * 8;
  const bank = new Float32Array(up * k);
  for (let p = 0; p < up; p++) {
    for (let j = 0; j < k; j++) {
      const m = k - 1 - j; // how many input samples back this coefficient looks
      bank[p * k + j] = m < tapsPerPhase ? h[p + m * up]! : 0;
    }
  }
  const design = { spec, k, bank, groupDelayMs: ((up * tapsPerPhase - 1) / 2 / prototypeRateHz) * 1000 };
  designs.set(key, design);
  return design;
}

/** Filter group delay of a conversion, in milliseconds (linear phase: the same at every frequency). */
export function groupDelayMs(inRateHz: number, outRateHz: number): number {
  return designFor(inRateHz, outRateHz).groupDelayMs;
}

/**
 * Where each kernel keeps its coefficient banks, and views of its memory. Banks are written once
 * per ratio; the scratch area (history + chunk, then outputs) follows them and is reused by every
 * resampler in the process, one `processInto` at a time.
 */
class KernelMemory {
  readonly kernel: FirKernel;
  readonly #bankOffsets = new Map<Design, number>();
  #scratch = 0;
  #buffer: ArrayBuffer | undefined;
  f32 = new Float32Array(0);
  i16 = new Int16Array(0);

  constructor(kernel: FirKernel) {
    this.kernel = kernel;
  }

  bankOffset(design: Design): number {
    let offset = this.#bankOffsets.get(design);
    if (offset === undefined) {
      offset = this.#scratch;
      this.#scratch = offset + Math.ceil((design.bank.length * 4) / 16) * 16;
      this.kernel.ensureBytes(this.#scratch);
      this.views();
      this.f32.set(design.bank, offset >> 2);
      this.#bankOffsets.set(design, offset);
    }
    return offset;
  }

  /** Byte offset of a scratch area of at least `bytes` bytes (valid until the next call). */
  scratch(bytes: number): number {
    this.kernel.ensureBytes(this.#scratch + bytes);
    this.views();
    return this.#scratch;
  }

  views(): void {
    const buffer = this.kernel.memory();
    if (buffer !== this.#buffer) {
      this.#buffer = buffer;
      this.f32 = new Float32Array(buffer);
      this.i16 = new Int16Array(buffer);
    }
  }
}

const memories = new Map<FirKernel, KernelMemory>();

function memoryFor(kernel: FirKernel): KernelMemory {
  let memory = memories.get(kernel);
  if (!memory) memories.set(kernel, (memory = new KernelMemory(kernel)));
  return memory;
}

export interface ResamplerOptions {
  /** 'wasm' (default; SIMD, falls back to 'js' where unavailable) or 'js' (reference loop). */
  kernel?: 'wasm' | 'js';
}

export class StreamingResampler {
  readonly inRateHz: number;
  readonly outRateHz: number;
  readonly groupDelayMs: number;
  /** Which kernel runs this instance. */
  readonly kernelKind: 'wasm' | 'js';
  readonly #up: number;
  readonly #down: number;
  readonly #k: number;
  readonly #bankOffset: number;
  readonly #memory: KernelMemory;
  /** The last k−1 input samples. */
  readonly #history: Float32Array;
  /** Index (relative to the first sample of the next chunk) of the newest input the next output needs. */
  #nextBase = 0;
  /** Filter branch of the next output. */
  #nextPhase = 0;
  /** The kernel's arguments, rewritten each call (no object per chunk). */
  readonly #run: FirRun;
  /** Views of the kernel's memory reused while the chunk size stays the same (none per chunk). */
  #outView: Int16Array | undefined;
  #historyView: Float32Array | undefined;

  constructor(inRateHz: number, outRateHz: number, options: ResamplerOptions = {}) {
    const design = designFor(inRateHz, outRateHz);
    this.inRateHz = inRateHz;
    this.outRateHz = outRateHz;
    this.groupDelayMs = design.groupDelayMs;
    this.#up = design.spec.up;
    this.#down = design.spec.down;
    this.#k = design.k;
    this.#memory = memoryFor(firKernel(options.kernel ?? 'wasm'));
    this.kernelKind = this.#memory.kernel.kind;
    this.#bankOffset = this.#memory.bankOffset(design);
    this.#history = new Float32Array(design.k - 1);
    this.#run = { work: 0, bank: this.#bankOffset, k: this.#k, up: this.#up, down: this.#down, base: 0, phase: 0, count: 0, out: 0 };
  }

  /** How many samples the next `process` call will return for `inputLength` input samples. */
  outputLength(inputLength: number): number {
    if (inputLength <= this.#nextBase) return 0;
    // Output o sits at upsampled position U0 + o·down and is due once input floor(U/up) arrived.
    const span = (inputLength - 1 - this.#nextBase) * this.#up + (this.#up - 1 - this.#nextPhase);
    return Math.floor(span / this.#down) + 1;
  }

  /** Resamples a chunk into a new array holding exactly the samples now due. */
  process(input: Int16Array): Int16Array {
    const out = new Int16Array(this.outputLength(input.length));
    this.processInto(input, out);
    return out;
  }

  /**
   * Resamples a chunk into `out` and returns the number of samples written (no allocation).
   * `out` must hold at least `outputLength(input.length)` samples.
   */
  processInto(input: Int16Array, out: Int16Array): number {
    const n = input.length;
    const due = this.outputLength(n);
    if (out.length < due) throw new RangeError(`processInto: output holds ${out.length} samples, need ${due}`);
    const history = this.#k - 1;
    const mem = this.#memory;
    const workBytes = Math.ceil(((history + n) * 4) / 16) * 16;
    const work = mem.scratch(workBytes + due * 2);
    const outOffset = work + workBytes;
    const f32 = mem.f32;
    const w = work >> 2;
    f32.set(this.#history, w);
    for (let i = 0; i < n; i++) f32[w + history + i] = input[i]!;
    if (due > 0) {
      const run = this.#run;
      run.work = work;
      run.base = this.#nextBase;
      run.phase = this.#nextPhase;
      run.count = due;
      run.out = outOffset;
      mem.kernel.run(run);
      out.set((this.#outView = sameView(this.#outView, mem.i16, outOffset >> 1, due)));
    }
    // Advance: the next output's upsampled position, relative to the next chunk.
    const position = this.#nextBase * this.#up + this.#nextPhase + due * this.#down;
    this.#nextBase = Math.floor(position / this.#up) - n;
    this.#nextPhase = position % this.#up;
    // Keep the last k−1 inputs.
    this.#history.set((this.#historyView = sameView(this.#historyView, f32, w + n, history)));
    return due;
  }

  /** Forgets all history, as if newly created. */
  reset(): void {
    this.#history.fill(0);
    this.#nextBase = 0;
    this.#nextPhase = 0;
  }
}

/** Resamples a whole signal at once (prompts, fixtures): one resampler, one call. */
export function resampleWhole(input: Int16Array, inRateHz: number, outRateHz: number): Int16Array {
  if (inRateHz === outRateHz) return input.slice();
  return new StreamingResampler(inRateHz, outRateHz).process(input);
}
