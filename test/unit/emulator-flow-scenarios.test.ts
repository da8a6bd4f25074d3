/**
 * The scenario of each flow for the built-in emulator (src/emulator/flow-scenarios.ts), the
 * no-scenario emulator's replies, the starter scenario of scenario:new (src/emulator/starter.ts),
 * the test clock (src/flows/hours.ts, CALLBRIDGE_NOW) and the context a function receives.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowScenarios, noScenario, flowScenarioFile, emulatorUrlForFlow, parseScenario } from '../../src/emulator/index.js';
import { ScenarioCursor } from '../../src/emulator/cursor.js';
import { starterScenario, exampleArgs } from '../../src/emulator/starter.js';
import { FlowSession, loadFlowSources, clockStartingAt, nextOpenInstant, isOpen } from '../../src/flows/index.js';
import { defineTool, ToolRegistry, ToolDispatcher, type ToolContext } from '../../src/tools/index.js';
import { loadEnv } from '../../src/config/env.js';
import { silentLogger } from '../../src/shared/log.js';
import { z } from 'zod';

const scenarioYaml = (line: string) => `name: s\nturns:\n  - heard: "caller words"\n    say: "${line}"\n`;

describe('the scenario of each flow', () => {
  it('reads scenarios/<flow>.yaml per flow, or the flow’s own scenario: file, and re-reads an edited file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-scn-'));
    writeFileSync(join(dir, 'alpha.yaml'), scenarioYaml('Alpha speaking.'));
    writeFileSync(join(dir, 'own.yaml'), scenarioYaml('Beta from its own file.'));
    const scenarios = new FlowScenarios({ scenariosDir: dir, scenarioPathOf: (f) => (f === 'beta' ? join(dir, 'own.yaml') : undefined) });
    assert.equal((await scenarios.resolve('alpha')).turns[0]!.say, 'Alpha speaking.');
    assert.equal((await scenarios.resolve('beta')).turns[0]!.say, 'Beta from its own file.');
    writeFileSync(join(dir, 'alpha.yaml'), scenarioYaml('Alpha, edited.'));
    utimesSync(join(dir, 'alpha.yaml'), new Date(), new Date(Date.now() + 5000)); // a new mtime even on a coarse file system
    assert.equal((await scenarios.resolve('alpha')).turns[0]!.say, 'Alpha, edited.', 'the next session plays the edited file');
  });

  it('a flow without a scenario, or with a broken one, gets the no-scenario emulator; the problem is logged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-scn-'));
    writeFileSync(join(dir, 'broken.yaml'), 'name: b\nturns:\n  - heard: [oops\n');
    const warnings: string[] = [];
    const log = { ...silentLogger(), warn: (_o: unknown, msg: string) => warnings.push(msg) } as unknown as ReturnType<typeof silentLogger>;
    const scenarios = new FlowScenarios({ scenariosDir: dir, log });
    assert.equal((await scenarios.resolve('missing')).name, 'no-scenario:missing');
    const broken = await scenarios.resolve('broken');
    assert.equal(broken.name, 'no-scenario:broken');
    assert.match(broken.afterGreeting!, /scenario file of the flow broken has errors/);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /broken\.yaml:\d+/, 'the log names the file and line');
    assert.equal((await scenarios.resolve('../etc/passwd')).name, 'no-scenario:this line', 'a name that is not a flow name never reaches the file system');
  });

  it('the no-scenario emulator: greeting word for word plus the notice, no caller words, key presses answered', () => {
    const cursor = new ScenarioCursor(noScenario('bakery', 'missing'));
    const greeting = cursor.forText('(The caller has just been connected.) Greet them now by saying exactly: "Hello, bakery."');
    assert.match(String(greeting.reply.say), /^Hello, bakery\. This is the offline emulator, and there is no scenario for the flow bakery/);
    assert.match(String(greeting.reply.say), /npm run scenario:new -- bakery/);
    const audio = cursor.forUtterance();
    assert.equal(audio.heard, undefined, 'it never invents what the caller said');
    assert.match(String(audio.reply.say), /I heard you, but this is the offline emulator/);
    const key = cursor.forText('The caller pressed 5.');
    assert.deepEqual(key.vars, { match: ['pressed 5', '5'] });
    assert.equal(key.reply.say, 'You pressed {{match.1}}.');
    assert.ok(noScenario('x', 'missing').turns.every((t) => t.heard === undefined));
  });

  it('flow files name their scenario relative to themselves; the emulator URL carries the flow', () => {
    assert.equal(flowScenarioFile({ file: '/srv/biz/flows/a.yaml', scenario: '../scen/a.yaml' }), '/srv/biz/scen/a.yaml');
    assert.equal(flowScenarioFile({ file: '/srv/biz/flows/a.yaml' }), undefined);
    const url = new URL(emulatorUrlForFlow('ws://127.0.0.1:9/ws/x?x=1', 'my-line'));
    assert.equal(url.searchParams.get('flow'), 'my-line');
    assert.equal(url.searchParams.get('x'), '1');
  });
});

const FLOW = `
name: shop
default: true
persona: You are the shop.
greeting: Hello shop.
transfers: { desk: "+15550000001" }
stages:
  - name: menu
    instructions: Ask what they want.
    functions: [go_to_stage, end_call]
  - name: orders
    instructions: Look orders up.
    functions: [lookup_order, end_call]
`;

function shop(): { flow: ReturnType<typeof loadFlowSources> & { ok: true }; registry: ToolRegistry } {
  const registry = ToolRegistry.create([
    defineTool({
      name: 'lookup_order',
      description: 'Look an order up.',
      schema: z.object({ orderNumber: z.string().describe('The order number'), day: z.iso.date().optional(), express: z.boolean() }),
      handler: () => ({ ok: true }),
    }),
  ]);
  const result = loadFlowSources([{ file: 'flows/shop.yaml', text: FLOW }], { registry, env: {} });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return { flow: result, registry: result.registry };
}

describe('scenario:new', () => {
  it('writes a scenario that parses: a turn per function with example arguments, stage moves, goodbye, keys', () => {
    const { flow, registry } = shop();
    const f = flow.flows[0]!;
    const text = starterScenario(f, new FlowSession(f, registry).declarations());
    const scenario = parseScenario(text, 'shop.yaml');
    const calls = scenario.turns.flatMap((t) => t.toolCalls ?? []);
    assert.deepEqual(calls.map((c) => c.name), ['go_to_stage', 'lookup_order', 'end_call']);
    assert.deepEqual(calls[0]!.args, { name: 'orders' });
    assert.deepEqual(calls[1]!.args, { orderNumber: 'ABC123', express: true }, 'required parameters with example values');
    assert.match(text, /# optional: day/);
    assert.ok(scenario.turns.some((t) => t.match === 'pressed ([0-9*#])'));
    assert.ok(scenario.turns.every((t) => t.match || t.heard === undefined || t.heard === "No, that's all. Thank you!"), 'no invented caller words beyond the goodbye');
  });

  it('example values follow the schema', () => {
    assert.deepEqual(exampleArgs({ type: 'OBJECT', properties: { when: { type: 'STRING', format: 'date' }, n: { type: 'INTEGER', minimum: 3 }, kind: { type: 'STRING', enum: ['a', 'b'] }, tags: { type: 'ARRAY', items: { type: 'STRING' } } }, required: ['when', 'n', 'kind', 'tags'] }), {
      when: '2026-01-15', n: 3, kind: 'a', tags: ['example tags'],
    });
  });
});

describe('the test clock', () => {
  it('CALLBRIDGE_NOW must be an ISO 8601 time with its offset; invalid values stop the boot naming it', () => {
    assert.equal(loadEnv({ CALLBRIDGE_NOW: '2026-12-25T09:00:00-05:00' }).CALLBRIDGE_NOW, '2026-12-25T09:00:00-05:00');
    for (const bad of ['2026-12-25T09:00:00', 'Christmas', '2026-12-25']) {
      assert.throws(() => loadEnv({ CALLBRIDGE_NOW: bad }), /CALLBRIDGE_NOW: must be an ISO 8601 time with its offset/);
    }
  });

  it('starts at the given instant and advances with real time', () => {
    let real = 1_000;
    const clock = clockStartingAt(new Date('2026-12-25T09:00:00-05:00'), () => real);
    assert.equal(clock().toISOString(), '2026-12-25T14:00:00.000Z');
    real += 90_000;
    assert.equal(clock().toISOString(), '2026-12-25T14:01:30.000Z');
  });

  it('nextOpenInstant finds the next opening (closed dates skipped)', () => {
    const flow = { hours: { timeZone: 'America/New_York', weekly: { monday: [[540, 1020]], tuesday: [[540, 1020]], wednesday: [], thursday: [], friday: [[540, 1020]], saturday: [], sunday: [] }, closedDates: ['2026-12-25'], outsideHours: { say: 'closed', then: 'hangup' } } } as never;
    const christmas = new Date('2026-12-25T10:00:00-05:00'); // a Friday, closed
    assert.equal(isOpen(flow, christmas), false);
    assert.equal(nextOpenInstant(flow, christmas)!.toISOString(), '2026-12-28T14:00:00.000Z', 'Monday 09:00 in New York');
    const open = new Date('2026-12-28T10:00:00-05:00');
    assert.equal(nextOpenInstant(flow, open), open);
  });
});

describe('the context a function receives', () => {
  it('carries the call id, caller and called numbers, flow, stage and the business clock', async () => {
    let seen: ToolContext | undefined;
    const registry = ToolRegistry.create([
      defineTool({ name: 'lookup_order', description: 'Look an order up.', schema: z.object({}), handler: (_a, ctx) => ((seen = ctx), { at: ctx.now().toISOString() }) }),
    ]);
    const result = loadFlowSources([{ file: 'flows/shop.yaml', text: FLOW.replace('functions: [go_to_stage, end_call]', 'functions: [lookup_order]') }], { registry, env: {} });
    assert.ok(result.ok);
    const session = new FlowSession(result.flows[0]!, result.registry);
    const control = { transfer: async () => ({ number: '' }), endCall: async () => undefined, goToStage: async () => undefined };
    const dispatcher = new ToolDispatcher({
      registry: result.registry, session, control, callSid: 'CA1', from: '+15550000100', to: '+15550000200',
      businessNow: () => new Date('2026-12-25T14:00:00Z'), log: silentLogger(),
    });
    const answer = await dispatcher.dispatch({ id: 'f1', name: 'lookup_order', args: {} });
    assert.deepEqual(answer.response, { output: { at: '2026-12-25T14:00:00.000Z' } });
    assert.equal(seen!.callId, 'CA1');
    assert.equal(seen!.callSid, 'CA1');
    assert.equal(seen!.callerNumber, '+15550000100');
    assert.equal(seen!.calledNumber, '+15550000200');
    assert.equal(seen!.flowName, 'shop');
    assert.equal(seen!.stage, 'menu');
  });
});
