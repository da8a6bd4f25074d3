/**
 * `npm run probe` against the built-in emulator on 127.0.0.1 (never the real service):
 *  - with the seed-002 fault profile it reproduces the field report's table: the faulty model's
 *    share of turns closed 1011 "Internal error encountered." before any content is near the
 *    profile's rate, the other model is clean, and the exit code is 1 with --max-failure 5;
 *  - a clean run exits 0, the function turn's lookup is answered and measured;
 *  - a model the endpoint refuses fails every turn with its 1008 and the real process exits 1;
 *  - the breakers' background probe is the probe's one-turn check, and /readyz shows its last
 *    outcome per model.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProbeCli } from '../../src/health/probe-cli.js';
import { formatTable, type ProbeReport } from '../../src/health/probe-report.js';
import { FAULT_PROFILES } from '../../src/emulator/faults.js';
import { startRig, testFlow, type Rig } from '../support/e2e.js';

const run = promisify(execFile);
const CLEAN = 'gemini-3.8-live';
const FAULTY = 'gemini-2.5-flash-native-audio-preview-12-2025';
const PROFILE_RATE = 0.85;
/** Fast emulator: no setup or reply delay, speech at full speed, the 1011 within 20 ms. */
const FAST = {
  ttsCacheDir: join(tmpdir(), 'callbridge-test-tts'),
  timing: { setupLatencyMs: 0, setupLatencyJitterMs: 0, firstAudioDelayMs: 0, firstAudioDelayJitterMs: 0, speechPace: 50 },
};

async function probe(argv: string[], emulator: Record<string, unknown> = FAST): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runProbeCli(argv, { env: {}, out: (t) => out.push(t), err: (t) => err.push(t), emulator });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('npm run probe against the emulator', () => {
  it('reproduces the 1011 field report with the seed-002 profile', async () => {
    const profile = FAULT_PROFILES['seed-002']!.internalErrorBeforeContent!;
    assert.equal((profile.rate as Record<string, number>)[FAULTY], PROFILE_RATE, 'the profile this test reads');
    const fastFaults = { faults: { internalErrorBeforeContent: { ...profile, delayMs: [0, 20] as const } } };
    const r = await probe(['--emulator', '--fault-profile', 'seed-002', '--models', `${CLEAN},${FAULTY}`, '--turns', '20', '--json', '--max-failure', '5'], { ...FAST, ...fastFaults });
    assert.equal(r.code, 1, 'a model over --max-failure exits 1');
    const report = JSON.parse(r.out) as ProbeReport;
    assert.equal(report.pass, false);
    const [clean, faulty] = report.models;
    assert.equal(clean!.model, CLEAN);
    assert.deepEqual([clean!.turnsOk, clean!.turns, clean!.sessions, clean!.closes.length, clean!.pass], [20, 20, 1, 0, true], 'the clean model: every turn on one session');
    assert.equal(faulty!.model, FAULTY);
    assert.equal(faulty!.turns, 20);
    const internal = faulty!.closes.filter((c) => c.code === 1011 && c.reason === 'Internal error encountered.');
    assert.equal(internal.length, 1, 'one close kind');
    const share = internal[0]!.beforeContent / faulty!.turns;
    assert.ok(Math.abs(share - PROFILE_RATE) <= 0.2, `1011-before-content share ${share} near ${PROFILE_RATE}`);
    assert.equal(internal[0]!.beforeContent, internal[0]!.count, 'every 1011 came before any content');
    assert.equal(faulty!.closesByCode['1011'], faulty!.turns - faulty!.turnsOk, 'every failed turn is a 1011');
    assert.ok(faulty!.sessions >= internal[0]!.count, 'a new session after every 1011');
    assert.equal(faulty!.pass, false);
    // The same report as the table the README shows.
    const table = formatTable(report);
    assert.match(table, new RegExp(`${FAULTY.replaceAll('.', '\\.')}: 1011 "Internal error encountered\\." ×\\d+, all before any content`));
    assert.match(table, new RegExp(`^${CLEAN.replaceAll('.', '\\.')}\\s+1\\s+20/20\\s+0\\s+0\\s+0\\s+0\\s`, 'm'));
  });

  it('exits 0 on a clean run and measures the function round trip', async () => {
    const r = await probe(['--emulator', '--models', CLEAN, '--turns', '4', '--json']);
    assert.equal(r.code, 0);
    const m = (JSON.parse(r.out) as ProbeReport).models[0]!;
    assert.equal(m.turnsOk, 4);
    assert.equal(m.functionCalls, 1, 'the first turn asked for the opening hours and the model looked them up');
    assert.equal(m.functionRoundTripMs.n, 1);
    assert.equal(m.firstContentMs.n, 4);
    assert.equal(m.setupMs.n, 1);
  });

  it('reports a refused model and the process exits 1', async () => {
    const bad = 'gemini-9.9-flash-live-nonexistent';
    const { stdout, code } = await run(process.execPath, ['--import', 'tsx', 'scripts/probe.ts', '--emulator', '--models', bad, '--turns', '3'], { cwd: process.cwd() }).then(
      (r) => ({ ...r, code: 0 }),
      (e: { stdout: string; code: number }) => ({ stdout: e.stdout, code: e.code }),
    );
    assert.equal(code, 1);
    assert.match(stdout, new RegExp(`${bad.replaceAll('.', '\\.')}\\s+1\\s+0/3\\s+0\\s+3\\s+0\\s+0`), 'one session, three turns failed with 1008');
    assert.match(stdout, /1008 "models\/gemini-9\.9-flash-live-nonexistent is not found/);
  });
});

describe('the breakers’ background probe and /readyz', () => {
  let rig: Rig | undefined;
  after(async () => rig?.close());

  it('probes an open breaker with one spoken turn and shows the last outcome per model', async () => {
    let breakerNow = 0;
    rig = await startRig({
      flows: { 'test.yaml': testFlow({ model: CLEAN }) },
      emulator: { ...FAST, faults: { internalErrorBeforeContent: { rate: { [FAULTY]: 1 }, delayMs: [0, 20] } } },
      // The breakers' own clock: probes start only when the test moves it past the cool-down.
      bridge: { breakers: { minSamples: 2, failureRate: 0.5, coolDownMs: 1000, probeSuccesses: 1, now: () => breakerNow } },
    });
    const { bridge, emulator } = rig;
    const before = emulator.sessions.length;
    for (const model of [CLEAN, FAULTY]) {
      bridge.breakers.record(model, false);
      bridge.breakers.record(model, false);
    }
    assert.equal(bridge.breakers.state(FAULTY), 'open');
    // Past the cool-down, asking starts the background probes (once: the clock stays there).
    breakerNow = 1500;
    bridge.breakers.allows(CLEAN);
    bridge.breakers.allows(FAULTY);
    let body: { probes: Array<{ model: string; ok: boolean; status: string; firstContentMs?: number; close?: { code?: number; reason: string } }> } | undefined;
    for (let i = 0; i < 200; i++) {
      body = (await (await fetch(`${bridge.url}/readyz`)).json()) as typeof body;
      if (body!.probes.length === 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const byModel = new Map(body!.probes.map((p) => [p.model, p]));
    assert.equal(byModel.get(CLEAN)?.ok, true);
    assert.equal(byModel.get(CLEAN)?.status, 'ok');
    assert.equal(typeof byModel.get(CLEAN)?.firstContentMs, 'number');
    assert.equal(byModel.get(FAULTY)?.ok, false);
    assert.equal(byModel.get(FAULTY)?.status, 'closed-before-content');
    assert.deepEqual(byModel.get(FAULTY)?.close && [byModel.get(FAULTY)!.close!.code, byModel.get(FAULTY)!.close!.reason], [1011, 'Internal error encountered.']);
    // The probe spoke: each session got caller audio between activityStart and activityEnd.
    const probeSessions = emulator.sessions.slice(before);
    assert.deepEqual(probeSessions.map((s) => s.model?.replace('models/', '')).sort(), [CLEAN, FAULTY].sort());
    for (const s of probeSessions) assert.ok(s.counts.audioBytesReceived > 16000, 'a spoken turn, not a text prompt');
    // The breakers followed the probes: the clean model closed, the faulty one opened again.
    assert.equal(bridge.breakers.state(CLEAN), 'closed');
    assert.equal(bridge.breakers.state(FAULTY), 'open');
  });
});
