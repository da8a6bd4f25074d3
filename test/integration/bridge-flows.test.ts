/**
 * Issue 5 checks as whole calls (simulator → server → emulator): a function call with invalid then
 * valid arguments, a function not allowed in the stage, a DTMF transition, a stage change, a
 * timeout, a cancellation, a transfer through the built-in, and the two shipped example flows
 * driven through their functions by their emulator scenarios.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { startRig, TOOLS_MODULE, ZOD_MODULE } from '../support/e2e.js';
import type { StoredCallEvent } from '../../src/transcripts/index.js';
import type { ScriptStep } from '../../src/simulator/index.js';
import { startOrderService } from '../../examples/order-service.js';
import { InstantSpeech } from '../support/instant-speech.js';

const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };

const SHOP_FLOW = `
name: shop
default: true
persona: You are the test shop's assistant.
greeting: Hello, this is the shop.
transfers: { desk: "+15550109999" }
functions: [quote, slow_lookup, watch_order]
dtmf:
  "1": { goTo: orders }
stages:
  - name: menu
    purpose: Find out what the caller needs.
    instructions: Ask what they want.
    functions: [go_to_stage, quote]
  - name: orders
    purpose: Look orders up.
    instructions: Look orders up.
    functions: [slow_lookup, watch_order, transfer_call, end_call, go_to_stage]
`;

/** Where slow_lookup's handler notes what happened to it (a global: the tool runs in this process). */
const SLOW_LOOKUP_LOG = '__callbridgeTestSlowLookup';
const slowLookupLog = (): string[] => ((globalThis as Record<string, unknown>)[SLOW_LOOKUP_LOG] as string[] | undefined) ?? [];

const TOOLS = {
  'quote.ts': `
import { z } from '${ZOD_MODULE}';
import { defineTool } from '${TOOLS_MODULE}';
export default defineTool({
  name: 'quote', description: 'Price of some fruit.',
  schema: z.object({ item: z.enum(['apple', 'pear']), qty: z.int().min(1) }),
  handler: ({ item, qty }) => ({ item, price: qty * 2 }),
});`,
  'slow-lookup.ts': `
import { z } from '${ZOD_MODULE}';
import { defineTool } from '${TOOLS_MODULE}';
export default defineTool({
  name: 'slow_lookup', description: 'A lookup that takes too long.', timeoutMs: 300,
  schema: z.object({ order: z.string() }),
  // What happened to it, in order, for the test (same process): started, then aborted or finished.
  handler: (_args, ctx) => new Promise((ok, fail) => {
    const seen = ((globalThis as any).${SLOW_LOOKUP_LOG} ??= []);
    seen.push('started');
    const t = setTimeout(() => { seen.push('finished'); ok({ found: true }); }, 3000);
    ctx.signal.addEventListener('abort', () => { seen.push('aborted'); clearTimeout(t); fail(new Error('aborted')); });
  }),
});`,
  'watch-order.ts': `
import { z } from '${ZOD_MODULE}';
import { defineTool } from '${TOOLS_MODULE}';
export default defineTool({
  name: 'watch_order', description: 'Waits for an order update (runs in the background).', timeoutMs: 10000, behavior: 'NON_BLOCKING',
  schema: z.object({ order: z.string() }),
  handler: (_args, ctx) => new Promise((ok, fail) => { const t = setTimeout(() => ok({ update: 'none' }), 8000); ctx.signal.addEventListener('abort', () => { clearTimeout(t); fail(new Error('aborted')); }); }),
});`,
};

/**
 * The caller "speaks" (a tone burst the emulator hears as the next scenario turn), then listens
 * patiently: a function call and the reply after it can leave a pause of a second mid-answer.
 */
const speak = (hz = 300): ScriptStep[] => [
  { tone: { hz, durationMs: 500, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 2000, timeoutMs: 20000 } },
];
const greeting: ScriptStep[] = [{ waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } }];

type Fn = Extract<StoredCallEvent, { kind: 'function_call' }>;
const fns = (events: StoredCallEvent[]): Fn[] => events.filter((e): e is Fn => e.kind === 'function_call');
const toolResponses = (received: ReadonlyArray<{ json: unknown }>) =>
  received.flatMap((m) => (m.json as { toolResponse?: { functionResponses: Array<{ id: string; name: string; response: Record<string, unknown> }> } }).toolResponse?.functionResponses ?? []);
const clientTexts = (received: ReadonlyArray<{ json: unknown }>) =>
  received.flatMap((m) => {
    const cc = (m.json as { clientContent?: { turns?: Array<{ parts?: Array<{ text?: string }> }>; turnComplete?: boolean } }).clientContent;
    return (cc?.turns ?? []).flatMap((t) => (t.parts ?? []).map((p) => ({ text: p.text ?? '', turnComplete: cc?.turnComplete === true })));
  });

describe('flows and business functions in whole calls', () => {
  it('invalid then valid arguments, a function the stage does not allow, a DTMF transition with its stage change', async () => {
    const rig = await startRig({
      flows: { 'shop.yaml': SHOP_FLOW },
      tools: TOOLS,
      emulator: {
        timing: FAST,
        scenario: {
          name: 'shop-1',
          turns: [
            {
              heard: 'How much are two bananas?',
              toolCalls: [{ name: 'quote', args: { item: 'banana', qty: 2 } }],
              afterToolError: { say: 'Let me try again.', toolCalls: [{ name: 'quote', args: { item: 'apple', qty: 2 } }], afterTool: { say: 'Two apples are {{output.price}} dollars.' } },
            },
            { heard: 'Look up order 7', toolCalls: [{ name: 'slow_lookup', args: { order: '7' } }], afterToolError: { say: 'I cannot do that here.' } },
            { match: 'pressed 1', say: 'You are in orders now.' },
          ],
        },
      },
    });
    try {
      const result = await rig.call({ timeScale: 0.5, script: [...greeting, ...speak(), ...speak(), { dtmf: '1' }, { waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } }] });
      assert.deepEqual(result.timeouts, [], 'no wait timed out');
      await rig.bridge.writer.flush();
      const events = await rig.bridge.store.getEvents(result.callSid);
      const calls = fns(events);
      assert.deepEqual(calls.map((c) => [c.name, c.status, c.errorCode ?? null]), [
        ['quote', 'rejected', 'CB_TOOL_INVALID_ARGS'],
        ['quote', 'ok', null],
        ['slow_lookup', 'rejected', 'CB_TOOL_NOT_ALLOWED'],
      ]);
      assert.match(calls[0]!.error ?? '', /item/, 'the validation message names the argument');
      assert.deepEqual(calls[1]!.result, { item: 'apple', price: 4 });
      const session = rig.emulator.sessions.at(-1)!;
      const responses = toolResponses(session.received);
      assert.equal(responses.length, 3, 'every call answered exactly once');
      assert.equal(new Set(responses.map((r) => r.id)).size, 3, 'each with its own id');
      assert.match(String(responses[0]!.response['error']), /item/, 'the model got the validation message to retry with');
      assert.match(String(responses[2]!.response['error']), /quote/, 'the model was told what it may use in this stage');
      const stages = events.filter((e) => e.kind === 'stage_change');
      assert.deepEqual(stages.map((e) => (e.kind === 'stage_change' ? [e.from ?? null, e.to, e.reason] : [])), [[null, 'menu', 'call started'], ['menu', 'orders', 'key 1']]);
      const texts = clientTexts(session.received);
      // No model: in the flow, so gemini-3.8-live: the new stage's instructions replace the system instruction (contextUpdate, docs/gemini-live.md §2.5).
      const updates = session.received.flatMap((m) => {
        const cu = (m.json as { contextUpdate?: { systemInstruction?: { parts?: Array<{ text?: string }> } } }).contextUpdate;
        return cu ? [cu.systemInstruction?.parts?.map((p) => p.text ?? '').join('') ?? ''] : [];
      });
      assert.ok(updates.some((t) => t.includes('## Current stage: orders')), 'the new stage’s instructions went as a contextUpdate');
      assert.ok(!texts.some((t) => t.text.includes('[stage: orders]')), 'and not as a conversation turn');
      assert.ok(texts.some((t) => t.turnComplete && t.text.includes('The caller pressed 1.')), 'the model was told about the key');
      const bot = events.filter((e) => e.kind === 'bot_utterance').map((e) => (e.kind === 'bot_utterance' ? e.text : ''));
      assert.ok(bot.some((t) => t.includes('Two apples are 4 dollars.')), `the model used the result: ${JSON.stringify(bot)}`);
    } finally {
      await rig.close();
    }
  });

  it('a function that times out is answered with an error; a background function Gemini cancels is aborted and not answered', async () => {
    delete (globalThis as Record<string, unknown>)[SLOW_LOOKUP_LOG];
    const rig = await startRig({
      // On 2.5 the caller's next words cancel the pending background call (3.8 cancels only BLOCKING ones: docs/gemini-live.md §2.4).
      flows: { 'shop.yaml': SHOP_FLOW.replace('default: true', 'default: true\nmodel: gemini-2.5-flash-native-audio-preview-12-2025') },
      tools: TOOLS,
      emulator: {
        timing: FAST,
        scenario: {
          name: 'shop-2',
          turns: [
            { match: 'pressed 1', say: 'Orders.' },
            { heard: 'Where is order 9?', toolCalls: [{ name: 'slow_lookup', args: { order: '9' } }], afterToolError: { say: 'Our system is slow: {{error}}' } },
            { heard: 'Tell me when order 9 ships', toolCalls: [{ name: 'watch_order', args: { order: '9' } }], afterTool: { say: 'It has an update.' } },
            { heard: 'Never mind', say: { toneHz: 700, durationMs: 400 } },
          ],
        },
      },
    });
    try {
      const result = await rig.call({
        timeScale: 0.5,
        script: [...greeting, { dtmf: '1' }, { waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } }, ...speak(), { tone: { hz: 300, durationMs: 500, amplitude: 8000 } }, { silence: 1500 }, ...speak(450)],
      });
      await rig.bridge.writer.flush();
      const events = await rig.bridge.store.getEvents(result.callSid);
      const calls = fns(events);
      const slow = calls.find((c) => c.name === 'slow_lookup');
      assert.equal(slow?.status, 'timeout', `slow_lookup: ${JSON.stringify(slow)}`);
      assert.equal(slow?.errorCode, 'CB_TOOL_TIMEOUT');
      // Answered at its timeout: not before it (a timer never fires early; load only makes it later)…
      assert.ok(slow!.latencyMs >= 280, `answered after its 300 ms timeout (${slow!.latencyMs} ms)`);
      // …and not after the handler's own 3 s of work: the timeout aborted the handler while it was
      // still working, so it never finished.
      assert.deepEqual(slowLookupLog(), ['started', 'aborted'], 'the timeout aborted slow_lookup before its work was done');
      const watch = calls.find((c) => c.name === 'watch_order');
      assert.equal(watch?.status, 'cancelled', `watch_order: ${JSON.stringify(watch)}`);
      const session = rig.emulator.sessions.at(-1)!;
      assert.ok(session.events.some((e) => e.type === 'toolCallCancellation'), 'Gemini cancelled the background call');
      const responses = toolResponses(session.received);
      assert.ok(responses.some((r) => r.name === 'slow_lookup' && typeof r.response['error'] === 'string'), 'the timed-out call was answered with an error');
      assert.ok(!responses.some((r) => r.name === 'watch_order'), 'the cancelled call was not answered');
    } finally {
      await rig.close();
    }
  });

  it('transfer_call: the model transfers, Twilio’s REST API receives the <Dial>, the call is recorded as transferred', async () => {
    const rig = await startRig({
      flows: { 'shop.yaml': SHOP_FLOW },
      tools: TOOLS,
      emulator: {
        timing: FAST,
        scenario: {
          name: 'shop-3',
          turns: [
            { match: 'pressed 1', say: 'Orders.' },
            { heard: 'Can I talk to a person?', say: 'Of course, transferring you now.', toolCalls: [{ name: 'transfer_call', args: { target: 'desk' } }] },
          ],
        },
      },
    });
    try {
      const result = await rig.call({ timeScale: 0.5, afterScript: 'wait', maxDurationMs: 30000, script: [...greeting, { dtmf: '1' }, { waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } }, ...speak()] });
      const update = rig.api.requests.find((r) => r.path.endsWith(`/Calls/${result.callSid}.json`));
      assert.equal(update?.form['Twiml'], '<?xml version="1.0" encoding="UTF-8"?><Response><Dial answerOnBridge="true">+15550109999</Dial></Response>');
      assert.equal(result.outcome.endedBy, 'twiml-replaced');
      // The bot's line before the transfer was heard in full first.
      const lastStop = result.timeline.filter((e) => e.kind === 'bot-speech-stop').at(-1)!;
      const replaced = result.timeline.find((e) => e.kind === 'twiml-replaced')!;
      assert.ok(replaced.atMs >= lastStop.atMs, 'transferred after the bot finished its line');
      await rig.bridge.writer.flush();
      const record = await rig.bridge.store.getCall(result.callSid);
      assert.equal(record?.outcome, 'transferred');
      const events = await rig.bridge.store.getEvents(result.callSid);
      assert.deepEqual(fns(events).map((c) => [c.name, c.status]), [['transfer_call', 'ok']]);
      assert.ok(events.some((e) => e.kind === 'transfer' && e.target === 'desk (+15550109999)'), 'transfer event');
    } finally {
      await rig.close();
    }
  });

  it('the shipped examples run through their functions: dental books a real slot; the IVR looks an order up over HTTP', async () => {
    const orders = await startOrderService({ port: 0, secret: 'test-order-secret-0123456789' });
    // The IVR flow reads its service URL and secret from the environment when it is loaded.
    const saved = { url: process.env['ORDER_SERVICE_URL'], secret: process.env['ORDER_SERVICE_SECRET'] };
    process.env['ORDER_SERVICE_URL'] = orders.url;
    process.env['ORDER_SERVICE_SECRET'] = 'test-order-secret-0123456789';
    const rig = await startRig({
      flows: {},
      bridge: { flowsDir: resolve('flows'), toolsDir: resolve('tools'), now: () => new Date('2026-11-24T15:00:00Z') },
      emulator: {
        timing: FAST,
        // Lines rendered at once: the caller takes 1 s of silence as the end of the bot's answer,
        // and espeak rendering the booking line (a fresh reference each run) can take longer than
        // that on a busy machine (./support/instant-speech.ts).
        tts: new InstantSpeech(),
        scenariosBySystemInstruction: [
          { match: 'Bright Smile Dental', scenario: resolve('scenarios/dental-receptionist.yaml') },
          { match: 'Example Shop', scenario: resolve('scenarios/order-status-ivr.yaml') },
        ],
      },
    });
    try {
      const dental = await rig.call({ to: '+15550100100', timeScale: 0.5, afterScript: 'wait', maxDurationMs: 60000, script: [...greeting, ...speak(), ...speak(), ...speak(), { tone: { hz: 300, durationMs: 500, amplitude: 8000 } }] });
      const ivr = await rig.call({ to: '+15550100200', timeScale: 0.5, afterScript: 'wait', maxDurationMs: 60000, script: [...greeting, { dtmf: '1' }, { waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } }, ...speak(), { tone: { hz: 300, durationMs: 500, amplitude: 8000 } }] });
      await rig.bridge.writer.flush();
      const dentalEvents = await rig.bridge.store.getEvents(dental.callSid);
      // The whole call is there, in order (issue 6).
      const kinds = dentalEvents.map((e) => (e.kind === 'function_call' ? `fn:${e.name}` : e.kind === 'stage_change' ? `stage:${e.to}` : e.kind));
      assert.deepEqual(kinds, [
        'stage:reception', 'bot_utterance', 'caller_utterance', 'stage:booking', 'fn:go_to_stage', 'bot_utterance',
        'caller_utterance', 'bot_utterance', 'fn:check_availability', 'bot_utterance',
        'caller_utterance', 'bot_utterance', 'fn:book_appointment', 'stage:wrap-up', 'bot_utterance',
        'caller_utterance', 'bot_utterance', 'fn:end_call',
      ]);
      assert.ok(dentalEvents.every((e, i) => i === 0 || e.atMs >= dentalEvents[i - 1]!.atMs), 'in call-time order');
      assert.ok(dentalEvents.filter((e) => e.kind === 'bot_utterance').every((e) => e.kind === 'bot_utterance' && !e.interrupted && e.heardMs === e.sentMs && e.text !== ''), 'every bot line was heard in full');
      assert.deepEqual(fns(dentalEvents).map((c) => [c.name, c.status]), [['go_to_stage', 'ok'], ['check_availability', 'ok'], ['book_appointment', 'ok'], ['end_call', 'ok']]);
      const booked = fns(dentalEvents)[2]!.result as { status: string; reference: string };
      assert.equal(booked.status, 'booked');
      assert.equal((await rig.bridge.store.getCall(dental.callSid))?.outcome, 'ended_by_bot');
      const ivrEvents = await rig.bridge.store.getEvents(ivr.callSid);
      assert.deepEqual(fns(ivrEvents).map((c) => [c.name, c.status]), [['lookup_order', 'ok'], ['end_call', 'ok']]);
      assert.equal((fns(ivrEvents)[0]!.result as { status: string }).status, 'shipped', 'the order service answered (signed HTTP function)');
      assert.ok(ivrEvents.some((e) => e.kind === 'stage_change' && e.to === 'order-status' && e.reason === 'key 1'), 'key 1 moved to order-status');
      const bot = ivrEvents.filter((e) => e.kind === 'bot_utterance').map((e) => (e.kind === 'bot_utterance' ? e.text : '')).join(' ');
      assert.match(bot, /A1002 is shipped\. It's with UPS/, 'the bot used the result');
    } finally {
      await rig.close();
      await orders.close();
      for (const [key, value] of [['ORDER_SERVICE_URL', saved.url], ['ORDER_SERVICE_SECRET', saved.secret]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
