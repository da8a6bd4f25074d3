/**
 * npm run chaos — reliability figures under Gemini's failure modes, with the emulator injecting the
 * faults and the caller simulator placing real-time calls through the real server (all in this
 * process, on 127.0.0.1). Prints a table (and JSON with --json).
 *
 * Regimes (issue 7; the seeds are the field reports in docs/gemini-failure-modes.md):
 *   baseline   no faults: reply latency to compare against
 *   seed002    primary model closes 1011 "Internal error encountered." before the first content
 *              of 85% of turns (200-3000 ms after the turn), fallback healthy
 *   seed003    1008/1011 right after 30% of tool responses
 *   goaway     goAway every 20 s on 3-minute calls
 *   cut        sockets cut without a close frame on 20% of turns
 *   quota      a cap of 2 concurrent sessions, 6 concurrent calls
 *   memory     1,000 sequential short calls: process memory before and after
 *
 * Options: --only seed002,goaway  --calls N  --turns N  --concurrency N  --json
 *          --primary MODEL (default: the default model, gemini-3.8-live)  --fallback MODEL
 * Run with --expose-gc for the memory figure (npm run chaos does).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { startRig, testFlow, TOOLS_MODULE, ZOD_MODULE, type Rig, type RigOptions } from '../test/support/e2e.js';
import type { ScriptStep, CallResult } from '../src/simulator/index.js';
import type { CallRecord, StoredCallEvent } from '../src/transcripts/index.js';
import { percentile } from '../src/transcripts/format.js';
import { DEFAULT_FALLBACK_MODELS, DEFAULT_MODEL } from '../src/call/index.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
};
const ONLY = opt('only')?.split(',');
const TURNS = Number(opt('turns') ?? 4);
const CONCURRENCY = Number(opt('concurrency') ?? 8);
const PRIMARY = opt('primary') ?? DEFAULT_MODEL;
const FALLBACK = opt('fallback') ?? DEFAULT_FALLBACK_MODELS[0]!;
/** Fixed emulator timing (no jitter), so added silence is measurable: setup as Gemini's typical. */
const TIMING = { setupLatencyMs: 350, setupLatencyJitterMs: 0, firstAudioDelayMs: 400, firstAudioDelayJitterMs: 0, speechPace: 2, turnCompleteDelayMs: 40 };

interface Row {
  regime: string;
  calls: number;
  completed: string;
  faults: number;
  figures: string;
  target: string;
  met: boolean;
}
const rows: Row[] = [];
const json: Record<string, unknown> = {};

/** A conversation of `turns` questions: "Question i" → a reply (a tone, distinct per turn). */
function scenario(turns: number, withTool = false) {
  return {
    name: 'chaos',
    turns: Array.from({ length: turns }, (_, i) => ({
      heard: `Question ${i + 1}`,
      ...(withTool
        ? { say: { toneHz: 500, durationMs: 300 }, toolCalls: [{ name: 'lookup_code', args: { turn: i + 1 } }], afterTool: { say: { toneHz: 600 + 40 * i, durationMs: 800 } } }
        : { say: { toneHz: 600 + 40 * i, durationMs: 800 } }),
    })),
    endOfScenario: { mode: 'repeat' as const, say: { toneHz: 900, durationMs: 500 } },
  };
}

function callerScript(turns: number, gapMs = 600): ScriptStep[] {
  const steps: ScriptStep[] = [{ waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: gapMs, timeoutMs: 20000 } }];
  for (let i = 0; i < turns; i++) {
    steps.push({ tone: { hz: 300, durationMs: 700, amplitude: 8000 } }, { waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: gapMs, timeoutMs: 20000 } });
  }
  return steps;
}

async function runCalls(rig: Rig, count: number, script: ScriptStep[], concurrency = CONCURRENCY): Promise<CallResult[]> {
  const results: CallResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      results.push(await rig.call({ script, timeScale: 1, playback: { jitterBufferMs: 150 }, maxDurationMs: 600_000 }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

interface CallFacts {
  result: CallResult;
  record: CallRecord | undefined;
  events: StoredCallEvent[];
  completed: boolean;
}

async function facts(rig: Rig, results: CallResult[]): Promise<CallFacts[]> {
  await rig.bridge.writer.flush();
  return Promise.all(
    results.map(async (result) => ({
      result,
      record: await rig.bridge.store.getCall(result.callSid),
      events: await rig.bridge.store.getEvents(result.callSid),
      completed: result.timeouts.length === 0 && result.outcome.endedBy === 'caller',
    })),
  );
}

/**
 * Reply latency (bridge view), split into replies with and without a Gemini fault before them:
 * the greeting (stream start → first bot audio) and every turn (caller stop → first bot audio).
 */
function latencies(f: CallFacts[]): { clean: number[]; faulted: number[]; greetingClean: number[]; greetingFaulted: number[] } {
  const out = { clean: [] as number[], faulted: [] as number[], greetingClean: [] as number[], greetingFaulted: [] as number[] };
  for (const { record, events } of f) {
    const closes = events.filter((e) => e.kind === 'gemini_close').map((e) => e.atMs);
    for (const t of record?.latency.turns ?? []) {
      (closes.some((c) => c >= t.callerStopMs - 50 && c <= t.firstBotAudioMs) ? out.faulted : out.clean).push(t.latencyMs);
    }
    const first = record?.latency.firstBotAudioMs;
    if (record?.answeredAt !== undefined && first !== undefined) {
      const firstAt = record.answeredAt - record.startedAt + first;
      (closes.some((c) => c <= firstAt) ? out.greetingFaulted : out.greetingClean).push(first);
    }
  }
  return out;
}

/** Silence each fault added, against the fault-free baseline (greetings and turns). */
function addedSilence(f: CallFacts[]): number[] {
  const l = latencies(f);
  return [...l.faulted.map((x) => x - baselineP50), ...l.greetingFaulted.map((x) => x - baselineGreetingP50)];
}

/** Every caller turn and every reply made it into the transcript, in order. */
function transcriptComplete(f: CallFacts, turns: number): boolean {
  const said = f.events.filter((e) => e.kind === 'caller_utterance').map((e) => (e.kind === 'caller_utterance' ? e.text : ''));
  const expected = Array.from({ length: turns }, (_, i) => `Question ${i + 1}`);
  const replies = f.events.filter((e) => e.kind === 'bot_utterance' && e.sentMs > 0).length;
  return JSON.stringify(said) === JSON.stringify(expected) && replies >= turns + 1;
}

const share = (n: number, of: number) => `${n}/${of} (${((100 * n) / Math.max(1, of)).toFixed(1)}%)`;
const ms = (v: number | undefined) => (v === undefined ? '–' : `${Math.round(v)} ms`);

async function withRig<T>(options: RigOptions, fn: (rig: Rig) => Promise<T>): Promise<T> {
  const rig = await startRig(options);
  try {
    return await fn(rig);
  } finally {
    await rig.close();
  }
}

const flow = (extra: Parameters<typeof testFlow>[0] = {}) => ({ 'line.yaml': testFlow({ greeting: 'Hello.', model: PRIMARY, fallbackModels: [FALLBACK], ...extra }) });
let baselineP50 = 0;
let baselineGreetingP50 = 0;

const regimes: Record<string, () => Promise<void>> = {
  async baseline() {
    const calls = Number(opt('calls') ?? 16);
    await withRig({ flows: flow(), emulator: { timing: TIMING, scenario: scenario(TURNS) } }, async (rig) => {
      const f = await facts(rig, await runCalls(rig, calls, callerScript(TURNS)));
      const l = latencies(f);
      const lat = l.clean;
      baselineP50 = percentile(lat, 50) ?? 0;
      baselineGreetingP50 = percentile(l.greetingClean, 50) ?? 0;
      const done = f.filter((x) => x.completed).length;
      json['baseline'] = { calls, completed: done, replyP50Ms: baselineP50, replyP95Ms: percentile(lat, 95), greetingP50Ms: baselineGreetingP50 };
      rows.push({ regime: 'baseline (no faults)', calls, completed: share(done, calls), faults: 0, figures: `reply p50 ${ms(baselineP50)}, p95 ${ms(percentile(lat, 95))}; greeting ${ms(baselineGreetingP50)} after the stream starts`, target: '–', met: done === calls });
    });
  },

  async seed002() {
    const calls = Number(opt('calls') ?? 40);
    await withRig(
      { flows: flow(), emulator: { timing: TIMING, scenario: scenario(TURNS), faults: { internalErrorBeforeContent: { rate: { [PRIMARY]: 0.85, '*': 0 } } } } },
      async (rig) => {
        const f = await facts(rig, await runCalls(rig, calls, callerScript(TURNS)));
        const done = f.filter((x) => x.completed).length;
        const complete = f.filter((x) => transcriptComplete(x, TURNS)).length;
        const faults = rig.emulator.sessions.reduce((n, s) => n + s.faults.filter((k) => k === 'internalBeforeContent').length, 0);
        const stalls = f.reduce((n, x) => n + x.events.filter((e) => e.kind === 'gemini_close' && e.errorCode === 'CB_GEMINI_STALLED').length, 0);
        const added = addedSilence(f);
        const p95 = percentile(added, 95);
        json['seed002'] = { calls, completed: done, transcriptsComplete: complete, faults, addedSilenceMs: { p50: percentile(added, 50), p95 }, breakers: rig.bridge.breakers.status() };
        rows.push({
          regime: 'seed 002: 1011 before content on 85% of primary turns',
          calls,
          completed: share(done, calls),
          faults,
          figures: `silence added per fault p50 ${ms(percentile(added, 50))}, p95 ${ms(p95)} (${added.length} replies hit, ${stalls} cut short by the stall watch); transcripts complete ${share(complete, calls)}`,
          target: '≥ 99% completed, p95 ≤ 2 s',
          met: done / calls >= 0.99 && (p95 ?? 0) <= 2000 && complete === calls,
        });
      },
    );
  },

  async seed003() {
    const calls = Number(opt('calls') ?? 24);
    const tool = `
import { z } from '${ZOD_MODULE}';
import { defineTool } from '${TOOLS_MODULE}';
export default defineTool({
  name: 'lookup_code', description: 'Looks a code up.', schema: z.object({ turn: z.number() }),
  handler: ({ turn }) => ({ code: 'C' + turn + '-' + Math.random().toString(36).slice(2, 10) }),
});`;
    await withRig(
      {
        flows: flow({ functions: ['lookup_code'] }),
        tools: { 'lookup-code.ts': tool },
        emulator: { timing: TIMING, scenario: scenario(TURNS, true), faults: { closeAfterToolResponse: { rate: 0.3, kind: 'either' } } },
      },
      async (rig) => {
        const f = await facts(rig, await runCalls(rig, calls, callerScript(TURNS, 900)));
        const done = f.filter((x) => x.completed).length;
        // Every result a session died right after: did a later session receive it?
        const codesIn = (s: (typeof rig.emulator.sessions)[number], kind: 'toolResponse' | 'clientContent') =>
          s.received.flatMap((m) => {
            const j = m.json as Record<string, unknown>;
            return kind in j ? (JSON.stringify(j[kind]).match(/C\d+-[a-z0-9]+/g) ?? []) : [];
          });
        const atRisk = rig.emulator.sessions.filter((s) => s.faults.includes('closeAfterToolResponse')).flatMap((s) => codesIn(s, 'toolResponse').slice(-1));
        const told = new Set(rig.emulator.sessions.flatMap((s) => codesIn(s, 'clientContent')));
        const lost = atRisk.filter((c) => !told.has(c));
        json['seed003'] = { calls, completed: done, faults: atRisk.length, resultsAtRisk: atRisk.length, resultsLost: lost.length };
        rows.push({
          regime: 'seed 003: 1008/1011 after 30% of tool responses',
          calls,
          completed: share(done, calls),
          faults: atRisk.length,
          figures: `tool results a dying session had just received: ${atRisk.length}, re-sent to the next session: ${atRisk.length - lost.length}, lost: ${lost.length}`,
          target: 'calls completed, no result lost',
          met: done === calls && lost.length === 0,
        });
      },
    );
  },

  async goaway() {
    const calls = Number(opt('calls') ?? 8);
    const turns = 42; // ≈ 3 minutes of conversation (a turn takes about 4.3 s)
    await withRig(
      { flows: flow(), emulator: { timing: TIMING, scenario: scenario(turns), goAwayAfterMs: 20_000, goAwayTimeLeftMs: 5000 } },
      async (rig) => {
        const f = await facts(rig, await runCalls(rig, calls, callerScript(turns, 1500), calls));
        const done = f.filter((x) => x.completed).length;
        const handovers = f.reduce((n, x) => n + x.events.filter((e) => e.kind === 'reconnect').length, 0);
        const lat = f.flatMap((x) => (x.record?.latency.turns ?? []).map((t) => t.latencyMs));
        const worst = Math.max(...lat) - baselineP50;
        const minutes = f.map((x) => (x.record?.durationMs ?? 0) / 60000);
        json['goaway'] = { calls, completed: done, handovers, largestAddedSilenceMs: worst, callMinutes: { min: Math.min(...minutes), max: Math.max(...minutes) } };
        rows.push({
          regime: 'goAway every 20 s, 3-minute calls',
          calls,
          completed: share(done, calls),
          faults: handovers,
          figures: `${handovers} hand-overs; largest silence added ${ms(worst)} (worst reply ${ms(Math.max(...lat))} vs baseline p50 ${ms(baselineP50)}); calls ${Math.min(...minutes).toFixed(1)}-${Math.max(...minutes).toFixed(1)} min`,
          target: '100% completed, ≤ 500 ms',
          met: done === calls && worst <= 500,
        });
      },
    );
  },

  async cut() {
    const calls = Number(opt('calls') ?? 24);
    await withRig({ flows: flow(), emulator: { timing: TIMING, scenario: scenario(TURNS), faults: { cutSocketPerTurnRate: 0.2 } } }, async (rig) => {
      const f = await facts(rig, await runCalls(rig, calls, callerScript(TURNS)));
      const done = f.filter((x) => x.completed).length;
      const cuts = rig.emulator.sessions.filter((s) => s.close?.by === 'cut').length;
      const added = addedSilence(f);
      json['cut'] = { calls, completed: done, cuts, addedSilenceMs: { p50: percentile(added, 50), p95: percentile(added, 95) } };
      rows.push({
        regime: 'sockets cut without a close frame (20% of turns)',
        calls,
        completed: share(done, calls),
        faults: cuts,
        figures: `silence added per cut p50 ${ms(percentile(added, 50))}, p95 ${ms(percentile(added, 95))}`,
        target: 'calls completed',
        met: done === calls,
      });
    });
  },

  async quota() {
    const calls = 6;
    await withRig({ flows: flow(), emulator: { timing: TIMING, scenario: scenario(TURNS), faults: { maxConcurrentSessions: 2 } } }, async (rig) => {
      const f = await facts(rig, await runCalls(rig, calls, callerScript(TURNS), calls));
      const refused = f.filter((x) => x.record?.outcome === 'failed');
      const attempts = refused.map((x) => x.events.filter((e) => e.kind === 'gemini_close').length);
      const heardApology = refused.filter((x) => {
        let loud = 0;
        for (let i = 0; i + 160 <= x.result.heard.length; i += 160) {
          let peak = 0;
          for (let j = i; j < i + 160; j++) peak = Math.max(peak, Math.abs(x.result.heard[j]!));
          if (peak > 1000) loud++;
        }
        return loud * 20 > 3000;
      }).length;
      const apologyAfter = refused.map((x) => (x.events.find((e) => e.kind === 'error')?.atMs ?? 0) - (x.record?.answeredAt ? x.record.answeredAt - x.record.startedAt : 0));
      // Schedule: 1 + quotaRetries attempts per model, 2 models.
      const schedule = 2 * (1 + 2);
      json['quota'] = { calls, served: calls - refused.length, refused: refused.length, attemptsPerRefusedCall: attempts, schedule, heardApology, apologyAfterMs: apologyAfter };
      rows.push({
        regime: 'quota: 2 concurrent sessions, 6 calls',
        calls,
        completed: `${calls - refused.length} served, ${refused.length} apologised`,
        faults: attempts.reduce((a, b) => a + b, 0),
        figures: `attempts per refused call ${Math.min(...attempts)}-${Math.max(...attempts)} (schedule allows ${schedule}); apology heard ${heardApology}/${refused.length}, ${ms(Math.max(...apologyAfter))} after answer at most`,
        target: '≤ schedule, apology heard',
        met: attempts.every((a) => a <= schedule) && heardApology === refused.length,
      });
    });
  },

  async memory() {
    const calls = Number(opt('memory-calls') ?? 1000);
    const gc = (globalThis as { gc?: () => void }).gc;
    const measure = async () => {
      for (let i = 0; i < 3; i++) {
        gc?.();
        await new Promise((r) => setTimeout(r, 50));
      }
      return process.memoryUsage();
    };
    // The emulator runs in this process: it keeps no audio and only the last 20 sessions' records,
    // so what is measured is callbridge's memory (and the simulator's), not the test tool's log.
    const emulator = { timing: { ...TIMING, setupLatencyMs: 5, firstAudioDelayMs: 5 }, scenario: scenario(1), recordAudioPayloads: false, maxRecordedPerSession: 50, maxSessionRecords: 20 };
    await withRig({ flows: flow(), emulator }, async (rig) => {
      const short: ScriptStep[] = [{ waitForBotSpeech: { timeoutMs: 10000 } }, { hangup: true }];
      const one = () => rig.call({ script: short, timeScale: 0.2 });
      for (let i = 0; i < 50; i++) await one(); // warm-up
      const before = await measure();
      for (let i = 0; i < calls; i++) await one();
      await rig.bridge.writer.flush();
      const after = await measure();
      const rssChange = (after.rss - before.rss) / before.rss;
      const heapChange = (after.heapUsed - before.heapUsed) / before.heapUsed;
      json['memory'] = { calls, gc: gc !== undefined, before, after, rssChange, heapChange, activeCalls: rig.bridge.manager.status().active };
      rows.push({
        regime: `${calls} sequential short calls`,
        calls,
        completed: `${rig.bridge.manager.status().active} still active`,
        faults: 0,
        figures: `RSS ${(before.rss / 2 ** 20).toFixed(1)} → ${(after.rss / 2 ** 20).toFixed(1)} MiB (${(100 * rssChange).toFixed(1)}%), heap ${(before.heapUsed / 2 ** 20).toFixed(1)} → ${(after.heapUsed / 2 ** 20).toFixed(1)} MiB (${(100 * heapChange).toFixed(1)}%)${gc ? '' : ' (run with --expose-gc for a stable heap figure)'}`,
        target: 'within 10%',
        met: Math.abs(rssChange) <= 0.1 && rig.bridge.manager.status().active === 0,
      });
    });
  },
};

const order = ['baseline', 'seed002', 'seed003', 'goaway', 'cut', 'quota', 'memory'];
for (const name of order) {
  if (ONLY && !ONLY.includes(name) && name !== 'baseline') continue;
  const t0 = performance.now();
  process.stderr.write(`chaos: ${name}…\n`);
  await regimes[name]!();
  process.stderr.write(`chaos: ${name} done in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}

console.log(`\ncallbridge chaos figures — ${TURNS} turns per call, emulator setup 350 ms, first audio 400 ms after a turn\n`);
console.log('| regime | calls | completed | faults | figures | target | met |');
console.log('|---|---:|---|---:|---|---|---|');
for (const r of rows) console.log(`| ${r.regime} | ${r.calls} | ${r.completed} | ${r.faults} | ${r.figures} | ${r.target} | ${r.met ? 'yes' : 'NO'} |`);
if (args.includes('--json')) {
  const dir = new URL('../bench/results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('chaos.json', dir), JSON.stringify({ rows, details: json }, null, 2));
}
process.exit(0);
