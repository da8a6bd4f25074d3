/**
 * callbridge's side of the model families against the emulator (its own, independent family
 * rules), through the Gemini adapter the call uses (src/call/adapters/gemini-session.ts): the setup
 * each family gets, declarations shaped to the family, a stage change by the family's mid-session
 * mechanism, text after the model's first content on 3.1, and a 3.8 NON_BLOCKING call — the bot
 * keeps talking and the response's scheduling is honoured. docs/gemini-live.md §2.1, §2.2, §2.4, §2.5.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { geminiConnect } from '../../src/call/adapters/gemini-session.js';
import { DEFAULT_MODEL } from '../../src/gemini/index.js';
import type { AgentEvent, LiveSession, SessionConfig } from '../../src/call/ports.js';
import type { Emulator, ScenarioInput } from '../../src/emulator/index.js';
import { silentLogger } from '../../src/shared/log.js';
import { API_KEY, closeTts, FAST, MODEL_25, MODEL_3, withEmulator } from './gemini-client-harness.js';
import { silence, speech } from './emulator-harness.js';

const SCENARIO: ScenarioInput = {
  name: 'families-client',
  greeting: 'Hello.',
  turns: [
    {
      heard: 'Please note that I want a callback.',
      say: 'Sure, I am noting that down for you right now, one moment while I do it.',
      toolCalls: [{ name: 'log_callback', args: { note: 'callback' } }],
      afterTool: { say: 'Your callback is noted.' },
    },
  ],
  endOfScenario: { mode: 'repeat', say: 'Anything else?' },
};

/** What a flow's call hands the adapter: a lookup the bot needs (blocking), a background action (non-blocking), end_call. */
function config(model: string): SessionConfig {
  return {
    model,
    systemInstruction: 'You are the front desk.\n\n## Current stage: reception\nGreet the caller.',
    tools: [
      { name: 'lookup', description: 'Looks a booking up.', behavior: 'BLOCKING' },
      { name: 'log_callback', description: 'Notes a callback request.', behavior: 'NON_BLOCKING' },
      { name: 'end_call', description: 'Ends the call.', behavior: 'BLOCKING' },
    ],
  };
}

async function open(emulator: Emulator, model: string): Promise<{ session: LiveSession; events: AgentEvent[] }> {
  const connect = geminiConnect({ apiKey: API_KEY, url: emulator.url, setupTimeoutMs: 5000 });
  const session = await connect({ config: { ...config(model), sessionResumption: { enabled: true } }, log: silentLogger() });
  const events: AgentEvent[] = [];
  session.onEvent((e) => events.push(e));
  return { session, events };
}

/** Resolves when `test` holds for the events so far (checked on every new event), or fails after `ms`. */
function until(events: AgentEvent[], session: LiveSession, test: () => boolean, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (test()) return resolve();
    const timer = setTimeout(() => reject(new Error(`timed out; events: ${events.map((e) => e.type).join(',')}`)), ms);
    const off = session.onEvent(() => {
      if (!test()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** Polls what the emulator received (no event comes back for a message without a reply). */
async function received(emulator: Emulator, test: (m: any) => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!json(emulator).some(test)) {
    if (Date.now() > until) throw new Error('the emulator did not receive the message');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const declarations = (setup: any): Array<{ name: string; behavior?: string }> => setup.tools?.[0]?.functionDeclarations ?? [];
const json = (emulator: Emulator) => emulator.sessions.at(-1)!.received.map((m) => m.json as any);

function utterance(session: LiveSession): void {
  session.sendAudio(speech(400));
  session.sendAudio(silence(1500));
}

describe('model families, callbridge side, against the emulator', () => {
  after(closeTts);

  it('3.8 (the default): no thinking config, explicit behaviours; a stage change is a contextUpdate the emulator accepts', async () => {
    await withEmulator({ scenario: SCENARIO }, async (emulator) => {
      assert.equal(DEFAULT_MODEL, 'gemini-3.8-live');
      const { session } = await open(emulator, DEFAULT_MODEL);
      const setup = json(emulator)[0].setup;
      assert.equal(setup.model, 'models/gemini-3.8-live');
      assert.equal(setup.generationConfig.thinkingConfig, undefined);
      assert.deepEqual(declarations(setup).map((d) => [d.name, d.behavior]), [['lookup', 'BLOCKING'], ['log_callback', 'NON_BLOCKING'], ['end_call', 'BLOCKING']]);
      assert.equal(session.instructionChannel, 'contextUpdate');
      session.instruct({ systemInstruction: 'You are the front desk.\n\n## Current stage: booking\nBook.', text: '[stage: booking] Book.' });
      // A message after it proves the session was not closed for it.
      session.sendClientContent([{ role: 'user', parts: [{ text: 'ping' }] }], false);
      await received(emulator, (m) => m.clientContent);
      const update = json(emulator).find((m) => m.contextUpdate)?.contextUpdate;
      assert.match(update.systemInstruction.parts[0].text, /## Current stage: booking/);
      assert.ok(emulator.sessions.at(-1)!.events.some((e) => e.type === 'contextUpdate'), 'the emulator applied it');
      await session.close('done');
    });
  });

  it('3.8 NON_BLOCKING: the bot keeps talking while the function runs; SILENT adds the result without words', async () => {
    await withEmulator({ scenario: SCENARIO, timing: { ...FAST, speechPace: 4 } }, async (emulator) => {
      const { session, events } = await open(emulator, DEFAULT_MODEL);
      utterance(session);
      await until(events, session, () => events.some((e) => e.type === 'toolCall'));
      const call = events.find((e): e is Extract<AgentEvent, { type: 'toolCall' }> => e.type === 'toolCall')!.calls[0]!;
      assert.equal(call.name, 'log_callback');
      assert.deepEqual(session.pendingToolCalls.map((c) => [c.name, c.blocking]), [['log_callback', false]], 'caller audio is not held for it');
      const at = events.length;
      await until(events, session, () => events.slice(at).some((e) => e.type === 'audio'));
      session.sendToolResponse([{ id: call.id, name: call.name, response: { output: { noted: true } }, scheduling: 'SILENT' }]);
      await until(events, session, () => events.slice(at).some((e) => e.type === 'turnComplete'));
      const sent = json(emulator).find((m) => m.toolResponse)!.toolResponse.functionResponses[0];
      assert.equal(sent.scheduling, 'SILENT');
      const words = events.slice(at).filter((e): e is Extract<AgentEvent, { type: 'outputTranscription' }> => e.type === 'outputTranscription').map((e) => e.text).join('');
      assert.match(words, /noting that down/, 'the filler was spoken while the function ran');
      assert.doesNotMatch(words, /is noted/, 'SILENT: the result is not spoken');
      await session.close('done');
    });
  });

  it('2.5: thinking-free setup with explicit behaviours; a stage change is clientContent without turnComplete', async () => {
    await withEmulator({ scenario: SCENARIO }, async (emulator) => {
      const { session } = await open(emulator, MODEL_25);
      assert.deepEqual(declarations(json(emulator)[0].setup).map((d) => d.behavior), ['BLOCKING', 'NON_BLOCKING', 'BLOCKING']);
      assert.equal(session.instructionChannel, 'clientContent');
      session.instruct({ systemInstruction: 'x', text: '[stage: booking] Book.' });
      await received(emulator, (m) => m.clientContent);
      const cc = json(emulator).find((m) => m.clientContent).clientContent;
      assert.equal(cc.turnComplete, false);
      assert.equal(cc.turns[0].parts[0].text, '[stage: booking] Book.');
      assert.ok(!json(emulator).some((m) => m.contextUpdate), 'no contextUpdate on 2.5 (it would close 1007)');
      await session.close('done');
    });
  });

  it('3.1: synchronous declarations (a non_blocking function is declared BLOCKING), historyConfig; text after the model spoke goes as realtime text', async () => {
    await withEmulator({ scenario: SCENARIO }, async (emulator) => {
      const { session, events } = await open(emulator, MODEL_3);
      const setup = json(emulator)[0].setup;
      assert.deepEqual(declarations(setup).map((d) => d.behavior), ['BLOCKING', 'BLOCKING', 'BLOCKING']);
      assert.deepEqual(setup.historyConfig, { initialHistoryInClientContent: true });
      assert.equal(session.instructionChannel, 'realtimeText');
      session.sendClientContent([{ role: 'user', parts: [{ text: 'Greet the caller.' }] }], true);
      await until(events, session, () => events.some((e) => e.type === 'turnComplete'));
      session.instruct({ systemInstruction: 'x', text: '[stage: booking] Book.' });
      await until(events, session, () => json(emulator).filter((m) => m.realtimeInput?.text).length >= 2);
      const texts = json(emulator).filter((m) => m.realtimeInput?.text).map((m) => m.realtimeInput.text as string);
      assert.equal(texts[0], 'Greet the caller.');
      assert.match(texts[1]!, /^\[stage: booking\] Book\./);
      assert.ok(!json(emulator).some((m) => m.clientContent || m.contextUpdate));
      await session.close('done');
    });
  });
});
