/**
 * The Gemini Live client (GeminiLiveSession) against the emulator on 127.0.0.1: a turn with audio
 * in and out, a tool call answered by id, caller audio held during a blocking call, barge-in.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fitSine, ratioDb, rms, thdnDb } from '../../src/audio/analysis.js';
import type { ScenarioInput } from '../../src/emulator/index.js';
import type { FunctionDeclaration } from '../../src/gemini/index.js';
import { CallbridgeError } from '../../src/shared/errors.js';
import {
  CHUNK_SAMPLES,
  Events,
  closeTts,
  connect,
  realtimeInputs,
  recordedAudio,
  sendTurn,
  streamAudio,
  toneBursts,
  until,
  withEmulator,
} from './gemini-client-harness.js';

after(closeTts);

const GREETING = 'Hello, dental office.';

const CHECK_AVAILABILITY: FunctionDeclaration = {
  name: 'check_availability',
  description: 'Free appointment slots on a day.',
  parameters: { type: 'OBJECT', properties: { day: { type: 'STRING' } }, required: ['day'] },
  behavior: 'BLOCKING',
};

const TOOL_SCENARIO: ScenarioInput = {
  name: 'client-tool',
  turns: [
    {
      heard: 'Is Tuesday free?',
      toolCalls: [{ name: 'check_availability', args: { day: 'tuesday' } }],
      afterTool: { say: 'Tuesday at {{output.slots.0}} works.' },
      afterToolError: { say: { toneHz: 300, durationMs: 100 } },
    },
  ],
  endOfScenario: { mode: 'silent' },
};

describe('Gemini Live client ↔ emulator: conversation', () => {
  it('a turn with audio in and out: greeting (24 kHz speech + transcription), then caller audio → VAD → inputTranscription and a clean 1 kHz reply', async () => {
    const scenario: ScenarioInput = {
      name: 'client-turn',
      greeting: GREETING,
      turns: [{ heard: 'I would like a cleaning.', say: { toneHz: 1000, durationMs: 500 } }],
      endOfScenario: { mode: 'silent' },
    };
    await withEmulator({ scenario }, async (emulator) => {
      const session = await connect(emulator);
      const events = new Events(session);
      try {
        sendTurn(session, 'Greet the caller.');
        const greetingDone = await events.waitFor('turnComplete', { timeoutMs: 15000 });
        const greetingAudio = events.of('audio', 0, greetingDone);
        assert.ok(greetingAudio.length > 5, `greeting audio arrives in chunks (${greetingAudio.length})`);
        assert.ok(greetingAudio.every((a) => a.sampleRateHz === 24000), 'output audio is 24 kHz');
        const seconds = events.audio(0, greetingDone).length / 24000;
        assert.ok(seconds > 0.5 && seconds < 4, `greeting lasts ${seconds} s`);
        assert.ok(rms(events.audio(0, greetingDone)) > 300, 'greeting audio is not silence');
        assert.equal(events.transcript(0, greetingDone), GREETING);
        const greetingSeq = events.types(0, greetingDone + 1);
        assert.deepEqual(greetingSeq.slice(-2), ['generationComplete', 'turnComplete']);
        assert.ok(greetingSeq.indexOf('outputTranscription') > greetingSeq.indexOf('audio'), 'transcription follows audio');
        assert.equal(events.of('inputTranscription').length, 0, 'text input is not transcribed');

        // The caller speaks: tone bursts with silence, 20 ms chunks, faster than real time.
        const from = events.length;
        const caller = toneBursts();
        const chunks = streamAudio(session, caller);
        const input = await events.waitFor('inputTranscription', { from });
        assert.deepEqual(events.of('inputTranscription', input, input + 1)[0], { type: 'inputTranscription', text: 'I would like a cleaning.', finished: false });
        const done = await events.waitFor('turnComplete', { from });
        assert.ok(input < events.list.findIndex((e, i) => i >= from && e.type === 'audio'), 'inputTranscription comes before the reply audio');
        assert.deepEqual(events.types(from, done + 1).slice(-2), ['generationComplete', 'turnComplete']);

        // The reply: a 500 ms 1 kHz tone at amplitude 16384, checked as a signal, not counted.
        const reply = events.audio(from, done);
        assert.equal(reply.length, 12000, '500 ms at 24 kHz');
        const thdn = thdnDb(reply, 1000, 24000);
        assert.ok(thdn >= 40, `1 kHz reply arrives clean: THD+N ${thdn.toFixed(1)} dB`);
        const fit = fitSine(reply, 1000, 24000);
        assert.ok(Math.abs(ratioDb(fit.amplitude, 16384)) < 0.1, `level right: amplitude ${fit.amplitude.toFixed(0)}`);
        assert.ok(Math.abs(ratioDb(rms(reply), 16384 / Math.SQRT2)) < 0.1, 'RMS of a full-scale/2 sine');

        // What went over the wire: every caller chunk as realtimeInput.audio at 16 kHz, never mediaChunks.
        const sent = realtimeInputs(emulator, 1);
        assert.equal(sent.length, chunks);
        for (const { json } of sent) {
          assert.deepEqual(Object.keys(json), ['realtimeInput']);
          assert.deepEqual(Object.keys(json.realtimeInput), ['audio']);
          assert.equal(json.realtimeInput.audio.mimeType, 'audio/pcm;rate=16000');
        }
        assert.ok(!JSON.stringify(emulator.received(1)).includes('mediaChunks'), 'the client never sends mediaChunks');
        const echoed = sent.map(({ json }) => recordedAudio(json));
        assert.equal(echoed.reduce((n, a) => n + a.length, 0), caller.length, 'every caller sample arrived');
        assert.deepEqual(echoed[3], caller.subarray(3 * CHUNK_SAMPLES, 4 * CHUNK_SAMPLES), 'PCM16 little-endian, unchanged');
        const vad = emulator.session(1)!.events.filter((e) => e.type === 'vad').map((e) => e.speech);
        assert.deepEqual(vad, ['start', 'end'], 'one caller utterance by the emulator VAD');
      } finally {
        await session.close();
      }
    });
  });

  it('a tool call answered by id: toolCall → pendingToolCalls → sendToolResponse → afterTool templated with the result; unknown ids refused before sending', async () => {
    await withEmulator({ scenario: TOOL_SCENARIO }, async (emulator) => {
      const session = await connect(emulator, { tools: [CHECK_AVAILABILITY] });
      const events = new Events(session);
      try {
        sendTurn(session, 'Is Tuesday free?');
        const at = await events.waitFor('toolCall');
        const calls = events.of('toolCall', at, at + 1)[0]!.calls;
        assert.equal(calls.length, 1);
        const call = calls[0]!;
        assert.equal(call.name, 'check_availability');
        assert.deepEqual(call.args, { day: 'tuesday' });
        assert.match(call.id, /^function-call-\d{19}$/);
        assert.deepEqual(session.pendingToolCalls, [{ id: call.id, name: 'check_availability', blocking: true }]);

        // An unknown id is refused by the client: nothing is sent.
        assert.throws(
          () => session.sendToolResponse([{ id: 'function-call-0000000000000000000', response: { output: { slots: [] } } }]),
          (err: unknown) => err instanceof CallbridgeError && err.code === 'CB_GEMINI_TOOL_RESPONSE_INVALID' && /is not a pending tool call/.test(err.message),
        );
        // As is a response that is not { output } / { error }.
        assert.throws(() => session.sendToolResponse([{ id: call.id, response: { slots: [] } }]), (err: unknown) => (err as CallbridgeError).code === 'CB_GEMINI_TOOL_RESPONSE_INVALID');
        assert.equal(session.pendingToolCalls.length, 1, 'the call is still pending');

        const result = session.sendToolResponse([{ id: call.id, response: { output: { slots: ['10:30', '14:00'] } } }]);
        assert.deepEqual(result, { truncated: [], flushedAudioMs: 0 });
        assert.deepEqual(session.pendingToolCalls, []);
        const done = await events.waitFor('turnComplete', { from: at, timeoutMs: 15000 });
        assert.equal(events.transcript(at, done), 'Tuesday at 10:30 works.');
        assert.ok(events.audio(at, done).length > 24000 * 0.5, 'afterTool is spoken');
        assert.deepEqual(events.types(at, done + 1).slice(-2), ['generationComplete', 'turnComplete']);

        // The emulator got exactly one toolResponse (the refused ones never left), with the call's id.
        const responses = emulator.received(1).filter((m) => m.type === 'toolResponse');
        assert.equal(responses.length, 1);
        assert.deepEqual((responses[0]!.json as any).toolResponse.functionResponses, [
          { id: call.id, name: 'check_availability', response: { output: { slots: ['10:30', '14:00'] } } },
        ]);
        const recorded = emulator.session(1)!.events.find((e) => e.type === 'toolResponse');
        assert.deepEqual(recorded?.ids, [call.id]);
        // Answered ids are refused too.
        assert.throws(() => session.sendToolResponse([{ id: call.id, response: { output: {} } }]), /was already answered/);
      } finally {
        await session.close();
      }
    });
  });

  it('caller audio is held while a BLOCKING call is pending (the emulator would abort on it) and sent after the response, bounded', async () => {
    // audioDuringToolCall 'abort': realtime input during a pending call closes 1008 like the service.
    await withEmulator({ scenario: TOOL_SCENARIO, faults: { audioDuringToolCall: 'abort' } }, async (emulator) => {
      const session = await connect(emulator, { tools: [CHECK_AVAILABILITY] }, { heldAudioMaxMs: 200 });
      const events = new Events(session);
      try {
        sendTurn(session, 'Is Tuesday free?');
        const at = await events.waitFor('toolCall');
        const call = events.of('toolCall', at, at + 1)[0]!.calls[0]!;
        const receivedBefore = emulator.received(1).length;

        // 300 ms of quiet caller audio (below the VAD threshold), each 20 ms chunk marked with its number.
        const chunks: Int16Array[] = [];
        for (let i = 1; i <= 15; i++) chunks.push(new Int16Array(CHUNK_SAMPLES).fill(i));
        for (const c of chunks) session.sendAudio(c);
        assert.deepEqual(session.heldAudio, { heldMs: 200, droppedMs: 100 });

        // A barrier: a message that is never held. Once the emulator has it, any leaked audio would be there too.
        session.sendClientContent([{ role: 'user', parts: [{ text: '(caller is waiting)' }] }], false);
        await until(() => emulator.received(1).length > receivedBefore, 'the barrier message at the emulator');
        assert.deepEqual(emulator.received(1).slice(receivedBefore).map((m) => m.type), ['clientContent'], 'no audio reached the emulator during the call');

        const result = session.sendToolResponse([{ id: call.id, name: 'check_availability', response: { output: { slots: ['9:00'] } } }]);
        assert.equal(result.flushedAudioMs, 200, 'the newest 200 ms (the cap) are sent');
        assert.deepEqual(session.heldAudio, { heldMs: 0, droppedMs: 100 });
        await events.waitFor('turnComplete', { from: at, timeoutMs: 15000 });

        const sinceCall = emulator.received(1).slice(receivedBefore);
        const tr = sinceCall.findIndex((m) => m.type === 'toolResponse');
        assert.equal(tr, 1, 'the tool response goes first');
        const flushed = sinceCall.slice(tr + 1).filter((m) => m.type === 'realtimeInput').map((m) => [...recordedAudio(m.json)]);
        const samples = flushed.flat();
        assert.equal(samples.length, 200 * 16, '200 ms of held audio arrived after the response');
        const marks = [...new Set(samples)];
        assert.deepEqual(marks, [6, 7, 8, 9, 10, 11, 12, 13, 14, 15], 'oldest dropped, order kept');
        assert.ok(session.isOpen, 'no abort: the session is open');
        assert.deepEqual(emulator.session(1)!.faults, []);
        assert.equal(events.transcript(at), 'Tuesday at 9:00 works.');
      } finally {
        await session.close();
      }
    });
  });

  it('a pending call cancelled by the emulator (the caller typed instead): toolCallCancellation clears pendingToolCalls and releases the held audio', async () => {
    await withEmulator({ scenario: TOOL_SCENARIO, faults: { audioDuringToolCall: 'abort' } }, async (emulator) => {
      const session = await connect(emulator, { tools: [CHECK_AVAILABILITY] });
      const events = new Events(session);
      try {
        sendTurn(session, 'Is Tuesday free?');
        const at = await events.waitFor('toolCall');
        const call = events.of('toolCall', at, at + 1)[0]!.calls[0]!;
        for (let i = 0; i < 5; i++) session.sendAudio(new Int16Array(CHUNK_SAMPLES));
        assert.equal(session.heldAudio.heldMs, 100);
        const before = emulator.received(1).length;
        sendTurn(session, 'Never mind.'); // client content interrupts the turn
        const cancel = await events.waitFor('toolCallCancellation', { from: at });
        assert.deepEqual(events.of('toolCallCancellation', cancel, cancel + 1)[0]!.ids, [call.id]);
        assert.deepEqual(session.pendingToolCalls, []);
        assert.equal(session.heldAudio.heldMs, 0);
        await events.waitFor('interrupted', { from: at });
        await until(() => emulator.received(1).length >= before + 2, 'the released audio at the emulator');
        assert.deepEqual(emulator.received(1).slice(before).map((m) => m.type), ['clientContent', 'realtimeInput'], 'the held 100 ms, in one message, after the text');
        assert.throws(() => session.sendToolResponse([{ id: call.id, response: { output: {} } }]), /was already cancelled/);
        await events.waitFor('turnComplete', { from: cancel });
        assert.ok(session.isOpen);
      } finally {
        await session.close();
      }
    });
  });

  it('barge-in: caller speech while the emulator speaks → interrupted, no generationComplete for that turn, then turnComplete', async () => {
    const scenario: ScenarioInput = {
      name: 'client-barge-in',
      // 20 s of tone (1 s at 20× pace): long enough to be interrupted.
      turns: [{ heard: 'Tell me everything.', say: { toneHz: 300, durationMs: 20000 } }],
      endOfScenario: { mode: 'repeat', say: { toneHz: 500, durationMs: 100 } },
    };
    await withEmulator({ scenario }, async (emulator) => {
      const session = await connect(emulator);
      const events = new Events(session);
      try {
        sendTurn(session, 'Tell me everything.');
        await events.waitFor('audio');
        const from = events.length;
        streamAudio(session, toneBursts(2, 100, 40, 0));
        const interrupted = await events.waitFor('interrupted', { from });
        const done = await events.waitFor('turnComplete', { from: interrupted });
        const turn = events.types(0, done + 1);
        assert.equal(turn.at(-2), 'interrupted');
        assert.equal(turn.at(-1), 'turnComplete');
        assert.ok(!turn.includes('generationComplete'), `an interrupted turn has no generationComplete: ${turn.join(' ')}`);
        assert.ok(events.audio(0, interrupted).length < 24000 * 20, 'the model stopped before the end of its 20 s');

        // The caller's turn ends (silence) and is answered by the next reply.
        streamAudio(session, new Int16Array(16 * 400));
        const next = await events.waitFor('turnComplete', { from: done + 1 });
        assert.equal(events.audio(done + 1, next).length, 2400, 'the 100 ms end-of-scenario reply');
        const record = emulator.session(1)!;
        assert.ok(record.events.some((e) => e.type === 'interrupted'));
      } finally {
        await session.close();
      }
    });
  });
});
