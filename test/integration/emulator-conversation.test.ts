import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fitSine } from '../../src/audio/analysis.js';
import { SpeechSynth, startEmulator, type Emulator, type ScenarioInput } from '../../src/emulator/index.js';
import { FAST, MODEL_25, RawClient, outputAudio, silence, speech, summarize, transcript } from './emulator-harness.js';

const SCENARIO: ScenarioInput = {
  name: 'conversation-test',
  greeting: 'Hello, dental office.',
  turns: [
    { heard: 'I would like a cleaning.', say: { toneHz: 1000, durationMs: 600 } },
    {
      heard: 'Is Tuesday free?',
      say: { toneHz: 500, durationMs: 200 },
      toolCalls: [{ name: 'check_availability', args: { day: 'tuesday' } }],
      afterTool: { say: 'Tuesday at {{output.slots.0}} works.' },
      afterToolError: { say: 'Sorry, {{error}}.' },
    },
    { heard: 'Thanks, bye.', say: { toneHz: 300, durationMs: 20000 } },
    { match: 'pressed 0', say: { toneHz: 800, durationMs: 100 } },
  ],
  endOfScenario: { mode: 'repeat', say: { toneHz: 200, durationMs: 100 } },
};

const SETUP = {
  model: MODEL_25,
  generationConfig: { responseModalities: ['AUDIO'] },
  inputAudioTranscription: {},
  outputAudioTranscription: {},
  realtimeInputConfig: { automaticActivityDetection: { silenceDurationMs: 200, prefixPaddingMs: 20 } },
};

/** One caller utterance: speech then enough silence for end-of-speech. */
function utterance(client: RawClient, ms = 300): void {
  client.sendAudio(speech(ms));
  client.sendAudio(silence(300));
}

describe('emulator conversation (raw ws client)', () => {
  let tts: SpeechSynth;
  let emulator: Emulator;

  before(async () => {
    tts = new SpeechSynth();
    emulator = await startEmulator({ scenario: SCENARIO, timing: FAST, tts });
  });
  after(async () => {
    await emulator.close();
    await tts.close();
  });

  it('greets on clientContent with synthesized 24 kHz speech, transcription, generationComplete, turnComplete', async () => {
    const client = await RawClient.connect(`${emulator.url}?key=test`);
    try {
      await client.setup(SETUP);
      client.send({ clientContent: { turns: [{ role: 'user', parts: [{ text: 'Greet the caller.' }] }], turnComplete: true } });
      await client.waitFor((m) => m.serverContent?.turnComplete, { timeoutMs: 10000 });
      assert.ok(client.frames.every((f) => f.binary), 'every server message is a binary frame');
      const msgs = client.messages;
      const audioParts = msgs.flatMap((m) => m.serverContent?.modelTurn?.parts ?? []);
      assert.ok(audioParts.length > 5);
      for (const p of audioParts) assert.equal(p.inlineData.mimeType, 'audio/pcm;rate=24000');
      const audio = outputAudio(msgs);
      const seconds = audio.length / 24000;
      assert.ok(seconds > 0.6 && seconds < 4, `greeting lasts ${seconds} s`);
      assert.equal(transcript(msgs), 'Hello, dental office.');
      const seq = summarize(msgs);
      assert.deepEqual(seq.slice(-2), ['generationComplete', 'turnComplete']);
      assert.ok(seq.indexOf('outputTranscription') > seq.indexOf('audio'), 'transcription is interleaved with audio');
      assert.equal(msgs.filter((m) => m.serverContent?.inputTranscription).length, 0, 'text input is not transcribed');
    } finally {
      client.close();
    }
  });

  it('answers a caller utterance (16 kHz audio in, VAD) with the next turn: inputTranscription, 24 kHz tone out', async () => {
    const client = await RawClient.connect(emulator.url, { 'x-goog-api-key': 'test' });
    try {
      await client.setup(SETUP);
      utterance(client);
      await client.waitFor((m) => m.serverContent?.turnComplete);
      const msgs = client.messages;
      assert.equal(msgs.find((m) => m.serverContent?.inputTranscription)?.serverContent.inputTranscription.text, 'I would like a cleaning.');
      const audio = outputAudio(msgs);
      assert.equal(audio.length, 24000 * 0.6, '600 ms at 24 kHz');
      const fit = fitSine(audio, 1000, 24000, 0, audio.length);
      assert.ok(fit.thdnDb > 60, `1 kHz tone arrives intact (THD+N ${fit.thdnDb.toFixed(1)} dB)`);
      assert.ok(Math.abs(fit.amplitude - 16384) < 2);
      const chunks = msgs.filter((m) => m.serverContent?.modelTurn);
      assert.equal(chunks.length, 15, '40 ms chunks');
      assert.deepEqual(summarize(msgs).slice(-2), ['generationComplete', 'turnComplete']);
    } finally {
      client.close();
    }
  });

  it('makes a tool call, waits for the response by id, then speaks afterTool templated with the result', async () => {
    const client = await RawClient.connect(`${emulator.url}?key=test`);
    try {
      await client.setup(SETUP);
      utterance(client);
      await client.waitFor((m) => m.serverContent?.turnComplete);
      const from = client.messages.length;
      utterance(client);
      const call = await client.waitFor((m) => m.toolCall, { from });
      const fc = call.toolCall.functionCalls[0];
      assert.equal(fc.name, 'check_availability');
      assert.deepEqual(fc.args, { day: 'tuesday' });
      assert.match(fc.id, /^function-call-\d{19}$/);
      assert.equal(client.messages.slice(from).filter((m) => m.serverContent?.turnComplete).length, 0, 'no turnComplete while the call is pending');
      client.send({ toolResponse: { functionResponses: [{ id: fc.id, name: fc.name, response: { output: { slots: ['10:30', '14:00'] } } }] } });
      await client.waitFor((m) => m.serverContent?.turnComplete, { from, timeoutMs: 10000 });
      const afterCall = client.messages.slice(client.messages.indexOf(call));
      assert.equal(transcript(afterCall), 'Tuesday at 10:30 works.');
      assert.deepEqual(summarize(afterCall).slice(-2), ['generationComplete', 'turnComplete']);
    } finally {
      client.close();
    }
  });

  it('closes 1008 "Requested entity was not found." for a tool response with an unknown id', async () => {
    const client = await RawClient.connect(`${emulator.url}?key=test`);
    await client.setup(SETUP);
    utterance(client);
    await client.waitFor((m) => m.serverContent?.turnComplete);
    utterance(client);
    await client.waitFor((m) => m.toolCall);
    client.send({ toolResponse: { functionResponses: [{ id: 'function-call-1', name: 'check_availability', response: { output: {} } }] } });
    assert.deepEqual(await client.waitClose(), { code: 1008, reason: 'Requested entity was not found.' });
  });

  it('barge-in: caller speech while the model talks → interrupted at once, turnComplete without generationComplete, then the caller’s turn', async () => {
    const client = await RawClient.connect(`${emulator.url}?key=test`);
    try {
      await client.setup(SETUP);
      for (let i = 0; i < 2; i++) {
        const from = client.messages.length;
        utterance(client);
        const tc = await client.waitFor((m) => m.toolCall || m.serverContent?.turnComplete, { from });
        if (tc.toolCall) {
          const fc = tc.toolCall.functionCalls[0];
          client.send({ toolResponse: { functionResponses: [{ id: fc.id, name: fc.name, response: { error: 'calendar offline' } }] } });
          await client.waitFor((m) => m.serverContent?.turnComplete, { from, timeoutMs: 10000 });
          assert.equal(transcript(client.messages.slice(from)), 'Sorry, calendar offline.', 'afterToolError with {{error}}');
        }
      }
      // Turn 3 is a 20 s tone (1 s at 20× pace): interrupt it once audio flows.
      const from = client.messages.length;
      utterance(client);
      await client.waitFor((m) => m.serverContent?.modelTurn, { from });
      client.sendAudio(speech(200));
      await client.waitFor((m) => m.serverContent?.interrupted, { from });
      const turn = client.messages.slice(from);
      const seq = summarize(turn);
      const i = seq.indexOf('interrupted');
      assert.equal(seq[i + 1], 'turnComplete');
      assert.ok(!seq.slice(0, i + 2).includes('generationComplete'), 'an interrupted turn has no generationComplete');
      assert.ok(outputAudio(turn).length < 24000 * 20, 'audio stopped early');
      client.sendAudio(silence(300));
      await client.waitFor((m) => m.serverContent?.turnComplete, { from: from + turn.length });
      const record = emulator.sessions.at(-1)!;
      const interrupted = record.events.find((e) => e.type === 'interrupted')!;
      assert.ok((interrupted.audioSentMs as number) > 0 && (interrupted.audioSentMs as number) < 20000, 'records how much audio went out');
      assert.equal(outputAudio(client.messages.slice(from + turn.length)).length, 2400, 'then the end-of-scenario line (100 ms)');
    } finally {
      client.close();
    }
  });

  it('cancels a pending tool call when the caller interrupts: toolCallCancellation {ids}', async () => {
    const client = await RawClient.connect(`${emulator.url}?key=test`);
    try {
      await client.setup(SETUP);
      utterance(client);
      await client.waitFor((m) => m.serverContent?.turnComplete);
      utterance(client);
      const call = await client.waitFor((m) => m.toolCall);
      client.sendAudio(speech(200));
      const cancel = await client.waitFor((m) => m.toolCallCancellation);
      assert.deepEqual(cancel.toolCallCancellation.ids, [call.toolCall.functionCalls[0].id]);
      await client.waitFor((m) => m.serverContent?.interrupted);
      // A late response to the cancelled call is not an error.
      const fc = call.toolCall.functionCalls[0];
      client.send({ toolResponse: { functionResponses: [{ id: fc.id, name: fc.name, response: { output: {} } }] } });
      client.sendAudio(silence(300));
      await client.waitFor((m) => m.serverContent?.turnComplete, { from: client.messages.indexOf(cancel) + 2 });
      assert.equal(client.ws.readyState, client.ws.OPEN);
    } finally {
      client.close();
    }
  });

  it('takes text matching a `match` turn (DTMF) and supports manual activityStart/activityEnd', async () => {
    const client = await RawClient.connect(`${emulator.url}?key=test`);
    try {
      await client.setup({ ...SETUP, realtimeInputConfig: { automaticActivityDetection: { disabled: true } } });
      client.send({ realtimeInput: { text: 'The caller pressed 0' } });
      await client.waitFor((m) => m.serverContent?.turnComplete);
      assert.equal(outputAudio(client.messages).length, 2400, 'the match turn (100 ms tone)');
      const from = client.messages.length;
      client.send({ realtimeInput: { activityStart: {} } });
      client.sendAudio(speech(200));
      client.send({ realtimeInput: { activityEnd: {} } });
      await client.waitFor((m) => m.serverContent?.turnComplete, { from });
      assert.equal(client.messages.find((m, i) => i >= from && m.serverContent?.inputTranscription)?.serverContent.inputTranscription.text, 'I would like a cleaning.');
    } finally {
      client.close();
    }
  });

  it('records what it received (per session, arrival time) and what it sent', async () => {
    const client = await RawClient.connect(`${emulator.url}?key=test`);
    await client.setup(SETUP);
    client.send({ realtime_input: { text: 'hello' } });
    await client.waitFor((m) => m.serverContent?.turnComplete, { timeoutMs: 10000 });
    client.close();
    const record = await emulator.waitForClose(emulator.sessions.length);
    const received = emulator.received(record.id);
    assert.deepEqual(received.map((r) => r.type), ['setup', 'realtimeInput']);
    assert.deepEqual(received[1]!.json, { realtime_input: { text: 'hello' } }, 'kept as the client spelled it');
    assert.ok(received[1]!.atMs >= received[0]!.atMs);
    assert.deepEqual(
      record.events.map((e) => e.type).filter((t) => t !== 'speechStart' && t !== 'speechEnd'),
      ['setupComplete', 'turnStart', 'generationComplete', 'turnComplete'],
    );
    assert.equal(record.close?.by, 'client');
    const stats = (await (await fetch(`${emulator.httpUrl}/emulator/stats`)).json()) as { counts: { sessions: number } };
    assert.equal(stats.counts.sessions, emulator.sessions.length);
  });
});
