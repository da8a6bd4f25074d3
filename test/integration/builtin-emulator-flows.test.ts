/**
 * `npm start` without a key, as whole calls through the built-in emulator (no GEMINI_LIVE_URL):
 * each call plays the scenario of the flow it lands on (SCENARIOS_DIR/<flow>.yaml or the flow's
 * `scenario:` file), a flow without one gets the no-scenario emulator (it says so; the caller's
 * speech is stored as "(caller audio, N s)"), CALLBRIDGE_NOW makes hours and functions use the
 * test clock, a call's own pretendNow does the same for that call, and the demo's flow selection
 * takes a flow the business wrote.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig, TOOLS_MODULE, ZOD_MODULE, type Rig } from '../support/e2e.js';
import { InstantSpeech } from '../support/instant-speech.js';
import { MemoryTransport } from '../support/call-harness.js';
import type { StoredCallEvent } from '../../src/transcripts/index.js';
import type { ScriptStep } from '../../src/simulator/index.js';
import { demoPlan } from '../../scripts/demo.js';

const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };
const greeting: ScriptStep[] = [{ waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } }];
const speak: ScriptStep[] = [
  { tone: { hz: 300, durationMs: 1200, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 1500, timeoutMs: 20000 } },
];

const flow = (name: string, number: string, extra = '', functions = 'end_call') => `
name: ${name}
numbers: ["${number}"]
${extra}
persona: You are the ${name} line.
greeting: ${name} line, hello.
stages:
  - name: main
    instructions: Help the caller.
    functions: [${functions}]
`;

const TOOLS = {
  'what-time.ts': `
import { z } from '${ZOD_MODULE}';
import { defineTool } from '${TOOLS_MODULE}';
export default defineTool({
  name: 'what_time', description: 'The time and who is calling.', schema: z.object({}),
  handler: (_args, ctx) => ({ at: ctx.now().toISOString(), caller: ctx.callerNumber, called: ctx.calledNumber, callId: ctx.callId }),
});`,
};

function scenariosDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cb-scenarios-'));
  writeFileSync(join(dir, 'alpha.yaml'), [
    'name: alpha',
    'turns:',
    '  - heard: "What time is it at alpha?"',
    '    say: "Alpha here, let me look."',
    '    toolCalls: [{ name: what_time }]',
    '    afterTool: { say: "Alpha says the time is {{output.at}}." }',
  ].join('\n'));
  writeFileSync(join(dir, 'beta-own.yaml'), 'name: beta-own\nturns:\n  - heard: "Hello beta."\n    say: "Beta answers from its own scenario file."\n');
  return dir;
}

async function builtInRig(env: Record<string, string> = {}): Promise<Rig> {
  const dir = scenariosDir();
  return startRig({
    flows: {
      'alpha.yaml': flow('alpha', '+15550101001', 'default: true', 'what_time, end_call'),
      'beta.yaml': flow('beta', '+15550101002', `scenario: ${join(dir, 'beta-own.yaml')}`),
      'gamma.yaml': flow('gamma', '+15550101003'),
      'holiday.yaml': flow('holiday', '+15550101004', [
        'hours:',
        '  timeZone: America/New_York',
        '  weekly: { monday: 00:00-24:00, tuesday: 00:00-24:00, wednesday: 00:00-24:00, thursday: 00:00-24:00, friday: 00:00-24:00, saturday: 00:00-24:00, sunday: 00:00-24:00 }',
        '  closedDates: [2026-12-25]',
        '  outsideHours: { say: "We are closed for the holiday.", then: hangup }',
      ].join('\n')),
    },
    tools: TOOLS,
    // No GEMINI_LIVE_URL (empty means unset): callbridge starts its own emulator.
    env: { GEMINI_LIVE_URL: '', SCENARIOS_DIR: dir, ...env },
    bridge: { emulator: { timing: FAST, tts: new InstantSpeech() } },
  });
}

const texts = (events: StoredCallEvent[], kind: 'bot_utterance' | 'caller_utterance') =>
  events.flatMap((e) => (e.kind === kind ? [e.text] : []));

describe('the built-in emulator plays the flow’s own scenario', () => {
  it('two flows, each call its own scenario’s words; a function sees the test clock and the numbers', async () => {
    const rig = await builtInRig({ CALLBRIDGE_NOW: '2026-12-25T10:00:00-05:00' });
    try {
      assert.equal(rig.bridge.gemini.emulated, true);
      const alpha = await rig.call({ to: '+15550101001', timeScale: 0.5, script: [...greeting, ...speak] });
      const beta = await rig.call({ to: '+15550101002', timeScale: 0.5, script: [...greeting, ...speak] });
      await rig.bridge.writer.flush();
      const a = await rig.bridge.store.getEvents(alpha.callSid);
      const b = await rig.bridge.store.getEvents(beta.callSid);
      assert.deepEqual(texts(a, 'caller_utterance'), ['What time is it at alpha?']);
      assert.ok(texts(a, 'bot_utterance').some((t) => /^Alpha says the time is 2026-12-25T15:0\d:/.test(t)), texts(a, 'bot_utterance').join(' | '));
      const fn = a.find((e): e is Extract<StoredCallEvent, { kind: 'function_call' }> => e.kind === 'function_call');
      const out = fn!.result as { at: string; caller: string; called: string; callId: string };
      assert.match(out.at, /^2026-12-25T15:0\d:/, 'ctx.now() is the test clock, advancing from CALLBRIDGE_NOW');
      assert.deepEqual([out.caller, out.called, out.callId], ['+15557654321', '+15550101001', alpha.callSid]);
      assert.deepEqual(texts(b, 'caller_utterance'), ['Hello beta.']);
      assert.ok(texts(b, 'bot_utterance').includes('Beta answers from its own scenario file.'));
      assert.ok(!texts(b, 'bot_utterance').some((t) => t.startsWith('Alpha')), 'no words of the other flow');
      assert.equal(rig.bridge.businessNow().toISOString().slice(0, 15), '2026-12-25T15:0', 'the clock /flows uses');
    } finally {
      await rig.close();
    }
  });

  it('a flow without a scenario: the emulator says so and how to add one; the caller’s speech is stored as audio', async () => {
    const rig = await builtInRig();
    try {
      // Real time: the duration is measured on the call's clock.
      const call = await rig.call({ to: '+15550101003', timeScale: 1, script: [...greeting, ...speak, { dtmf: '5' }, { waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } }] });
      await rig.bridge.writer.flush();
      const events = await rig.bridge.store.getEvents(call.callSid);
      const bot = texts(events, 'bot_utterance');
      assert.match(bot[0]!, /^gamma line, hello\. This is the offline emulator, and there is no scenario for the flow gamma/);
      assert.match(bot[0]!, /npm run scenario:new -- gamma/);
      assert.ok(bot.some((t) => /^I heard you, but this is the offline emulator/.test(t)), bot.join(' | '));
      assert.ok(bot.includes('You pressed 5.'), 'a key press is answered');
      const caller = texts(events, 'caller_utterance');
      assert.equal(caller.length, 1, caller.join(' | '));
      const m = /^\(caller audio, (\d+\.\d) s\)$/.exec(caller[0]!);
      assert.ok(m, caller[0]);
      assert.ok(Math.abs(Number(m[1]) - 1.2) <= 0.4, `about the 1.2 s spoken, got ${m[1]}`);
    } finally {
      await rig.close();
    }
  });
});

describe('the test clock', () => {
  it('CALLBRIDGE_NOW on a closed date: the closed-hours message, whatever the real date', async () => {
    const rig = await builtInRig({ CALLBRIDGE_NOW: '2026-12-25T12:00:00-05:00' });
    try {
      const call = await rig.call({ to: '+15550101004', script: [{ silence: 500 }] });
      assert.match(call.twiml ?? '', /We are closed for the holiday\./);
      await rig.bridge.writer.flush();
      const events = await rig.bridge.store.getEvents(call.callSid);
      assert.ok(events.some((e) => e.kind === 'note' && e.text.startsWith('Outside business hours')));
    } finally {
      await rig.close();
    }
  });

  it('a call’s own pretendNow decides its hours (the browser phone’s "Pretend it is…")', async () => {
    const rig = await builtInRig();
    try {
      const base = { accountSid: rig.accountSid, from: 'tester', to: '', channel: 'browser' as const, flowName: 'holiday' };
      const refuse = () => {
        throw new Error('a closed call needs no transport');
      };
      const closed = rig.bridge.manager.admit({ ...base, callSid: `BR${'c'.repeat(32)}`, pretendNow: new Date('2026-12-25T12:00:00-05:00') }, refuse);
      assert.equal(closed.kind, 'closed');
      assert.equal(closed.kind === 'closed' ? closed.say : '', 'We are closed for the holiday.');
      const open = rig.bridge.manager.admit({ ...base, callSid: `BR${'d'.repeat(32)}`, pretendNow: new Date('2026-12-24T12:00:00-05:00') }, () => new MemoryTransport());
      assert.equal(open.kind, 'accepted');
      rig.bridge.manager.abort(`BR${'d'.repeat(32)}`, 'CB_CALL_NO_STREAM', 'test over');
    } finally {
      await rig.close();
    }
  });
});

describe('npm run demo -- --flow', () => {
  it('takes a flow the business wrote: its number, its scenario’s caller, or the no-scenario emulator', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cb-demo-'));
    const flowsDir = join(root, 'flows');
    const scenarios = join(root, 'scenarios');
    for (const d of [flowsDir, scenarios, join(root, 'tools')]) (await import('node:fs')).mkdirSync(d);
    writeFileSync(join(flowsDir, 'bakery.yaml'), flow('bakery', '+15550102222', 'default: true'));
    writeFileSync(join(flowsDir, 'florist.yaml'), flow('florist', '+15550103333'));
    writeFileSync(join(scenarios, 'florist.yaml'), 'name: florist\nturns:\n  - heard: "Roses, please."\n    say: "Red or white?"\n');
    const dirs = { flowsDir, toolsDir: join(root, 'tools'), scenariosDir: scenarios };
    const florist = await demoPlan({ flow: 'florist', ...dirs });
    assert.equal(florist.to, '+15550103333');
    assert.equal(florist.scenarioFile, join(scenarios, 'florist.yaml'));
    assert.ok(florist.script.some((s) => 'say' in s && s.say === 'Roses, please.'), 'the caller says the scenario’s words');
    const bakery = await demoPlan({ flow: 'bakery', ...dirs });
    assert.equal(bakery.scenarioFile, undefined, 'no scenario: the emulator will say so');
    assert.equal(bakery.flow.name, 'bakery');
    await assert.rejects(demoPlan({ flow: 'nope', ...dirs }), /unknown --flow nope; flows in .*: bakery, florist/);
  });
});
