/**
 * The cascade's wire clients against the emulator's REST endpoints (docs/cascade.md, "Emulator"):
 * streamGenerateContent answering from a scenario (greeting, a caller turn with a function call,
 * the answer after the function response, the parallel transcription), the flow route, faults,
 * and Cloud TTS text:synthesize rendering μ-law at 8 kHz.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMulaw } from '../../src/audio/mulaw.js';
import { GeminiTextModel } from '../../src/cascade/text-model.js';
import { CloudSpeech, GeminiSpeech } from '../../src/cascade/tts.js';
import type { Content, TextChunk } from '../../src/cascade/types.js';
import { emulatorRestBaseForFlow, scenarioFromObject, startEmulator, type Emulator } from '../../src/emulator/index.js';
import { CallbridgeError } from '../../src/shared/errors.js';

const SCENARIO = {
  name: 'dental',
  greeting: 'Thank you for calling the dental office. How can I help?',
  turns: [
    {
      heard: 'I would like to book a cleaning.',
      say: 'Let me check the calendar.',
      toolCalls: [{ name: 'check_availability', args: { service: 'cleaning' } }],
      afterTool: { say: 'I have {{output.slots.0}} open. Shall I book it?' },
      afterToolError: { say: 'Sorry, the calendar is down.' },
    },
    { heard: 'Yes please.', say: 'Done. Goodbye!' },
  ],
};

const FLOW_SCENARIO = { name: 'other', greeting: 'Hello from the other flow.' };

let emu: Emulator;
const audio = (n: number): Content['parts'][number] => ({ inlineData: { mimeType: 'audio/pcm;rate=16000', data: Buffer.alloc(320, n).toString('base64') } });
const GREET: Content = { role: 'user', parts: [{ text: 'The call has started: greet the caller.' }] };

before(async () => {
  emu = await startEmulator({
    port: 0,
    host: '127.0.0.1',
    requireApiKey: 'test-key',
    scenario: SCENARIO,
    scenarioForFlow: (flow) => scenarioFromObject(flow === 'other' ? FLOW_SCENARIO : SCENARIO),
  });
});
after(() => emu.close());

function model(baseUrl = emu.httpUrl, apiKey = 'test-key') {
  return new GeminiTextModel({ baseUrl, apiKey });
}

async function ask(contents: Content[], o: { base?: string; system?: string; tools?: boolean } = {}): Promise<TextChunk[]> {
  const out: TextChunk[] = [];
  const stream = model(o.base).stream({
    model: 'gemini-3.8-flash',
    systemInstruction: o.system ?? 'You are the receptionist.',
    contents,
    tools: o.tools === false ? [] : [{ name: 'check_availability', parameters: { type: 'OBJECT', properties: { service: { type: 'STRING' } } } }],
    signal: new AbortController().signal,
  });
  for await (const c of stream) out.push(c);
  return out;
}

const textOf = (chunks: TextChunk[]) => chunks.map((c) => (c.kind === 'text' ? c.text : '')).join('');

describe('emulator streamGenerateContent', () => {
  it('greets, answers a caller turn with text then a function call, and continues after the response', async () => {
    const greeting = await ask([GREET]);
    assert.equal(textOf(greeting), SCENARIO.greeting);
    assert.ok(greeting.filter((c) => c.kind === 'text').length > 1, 'streamed word by word');
    assert.equal(greeting.at(-1)!.kind, 'done');

    const history: Content[] = [GREET, { role: 'model', parts: [{ text: SCENARIO.greeting }] }, { role: 'user', parts: [audio(1)] }];
    const turn = await ask(history);
    assert.equal(textOf(turn), 'Let me check the calendar.');
    const call = turn.find((c) => c.kind === 'functionCall');
    assert.ok(call && call.kind === 'functionCall');
    assert.equal(call.name, 'check_availability');
    assert.deepEqual(call.args, { service: 'cleaning' });
    assert.ok(call.id, 'the call has an id');
    assert.equal(turn.indexOf(call), turn.length - 2, 'the call comes after the text, before done');

    history.push(
      { role: 'model', parts: [{ text: 'Let me check the calendar.' }, { functionCall: { id: call.id, name: call.name, args: call.args } }] },
      { role: 'user', parts: [{ functionResponse: { id: call.id, name: call.name, response: { output: { slots: ['Monday 9 am'] } } } }] },
    );
    assert.equal(textOf(await ask(history)), 'I have Monday 9 am open. Shall I book it?');

    const failed = [...history.slice(0, -1), { role: 'user' as const, parts: [{ functionResponse: { id: call.id, name: call.name, response: { error: 'down' } } }] }];
    assert.equal(textOf(await ask(failed)), 'Sorry, the calendar is down.');

    // A later turn, with the first caller turn already transcribed into text (as the cascade keeps its history).
    const later: Content[] = [
      GREET,
      { role: 'model', parts: [{ text: SCENARIO.greeting }] },
      { role: 'user', parts: [{ text: '(The caller said:) I would like to book a cleaning.' }] },
      { role: 'model', parts: [{ text: 'I have Monday 9 am open.' }] },
      { role: 'user', parts: [audio(2)] },
    ];
    assert.equal(textOf(await ask(later)), 'Done. Goodbye!');
  });

  it('answers the parallel transcription request with the scenario’s heard line for that audio', async () => {
    const history: Content[] = [GREET, { role: 'model', parts: [{ text: SCENARIO.greeting }] }, { role: 'user', parts: [audio(7)] }];
    const transcription = ask([{ role: 'user', parts: [audio(7)] }], { system: 'You transcribe phone calls. Write down exactly what the caller says.', tools: false });
    await ask(history);
    assert.equal(textOf(await transcription), 'I would like to book a cleaning.');
  });

  it('answers a request without tools whose instruction only mentions transcription from the scenario', async () => {
    const history: Content[] = [GREET, { role: 'model', parts: [{ text: SCENARIO.greeting }] }, { role: 'user', parts: [audio(3)] }];
    const system = 'You are the receptionist. Callers may ask for a transcription of the call.';
    assert.equal(textOf(await ask(history, { system, tools: false })), 'Let me check the calendar.');
  });

  it('routes /emulator/flows/{flow} to the flow’s scenario', async () => {
    assert.equal(textOf(await ask([GREET], { base: emulatorRestBaseForFlow(emu.httpUrl, 'other') })), FLOW_SCENARIO.greeting);
  });

  it('streams: the first word arrives while the rest is held back (a minute per word), and an abort ends it quietly', async () => {
    emu.streamGenerate.timing.perTokenMs = 60_000;
    try {
      const ac = new AbortController();
      const seen: TextChunk[] = [];
      const stream = model().stream({ model: 'gemini-3.8-flash', systemInstruction: '', contents: [GREET], tools: [], signal: ac.signal });
      for await (const c of stream) {
        seen.push(c);
        ac.abort();
      }
      assert.deepEqual(seen, [{ kind: 'text', text: 'Thank ' }]);
    } finally {
      emu.streamGenerate.timing.perTokenMs = 0;
    }
  });

  it('refuses a wrong key (403: rejected) and reports queued faults with their codes', async () => {
    const run = async (p: Promise<unknown>, code: string) => {
      await assert.rejects(p, (err: unknown) => err instanceof CallbridgeError && err.code === code);
    };
    const drain = async (m: GeminiTextModel) => {
      for await (const _ of m.stream({ model: 'gemini-3.8-flash', systemInstruction: '', contents: [GREET], tools: [], signal: new AbortController().signal }));
    };
    await run(drain(model(emu.httpUrl, 'wrong')), 'CB_CASCADE_MODEL_REJECTED');
    emu.streamGenerate.inject([{ status: 429, retryDelay: '0.5s' }, { status: 'broken' }]);
    await run(drain(model()), 'CB_CASCADE_MODEL_UNAVAILABLE');
    await run(drain(model()), 'CB_CASCADE_MODEL_BAD_STREAM');
    await run(ask([{ role: 'user', parts: [] }]), 'CB_CASCADE_MODEL_REJECTED');
  });
});

describe('emulator text:synthesize', () => {
  it('renders speech as 8 kHz μ-law through the Cloud TTS client (WAV header removed)', async () => {
    const speech = new CloudSpeech({ baseUrl: emu.httpUrl, apiKey: 'test-key' });
    const out = await speech.synthesize('Let me check the calendar.', { voice: 'en-US-Neural2-F', signal: new AbortController().signal });
    assert.deepEqual(out.format, { encoding: 'mulaw', sampleRateHz: 8000 });
    assert.ok(out.audio.length > 8000 * 0.5, `about a second of audio, got ${out.audio.length} bytes`);
    assert.notEqual(String.fromCharCode(...out.audio.subarray(0, 4)), 'RIFF');
    const pcm = decodeMulaw(out.audio);
    let peak = 0;
    for (const s of pcm) peak = Math.max(peak, Math.abs(s));
    assert.ok(peak > 1000, `speech, not silence (peak ${peak})`);
  });

  it('renders Gemini TTS (a one-word voice) as PCM16 at 24 kHz', async () => {
    const out = await new GeminiSpeech({ baseUrl: emulatorRestBaseForFlow(emu.httpUrl, 'other'), apiKey: 'test-key' }).synthesize('One moment please.', { voice: 'Kore', signal: new AbortController().signal });
    assert.deepEqual(out.format, { encoding: 'pcm16', sampleRateHz: 24000 });
    const pcm = new Int16Array(out.audio.buffer.slice(out.audio.byteOffset, out.audio.byteOffset + out.audio.byteLength));
    assert.ok(pcm.length > 24000 * 0.4, `speech, got ${pcm.length} samples`);
    assert.ok(pcm.some((s) => Math.abs(s) > 1000), 'not silence');
  });

  it('reports faults and a wrong key with the TTS codes', async () => {
    emu.synthesize.inject([503]);
    const speech = new CloudSpeech({ baseUrl: emu.httpUrl, apiKey: 'test-key' });
    const o = { voice: 'en-US-Neural2-F', signal: new AbortController().signal };
    await assert.rejects(speech.synthesize('Hi there.', o), (e: unknown) => e instanceof CallbridgeError && e.code === 'CB_CASCADE_TTS_UNAVAILABLE');
    await assert.rejects(new CloudSpeech({ baseUrl: emu.httpUrl, apiKey: 'nope' }).synthesize('Hi there.', o), (e: unknown) => e instanceof CallbridgeError && e.code === 'CB_CASCADE_TTS_REJECTED');
  });
});
