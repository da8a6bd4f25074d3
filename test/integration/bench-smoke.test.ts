/**
 * Every `bench:*` script of package.json, run as a user runs it (`npm run bench:… -- <smallest
 * size>`), with BENCH_RESULTS_DIR pointing at a folder that does not exist yet (as bench/results/
 * is absent on a fresh clone: issue 21, item 5). Each must exit 0, print its figures in their
 * usual shape, and write its files into that folder. Nothing here checks a figure's value: at
 * this size they mean nothing. A new bench:* script without an entry below fails the first test.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSummaryLine } from '../../bench/load/compare.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const NUM = String.raw`-?\d[\d,]*(?:\.\d+)?`;

interface Smoke {
  /** The smallest size: seconds, not minutes. */
  args: string[];
  /** Lines the output must hold (figures as numbers of any value). */
  prints: RegExp[];
  /** Files it must have written into the results folder (names, or patterns). */
  writes?: (string | RegExp)[];
  /** Further checks of the output. */
  check?: (out: string) => void;
}

const SMOKES: Record<string, Smoke> = {
  'bench:audio': {
    args: ['--frames', '200', '--json'],
    prints: [new RegExp(String.raw`^\| callbridge .*\| ${NUM} \|`, 'm'), new RegExp(String.raw`^target: .* → in (MET|MISSED) \(${NUM} µs\), out (MET|MISSED) \(${NUM} µs\)$`, 'm')],
    writes: ['audio.json'],
  },
  'bench:first-audio': {
    args: ['--calls', '1', '--json'],
    prints: [
      new RegExp(String.raw`^\| Gemini session opened at the webhook \(default\) \| 1 \| ${NUM} \| ${NUM} \| ${NUM} \| ${NUM} \|$`, 'm'),
      new RegExp(String.raw`^\| Gemini session opened at stream start \| 1 \| ${NUM} \| ${NUM} \| ${NUM} \| ${NUM} \|$`, 'm'),
    ],
    writes: ['first-audio.json'],
  },
  'bench:stage-change': {
    args: ['--runs', '1'],
    prints: [new RegExp(String.raw`^\| Gemini 3\.8 Live \(gemini-3\.8-live\) \| \w+ \| p50 ${NUM} ms, p90 ${NUM} ms \| p50 ${NUM} ms, p90 ${NUM} ms \|$`, 'm')],
  },
  'bench:reload': {
    args: ['--runs', '1', '--flows', '2'],
    prints: [
      new RegExp(String.raw`^unchanged +p50 +${NUM} ms +p99 +${NUM} ms +max +${NUM} ms +longest event-loop stall ${NUM} ms$`, 'm'),
      new RegExp(String.raw`^one edit +p50 +${NUM} ms`, 'm'),
      /^target: under 200 ms → (met|NOT met)/m,
    ],
  },
  'bench:browser': {
    args: ['--calls', '1', '--seconds', '2', '--quality', 'phone'],
    prints: [new RegExp(String.raw`^\| Phone line \(8 kHz μ-law\) \| 1 \| ${NUM} / ${NUM} \|.* \| ${NUM} ms/s \(${NUM} ms/s: ${NUM} % of a core\) \|$`, 'm'), /^# {3}samples: in \d+/m],
  },
  'bench:dashboard': {
    args: ['--calls', '1000', '--runs', '1'],
    prints: [
      /^seeded 1,000 calls/m,
      new RegExp(String.raw`^GET /api/dashboard, 5 flows, 92 days \(${NUM} calls\) +${NUM} +${NUM}$`, 'm'),
      new RegExp(String.raw`^GET /api/follow-ups, 200 of ${NUM} open +${NUM} +${NUM}$`, 'm'),
    ],
  },
  'bench:aftercall': {
    args: ['--calls', '1000', '--runs', '1'],
    prints: [
      /^seeded 1,000 calls/m,
      new RegExp(String.raw`^  followUp=true \(rules or analysis\) +${NUM} ms +\(${NUM} calls\)$`, 'm'),
      new RegExp(String.raw`^  claim \+ complete +${NUM} ms per job$`, 'm'),
      new RegExp(String.raw`^  final records \(\+ their analysis jobs\) +${NUM} ms$`, 'm'),
    ],
  },
  'bench:store': {
    args: ['--calls', '200', '--runs', '2'],
    prints: [
      /^call store, 200 calls × 24 events stored; ms p50 \/ p95 over 2 runs$/m,
      new RegExp(String.raw`^\| sqlite \| ${NUM} / ${NUM} \| ${NUM} / ${NUM} \| ${NUM} / ${NUM} \| ${NUM} / ${NUM} \|$`, 'm'),
    ],
  },
  'bench:cascade-wire': {
    args: ['--runs', '2', '--first-token', '5', '--per-token', '1', '--tts', '5'],
    prints: [
      new RegExp(String.raw`^  request → first text chunk, over the fixed delay \(ms\): +median ${NUM}  p95 ${NUM}$`, 'm'),
      new RegExp(String.raw`^  TTS request → μ-law samples, over the fixed delay \(ms\): +median ${NUM}  p95 ${NUM}$`, 'm'),
      new RegExp(String.raw`^  CPU: SSE parse \+ split of a 200-event answer \(µs\): +median ${NUM}  p95 ${NUM}$`, 'm'),
    ],
  },
  'bench:cascade': {
    args: ['--runs', '2', '--first-token', '5', '--per-token', '1', '--tts', '5', '--silence', '300'],
    prints: [
      new RegExp(String.raw`^  end of speech → first bot audio \(ms, everything\): +median +${NUM} +p95 +${NUM}$`, 'm'),
      new RegExp(String.raw`^  callbridge's share after endpointing \(ms\): +median +${NUM} +p95 +${NUM}$`, 'm'),
      new RegExp(String.raw`^  barge-in: speech → interrupted, detector \(audio ms\): +median +${NUM} +p95 +${NUM}$`, 'm'),
    ],
  },
  'bench:alloc': {
    args: ['--iterations', '200', '--runs', '3', '--warmup', '1000'],
    prints: [
      new RegExp(String.raw`^\| in \| Twilio media message: .* \| (\d+|-) \| (${NUM}|-) \|$`, 'm'),
      new RegExp(String.raw`^caller → Gemini, per caller frame: callbridge ${NUM} B, ${NUM} µs; bare relay ${NUM} B, ${NUM} µs`, 'm'),
      new RegExp(String.raw`^Gemini → caller, per bot chunk: callbridge ${NUM} B, ${NUM} µs; bare relay ${NUM} B, ${NUM} µs`, 'm'),
    ],
  },
  'bench:migrate': {
    args: ['--calls', '1', '--rounds', '1'],
    prints: [
      /^round 1\/1: 1 calls, moved and answered: 1$/m,
      new RegExp(String.raw`^media gap \(caller, call update→new stream\) p50 +${NUM} ms +p95 +${NUM} ms +\(n=1\)$`, 'm'),
      new RegExp(String.raw`^reply after the move \(resumed on B\) p50 +${NUM} ms`, 'm'),
    ],
  },
  'bench:load': {
    // The comparison with the floor and --diagnose (which used to crash on a fresh clone).
    args: ['--compare-floor', '--calls', '2', '--seconds', '3', '--no-rtt', '--warmup', '0', '--diagnose'],
    prints: [/^\| callbridge \| /m, /^\| bare relay \| /m, /^#   targets at 2 calls: /m, /^largest N with p99 <= 20 ms/m],
    writes: ['driver.ts.log', 'emulator-proc.ts.log', 'bridge-2.log', 'relay-2.log', 'raw-2.json', 'raw-relay-2.json', /^load-compare-.*\.json$/],
    check: (out) => {
      const summaries = out.split('\n').map(parseSummaryLine).filter((s) => s !== undefined);
      assert.equal(summaries.length, 1, 'one summary line for the one N');
      assert.equal(summaries[0]!.calls, 2);
      for (const k of ['p99RatioIn', 'p99RatioOut', 'cpuRatio', 'maxGcPauseMs'] as const) assert.ok(Number.isFinite(summaries[0]![k]), `${k} is a number`);
    },
  },
};

const scripts = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts).filter((s) => s.startsWith('bench:'));

function run(script: string, args: string[], resultsDir: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script, '--', ...args], {
      cwd: ROOT,
      env: { ...process.env, BENCH_RESULTS_DIR: resultsDir, npm_config_update_notifier: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('close', (code) => resolve({ code, out }));
  });
}

// Four at a time: all at once, on a loaded 2-CPU machine, a server could take over 30 s to start.
describe('every bench:* script at its smallest size', { concurrency: 4 }, () => {
  let tmp = '';
  before(() => (tmp = mkdtempSync(join(tmpdir(), 'cb-bench-smoke-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('has a smallest size here for every bench:* script of package.json', () => {
    assert.deepEqual(scripts.filter((s) => !SMOKES[s]), [], 'add these to SMOKES');
    assert.ok(scripts.includes('bench:load'));
  });

  for (const script of scripts.filter((s) => SMOKES[s])) {
    const smoke = SMOKES[script]!;
    it(`${script} ${smoke.args.join(' ')}`, { timeout: 240_000 }, async () => {
      const dir = join(tmp, script.replace(':', '-'), 'results'); // does not exist yet
      const { code, out } = await run(script, smoke.args, dir);
      assert.equal(code, 0, `exit code ${code}:\n${out.slice(-3000)}`);
      for (const re of smoke.prints) assert.match(out, re, `${script} prints ${re}:\n${out.slice(-3000)}`);
      smoke.check?.(out);
      const written = existsSync(dir) ? readdirSync(dir) : [];
      for (const want of smoke.writes ?? []) {
        assert.ok(written.some((f) => (typeof want === 'string' ? f === want : want.test(f))), `${script} wrote ${want} into the results folder (it holds: ${written.join(', ') || 'nothing'})`);
      }
    });
  }
});
