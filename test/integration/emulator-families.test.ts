/**
 * Family behaviour on the wire (plain ws client): NON_BLOCKING calls on 3.8 — the call goes out,
 * the model keeps speaking, the result is spoken per `scheduling` — BLOCKING calls that hold the
 * turn, contextUpdate, 3.x combined serverContent, and each family's limits (scaled down).
 * docs/gemini-live.md §2.4, §2.5, §3, §5.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REASONS, SpeechSynth, startEmulator, truncateReason, type Emulator, type ScenarioInput } from '../../src/emulator/index.js';
import { FAST, RawClient, silence, speech, summarize, transcript } from './emulator-harness.js';

const M38 = 'models/gemini-3.8-live';

const SCENARIO: ScenarioInput = {
  name: 'families-test',
  greeting: 'Hello.',
  turns: [
    {
      heard: 'Is Tuesday free?',
      say: 'Let me check the calendar for you, this can take a moment.',
      toolCalls: [{ name: 'check_availability', args: { day: 'tuesday' } }],
      afterTool: { say: 'Tuesday at {{output.slots.0}} works.' },
    },
  ],
  endOfScenario: { mode: 'repeat', say: 'Anything else?' },
};

function setup(behavior?: string, extra: Record<string, unknown> = {}) {
  return {
    model: M38,
    generationConfig: { responseModalities: ['AUDIO'] },
    outputAudioTranscription: {},
    realtimeInputConfig: { automaticActivityDetection: { silenceDurationMs: 200, prefixPaddingMs: 20 } },
    tools: [{ functionDeclarations: [{ name: 'check_availability', description: 'slots', ...(behavior ? { behavior } : {}) }] }],
    ...extra,
  };
}

function utterance(client: RawClient): void {
  client.sendAudio(speech(300));
  client.sendAudio(silence(300));
}

const isAudio = (m: any) => (m.serverContent?.modelTurn?.parts ?? []).some((p: any) => p.inlineData);
const slots = { output: { slots: ['10:30'] } };

describe('emulator families on the wire', () => {
  let tts: SpeechSynth;
  let emulator: Emulator;
  // Slower speech so a response can arrive while the model is still talking.
  const timing = { ...FAST, speechPace: 4 };

  before(async () => {
    tts = new SpeechSynth();
    emulator = await startEmulator({ scenario: SCENARIO, timing, tts });
  });
  after(async () => {
    await emulator.close();
    await tts.close();
  });

  /** Connects, takes one caller utterance and returns the toolCall message and its index. */
  async function callMade(behavior: string | undefined, extra: Record<string, unknown> = {}) {
    const client = await RawClient.connect(`${emulator.url}?key=test`);
    await client.setup(setup(behavior, extra));
    utterance(client);
    const call = await client.waitFor((m) => m.toolCall, { timeoutMs: 10000 });
    return { client, call, fc: call.toolCall.functionCalls[0], at: client.messages.indexOf(call) };
  }

  it('3.8 NON_BLOCKING (the default): the call goes out first and the model keeps talking; WHEN_IDLE speaks the result after that turn', async () => {
    const { client, fc, at } = await callMade(undefined);
    try {
      assert.equal(client.messages.slice(0, at).filter(isAudio).length, 0, 'the call precedes the words');
      await client.waitFor(isAudio, { from: at });
      client.send({ toolResponse: { functionResponses: [{ id: fc.id, name: fc.name, response: slots, scheduling: 'WHEN_IDLE' }] } });
      const firstEnd = await client.waitFor((m) => m.serverContent?.turnComplete, { from: at, timeoutMs: 10000 });
      const firstTurn = client.messages.slice(at, client.messages.indexOf(firstEnd) + 1);
      assert.equal(transcript(firstTurn), 'Let me check the calendar for you, this can take a moment.', 'the filler is not cut');
      assert.ok(!firstTurn.some((m) => m.serverContent?.interrupted));
      const from = client.messages.indexOf(firstEnd) + 1;
      await client.waitFor((m) => m.serverContent?.turnComplete, { from, timeoutMs: 10000 });
      assert.equal(transcript(client.messages.slice(from)), 'Tuesday at 10:30 works.');
      const record = emulator.sessions.at(-1)!;
      assert.deepEqual(record.events.filter((e) => e.type === 'toolCall').map((e) => e.behavior), ['NON_BLOCKING']);
    } finally {
      client.close();
    }
  });

  it('3.8 INTERRUPT cuts the current output (interrupted → turnComplete) and speaks the result', async () => {
    const { client, fc, at } = await callMade('NON_BLOCKING');
    try {
      await client.waitFor(isAudio, { from: at });
      client.send({ toolResponse: { functionResponses: [{ id: fc.id, name: fc.name, response: slots, scheduling: 'INTERRUPT' }] } });
      const cut = await client.waitFor((m) => m.serverContent?.interrupted, { from: at });
      const from = client.messages.indexOf(cut);
      await client.waitFor((m) => m.serverContent?.turnComplete && transcript(client.messages.slice(from)).includes('works'), { from, timeoutMs: 10000 });
      assert.ok(transcript(client.messages.slice(at, from)).length < 'Let me check the calendar for you, this can take a moment.'.length, 'the filler was cut short');
      assert.deepEqual(summarize(client.messages.slice(from)).slice(0, 2), ['interrupted', 'turnComplete']);
      assert.equal(transcript(client.messages.slice(from)), 'Tuesday at 10:30 works.');
    } finally {
      client.close();
    }
  });

  it('3.8 SILENT: the result joins the context and nothing more is said', async () => {
    const { client, fc, at } = await callMade('NON_BLOCKING');
    try {
      client.send({ toolResponse: { functionResponses: [{ id: fc.id, name: fc.name, response: slots, scheduling: 'SILENT' }] } });
      const end = await client.waitFor((m) => m.serverContent?.turnComplete, { from: at, timeoutMs: 10000 });
      // A later caller turn proves the session went on; nothing was spoken for the result.
      const from = client.messages.indexOf(end) + 1;
      utterance(client);
      await client.waitFor((m) => m.serverContent?.turnComplete, { from, timeoutMs: 10000 });
      assert.equal(transcript(client.messages.slice(from)), 'Anything else?');
      const record = emulator.sessions.at(-1)!;
      assert.deepEqual(record.events.filter((e) => e.type === 'toolResponse').map((e) => e.scheduling), ['SILENT']);
      assert.ok(!transcript(client.messages).includes('works'));
    } finally {
      client.close();
    }
  });

  it('new caller input: 3.8 keeps an open NON_BLOCKING call; 2.5 cancels it (toolCallCancellation) and ignores a late response', async () => {
    for (const [model, cancelled] of [[M38, false], ['models/gemini-2.5-flash-native-audio-preview-12-2025', true]] as const) {
      const { client, fc, at } = await callMade('NON_BLOCKING', { model });
      try {
        await client.waitFor((m) => m.serverContent?.turnComplete, { from: at, timeoutMs: 10000 });
        const from = client.messages.length;
        utterance(client);
        await client.waitFor((m) => m.serverContent?.turnComplete, { from, timeoutMs: 10000 });
        const cancellation = client.messages.slice(at).find((m) => m.toolCallCancellation);
        assert.deepEqual(cancellation?.toolCallCancellation.ids, cancelled ? [fc.id] : undefined, model);
        const late = client.messages.length;
        client.send({ toolResponse: { functionResponses: [{ id: fc.id, name: fc.name, response: slots }] } });
        if (cancelled) {
          utterance(client);
          await client.waitFor((m) => m.serverContent?.turnComplete, { from: late, timeoutMs: 10000 });
          assert.ok(!transcript(client.messages.slice(late)).includes('works'), 'a cancelled call’s result is not spoken');
        } else {
          await client.waitFor((m) => m.serverContent?.turnComplete, { from: late, timeoutMs: 10000 });
          assert.equal(transcript(client.messages.slice(late)), 'Tuesday at 10:30 works.');
        }
        assert.equal(emulator.sessions.at(-1)!.close, undefined, 'no close');
      } finally {
        client.close();
      }
    }
  });

  it('3.8 BLOCKING (declared) holds the turn: no turnComplete until the response, then the result', async () => {
    const { client, fc, at } = await callMade('BLOCKING');
    try {
      const before = client.messages.slice(0, at);
      assert.equal(transcript(before), 'Let me check the calendar for you, this can take a moment.', 'words first, then the call');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(client.messages.slice(at).filter((m) => m.serverContent?.turnComplete || isAudio(m)).length, 0, 'silent while the call is pending');
      client.send({ toolResponse: { functionResponses: [{ id: fc.id, name: fc.name, response: slots, scheduling: 'SILENT' }] } });
      await client.waitFor((m) => m.serverContent?.turnComplete, { from: at, timeoutMs: 10000 });
      assert.equal(transcript(client.messages.slice(at)), 'Tuesday at 10:30 works.', 'scheduling is ignored for a blocking call');
    } finally {
      client.close();
    }
  });

  it('contextUpdate on 3.8 is recorded and replaces the tools: the function turns blocking', async () => {
    const client = await RawClient.connect(`${emulator.url}?key=test`);
    try {
      await client.setup(setup('NON_BLOCKING'));
      client.send({
        contextUpdate: {
          systemInstruction: { parts: [{ text: 'Stage: booking.' }] },
          tools: { tools: [{ functionDeclarations: [{ name: 'check_availability', behavior: 'BLOCKING' }] }] },
        },
      });
      utterance(client);
      const call = await client.waitFor((m) => m.toolCall, { timeoutMs: 10000 });
      const at = client.messages.indexOf(call);
      assert.equal(transcript(client.messages.slice(0, at)), 'Let me check the calendar for you, this can take a moment.');
      const record = emulator.sessions.at(-1)!;
      const update = record.events.find((e) => e.type === 'contextUpdate');
      assert.deepEqual({ systemInstruction: update?.systemInstruction, tools: update?.tools }, { systemInstruction: 'Stage: booking.', tools: ['check_availability'] });
      assert.deepEqual(record.events.filter((e) => e.type === 'toolCall').map((e) => e.behavior), ['BLOCKING']);
      assert.equal(record.close, undefined);
    } finally {
      client.close();
    }
  });

  it('contextUpdate on 2.5 closes 1007 like an unknown field', async () => {
    const client = await RawClient.connect(`${emulator.url}?key=test`);
    await client.setup({ ...setup(), model: 'models/gemini-2.5-flash-native-audio-preview-12-2025' });
    client.send({ contextUpdate: { systemInstruction: { parts: [{ text: 'x' }] } } });
    assert.deepEqual(await client.waitClose(), { code: 1007, reason: 'Invalid JSON payload received. Unknown name "contextUpdate": Cannot find field.' });
  });

  it('3.1: clientContent seeds history (with historyConfig) before the first turn; later text goes as realtimeInput.text; clientContent then closes 1007', async () => {
    const client = await RawClient.connect(`${emulator.url}?key=test`);
    await client.setup({ ...setup(), model: 'models/gemini-3.1-flash-live-preview', tools: [], historyConfig: { initialHistoryInClientContent: true } });
    client.send({ clientContent: { turns: [{ role: 'user', parts: [{ text: 'Hi' }] }, { role: 'model', parts: [{ text: 'Hello.' }] }], turnComplete: false } });
    client.send({ realtimeInput: { text: 'The caller is on the line.' } });
    await client.waitFor((m) => m.serverContent?.turnComplete, { timeoutMs: 10000 });
    client.send({ clientContent: { turns: [{ role: 'user', parts: [{ text: 'Stage two.' }] }], turnComplete: false } });
    assert.deepEqual(await client.waitClose(), { code: 1007, reason: 'Request contains an invalid argument.' });
    assert.match(String(emulator.sessions.at(-1)!.events.find((e) => e.type === 'close')?.why), /after the model's first turn/);

    const bare = await RawClient.connect(`${emulator.url}?key=test`);
    await bare.setup({ ...setup(), model: 'models/gemini-3.1-flash-live-preview', tools: [] });
    bare.send({ clientContent: { turns: [{ role: 'user', parts: [{ text: 'Greet.' }] }], turnComplete: true } });
    assert.deepEqual(await bare.waitClose(), { code: 1007, reason: 'Request contains an invalid argument.' });
  });

  it('3.x sends audio and its transcription in one serverContent; 2.5 in separate messages', async () => {
    const shapes = async (model: string) => {
      const client = await RawClient.connect(`${emulator.url}?key=test`);
      try {
        await client.setup({ ...setup(), model });
        client.send({ clientContent: { turns: [{ role: 'user', parts: [{ text: 'Greet.' }] }], turnComplete: true } });
        await client.waitFor((m) => m.serverContent?.turnComplete, { timeoutMs: 10000 });
        const both = client.messages.filter((m) => isAudio(m) && m.serverContent.outputTranscription).length;
        const alone = client.messages.filter((m) => !isAudio(m) && m.serverContent?.outputTranscription).length;
        return { both, alone, text: transcript(client.messages) };
      } finally {
        client.close();
      }
    };
    const v38 = await shapes(M38);
    assert.ok(v38.both > 0 && v38.alone === 0, JSON.stringify(v38));
    assert.equal(v38.text, 'Hello.');
    const v25 = await shapes('models/gemini-2.5-flash-native-audio-preview-12-2025');
    assert.ok(v25.both === 0 && v25.alone > 0, JSON.stringify(v25));
    assert.equal(v25.text, 'Hello.');
  });
});

describe('emulator: caller audio during a pending call', () => {
  it('with audioDuringToolCall "abort", audio closes 1008 only while a BLOCKING call is pending, never for a NON_BLOCKING one', async () => {
    const tts = new SpeechSynth();
    const emulator = await startEmulator({ scenario: SCENARIO, timing: FAST, tts, faults: { audioDuringToolCall: 'abort' } });
    try {
      for (const [behavior, closes] of [['NON_BLOCKING', false], ['BLOCKING', true]] as const) {
        const client = await RawClient.connect(`${emulator.url}?key=test`);
        await client.setup(setup(behavior));
        utterance(client);
        const call = await client.waitFor((m) => m.toolCall, { timeoutMs: 10000 });
        // NON_BLOCKING: the model talks on after the call; send the audio while the call is open.
        if (!closes) await client.waitFor(isAudio, { from: client.messages.indexOf(call) });
        client.sendAudio(silence(100));
        if (closes) {
          assert.deepEqual(await client.waitClose(), { code: 1008, reason: 'The operation was aborted.' });
        } else {
          const fc = call.toolCall.functionCalls[0];
          client.send({ toolResponse: { functionResponses: [{ id: fc.id, name: fc.name, response: slots }] } });
          await client.waitFor((m) => m.serverContent?.turnComplete && transcript(client.messages).includes('works'), { timeoutMs: 10000 });
          client.close();
        }
      }
    } finally {
      await emulator.close();
      await tts.close();
    }
  });
});

describe('emulator family limits (scaled)', () => {
  it('goAway a notice before the connection ends, then the family close: 1008 on 3.8, 1011 on 2.5', async () => {
    // Scale 0.0005: a 300 ms connection, goAway 30 ms before its end.
    const emulator = await startEmulator({ timing: FAST, familyLimitScale: 0.0005 });
    try {
      for (const [model, close] of [
        [M38, { code: 1008, reason: truncateReason(REASONS.goAwayIgnored) }],
        ['models/gemini-2.5-flash-native-audio-preview-12-2025', { code: 1011, reason: 'Deadline expired before operation could complete.' }],
      ] as const) {
        const client = await RawClient.connect(`${emulator.url}?key=test`);
        await client.setup({ model, contextWindowCompression: { slidingWindow: {} } });
        const goAway = await client.waitFor((m) => m.goAway);
        assert.deepEqual(goAway, { goAway: { timeLeft: '0.03s' } });
        assert.deepEqual(await client.waitClose(), close);
      }
    } finally {
      await emulator.close();
    }
  });

  it('without compression the session ends at its length limit, counted across a resumption', async () => {
    // Scale 0.0004: connection 240 ms (goAway at 216 ms), session 360 ms.
    const emulator = await startEmulator({ timing: FAST, familyLimitScale: 0.0004 });
    try {
      const first = await RawClient.connect(`${emulator.url}?key=test`);
      await first.setup({ model: M38, sessionResumption: {} });
      const handle = (await first.waitFor((m) => m.sessionResumptionUpdate?.newHandle)).sessionResumptionUpdate.newHandle;
      await first.waitFor((m) => m.goAway);
      first.close();
      await first.closed;
      const second = await RawClient.connect(`${emulator.url}?key=test`);
      await second.setup({ model: M38, sessionResumption: { handle } });
      assert.deepEqual(await second.waitClose(), { code: 1011, reason: 'Deadline expired before operation could complete.' });
      const record = emulator.sessions.at(-1)!;
      assert.equal(record.events.some((e) => e.type === 'goAway'), false, 'the session limit came before this connection’s goAway');
      assert.ok(record.faults.includes('sessionLimit'));
    } finally {
      await emulator.close();
    }
  });
});
