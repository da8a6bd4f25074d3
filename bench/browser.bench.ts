/**
 * Browser test phone benchmark: the latency the browser path adds, per direction (p50 / p99), and
 * callbridge's CPU per browser call. Method (README "Browser test phone: latency and CPU"):
 *
 *   - callbridge runs as its own process (`node --import tsx src/main.ts`, as `npm start`); the
 *     Gemini emulator (echo model: caller audio straight back as model audio) and N clients of the
 *     page's WebSocket protocol (test/support/phone-client.ts) run in this process, so one clock
 *     (performance.now) stamps both ends of each direction.
 *   - Every client signs in (its own session), calls, and streams 20 ms frames in real time
 *     (a 440 Hz tone; the calls' frames spread over each 20 ms), "Phone line" (μ-law 8 kHz) or
 *     "Wideband" (PCM16 16 kHz). The echo talks in turns (2 s of echo, 1 s quiet), so every turn
 *     starts with the page's buffer empty, as a bot's reply does.
 *   - In: a frame's send by the client → the emulator has received the whole frame (16 kHz
 *     samples counted, so frames are matched by sample position): WebSocket, callbridge's checks,
 *     conversion, VAD and its WebSocket to Gemini.
 *   - Out: the emulator hands a chunk to its socket → the client has received all of it (sample
 *     position again), and → it has played, through the page's own Resampler and JitterBuffer
 *     (src/web/ui/static/phone-dsp.js, 40 ms target) on an ideal 48 kHz render clock of 128-frame
 *     quanta. The sound card's own output latency (AudioContext.outputLatency) is not included.
 *     Audio that arrives ahead of real time waits its turn in that buffer: that is the bot's
 *     speech queued, not delay, so the figure that matters is the wait of a turn's first audio.
 *   - CPU: callbridge's user+system time (/proc) over the steady window, per call and second;
 *     and the same process idle (no call) for 3 s before, so the per-call cost can be read
 *     without the process's own background work.
 *
 * Run: npm run bench:browser [-- --calls 1,10 --seconds 15 --quality phone,wideband]
 */
import { cpus } from 'node:os';
import { rmSync } from 'node:fs';
import { startEmulator } from '../src/emulator/index.js';
import { silentLogger } from '../src/shared/log.js';
import { encodeMulaw } from '../src/audio/mulaw.js';
import { sineWave } from '../src/audio/analysis.js';
import { serverDirs, startServerProcess } from '../test/support/server-process.js';
import { connectPhone, signIn, type PhoneClient } from '../test/support/phone-client.js';
import { cpuTicks } from './load/proc-stats.js';
// @ts-expect-error -- the page's module has no type declarations
import * as dsp from '../src/web/ui/static/phone-dsp.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const CALLS = arg('calls', '1,10').split(',').map(Number).filter((n) => n > 0);
const SECONDS = Number(arg('seconds', '15'));
const QUALITIES = arg('quality', 'phone,wideband').split(',') as Array<'phone' | 'wideband'>;
const WARMUP_MS = 2000;
const TOKEN = 'browser-bench-admin-token-0123';
const RENDER_RATE = 48000;
const QUANTUM = 128;
const JITTER_TARGET_MS = 40;
const ECHO_FLOW = ['name: bench-echo', 'default: true', 'model: gemini-emulator-echo', 'persona: You echo.', 'greeting: Hello.', 'stages:', '  - name: main', '    instructions: Echo.'].join('\n');

interface Resampler { maxOutput(n: number): number; process(input: Float32Array, out: Float32Array): number }
interface Jitter { pushAudio(s: Float32Array): void; pushMark(n: string): void; render(out: Float32Array): string[]; playedSamples: number }
const { Resampler, JitterBuffer, decodeLine } = dsp as {
  Resampler: new (i: number, o: number) => Resampler;
  JitterBuffer: new (target: number) => Jitter;
  decodeLine(q: string, b: Uint8Array): Float32Array;
};

/** Cumulative sample counts with the time each was reached. */
class Series {
  at: number[] = [];
  cum: number[] = [];
  total = 0;
  add(atMs: number, samples: number): void {
    this.total += samples;
    this.at.push(atMs);
    this.cum.push(this.total);
  }
  /** When the count first reached `sample` (binary search), or undefined. */
  when(sample: number): number | undefined {
    let lo = 0;
    let hi = this.cum.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cum[mid]! >= sample) hi = mid;
      else lo = mid + 1;
    }
    return lo < this.cum.length ? this.at[lo] : undefined;
  }
}

/** The page's playback, simulated on an ideal render clock: when each 48 kHz sample was rendered. */
class Playout {
  readonly #lineRate: number;
  readonly #quality: string;
  readonly #resampler: Resampler;
  readonly #jitter: Jitter;
  readonly #quantum = new Float32Array(QUANTUM);
  #renderAt: number | undefined;
  readonly played = new Series();

  constructor(quality: 'phone' | 'wideband') {
    this.#quality = quality;
    this.#lineRate = quality === 'wideband' ? 16000 : 8000;
    this.#resampler = new Resampler(this.#lineRate, RENDER_RATE);
    this.#jitter = new JitterBuffer((RENDER_RATE * JITTER_TARGET_MS) / 1000);
  }

  /** Renders every quantum due before `atMs`. */
  #renderUntil(atMs: number): void {
    const stepMs = (QUANTUM / RENDER_RATE) * 1000;
    this.#renderAt ??= atMs;
    while (this.#renderAt + stepMs <= atMs) {
      const before = this.#jitter.playedSamples;
      this.#jitter.render(this.#quantum);
      this.#renderAt += stepMs;
      if (this.#jitter.playedSamples > before) this.played.add(this.#renderAt - stepMs, this.#jitter.playedSamples - before);
    }
  }

  audio(bytes: Uint8Array, atMs: number): void {
    this.#renderUntil(atMs);
    const line = decodeLine(this.#quality, bytes);
    const out = new Float32Array(this.#resampler.maxOutput(line.length));
    this.#jitter.pushAudio(out.subarray(0, this.#resampler.process(line, out)));
  }

  finish(atMs: number): void {
    this.#renderUntil(atMs);
  }

  /** 48 kHz position of line sample `i` (the page's resampler starts with half+1 samples of history). */
  position(lineSample: number): number {
    return Math.ceil(((lineSample + 17) * RENDER_RATE) / this.#lineRate);
  }
}

interface Leg {
  phone: PhoneClient;
  session: number;
  quality: 'phone' | 'wideband';
  /** Send time of frame k (k from 0). */
  sentAt: number[];
  received: Series;
  playout: Playout;
  clears: number;
}

const taps = new Map<number, { inbound: Series; outbound: Series }>();
function tapOf(session: number) {
  let t = taps.get(session);
  if (!t) taps.set(session, (t = { inbound: new Series(), outbound: new Series() }));
  return t;
}

const emulator = await startEmulator({
  port: 0,
  host: '127.0.0.1',
  log: silentLogger(),
  recordAudioPayloads: false,
  maxRecordedPerSession: 10,
  timing: { setupLatencyMs: 20, setupLatencyJitterMs: 0 },
  echo: { talkMs: 2000, quietMs: 1000 },
  audioTap: {
    received: (s, samples) => tapOf(s).inbound.add(performance.now(), samples.length),
    sent: (s, samples) => tapOf(s).outbound.add(performance.now(), samples.length),
  },
});

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function waitFor<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function openLeg(base: string, quality: 'phone' | 'wideband'): Promise<Leg> {
  const known = new Set(emulator.sessions.map((s) => s.id));
  const up = await connectPhone(base, { cookie: await signIn(base, TOKEN), query: { quality } });
  if (!up.ok) throw new Error(`refused: ${up.status} ${up.body}`);
  const phone = up.phone;
  await phone.until(() => phone.message('ready'), 10_000, 'ready');
  const session = await waitFor(() => emulator.sessions.find((s) => !known.has(s.id) && s.state === 'active')?.id, 10_000, 'emulator session');
  const leg: Leg = { phone, session, quality, sentAt: [], received: new Series(), playout: new Playout(quality), clears: 0 };
  const bytesPerSample = quality === 'wideband' ? 2 : 1;
  phone.onAudio = (bytes, atMs) => {
    leg.received.add(atMs, bytes.length / bytesPerSample);
    leg.playout.audio(bytes, atMs);
  };
  return leg;
}

/**
 * 20 ms frames for every leg, in real time, each leg on its own schedule, spread evenly over the
 * 20 ms (independent browsers do not send in step; frames arriving together would share wake-ups
 * and understate the CPU per call).
 */
async function stream(legs: Leg[], ms: number): Promise<void> {
  const start = performance.now();
  await Promise.all(
    legs.map(async (leg, i) => {
      const rate = leg.quality === 'wideband' ? 16000 : 8000;
      const pcm = sineWave(440, rate, 20, 2000);
      const frame = leg.quality === 'wideband' ? new Uint8Array(pcm.buffer) : encodeMulaw(pcm);
      const offset = (20 * i) / legs.length;
      for (let k = 0; k < ms / 20; k++) {
        const due = start + offset + k * 20 - performance.now();
        if (due > 0) await new Promise((r) => setTimeout(r, due));
        leg.sentAt.push(performance.now());
        leg.phone.sendAudio(frame);
      }
    }),
  );
}

interface RunResult {
  quality: string;
  calls: number;
  inMs: number[];
  outNetMs: number[];
  outPlayedMs: number[];
  /** A turn's first audio: received by the page → played. */
  turnStartMs: number[];
  cpuMsPerCallS: number;
  /** CPU of the idle process (ms per second), measured before the calls. */
  idleCpuMsPerS: number;
  clears: number;
}

function analyse(legs: Leg[], fromFrame: number): Omit<RunResult, 'quality' | 'calls' | 'cpuMsPerCallS' | 'idleCpuMsPerS'> {
  const inMs: number[] = [];
  const outNetMs: number[] = [];
  const outPlayedMs: number[] = [];
  const turnStartMs: number[] = [];
  let clears = 0;
  for (const leg of legs) {
    clears += leg.phone.messages.filter((m) => m.type === 'clear').length;
    const tap = tapOf(leg.session);
    // In: frame k's last 16 kHz sample is number 320·(k+1).
    for (let k = fromFrame; k < leg.sentAt.length; k++) {
      const at = tap.inbound.when(320 * (k + 1));
      if (at !== undefined) inMs.push(at - leg.sentAt[k]!);
    }
    // Out: each chunk the emulator sent, from its last 24 kHz sample.
    const lineRate = leg.quality === 'wideband' ? 16000 : 8000;
    const t0 = leg.sentAt[fromFrame]!;
    leg.playout.finish(performance.now());
    for (let i = 0; i < tap.outbound.at.length; i++) {
      const sentAt = tap.outbound.at[i]!;
      if (sentAt < t0) continue;
      const lineSample = Math.floor((tap.outbound.cum[i]! * lineRate) / 24000) - 1;
      const got = leg.received.when(lineSample);
      if (got !== undefined) outNetMs.push(got - sentAt);
      const played = leg.playout.played.when(leg.playout.position(lineSample));
      if (played !== undefined) outPlayedMs.push(played - sentAt);
      // A turn's first chunk: the emulator was quiet for over half a second before it.
      const prev = tap.outbound.at[i - 1];
      if (prev !== undefined && sentAt - prev > 500 && got !== undefined && played !== undefined) turnStartMs.push(played - got);
    }
  }
  return { inMs, outNetMs, outPlayedMs, turnStartMs, clears };
}

async function run(calls: number, quality: 'phone' | 'wideband'): Promise<RunResult> {
  const { dir, env } = serverDirs('cb-browser-bench-', { 'echo.yaml': ECHO_FLOW });
  const bridge = await startServerProcess({ ...env, GEMINI_LIVE_URL: emulator.url, ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'info' });
  try {
    const pid = bridge.child.pid!;
    await new Promise((r) => setTimeout(r, 1000));
    const idle0 = cpuTicks(pid);
    const idleT0 = performance.now();
    await new Promise((r) => setTimeout(r, 3000));
    const idleCpuMsPerS = ((cpuTicks(pid) - idle0) * 10) / ((performance.now() - idleT0) / 1000);
    const legs: Leg[] = [];
    for (let i = 0; i < calls; i++) legs.push(await openLeg(bridge.url, quality));
    let ticks0 = 0;
    let t0 = 0;
    const warm = setTimeout(() => {
      ticks0 = cpuTicks(pid);
      t0 = performance.now();
    }, WARMUP_MS);
    await stream(legs, WARMUP_MS + SECONDS * 1000);
    clearTimeout(warm);
    const cpuS = (cpuTicks(pid) - ticks0) / 100;
    const wallS = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 300)); // the last frames arrive
    const result = analyse(legs, WARMUP_MS / 20);
    for (const leg of legs) leg.phone.send({ type: 'hangup' });
    await Promise.all(legs.map((l) => l.phone.closed));
    return { quality, calls, ...result, cpuMsPerCallS: (cpuS * 1000) / wallS / calls, idleCpuMsPerS };
  } finally {
    bridge.child.kill('SIGTERM');
    await bridge.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
console.log(`# browser test phone: ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}; ${SECONDS} s per run after ${WARMUP_MS / 1000} s warm-up`);
console.log('| line | calls | in p50 / p99 ms | out, received p50 / p99 ms | out, played p50 / p99 ms | turn start: received → played p50 / p99 ms | callbridge CPU per call (idle process subtracted) |');
console.log('|---|---:|---|---|---|---|---:|');
for (const quality of QUALITIES) {
  for (const calls of CALLS) {
    const r = await run(calls, quality);
    const perCall = r.cpuMsPerCallS - r.idleCpuMsPerS / calls;
    console.log(
      `| ${quality === 'wideband' ? 'Wideband (16 kHz)' : 'Phone line (8 kHz μ-law)'} | ${calls} | ${f(pct(r.inMs, 50))} / ${f(pct(r.inMs, 99))} | ${f(pct(r.outNetMs, 50))} / ${f(pct(r.outNetMs, 99))} | ${f(pct(r.outPlayedMs, 50))} / ${f(pct(r.outPlayedMs, 99))} | ${f(pct(r.turnStartMs, 50))} / ${f(pct(r.turnStartMs, 99))} | ${r.cpuMsPerCallS.toFixed(1)} ms/s (${perCall.toFixed(1)} ms/s: ${(perCall / 10).toFixed(2)} % of a core) |`,
    );
    console.log(`#   samples: in ${r.inMs.length}, out ${r.outNetMs.length} received / ${r.outPlayedMs.length} played, ${r.turnStartMs.length} turn starts; clears sent to the page: ${r.clears}; idle process ${r.idleCpuMsPerS.toFixed(1)} ms/s`);
  }
}
await emulator.close();
