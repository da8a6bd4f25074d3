/**
 * Load benchmark: N concurrent calls through one callbridge process, per-frame latency added by
 * callbridge in each direction, frames lost or late, callbridge CPU and memory, each CPU's busy
 * and stolen time; a sweep over N; and the bridge's share of a chirp's round trip at 10 calls.
 * Method: bench/README.md.
 *
 * Three kinds of process on 127.0.0.1: callbridge (`node --import tsx src/main.ts`, as `npm
 * start`, pinned to CPU 0 when taskset exists), the emulator serving the echo model
 * (load/emulator-proc.ts) and the Twilio-side driver (load/driver.ts), both pinned to CPU 1.
 *
 * Run: npm run bench:load [-- --calls 10,50,100,200,400 --seconds 20 --ramp 10 --talk-ms 3000
 *      --quiet-ms 2000 --barge-in-every 3 --warmup 5 --no-rtt --no-pin --profile --diagnose
 *      --floor --compare-floor --workers 2 --heap-sample]
 * --floor puts bench/load/relay.ts (a bare relay) where callbridge runs: the apparatus's own row.
 * --compare-floor runs callbridge and then the relay at each N, both with --trace-gc-nvp, and prints
 * per N both rows, the ratios, GC pauses, and one summary line (load/compare.ts).
 * Prints a table; writes JSON to bench/results/load-<time>.json (not in git; created if missing).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { groupDelayMs } from '../src/audio/resampler.js';
import { serverDirs, startServerProcess, type ServerProcess } from '../test/support/server-process.js';
import type { CallTimes, RunRequest, RunResult } from './load/driver.js';
import type { EmulatorReply, SessionStamps } from './load/emulator-proc.js';
import { analyse, firstAtLeast, pct, sessionsByCall, LATE_MS, type LoadAnalysis } from './load/analyse.js';
import { MachineStats, ProcStats, rssMb, type CpuShare } from './load/proc-stats.js';
import { compare, comparisonTable, parseGcPauses, summariseGc, summaryLine, targetsLine, type Comparison, type GcSummary } from './load/compare.js';
import { diagnose } from './load/diagnose.js';
import { TreeStats, treeRssMb } from './load/workers.js';
import { resultsDir } from './results-dir.js';

const ROOT = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const SWEEP = arg('calls', '10,50,100,200,400').split(',').map(Number).filter((n) => n > 0);
/** Seconds with every call up (each call talks for the ramp plus this). */
const STEADY_S = Number(arg('seconds', '20'));
const RAMP_PER_S = Number(arg('ramp', '10'));
const ECHO_TALK_MS = Number(arg('talk-ms', '3000'));
const ECHO_QUIET_MS = Number(arg('quiet-ms', '2000'));
const BARGE_IN_EVERY = Number(arg('barge-in-every', '3'));
const RTT = !args.includes('--no-rtt');
/** --profile: callbridge runs with --cpu-prof; the profiles land in bench/results/profiles. */
const PROFILE = args.includes('--profile');
/** --diagnose: callbridge runs with --trace-gc and the event-loop stall monitor; a summary per run. */
const DIAGNOSE = args.includes('--diagnose');
/** --floor: bench/load/relay.ts (a bare relay: what the machine and the measuring programs add) instead of callbridge. */
const FLOOR = args.includes('--floor');
/** --compare-floor: at each N, callbridge then the bare relay, both GC-traced; ratios and a summary line per N. */
const COMPARE = args.includes('--compare-floor');
/** --heap-sample: callbridge samples what outlives the scavenges (load/heap-sampler.mjs); files in bench/results/heap/. */
const HEAP_SAMPLE = args.includes('--heap-sample');
/** Warm-up calls (3 s each) on every fresh process before it is measured. */
const WARMUP_CALLS = Number(arg('warmup', '5'));
const BRIDGE_ENTRY = 'src/main.ts';
const RELAY_ENTRY = 'bench/load/relay.ts';
/** --bridge-node-args "<options>": extra node options for callbridge (e.g. GC settings to compare). */
const BRIDGE_NODE_ARGS = arg('bridge-node-args', '').split(' ').filter(Boolean);
/** --workers N: callbridge as a WORKERS=N cluster pinned to CPUs 0..N-1; CPU and RSS of its primary and workers (load/workers.ts). */
const WORKERS = Number(arg('workers', '1'));
const PIN = !args.includes('--no-pin') && spawnSync('taskset', ['-V']).status === 0 && cpus().length >= 2;
const AUTH_TOKEN = 'load-bench-auth-token-0123456789abcdef';
/** How long a load generator may take to start (node, tsx, its modules): generous, for a busy machine. */
const START_TIMEOUT_MS = 90_000;
const ACCOUNT_SID = `AC${'1'.repeat(32)}`;

if (PIN) spawnSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
const pinned = (cpu: number, cmd: string[]) => (PIN ? ['taskset', ['-c', String(cpu), ...cmd]] as const : [cmd[0]!, cmd.slice(1)] as const);

/**
 * Node options for --profile (profiles in bench/results/profiles/<subdir>) and --diagnose
 * (GC tracing, why full GCs start, and the event-loop stall monitor), for any of the processes.
 */
function traceArgs(profileSubdir: string): string[] {
  return [
    ...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${resultsDir('profiles', profileSubdir)}`] : []),
    ...(DIAGNOSE ? ['--trace-gc', '--trace-incremental-marking', '--import', join(ROOT, 'test', 'support', 'loop-monitor.mjs')] : []),
  ];
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
/** A child node process with an IPC channel (killed when this process exits, however it exits). */
function child(script: string, env: Record<string, string>): ChildProcess {
  // A larger young generation: the generators' per-message garbage dies young instead of being
  // promoted and collected by full GCs, whose pauses would count as callbridge's latency.
  // With --diagnose / --profile the load generators are traced and profiled too (output to bench/results/).
  const [cmd, argv] = pinned(1, [process.execPath, '--min-semi-space-size=64', '--max-semi-space-size=64', ...traceArgs(script.split('/').pop()!.replace(/\.ts$/, '')), '--import', 'tsx', script]);
  const out = DIAGNOSE ? openSync(join(resultsDir(), `${script.split('/').pop()}.log`), 'a') : 'inherit';
  const proc = spawn(cmd, [...argv], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', out, out, 'ipc'] });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}
function nextMessage<T>(proc: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} from ${proc.spawnargs.join(' ')} in ${timeoutMs} ms`)), timeoutMs);
    const on = (m: { type: string; message?: string }) => {
      if (m.type === 'error') {
        clearTimeout(timer);
        proc.off('message', on);
        reject(new Error(m.message));
      } else if (m.type === type) {
        clearTimeout(timer);
        proc.off('message', on);
        resolve(m as T);
      }
    };
    proc.on('message', on);
  });
}

async function startEmulatorProc(windows: boolean): Promise<{ proc: ChildProcess; url: string }> {
  const proc = child('bench/load/emulator-proc.ts', windows ? { ECHO_TALK_MS: String(ECHO_TALK_MS), ECHO_QUIET_MS: String(ECHO_QUIET_MS), ECHO_BARGE_IN_EVERY: String(BARGE_IN_EVERY) } : {});
  const ready = await nextMessage<{ url: string }>(proc, 'ready', START_TIMEOUT_MS);
  return { proc, url: ready.url };
}

const ECHO_FLOW = ['name: load-echo', 'default: true', 'model: gemini-emulator-echo', 'persona: You echo.', 'greeting: Hello.', 'stages:', '  - name: main', '    instructions: Echo.'].join('\n');

/**
 * A fresh emulator process (echo windows on or off) and a fresh callbridge pinned to CPU 0 that
 * uses it, both warmed up by 5 short calls (module loading, JIT, WASM compile: not what is
 * measured); stopped and cleaned up after `fn`, however it ends.
 */
async function withBridge<T>(echoWindows: boolean, entry: string, fn: (bridge: ServerProcess, emu: ChildProcess) => Promise<T>): Promise<T> {
  const { dir, env } = serverDirs('cb-load-', { 'echo.yaml': ECHO_FLOW });
  const emu = await startEmulatorProc(echoWindows);
  const nodeArgs = [
    ...BRIDGE_NODE_ARGS,
    ...traceArgs(''),
    // --compare-floor reads GC pauses, and heap bytes allocated and promoted, from --trace-gc-nvp lines.
    ...(COMPARE ? ['--trace-gc-nvp'] : []),
    ...(HEAP_SAMPLE && entry !== RELAY_ENTRY ? ['--import', join(ROOT, 'bench', 'load', 'heap-sampler.mjs')] : []),
  ];
  const heapOut: Record<string, string> = HEAP_SAMPLE && entry !== RELAY_ENTRY ? { HEAP_SAMPLE_OUT: join(resultsDir('heap'), `bridge-${Date.now()}`) } : {};
  // The sweep goes past the default MAX_CALLS (100) on purpose: lift the caps to measure.
  const bridge = await startServerProcess({ ...env, GEMINI_LIVE_URL: emu.url, TWILIO_AUTH_TOKEN: AUTH_TOKEN, LOG_LEVEL: 'info', MAX_CALLS: '10000', MAX_PENDING_CALLS: '10000', ...heapOut, ...(WORKERS > 1 ? { WORKERS: String(WORKERS) } : {}) }, PIN ? ['taskset', '-c', WORKERS > 1 ? `0-${WORKERS - 1}` : '0'] : [], nodeArgs, entry);
  children.add(bridge.child);
  try {
    if (WARMUP_CALLS > 0) await drive(bridge.url, WARMUP_CALLS, 3000);
    return await fn(bridge, emu.proc);
  } finally {
    bridge.child.kill('SIGTERM');
    await Promise.race([bridge.exited, new Promise((r) => setTimeout(r, 10_000))]);
    emu.proc.send({ type: 'exit' });
    rmSync(dir, { recursive: true, force: true });
  }
}

interface RunFigures {
  calls: number;
  analysis: LoadAnalysis;
  bridge: { cpuPct: number; rssIdleMb: number; rssMb: number; rssPerCallMb: number };
  /** GC pauses of the process under test (with --compare-floor or --diagnose; else none seen). */
  gc: GcSummary;
  driver: { cpuPct: number; lagP99Ms: number; lateSends: number };
  emulator: { cpuPct: number; lagP99Ms: number };
  /** Each CPU over the same window as the bridge's CPU: busy and stolen by the hypervisor. */
  cpus: CpuShare[];
}

let nextCall = 1;
const driver = child('bench/load/driver.ts', {});
await nextMessage(driver, 'ready', START_TIMEOUT_MS);

async function drive(url: string, calls: number, talkMs: number, extra: Partial<RunRequest> = {}): Promise<RunResult> {
  const req: RunRequest = { type: 'run', url, authToken: AUTH_TOKEN, accountSid: ACCOUNT_SID, calls, firstCall: nextCall, rampPerSec: RAMP_PER_S, talkMs, ...extra };
  nextCall += calls;
  driver.send(req);
  return nextMessage<RunResult>(driver, 'result', talkMs + calls * (1000 / RAMP_PER_S) + 60_000);
}
async function emulatorReport(proc: ChildProcess) {
  proc.send({ type: 'report' });
  return nextMessage<Extract<EmulatorReply, { type: 'report' }>>(proc, 'report', 30_000);
}

/** One load run on a fresh callbridge: warm-up, then N calls; CPU and RSS over the steady part. */
async function loadRun(n: number, entry: string): Promise<RunFigures> {
  return withBridge(true, entry, async (bridge, emu) => {
    await new Promise((r) => setTimeout(r, 1500));
    const pid = bridge.child.pid!;
    const rssOf = WORKERS > 1 ? treeRssMb : rssMb;
    const rssIdleMb = rssOf(pid);
    const gcFrom = bridge.output().length; // GC pauses of the measured calls only, not the warm-up
    emu.send({ type: 'reset' });
    const rampMs = (n / RAMP_PER_S) * 1000;
    const running = drive(bridge.url, n, rampMs + STEADY_S * 1000);
    const steadyMs = STEADY_S * 1000 - 3000;
    await new Promise((r) => setTimeout(r, rampMs + 1000));
    const cpu = WORKERS > 1 ? new TreeStats(pid) : new ProcStats(pid);
    const machineStats = new MachineStats();
    let rssPeak = rssOf(pid);
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf(pid))), 500);
    await new Promise((r) => setTimeout(r, Math.max(2000, steadyMs)));
    const bridgeCpu = cpu.read().cpuPct;
    const cpuShares = machineStats.shares();
    clearInterval(sampler);
    const result = await running;
    const emuReport = await emulatorReport(emu);
    const name = entry === RELAY_ENTRY ? 'relay' : 'bridge';
    if (DIAGNOSE) {
      diagnose(bridge.output(), name === 'relay' ? 'bare relay' : 'callbridge');
      writeFileSync(join(resultsDir(), `${name}-${n}.log`), bridge.output());
      writeFileSync(join(resultsDir(), `raw-${name === 'relay' ? 'relay-' : ''}${n}.json`), JSON.stringify({ calls: result.calls, sessions: emuReport.sessions }));
    }
    return {
      calls: n,
      analysis: analyse(result.calls, emuReport.sessions),
      bridge: { cpuPct: bridgeCpu, rssIdleMb, rssMb: rssPeak, rssPerCallMb: (rssPeak - rssIdleMb) / n },
      gc: summariseGc(parseGcPauses(bridge.output().slice(gcFrom))),
      driver: { cpuPct: result.cpuPct, lagP99Ms: result.lagP99Ms, lateSends: result.lateSends },
      emulator: { cpuPct: emuReport.cpuPct, lagP99Ms: emuReport.lagP99Ms },
      cpus: cpuShares,
    };
  });
}

interface RoundTrip {
  chirps: number;
  found: number;
  roundTripMs: { p50: number; p99: number; max: number };
  emulatorMs: { p50: number; p99: number };
  bridgeMs: { p50: number; p99: number; max: number };
  filterDelayMs: { bridge: number; emulator: number };
}

/**
 * The chirp round trip at 10 calls (the echo always on): from the chirp's first sample leaving
 * the driver to it arriving back. The emulator's share is its own hold (echo sent − chunk
 * received) plus its 16 → 24 kHz filter's delay; the rest is callbridge's (both filters,
 * JSON/base64, sockets, its event loop).
 */
async function roundTrip(calls: number): Promise<RoundTrip> {
  return withBridge(false, FLOOR ? RELAY_ENTRY : BRIDGE_ENTRY, async (bridge, emu) => {
    emu.send({ type: 'reset' });
    const result = await drive(bridge.url, calls, 20_000, { chirpEveryMs: 500 });
    const report = await emulatorReport(emu);
    const byCall = sessionsByCall(report.sessions);
    const emuFilterMs = groupDelayMs(16000, 24000);
    const rtts: number[] = [];
    const emuShares: number[] = [];
    const bridgeShares: number[] = [];
    let chirps = 0;
    for (const call of result.calls) {
      const s = byCall.get(call.n);
      chirps += call.chirps.length;
      if (!s) continue;
      for (const c of call.chirps) {
        if (c.heardAt === undefined) continue;
        const rtt = chirpRoundTrip(call, c.sentAt, c.heardAt);
        const hold = emulatorHold(s, c.sentAt);
        if (rtt === undefined || hold === undefined) continue;
        rtts.push(rtt);
        emuShares.push(hold + emuFilterMs);
        bridgeShares.push(rtt - hold - emuFilterMs);
      }
    }
    const sorted = (a: number[]) => Float64Array.from(a).sort();
    const r = sorted(rtts);
    const e = sorted(emuShares);
    const b = sorted(bridgeShares);
    return {
      chirps,
      found: rtts.length,
      roundTripMs: { p50: pct(r, 50), p99: pct(r, 99), max: r.at(-1) ?? NaN },
      emulatorMs: { p50: pct(e, 50), p99: pct(e, 99) },
      bridgeMs: { p50: pct(b, 50), p99: pct(b, 99), max: b.at(-1) ?? NaN },
      filterDelayMs: { bridge: groupDelayMs(8000, 16000) + groupDelayMs(24000, 8000), emulator: emuFilterMs },
    };
  });
}

/**
 * A sample's time on each side: a frame's send (or arrival) time plus the sample's position in it
 * at 8 kHz. The round trip is the chirp's first sample heard minus the same sample sent.
 */
function chirpRoundTrip(call: CallTimes, sentAt: number, heardAt: number): number | undefined {
  const k = Math.floor(sentAt / 160);
  const sent = call.sentMs[k];
  const m = firstAtLeast(call.recvEndSample, heardAt + 1); // the message holding sample heardAt
  const arrived = call.recvEndMs[m];
  if (sent === undefined || arrived === undefined) return undefined;
  const msgStart = m > 0 ? call.recvEndSample[m - 1]! : 0;
  return arrived + (heardAt - msgStart) / 8 - (sent + (sentAt - k * 160) / 8);
}

/** The emulator's hold of the chunk carrying 8 kHz sample `sentAt`: echo sent − chunk received. */
function emulatorHold(s: SessionStamps, sentAt: number): number | undefined {
  const at16k = 2 * sentAt + 1;
  const i = firstAtLeast(s.inEndSample, at16k);
  const received = s.inEndMs[i];
  if (received === undefined) return undefined;
  const sent = s.outEndMs[firstAtLeast(s.outEndSample, 1.5 * s.inEndSample[i]!)];
  return sent === undefined ? undefined : sent - received;
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}${WORKERS > 1 ? `, callbridge as ${WORKERS} workers (WORKERS=${WORKERS})` : ''}${PIN ? `, callbridge pinned to CPU ${WORKERS > 1 ? `0-${WORKERS - 1}` : '0'}, driver and emulator to CPU 1` : `, not pinned (every process may run on ${availableParallelism()} of them)`}`;
console.log(`# callbridge load benchmark — ${machine}`);
if (FLOOR) console.log('# FLOOR: bench/load/relay.ts (a bare relay, not callbridge) in callbridge\'s place: what the apparatus and the machine add');
console.log(`# each call: continuous caller audio for the ramp plus ${STEADY_S} s; echo model talks ${ECHO_TALK_MS} ms then is quiet ${ECHO_QUIET_MS} ms (bot speech ${Math.round((100 * ECHO_TALK_MS) / (ECHO_TALK_MS + ECHO_QUIET_MS))} % of the time), every ${BARGE_IN_EVERY}rd turn ends in a barge-in; ramp ${RAMP_PER_S} calls/s; late = over ${LATE_MS} ms`);

/** A side of --compare-floor from a run's figures. */
const side = (r: RunFigures) => ({ inbound: r.analysis.inbound, outbound: r.analysis.outbound, cpuPct: r.bridge.cpuPct, rssPerCallMb: r.bridge.rssPerCallMb, gc: r.gc });

function printRow(n: number, run: RunFigures): void {
  const a = run.analysis;
  console.log(
    `| ${n} | ${f2(a.inbound.p50Ms)} / ${f2(a.inbound.p99Ms)} / ${f1(a.inbound.maxMs)} | ${f2(a.outbound.p50Ms)} / ${f2(a.outbound.p99Ms)} / ${f1(a.outbound.maxMs)} | ` +
      `${a.inbound.lost}/${a.outbound.lost} of ${a.inbound.frames}/${a.outbound.frames} | ${a.inbound.late}/${a.outbound.late} | ${f1(run.bridge.cpuPct)} | ${f1(run.bridge.rssMb)} (${f2(run.bridge.rssPerCallMb)}) | ` +
      `${f1(run.driver.cpuPct)}, ${f1(run.driver.lagP99Ms)}, ${run.driver.lateSends} | ${f1(run.emulator.cpuPct)}, ${f1(run.emulator.lagP99Ms)} | ` +
      `${cpuLine(run)} |`,
  );
  if (a.callsWithErrors.length > 0) console.log(`#   ${n} calls: ${a.callsWithErrors.length} with errors, e.g. ${a.callsWithErrors.slice(0, 3).join('; ')}`);
}
const cpuLine = (run: RunFigures) => run.cpus.map((c) => `${c.cpu}: ${Math.round(c.busyPct)} / ${Math.round(c.stealPct)}`).join(', ');

/** --compare-floor at one N: callbridge, then the relay, on fresh processes; both rows, the ratios, the targets, the summary line. */
async function compareRun(n: number): Promise<{ bridge: RunFigures; relay: RunFigures; comparison: Comparison }> {
  const bridge = await loadRun(n, BRIDGE_ENTRY);
  const relay = await loadRun(n, RELAY_ENTRY);
  const comparison = compare(n, side(bridge), side(relay));
  console.log('');
  for (const line of comparisonTable(comparison)) console.log(line);
  for (const [name, r] of [['callbridge', bridge], ['bare relay', relay]] as const) {
    console.log(`#   ${name}: late in/out ${r.analysis.inbound.late}/${r.analysis.outbound.late}, RSS ${f1(r.bridge.rssIdleMb)} → ${f1(r.bridge.rssMb)} MB; driver CPU ${f1(r.driver.cpuPct)} %, loop lag p99 ${f1(r.driver.lagP99Ms)} ms, late sends ${r.driver.lateSends}; emulator CPU ${f1(r.emulator.cpuPct)} %, loop lag p99 ${f1(r.emulator.lagP99Ms)} ms; CPUs busy / stolen % ${cpuLine(r)}; GC of other threads (not the event loop) ${r.gc.otherThreads.count}, max ${f1(r.gc.otherThreads.maxMs)} ms`);
    if (r.analysis.callsWithErrors.length > 0) console.log(`#   ${name}: ${r.analysis.callsWithErrors.length} calls with errors, e.g. ${r.analysis.callsWithErrors.slice(0, 3).join('; ')}`);
  }
  console.log(targetsLine(comparison));
  for (const [name, r] of [['callbridge', bridge], ['bare relay', relay]] as const) {
    const frames = r.analysis.inbound.frames;
    // The driver sends late when its core is taken; calls lose their tag when sessions start over 2 s late.
    if (r.driver.lateSends > 0.01 * frames || r.analysis.callsWithErrors.length > 0) {
      console.log(`#   WARNING: during the ${name} run the apparatus did not keep up (driver late sends ${r.driver.lateSends} of ${frames} frames, ${r.analysis.callsWithErrors.length} calls unmatched): this N measures the machine, not the bridge; run it again on a quiet machine`);
    }
  }
  console.log('');
  console.log(summaryLine(comparison));
  return { bridge, relay, comparison };
}

const results: { runs: RunFigures[]; relayRuns?: RunFigures[]; comparisons?: Comparison[]; roundTrip?: RoundTrip; machine: string; options: Record<string, unknown> } = {
  runs: [],
  machine,
  options: { floor: FLOOR, compareFloor: COMPARE, sweep: SWEEP, steadyS: STEADY_S, rampPerS: RAMP_PER_S, echoTalkMs: ECHO_TALK_MS, echoQuietMs: ECHO_QUIET_MS, bargeInEvery: BARGE_IN_EVERY, warmupCalls: WARMUP_CALLS },
};
try {
  if (RTT) {
    const r = await roundTrip(10);
    results.roundTrip = r;
    console.log(
      `round trip of a chirp at 10 calls (${r.found}/${r.chirps} found): ${f1(r.roundTripMs.p50)} ms p50, ${f1(r.roundTripMs.p99)} p99, ${f1(r.roundTripMs.max)} max; ` +
        `emulator ${f1(r.emulatorMs.p50)} p50 (its filter ${f2(r.filterDelayMs.emulator)}); callbridge's share ${f1(r.bridgeMs.p50)} ms p50, ${f1(r.bridgeMs.p99)} p99, ${f1(r.bridgeMs.max)} max (of which filters ${f2(r.filterDelayMs.bridge)})`,
    );
  }
  if (COMPARE) {
    console.log('# COMPARE: at each N, callbridge and then the bare relay (bench/load/relay.ts), each a fresh process with --trace-gc-nvp; ratio = callbridge ÷ relay');
    results.relayRuns = [];
    results.comparisons = [];
    for (const n of SWEEP) {
      const r = await compareRun(n);
      results.runs.push(r.bridge);
      results.relayRuns.push(r.relay);
      results.comparisons.push(r.comparison);
    }
  } else {
    console.log('');
    console.log('| calls | in p50/p99/max ms | out p50/p99/max ms | lost in/out | late in/out | bridge CPU % | RSS MB (per call) | driver CPU %, loop lag p99 ms, late sends | emulator CPU %, loop lag p99 ms | CPUs busy / stolen % |');
    console.log('|---:|---|---|---|---|---:|---|---|---|---|');
    for (const n of SWEEP) {
      const run = await loadRun(n, FLOOR ? RELAY_ENTRY : BRIDGE_ENTRY);
      results.runs.push(run);
      printRow(n, run);
    }
  }
  const holding = results.runs.filter((r) => r.analysis.inbound.lost === 0 && r.analysis.outbound.lost === 0 && r.analysis.inbound.p99Ms <= 20 && r.analysis.outbound.p99Ms <= 20 && r.analysis.callsWithErrors.length === 0);
  const largest = holding.reduce((m, r) => Math.max(m, r.calls), 0);
  console.log('');
  console.log(`largest N with p99 <= 20 ms per direction and no frame lost${COMPARE ? ' (callbridge)' : ''}: ${largest || 'none'}${largest === Math.max(...SWEEP) ? ' (the largest tried)' : ''}`);
  const file = join(resultsDir(), `load-${COMPARE ? 'compare-' : FLOOR ? 'floor-' : ''}${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  console.log(`# JSON: ${file}`);
} finally {
  driver.send({ type: 'exit' });
}
