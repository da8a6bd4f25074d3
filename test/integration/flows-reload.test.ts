/**
 * Hot reload through the real server (startCallbridge on port 0, temp FLOWS_DIR / TOOLS_DIR, the
 * emulator, the caller simulator): the next call runs on the edited flow while a call in progress
 * keeps its version; broken YAML is refused with file:line and the last good flow keeps serving;
 * an edited function is used by the next call and one that no longer compiles keeps its last good
 * version; a removed flow stops routing. Nothing waits on a fixed sleep: edits happen inside a
 * call (a function's handler) or are awaited through the catalogue's onReload.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync, writeFileSync } from 'node:fs';
import { startRig, testFlow, TOOLS_MODULE, ZOD_MODULE, type Rig } from '../support/e2e.js';
import type { ScriptStep } from '../../src/simulator/index.js';
import type { StoredCallEvent } from '../../src/transcripts/index.js';
import type { ReloadResult } from '../../src/flows/index.js';

const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };
const HOOK = '__callbridgeTestEditHook';

const greeting: ScriptStep[] = [{ waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } }];
const speak: ScriptStep[] = [
  { tone: { hz: 300, durationMs: 500, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 1500, timeoutMs: 20000 } },
];

/** A code function whose handler is the test's (same process): it edits files mid-call. */
const EDIT_TOOL = `
import { z } from '${ZOD_MODULE}';
import { defineTool } from '${TOOLS_MODULE}';
export default defineTool({
  name: 'edit_flow', description: 'Test hook: edits the flow files.', timeoutMs: 20000,
  schema: z.object({}),
  handler: () => (globalThis as any).${HOOK}(),
});`;

const quoteTool = (body: string) => `
import { z } from '${ZOD_MODULE}';
import { defineTool } from '${TOOLS_MODULE}';
export default defineTool({
  name: 'quote', description: 'Price of an apple.',
  schema: z.object({}),
  handler: () => (${body}),
});`;

function dtmfFlow(greet: string, words: string): string {
  return testFlow({ greeting: greet, functions: ['edit_flow'], topLevel: `dtmf:\n  "1": { say: ${JSON.stringify(words)} }` });
}

const clientTexts = (received: ReadonlyArray<{ json: unknown }>): string[] =>
  received.flatMap((m) => {
    const cc = (m.json as { clientContent?: { turns?: Array<{ parts?: Array<{ text?: string }> }> } }).clientContent;
    return (cc?.turns ?? []).flatMap((t) => (t.parts ?? []).map((p) => p.text ?? ''));
  });

type Fn = Extract<StoredCallEvent, { kind: 'function_call' }>;
async function functionResults(rig: Rig, callSid: string): Promise<unknown[]> {
  await rig.bridge.writer.flush();
  const events = await rig.bridge.store.getEvents(callSid);
  return events.filter((e): e is Fn => e.kind === 'function_call').map((e) => e.result);
}

/** What the bot said in a call, from its stored transcript. */
async function botWords(rig: Rig, callSid: string): Promise<string[]> {
  await rig.bridge.writer.flush();
  const events = await rig.bridge.store.getEvents(callSid);
  return events.flatMap((e) => (e.kind === 'bot_utterance' ? [e.text] : []));
}

/** The next reload whose result satisfies `test` (awaited through onReload, never a sleep). */
function reloadWhere(rig: Rig, test: (r: ReloadResult) => boolean): Promise<ReloadResult> {
  return new Promise((resolve) => {
    const off = rig.bridge.catalog.onReload((r) => {
      if (!test(r)) return;
      off();
      resolve(r);
    });
  });
}

describe('hot reload of flows and functions', () => {
  it('the next call runs on the edited flow while the call in progress keeps its version', async () => {
    const rig = await startRig({
      flows: { 'line.yaml': dtmfFlow('Hello, version one.', 'Old words.') },
      tools: { 'edit-flow.ts': EDIT_TOOL },
      emulator: {
        timing: FAST,
        scenario: {
          name: 'reload',
          turns: [
            { heard: 'Please change the flow.', toolCalls: [{ name: 'edit_flow', args: {} }], afterTool: { say: 'Changed.' } },
            { match: 'Old words|New words', repeatable: true, say: 'Words.' },
          ],
        },
      },
    });
    const g = globalThis as Record<string, unknown>;
    let reloadAnswer: { status: number; body: Record<string, unknown> } | undefined;
    g[HOOK] = async () => {
      writeFileSync(join(rig.flowsDir, 'line.yaml'), dtmfFlow('Hello, version two.', 'New words.'));
      const res = await fetch(`${rig.bridge.url}/api/flows/reload`, { method: 'POST' });
      reloadAnswer = { status: res.status, body: (await res.json()) as Record<string, unknown> };
      return { applied: reloadAnswer.body.applied };
    };
    try {
      const v1 = rig.bridge.catalog.current.flows[0]!.version;
      // Call A: greeted on version one; mid-call the flow is edited and reloaded; then key 1.
      const a = await rig.call({ timeScale: 0.5, script: [...greeting, ...speak, { dtmf: '1' }, { waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } }] });
      assert.deepEqual(a.timeouts, [], 'no wait of call A timed out');
      assert.equal(reloadAnswer?.status, 200, JSON.stringify(reloadAnswer));
      assert.deepEqual(reloadAnswer?.body.problems, []);
      const v2 = rig.bridge.catalog.current.flows[0]!.version;
      assert.notEqual(v2, v1, 'the edit made a new version');
      assert.deepEqual((reloadAnswer?.body.changed as { updated: string[] }).updated, ['test-line']);
      // Call B, after the reload.
      const b = await rig.call({ timeScale: 0.5, script: [...greeting, { dtmf: '1' }, { waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } }] });
      assert.deepEqual(b.timeouts, [], 'no wait of call B timed out');

      // What each call's agent was asked to say, and what the caller heard.
      const sessions = rig.emulator.sessions.map((s) => clientTexts(s.received).join('\n'));
      assert.ok(sessions.some((t) => t.includes('Greet them now by saying exactly: "Hello, version one."')), 'call A was greeted on version one');
      assert.ok(sessions.some((t) => t.includes('Greet them now by saying exactly: "Hello, version two."')), 'call B was greeted on version two');
      const saidA = await botWords(rig, a.callSid);
      const saidB = await botWords(rig, b.callSid);
      assert.ok(saidA.includes('Hello, version one.') && saidA.includes('Old words.'), `call A, after the reload, still ran its own version’s key 1: ${JSON.stringify(saidA)}`);
      assert.ok(!saidA.some((t) => /version two|New words/.test(t)), 'nothing of the new version reached call A');
      assert.ok(saidB.includes('Hello, version two.') && saidB.includes('New words.'), `call B ran the new version: ${JSON.stringify(saidB)}`);
      assert.deepEqual(await functionResults(rig, a.callSid), [{ applied: true }]);

      const recordA = await rig.bridge.store.getCall(a.callSid);
      const recordB = await rig.bridge.store.getCall(b.callSid);
      assert.equal(recordA?.flowVersion, v1, 'call A records the version it ran on');
      assert.equal(recordB?.flowVersion, v2);
      const detail = (await (await fetch(`${rig.bridge.url}/api/calls/${b.callSid}`)).json()) as { call: { flowVersion?: string } };
      assert.equal(detail.call.flowVersion, v2, 'GET /api/calls/:id carries the version');
    } finally {
      delete g[HOOK];
      await rig.close();
    }
  });

  it('broken YAML is refused with file:line; the last good flow keeps serving and /api/flows lists the problem', async () => {
    const rig = await startRig({ flows: { 'line.yaml': testFlow({ greeting: 'Hello, good version.' }) }, emulator: { timing: FAST } });
    try {
      const good = rig.bridge.catalog.current.flows[0]!.version;
      writeFileSync(join(rig.flowsDir, 'line.yaml'), `${testFlow({ greeting: 'Hello, broken version.' })}\n  - name: [unclosed\n`);
      const res = await fetch(`${rig.bridge.url}/api/flows/reload`, { method: 'POST' });
      assert.equal(res.status, 422);
      const body = (await res.json()) as { applied: boolean; problems: Array<{ where: string; file: string; line?: number; message: string }> };
      assert.equal(body.applied, false);
      assert.ok(body.problems.length > 0);
      const p = body.problems[0]!;
      assert.match(p.file, /line\.yaml$/);
      assert.equal(typeof p.line, 'number', 'the problem names its line');
      assert.equal(p.where.startsWith(`${p.file}:${p.line}`), true, `file:line — ${p.where}`);
      assert.equal(rig.bridge.catalog.current.flows[0]!.version, good, 'the last good version keeps serving');

      const report = (await (await fetch(`${rig.bridge.url}/api/flows`)).json()) as { flows: Array<{ name: string; status: string; version: string; problems: Array<{ where: string }> }> };
      assert.equal(report.flows.length, 1);
      assert.equal(report.flows[0]!.status, 'invalid');
      assert.equal(report.flows[0]!.version, good);
      assert.deepEqual(report.flows[0]!.problems.map((x) => x.where), body.problems.map((x) => x.where));

      const call = await rig.call({ timeScale: 0.5, script: greeting });
      const texts = clientTexts(rig.emulator.sessions.at(-1)!.received).join('\n');
      assert.match(texts, /Hello, good version\./, 'the next call still gets the last good flow');
      assert.equal((await rig.bridge.store.getCall(call.callSid))?.flowVersion, good);
    } finally {
      await rig.close();
    }
  });

  it('an edited function is used by the next call; one that no longer compiles keeps its last good version', async () => {
    const rig = await startRig({
      flows: { 'line.yaml': testFlow({ functions: ['quote'] }) },
      tools: { 'quote.ts': quoteTool('{ price: 1 }') },
      emulator: { timing: FAST, scenario: { name: 'quote', turns: [{ heard: 'How much?', toolCalls: [{ name: 'quote', args: {} }], afterTool: { say: 'That is {{output.price}}.' } }] } },
    });
    const quoteFile = join(rig.toolsDir, 'quote.ts');
    const script = [...greeting, ...speak];
    try {
      const first = await rig.call({ timeScale: 0.5, script });
      assert.deepEqual(await functionResults(rig, first.callSid), [{ price: 1 }]);

      writeFileSync(quoteFile, quoteTool('{ price: 2 }'));
      const edited = await rig.bridge.catalog.reload('test');
      assert.equal(edited.applied, true);
      assert.deepEqual(edited.problems, []);
      const second = await rig.call({ timeScale: 0.5, script });
      assert.deepEqual(await functionResults(rig, second.callSid), [{ price: 2 }], 'the edited function answered');

      writeFileSync(quoteFile, quoteTool('{ price: ) }'));
      const broken = await rig.bridge.catalog.reload('test');
      assert.equal(broken.applied, true, 'the flows still apply');
      assert.equal(broken.problems.length, 1);
      assert.match(broken.problems[0]!.file, /quote\.ts$/);
      assert.match(broken.problems[0]!.message, /cannot load the module: .*last good version of this file is still used/);
      const third = await rig.call({ timeScale: 0.5, script });
      assert.deepEqual(await functionResults(rig, third.callSid), [{ price: 2 }], 'the last good version answered');
    } finally {
      await rig.close();
    }
  });

  it('watching: a removed flow file stops routing (the next call goes to the default flow)', async () => {
    const rig = await startRig({
      flows: {
        'main.yaml': testFlow({ name: 'main' }),
        'sales.yaml': testFlow({ name: 'sales', isDefault: false, numbers: ['+15550100100'] }),
      },
      emulator: { timing: FAST },
    });
    try {
      const first = await rig.call({ timeScale: 0.5, script: greeting });
      assert.equal((await rig.bridge.store.getCall(first.callSid))?.flow, 'sales');

      const removed = reloadWhere(rig, (r) => r.applied && r.versions['sales'] === undefined);
      rmSync(join(rig.flowsDir, 'sales.yaml'));
      const r = await removed;
      assert.equal(r.reason, 'watch', 'the watcher noticed the change by itself');
      assert.deepEqual(r.changed.removed, ['sales']);

      const second = await rig.call({ timeScale: 0.5, script: greeting });
      assert.equal((await rig.bridge.store.getCall(second.callSid))?.flow, 'main');
    } finally {
      await rig.close();
    }
  });
});
