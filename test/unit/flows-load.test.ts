import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { z } from 'zod';
import { CallbridgeError } from '../../src/shared/errors.js';
import { formatProblem, loadBusinessConfig, loadFlowDir, loadFlowSources, type FlowProblem, type LoadResult } from '../../src/flows/index.js';
import { defineTool, ToolRegistry } from '../../src/tools/index.js';

const DIR = 'test/fixtures/flows';
const registry = ToolRegistry.create([
  defineTool({ name: 'lookup', description: 'Look up.', schema: z.object({ q: z.string() }), handler: () => 1 }),
  defineTool({ name: 'book', description: 'Book.', schema: z.object({}), handler: () => 1 }),
]);

function read(file: string): { file: string; text: string } {
  return { file, text: readFileSync(file, 'utf8') };
}

/** The 1-based line of the first line containing `marker`. */
function lineOf(text: string, marker: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(marker));
  assert.ok(i >= 0, `marker ${marker} not in the fixture`);
  return i + 1;
}

function errorsOf(result: LoadResult): FlowProblem[] {
  assert.equal(result.ok, false, 'expected the flows to be refused');
  return result.ok ? [] : result.errors;
}

/** Loads one invalid fixture and expects exactly one error, at the marker's line and the field. */
function expectOne(name: string, marker: string, field: string | undefined, message: RegExp, env: Record<string, string> = {}): void {
  const src = read(`${DIR}/invalid/${name}.yaml`);
  const errors = errorsOf(loadFlowSources([src], { registry, env }));
  assert.equal(errors.length, 1, errors.map(formatProblem).join('\n'));
  const [e] = errors;
  assert.equal(e!.file, src.file);
  assert.equal(e!.line, lineOf(src.text, marker), formatProblem(e!));
  assert.equal(e!.field, field);
  assert.match(e!.message, message);
}

describe('flow loading: the shipped examples', () => {
  it('load with the tools folder, route calls and keep the secret out of serialisation', async () => {
    const loaded = await loadBusinessConfig({ flowsDir: 'flows', toolsDir: 'tools', env: { ORDER_SERVICE_SECRET: 'a-real-secret-from-the-environment' } });
    assert.deepStrictEqual(loaded.flows.map((f) => f.name), ['dental-receptionist', 'order-status-ivr']);
    assert.equal(loaded.router.route('+15550100200')?.name, 'order-status-ivr');
    assert.equal(loaded.router.route('+1 (555) 010-0200')?.name, 'order-status-ivr');
    assert.equal(loaded.router.route('+19995550000')?.name, 'dental-receptionist');
    assert.equal(loaded.router.route(undefined)?.name, 'dental-receptionist');
    const ivr = loaded.flows[1]!;
    assert.equal(ivr.secret, 'a-real-secret-from-the-environment');
    assert.ok(!JSON.stringify(ivr).includes('a-real-secret'), 'the secret is not enumerable');
    assert.deepStrictEqual(loaded.warnings, []);
    assert.equal(loaded.registry.get('lookup_order', 'order-status-ivr')?.kind, 'http');
    assert.ok(Object.isFrozen(ivr.stages[0]!.dtmf));
    const dental = loaded.flows[0]!;
    assert.equal(dental.hours?.timeZone, 'America/New_York');
    assert.deepStrictEqual(dental.hours?.weekly.thursday, [[480, 1140]]);
    assert.deepStrictEqual(dental.stages.map((s) => s.name), ['reception', 'booking', 'changes', 'wrap-up']);
  });

  it('warn when the IVR secret falls back to its demo default', async () => {
    const loaded = await loadBusinessConfig({ flowsDir: 'flows', toolsDir: 'tools', env: {} });
    assert.deepStrictEqual(loaded.warnings.map(formatProblem), [
      `flows/order-status-ivr.yaml:${lineOf(readFileSync('flows/order-status-ivr.yaml', 'utf8'), 'secret: ${')} secret — the secret comes from a built-in default; set the environment variable in production`,
    ]);
  });
});

describe('flow loading: each mistake gets its own error with file, line and field', () => {
  it('unknown function', () => expectOne('unknown-function', 'functions: [lookup, lokup]', 'stages[0].functions[1]', /^unknown function "lokup" \(did you mean "lookup"\?\)/));
  it('unknown stage in a transition', () => expectOne('unknown-stage-transition', 'goTo: nowhere', 'stages[0].transitions[0].goTo', /^unknown stage "nowhere"; the stages are: menu$/));
  it('unknown stage in a DTMF key', () => expectOne('unknown-stage-dtmf', 'goTo: bookng', 'stages[0].dtmf.1.goTo', /^unknown stage "bookng" \(did you mean "booking"\?\)/));
  it('bad time zone', () => expectOne('bad-timezone', 'Europe/Pariss', 'hours.timeZone', /is not a known time zone: use an IANA name/));
  it('bad phone number', () => expectOne('bad-phone', 'desk: 555-0100', 'transfers.desk', /must be a phone number in international format/));
  it('duplicate digit', () => expectOne('duplicate-digit', '1: { say: One again. }', 'stages[0].dtmf.1', /^key 1 is mapped twice \(lines 9 and 11\)/));
  it('missing environment variable for a secret', () =>
    expectOne('missing-env', 'secret:', 'secret', /^environment variable CB_TEST_FLOW_SECRET is not set \(this field uses \$\{CB_TEST_FLOW_SECRET\}\)/));
  it('the same file loads once the variable is set', () => {
    const result = loadFlowSources([read(`${DIR}/invalid/missing-env.yaml`)], { registry, env: { CB_TEST_FLOW_SECRET: 'sixteen-chars-or-more' } });
    assert.ok(result.ok);
    assert.equal(result.flows[0]!.secret, 'sixteen-chars-or-more');
  });
  it('YAML syntax error', () => expectOne('yaml-syntax', 'Say this: then', undefined, /^YAML syntax error: .*text containing ": " must be in "double quotes"/));

  it('an unquoted * or # key says to quote it', () => {
    const text = 'name: k\ndefault: true\npersona: p\ngreeting: g\nstages:\n  - name: s\n    instructions: i\n    dtmf:\n      *: { say: star }\n      #: { say: hash }\n';
    assert.deepStrictEqual(errorsOf(loadFlowSources([{ file: 'k.yaml', text }], { registry })).map(formatProblem), [
      'k.yaml:9 — the key * must be in quotes: write "*": (an unquoted * means something else in YAML)',
      'k.yaml:10 — the key # must be in quotes: write "#": (an unquoted # means something else in YAML)',
    ]);
  });

  it('missing default flow', () => {
    const a = { file: 'a.yaml', text: 'name: a\nnumbers: ["+15550000001"]\npersona: p\ngreeting: g\nstages:\n  - name: s\n    instructions: i\n' };
    const b = { file: 'b.yaml', text: a.text.replace('name: a', 'name: b').replace('0001', '0002') };
    const errors = errorsOf(loadFlowSources([a, b], { registry }));
    assert.deepStrictEqual(errors.map(formatProblem), [
      'a.yaml — no default flow: set default: true in one flow (calls to numbers that no flow lists would have nowhere to go)',
    ]);
    // With every number the server answers routed, no default is needed.
    assert.ok(loadFlowSources([a, b], { registry, numbers: ['+15550000001', '+15550000002'] }).ok);
    assert.match(formatProblem(errorsOf(loadFlowSources([a, b], { registry, numbers: ['+15550000003'] }))[0]!), /these numbers have no flow: \+15550000003/);
  });

  it('several default flows, a duplicate flow name and a number routed twice', () => {
    const base = read(`${DIR}/base.yaml`);
    const twin = { file: 'twin.yaml', text: base.text.replace('default: true', 'default: true\nnumbers: ["+15550000009"]') };
    const third = { file: 'third.yaml', text: base.text.replace('name: base', 'name: third').replace('default: true', 'numbers: ["+15550000009"]') };
    const messages = errorsOf(loadFlowSources([base, twin, third], { registry })).map(formatProblem);
    assert.ok(messages.includes(`third.yaml:${lineOf(third.text, 'numbers:')} numbers[0] — +15550000009 is also routed to flow "base"; a number can go to one flow only`), messages.join('\n'));
    assert.ok(messages.some((m) => /^twin\.yaml:2 name — another flow is already named "base"/.test(m)));
    assert.equal(messages.filter((m) => /several flows are the default \(base, base\)/.test(m)).length, 2);
  });

  it('several mistakes in one file are all reported at once', () => {
    const src = read(`${DIR}/invalid/many-mistakes.yaml`);
    const errors = errorsOf(loadFlowSources([src], { registry }));
    const got = errors.map((e) => [e.line, e.field, e.message]);
    const expected: Array<[string, string | undefined, RegExp]> = [
      ['name: many-mistakes', 'greeting', /is required but missing/],
      ['greting:', 'greting', /unknown field "greting" \(did you mean "greeting"\?\)/],
      ['timeZone:', 'hours.timeZone', /not a known time zone/],
      ['monday: 17:00-09:00', 'hours.weekly.monday', /ends before it starts; a range cannot cross midnight/],
      ['bad: "+1555"', 'transfers.bad', /international format/],
      ['no_such_function]', 'stages[0].functions[1]', /unknown function "no_such_function"/],
      ['goTo: nowhere', 'stages[0].dtmf.1.goTo', /unknown stage "nowhere"/],
      ['transfer: front-desk', 'stages[0].dtmf.0.transfer', /unknown transfer target "front-desk"; define it under transfers: \(defined: desk, bad\)/],
      ['afterMs: 100', 'stages[0].transitions[0].onSilence.afterMs', /must be at least 1000/],
    ];
    assert.equal(errors.length, expected.length, errors.map(formatProblem).join('\n'));
    for (const [marker, field, message] of expected) {
      const line = lineOf(src.text, marker);
      assert.ok(got.some(([l, f, m]) => l === line && f === field && message.test(m as string)), `no error at line ${line} ${field} ${message}\n${errors.map(formatProblem).join('\n')}`);
    }
  });

  it('an unknown tools folder function, a broken tool module and a broken flow are one boot error', async () => {
    await assert.rejects(loadBusinessConfig({ flowsDir: `${DIR}/invalid`, toolsDir: `${DIR}/tools-bad` }), (err: unknown) => {
      assert.ok(err instanceof CallbridgeError);
      assert.equal(err.code, 'CB_FLOW_INVALID');
      assert.match(err.message, /^invalid flows \(\d+ problems\):\n/);
      assert.match(err.message, /a-throws\.ts — cannot load the module/);
      assert.match(err.message, /invalid\/bad-phone\.yaml:6 transfers\.desk — must be a phone number/);
      return true;
    });
  });

  it('a missing flows folder is reported', () => {
    assert.match(formatProblem(errorsOf(loadFlowDir(`${DIR}/nope`, { registry }))[0]!), /cannot read the flows folder/);
  });
});

describe('scripts/flows-check.ts', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/flows-check.ts', ...args], { encoding: 'utf8', env: { ...process.env, ORDER_SERVICE_SECRET: 'x'.repeat(20) } });

  it('prints one line per flow and exits 0 for the shipped flows', () => {
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    assert.deepStrictEqual(r.stdout.trim().split('\n'), [
      'ok  dental-receptionist (flows/dental-receptionist.yaml): default; 4 stages; 7 functions; hours America/New_York; transfers: front-desk; analysis: callback_number, appointment_booked, reason',
      'ok  order-status-ivr (flows/order-status-ivr.yaml): +15550100200; 4 stages; 5 functions; always open; transfers: agent; analysis: on',
    ]);
  });

  it('prints every problem as file:line field — message and exits 1', () => {
    const r = run(`${DIR}/invalid`);
    assert.equal(r.status, 1);
    const lines = r.stderr.trim().split('\n');
    assert.ok(lines.includes('test/fixtures/flows/invalid/bad-phone.yaml:6 transfers.desk — must be a phone number in international format: + then 8 to 15 digits, no spaces (e.g. +15551234567), or a SIP address such as sip:desk@pbx.example.com'), r.stderr);
    assert.match(r.stderr.trimEnd(), /\n\d+ problems found\.$/);
  });
});
