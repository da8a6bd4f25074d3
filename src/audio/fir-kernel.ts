/**
 * The resampler's inner loop: polyphase FIR over a float32 work buffer, written as a small
 * WebAssembly SIMD function (f32x4, two accumulators). Pure JS on this class of CPU spends about
 * 3 ns per multiply-add (bounds checks, scalar doubles); the SIMD kernel does four per instruction,
 * which is what keeps a 20 ms frame under the 15 µs budget (see bench/audio.bench.ts).
 *
 * The module is assembled below from named opcodes (WebAssembly binary format, SIMD encodings per
 * github.com/WebAssembly/simd proposals/simd/BinarySIMD.md), so there is no opaque binary in the
 * repository and no build step. {@link firJs} is the same loop in plain JS: the fallback where
 * WebAssembly SIMD is missing, and the reference the tests compare against.
 *
 * Memory is one shared scratch area per process: a resampler copies its history and the new chunk
 * in, runs the kernel, and copies the result out. No call state lives here.
 */

/** Arguments of one kernel run; all offsets are byte offsets into the kernel's memory. */
export interface FirRun {
  /** Work buffer: float32 samples; output o reads K samples starting at work + 4·base(o). */
  work: number;
  /** Coefficient bank: `up` branches of K float32 each, time-reversed. */
  bank: number;
  /** Taps per branch; a multiple of 8. */
  k: number;
  up: number;
  down: number;
  /** Base (in samples, relative to `work`) and branch of the first output. */
  base: number;
  phase: number;
  /** Outputs to produce. */
  count: number;
  /** Where int16 outputs go. */
  out: number;
}

// --- a minimal WebAssembly assembler ----------------------------------------------------------

function uleb(value: number): number[] {
  const bytes: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0);
  return bytes;
}

function sleb(value: number): number[] {
  const bytes: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

function f32Bytes(value: number): number[] {
  return [...new Uint8Array(new Float32Array([value]).buffer)];
}

function name(text: string): number[] {
  const utf8 = [...new TextEncoder().encode(text)];
  return [...uleb(utf8.length), ...utf8];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const op = {
  block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b, void: 0x40,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Const: 0x41, f32Const: 0x43,
  i32Eqz: 0x45, i32LtS: 0x48, i32LtU: 0x49,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32Shl: 0x74,
  f32Add: 0x92, f32Nearest: 0x90, f32Min: 0x96, f32Max: 0x97,
  i32TruncF32S: 0xa8, i32Store16: 0x3b,
} as const;
const simd = (code: number, ...imm: number[]): number[] => [0xfd, ...uleb(code), ...imm];
const v128Load = (): number[] => simd(0x00, 0, 0); // align 2^0, offset 0 (unaligned loads allowed)
const v128Zero = (): number[] => simd(0x0c, ...new Array<number>(16).fill(0));
const f32x4ExtractLane = (lane: number): number[] => simd(0x1f, lane);
const f32x4Add = (): number[] => simd(0xe4);
const f32x4Mul = (): number[] => simd(0xe6);

// Parameter and local indices of the kernel function.
const P = { work: 0, bank: 1, k: 2, up: 3, down: 4, base: 5, phase: 6, count: 7, out: 8 } as const;
const L = { acc0: 9, acc1: 10, c: 11, w: 12, end: 13, v: 14 } as const;

const get = (i: number): number[] => [op.localGet, i];
const set = (i: number): number[] => [op.localSet, i];
const i32 = (n: number): number[] => [op.i32Const, ...sleb(n)];
const f32 = (n: number): number[] => [op.f32Const, ...f32Bytes(n)];

function kernelBody(): number[] {
  const mac = (acc: number, offset: number): number[] => [
    ...get(acc),
    ...get(L.c), ...i32(offset), op.i32Add, ...v128Load(),
    ...get(L.w), ...i32(offset), op.i32Add, ...v128Load(),
    ...f32x4Mul(), ...f32x4Add(), ...set(acc),
  ];
  const code = [
    op.block, op.void,
    ...get(P.count), op.i32Eqz, op.brIf, 0,
    op.loop, op.void, // one output per iteration
    ...v128Zero(), ...set(L.acc0),
    ...v128Zero(), ...set(L.acc1),
    // c = bank + phase·k·4 ; w = work + base·4 ; end = c + k·4
    ...get(P.bank), ...get(P.phase), ...get(P.k), op.i32Mul, ...i32(2), op.i32Shl, op.i32Add, ...set(L.c),
    ...get(P.work), ...get(P.base), ...i32(2), op.i32Shl, op.i32Add, ...set(L.w),
    ...get(L.c), ...get(P.k), ...i32(2), op.i32Shl, op.i32Add, ...set(L.end),
    op.loop, op.void, // eight taps per iteration
    ...mac(L.acc0, 0),
    ...mac(L.acc1, 16),
    ...get(L.c), ...i32(32), op.i32Add, ...set(L.c),
    ...get(L.w), ...i32(32), op.i32Add, ...set(L.w),
    ...get(L.c), ...get(L.end), op.i32LtU, op.brIf, 0,
    op.end,
    // v = ((a0+a1)[0] + (a0+a1)[1]) + ((a0+a1)[2] + (a0+a1)[3])
    ...get(L.acc0), ...get(L.acc1), ...f32x4Add(), ...set(L.acc0),
    ...get(L.acc0), ...f32x4ExtractLane(0), ...get(L.acc0), ...f32x4ExtractLane(1), op.f32Add,
    ...get(L.acc0), ...f32x4ExtractLane(2), ...get(L.acc0), ...f32x4ExtractLane(3), op.f32Add,
    op.f32Add,
    op.f32Nearest, ...f32(-32768), op.f32Max, ...f32(32767), op.f32Min, ...set(L.v),
    ...get(P.out), ...get(L.v), op.i32TruncF32S, op.i32Store16, 1, 0,
    ...get(P.out), ...i32(2), op.i32Add, ...set(P.out),
    // phase += down; while (phase >= up) { phase -= up; base++ }
    ...get(P.phase), ...get(P.down), op.i32Add, ...set(P.phase),
    op.block, op.void,
    op.loop, op.void,
    ...get(P.phase), ...get(P.up), op.i32LtS, op.brIf, 1,
    ...get(P.phase), ...get(P.up), op.i32Sub, ...set(P.phase),
    ...get(P.base), ...i32(1), op.i32Add, ...set(P.base),
    op.br, 0,
    op.end,
    op.end,
    // while (--count)
    ...get(P.count), ...i32(1), op.i32Sub, op.localTee, P.count, op.brIf, 0,
    op.end,
    op.end,
    op.end, // function
  ];
  const locals = vec([[2, V128], [3, I32], [1, F32]].map(([n, t]) => [...uleb(n!), t!]));
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

function assemble(): Uint8Array {
  const fnType = [0x60, ...vec(new Array(9).fill([I32])), ...vec([])];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([fnType])), // types
    ...section(3, vec([uleb(0)])), // functions: #0 has type 0
    ...section(5, vec([[0x00, ...uleb(1)]])), // memory: min 1 page
    ...section(7, vec([
      [...name('fir'), 0x00, 0x00], // export function 0 as "fir"
      [...name('memory'), 0x02, 0x00], // export memory 0 as "memory"
    ])),
    ...section(10, vec([kernelBody()])),
  ];
  return new Uint8Array(bytes);
}

// --- the kernel, WebAssembly or JS ------------------------------------------------------------

export interface FirKernel {
  readonly kind: 'wasm' | 'js';
  /** The kernel's memory; views must be re-made after {@link ensureBytes} grows it. */
  memory(): ArrayBuffer;
  /** Makes sure the memory holds at least `bytes` bytes. */
  ensureBytes(bytes: number): void;
  run(args: FirRun): void;
}

/** Plain-JS version of the kernel (same arithmetic order per output as the SIMD one, in float64). */
export function firJs(buffer: ArrayBuffer, a: FirRun): void {
  const f32 = new Float32Array(buffer);
  const i16 = new Int16Array(buffer);
  const k = a.k;
  let base = a.base;
  let phase = a.phase;
  let outIndex = a.out >> 1;
  const work = a.work >> 2;
  const bank = a.bank >> 2;
  for (let o = 0; o < a.count; o++) {
    const c = bank + phase * k;
    const w = work + base;
    let acc = 0;
    for (let j = 0; j < k; j++) acc += f32[c + j]! * f32[w + j]!;
    const v = Math.round(acc);
    i16[outIndex++] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    phase += a.down;
    while (phase >= a.up) {
      phase -= a.up;
      base++;
    }
  }
}

function jsKernel(): FirKernel {
  let buffer = new ArrayBuffer(65536);
  return {
    kind: 'js',
    memory: () => buffer,
    ensureBytes(bytes) {
      if (buffer.byteLength >= bytes) return;
      const grown = new ArrayBuffer(Math.ceil(bytes / 65536) * 65536);
      new Uint8Array(grown).set(new Uint8Array(buffer));
      buffer = grown;
    },
    run: (a) => firJs(buffer, a),
  };
}

function wasmKernel(): FirKernel | undefined {
  const bytes = assemble();
  if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return undefined;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  const memory = instance.exports['memory'] as WebAssembly.Memory;
  const fir = instance.exports['fir'] as (...args: number[]) => void;
  return {
    kind: 'wasm',
    memory: () => memory.buffer,
    ensureBytes(bytesNeeded) {
      const missing = bytesNeeded - memory.buffer.byteLength;
      if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    },
    run: (a) => fir(a.work, a.bank, a.k, a.up, a.down, a.base, a.phase, a.count, a.out),
  };
}

let wasm: FirKernel | undefined | null = null;
let js: FirKernel | undefined;

/** The process-wide kernel of the given kind ('wasm' falls back to 'js' where SIMD is missing). */
export function firKernel(kind: 'wasm' | 'js' = 'wasm'): FirKernel {
  if (kind === 'wasm') {
    if (wasm === null) wasm = wasmKernel();
    if (wasm) return wasm;
  }
  js ??= jsKernel();
  return js;
}

/** The assembled module, for tests. */
export const firModuleBytes = assemble;
