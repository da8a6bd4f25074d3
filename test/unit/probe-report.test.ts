/**
 * The probe's figures and command line (src/health/probe-report.ts, probe-cli.ts), without any
 * session: percentiles, per-model counts (closes by code with reasons, before/after content,
 * failure rate against --max-failure), the table, the JSON shape, argument checks, and the refusal
 * to run without a key.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, formatTable, percentile, summarizeModel, PROBE_REPORT_VERSION } from '../../src/health/probe-report.js';
import { parseProbeArgs, runProbeCli } from '../../src/health/probe-cli.js';
import type { ModelRun, TurnResult } from '../../src/health/probe-run.js';

const ok = (index: number, session: number, extra: Partial<TurnResult> = {}): TurnResult => ({ index, kind: 'plain', session, status: 'ok', firstContentMs: 300 + index, ...extra });
const internal = { code: 1011, reason: 'Internal error encountered.', error: 'CB_GEMINI_INTERNAL' };

/** 20 turns: 3 OK, 16 closed 1011 before content, 1 closed 1008 after content. */
function faultyRun(): ModelRun {
  const turns: TurnResult[] = [ok(0, 1, { kind: 'function', setupMs: 200, functionCalled: true, functionRoundTripMs: 450 })];
  for (let i = 1; i <= 16; i++) turns.push({ index: i, kind: 'plain', session: i + 1, status: 'closed-before-content', setupMs: 180 + i, close: internal });
  turns.push({ index: 17, kind: 'plain', session: 18, status: 'closed-after-content', firstContentMs: 500, close: { code: 1008, reason: 'Requested entity was not found.', error: 'CB_GEMINI_ENTITY_NOT_FOUND' } });
  turns.push(ok(18, 19, { setupMs: 190 }), ok(19, 19));
  return { model: 'faulty-model', sessions: 19, turns };
}

describe('probe report', () => {
  it('takes nearest-rank percentiles', () => {
    assert.equal(percentile([], 50), null);
    assert.equal(percentile([5], 95), 5);
    assert.equal(percentile([4, 1, 3, 2], 50), 2);
    assert.equal(percentile(Array.from({ length: 20 }, (_, i) => i + 1), 95), 19);
    assert.equal(percentile(Array.from({ length: 20 }, (_, i) => i + 1), 100), 20);
  });

  it('counts turns, failures and closes by code with their reasons', () => {
    const m = summarizeModel(faultyRun(), 5);
    assert.equal(m.turns, 20);
    assert.equal(m.turnsOk, 3);
    assert.equal(m.failurePct, 85);
    assert.equal(m.pass, false);
    assert.equal(m.sessions, 19);
    assert.deepEqual(m.closesByCode, { '1007': 0, '1008': 1, '1011': 16, other: 0 });
    assert.deepEqual(
      m.closes.map((c) => [c.code, c.reason, c.count, c.beforeContent]),
      [
        [1011, 'Internal error encountered.', 16, 16],
        [1008, 'Requested entity was not found.', 1, 0],
      ],
    );
    assert.equal(m.failures['closed-before-content'], 16);
    assert.equal(m.failures['closed-after-content'], 1);
    assert.deepEqual(m.setupMs.n, 18);
    assert.equal(m.functionCalls, 1);
    assert.deepEqual(m.functionRoundTripMs, { n: 1, p50: 450, p95: 450 });
  });

  it('passes a model at or under --max-failure, fails it over', () => {
    const run: ModelRun = { model: 'm', sessions: 2, turns: [...Array.from({ length: 19 }, (_, i) => ok(i, 1)), { index: 19, kind: 'plain', session: 1, status: 'no-content' }] };
    assert.equal(summarizeModel(run, 5).pass, true, '1 of 20 = 5 % is within 5 %');
    assert.equal(summarizeModel(run, 4.9).pass, false);
  });

  it('counts a refused setup as a close with no content, and one without a close code apart', () => {
    const refused: ModelRun = {
      model: 'gemini-9.9-nonexistent',
      sessions: 1,
      turns: [0, 1].map((index) => ({ index, kind: 'function' as const, session: 1, status: 'setup-failed' as const, close: { code: 1008, reason: 'models/gemini-9.9-nonexistent is not found', error: 'CB_GEMINI_MODEL_NOT_FOUND' } })),
    };
    const timeout: ModelRun = { model: 'slow', sessions: 1, turns: [{ index: 0, kind: 'function', session: 1, status: 'setup-failed', close: { reason: 'no setupComplete within 10000 ms', error: 'CB_GEMINI_SETUP_TIMEOUT' } }] };
    const report = buildReport([refused, timeout], { endpoint: 'emulator', turnsPerModel: 2, maxFailurePct: 5, startedAt: new Date(0) });
    assert.deepEqual(report.models[0]!.closesByCode, { '1007': 0, '1008': 2, '1011': 0, other: 0 });
    assert.deepEqual(report.models[1]!.closesByCode, { '1007': 0, '1008': 0, '1011': 0, other: 0 }, 'a timeout is no close code');
    assert.equal(report.models[1]!.closes[0]!.code, null);
    const table = formatTable(report);
    assert.match(table, /gemini-9\.9-nonexistent: 1008 "models\/gemini-9\.9-nonexistent is not found" ×2, all before any content/);
    assert.match(table, /slow: CB_GEMINI_SETUP_TIMEOUT ×1, all before any content — no setupComplete within 10000 ms/);
  });

  it('prints one row per model, the failures and the verdict', () => {
    const clean: ModelRun = { model: 'clean-model', sessions: 1, turns: Array.from({ length: 20 }, (_, i) => ok(i, 1, i === 0 ? { setupMs: 210, functionCalled: true, functionRoundTripMs: 800 } : {})) };
    const report = buildReport([clean, faultyRun()], { endpoint: 'emulator', turnsPerModel: 20, maxFailurePct: 5, startedAt: new Date(0) });
    const table = formatTable(report);
    const lines = table.split('\n');
    assert.match(lines[0]!, /^model\s+sessions\s+turns OK\s+1007\s+1008\s+1011\s+other\s+setup ms p50\/p95\s+first content ms p50\/p95\s+function ms\s+verdict$/);
    assert.match(lines[2]!, /^clean-model\s+1\s+20\/20\s+0\s+0\s+0\s+0\s+210\/210\s+309\/318\s+800\s+ok$/);
    assert.match(lines[3]!, /^faulty-model\s+19\s+3\/20\s+0\s+1\s+16\s+0\s+.*FAIL 85%$/);
    assert.match(table, /faulty-model: 1011 "Internal error encountered\." ×16, all before any content/);
    assert.match(table, /over --max-failure 5%: faulty-model \(85% of turns failed\)/);
    assert.equal(report.pass, false);
  });

  it('keeps the documented JSON shape', () => {
    const report = buildReport([faultyRun()], { endpoint: 'emulator', turnsPerModel: 20, maxFailurePct: 5, startedAt: new Date(0) });
    const json = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ['probeReport', 'startedAt', 'endpoint', 'turnsPerModel', 'maxFailurePct', 'pass', 'models']);
    assert.equal(json['probeReport'], PROBE_REPORT_VERSION);
    const model = (json['models'] as Record<string, unknown>[])[0]!;
    assert.deepEqual(Object.keys(model), [
      'model', 'sessions', 'turns', 'turnsOk', 'failurePct', 'pass', 'failures', 'closesByCode', 'closes', 'setupMs', 'firstContentMs', 'functionCalls', 'functionRoundTripMs',
    ]);
    assert.deepEqual(Object.keys(model['failures'] as object), ['closed-before-content', 'closed-after-content', 'no-content', 'incomplete', 'no-reply', 'setup-failed']);
    assert.deepEqual(Object.keys((model['closes'] as object[])[0]!), ['code', 'reason', 'error', 'count', 'beforeContent']);
    assert.deepEqual(Object.keys(model['setupMs'] as object), ['n', 'p50', 'p95']);
  });
});

describe('probe command line', () => {
  it('has defaults and reads every option', () => {
    const d = parseProbeArgs([]);
    assert.ok(d !== 'help');
    assert.equal(d.turns, 20);
    assert.equal(d.maxFailurePct, 5);
    assert.equal(d.json, false);
    assert.equal(d.emulator, false);
    assert.ok(d.models.length >= 1);
    const a = parseProbeArgs(['--models', 'gemini-3.8-live, gemini-3.8-live,x', '--turns', '3', '--json', '--offline', '--fault-profile', 'seed-002', '--max-failure', '12.5', '--seed', '7']);
    assert.ok(a !== 'help');
    assert.deepEqual(a.models, ['gemini-3.8-live', 'x']);
    assert.deepEqual([a.turns, a.json, a.emulator, a.faultProfile, a.maxFailurePct, a.seed], [3, true, true, 'seed-002', 12.5, 7]);
    assert.equal(parseProbeArgs(['-h']), 'help');
  });

  it('refuses bad options with a sentence naming them', () => {
    assert.throws(() => parseProbeArgs(['--turns', '0']), /--turns must be a whole number from 1 to 1000, got "0"/);
    assert.throws(() => parseProbeArgs(['--max-failure', 'lots']), /--max-failure must be a number/);
    assert.throws(() => parseProbeArgs(['--fault-profile', 'seed-002']), /--fault-profile needs --emulator/);
    assert.throws(() => parseProbeArgs(['--emulator', '--fault-profile', 'nope']), /"nope" is not one of: .*seed-002/);
    assert.throws(() => parseProbeArgs(['--modles', 'x']), /modles/);
  });

  it('refuses to run without GEMINI_API_KEY unless offline, and exits 2 on bad arguments', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { env: {}, out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    assert.equal(await runProbeCli(['--turns', '3'], io), 2);
    assert.match(err.join('\n'), /GEMINI_API_KEY is not set.*--emulator/s);
    assert.equal(await runProbeCli(['--turns', 'x'], io), 2);
    assert.match(err.join('\n'), /Usage: npm run probe/);
    assert.equal(out.length, 0);
    assert.equal(await runProbeCli(['--help'], io), 0);
    assert.match(out.join('\n'), /--fault-profile NAME/);
  });
});
