/**
 * Cross-check of the family rules against code we did not write: Google's @google/genai SDK
 * (2.32.0, whose Live surface — Behavior, FunctionResponseScheduling, sendContextUpdate — is the
 * same as 3.3.0's) as a client of the emulator. On gemini-3.8-live: a session with audio, a
 * NON_BLOCKING function answered with `scheduling`, and sendContextUpdate accepted; then the
 * variants the real service refuses, each closed with its documented code (docs/gemini-live.md
 * §2.1, §2.4, §2.5, §6, §7).
 *
 * SDK trait (docs/gemini-live.md §8): in 2.32 `connect()` never settles when the server closes
 * before setupComplete, so the rejected setups are observed through `onclose`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Behavior, FunctionResponseScheduling, GoogleGenAI, Modality, Type, type LiveConnectConfig, type LiveServerMessage } from '@google/genai';
import { pcm16ToBytes } from '../../src/audio/pcm.js';
import { REASONS, startEmulator, type Emulator } from '../../src/emulator/index.js';
import { FAST, silence, speech } from './emulator-harness.js';

const M38 = 'gemini-3.8-live';
const M31 = 'gemini-3.1-flash-live-preview';
const M25 = 'gemini-2.5-flash-native-audio-preview-12-2025';

const CHECK = {
  name: 'check_availability',
  description: 'Free appointment slots',
  parameters: { type: Type.OBJECT, properties: { service: { type: Type.STRING }, date: { type: Type.STRING } } },
};

interface Closed {
  code: number;
  reason: string;
}

describe('@google/genai SDK against the emulator: model families', () => {
  let emulator: Emulator;
  let ai: GoogleGenAI;
  before(async () => {
    emulator = await startEmulator({ timing: FAST, requireApiKey: 'test-key' });
    ai = new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: emulator.httpUrl } });
  });
  after(() => emulator.close());

  /** Opens a session; messages and the close are collected. */
  async function open(model: string, config: LiveConnectConfig) {
    const messages: LiveServerMessage[] = [];
    let closed: Closed | undefined;
    const waiters = new Set<() => void>();
    const poke = () => waiters.forEach((w) => w());
    const session = await ai.live.connect({
      model,
      config,
      callbacks: {
        onmessage: (m) => {
          messages.push(m);
          poke();
        },
        onclose: (e) => {
          closed = { code: e.code, reason: e.reason };
          poke();
        },
      },
    });
    const waitFor = (test: (m: LiveServerMessage) => boolean, from = 0) =>
      new Promise<LiveServerMessage>((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error('timed out')), 10000);
        const check = () => {
          const hit = messages.slice(from).find(test);
          if (hit) finish(undefined, hit);
          else if (closed) finish(new Error(`closed ${closed.code} ${closed.reason}`));
        };
        const finish = (err?: Error, m?: LiveServerMessage) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve(m!);
        };
        waiters.add(check);
        check();
      });
    const sendAudio = (samples: Int16Array) => {
      for (let i = 0; i < samples.length; i += 320) {
        session.sendRealtimeInput({ audio: { data: pcm16ToBytes(samples.subarray(i, i + 320)).toString('base64'), mimeType: 'audio/pcm;rate=16000' } });
      }
    };
    return { session, messages, waitFor, sendAudio, closed: () => closed };
  }

  /** A setup the service refuses: the close, seen through onclose (connect() never settles in 2.32). */
  function refused(model: string, config: LiveConnectConfig): Promise<Closed> {
    return new Promise((resolve) => {
      void ai.live.connect({ model, config, callbacks: { onmessage: () => undefined, onclose: (e) => resolve({ code: e.code, reason: e.reason }) } });
    });
  }

  const text = (ms: LiveServerMessage[]) => ms.map((m) => m.serverContent?.outputTranscription?.text ?? '').join('');

  it('gemini-3.8-live: audio turns, a NON_BLOCKING call answered WHEN_IDLE after the model finished talking, sendContextUpdate accepted', async () => {
    const s = await open(M38, {
      responseModalities: [Modality.AUDIO],
      outputAudioTranscription: {},
      realtimeInputConfig: { automaticActivityDetection: { silenceDurationMs: 250 } },
      tools: [{ functionDeclarations: [{ ...CHECK, behavior: Behavior.NON_BLOCKING }] }],
    });
    try {
      s.session.sendClientContent({ turns: 'The caller is on the line. Greet them.' });
      await s.waitFor((m) => m.serverContent?.turnComplete === true);
      for (let turn = 0; turn < 2; turn++) {
        const from = s.messages.length;
        s.sendAudio(speech(400));
        s.sendAudio(silence(400));
        if (turn === 0) await s.waitFor((m) => m.serverContent?.turnComplete === true, from);
      }
      const call = await s.waitFor((m) => m.toolCall !== undefined);
      const at = s.messages.indexOf(call);
      // NON_BLOCKING: the model speaks on and ends its turn while the call is still open.
      await s.waitFor((m) => m.serverContent?.turnComplete === true, at);
      assert.equal(text(s.messages.slice(at)), 'Let me check the calendar for next Tuesday.');
      const fc = call.toolCall!.functionCalls![0]!;
      const resultFrom = s.messages.length;
      s.session.sendToolResponse({
        functionResponses: [{ id: fc.id!, name: fc.name!, response: { output: { slots: ['9:00 AM', '2:30 PM'] } }, scheduling: FunctionResponseScheduling.WHEN_IDLE }],
      });
      await s.waitFor((m) => m.serverContent?.turnComplete === true, resultFrom);
      assert.match(text(s.messages.slice(resultFrom)), /^Good news\. Next Tuesday I have 9:00 AM or 2:30 PM\./);
      // A 3.x serverContent may carry audio and its transcription together; the SDK passes both on.
      assert.ok(s.messages.some((m) => m.data && m.serverContent?.outputTranscription), 'audio + transcription in one message');

      s.session.sendContextUpdate({
        systemInstruction: 'You are now in the booking stage.',
        tools: { tools: [{ functionDeclarations: [{ ...CHECK, behavior: Behavior.BLOCKING }] }] },
      });
      const from = s.messages.length;
      s.sendAudio(speech(400));
      s.sendAudio(silence(400));
      await s.waitFor((m) => m.serverContent?.turnComplete === true, from);
      assert.equal(s.closed(), undefined, 'contextUpdate did not close the session');
    } finally {
      s.session.close();
    }
    const record = await emulator.waitForClose(emulator.sessions.length);
    const received = emulator.received(record.id);
    const setup = (received[0]!.json as { setup: any }).setup;
    assert.equal(setup.model, `models/${M38}`);
    assert.equal(setup.tools[0].functionDeclarations[0].behavior, 'NON_BLOCKING');
    assert.equal(setup.generationConfig.thinkingConfig, undefined);
    const response = received.find((r) => r.type === 'toolResponse')!.json as any;
    assert.equal(response.toolResponse.functionResponses[0].scheduling, 'WHEN_IDLE', 'scheduling sits beside response');
    const update = received.find((r) => r.type === 'contextUpdate')!.json as any;
    assert.deepEqual(update.contextUpdate.systemInstruction, { parts: [{ text: 'You are now in the booking stage.' }], role: 'user' });
    assert.equal(update.contextUpdate.tools.tools[0].functionDeclarations[0].behavior, 'BLOCKING');
    assert.deepEqual(record.events.filter((e) => e.type === 'contextUpdate').map((e) => e.tools), [['check_availability']]);
    assert.equal(record.close?.by, 'client');
  });

  it('gemini-3.8-live refuses thinking config, proactiveAudio: false, affective dialog (1007) and TEXT (1011)', async () => {
    const invalid = { code: 1007, reason: REASONS.invalidArgument };
    assert.deepEqual(await refused(M38, { responseModalities: [Modality.AUDIO], thinkingConfig: { thinkingBudget: 0 } }), invalid);
    assert.deepEqual(await refused(M38, { responseModalities: [Modality.AUDIO], proactivity: { proactiveAudio: false } }), invalid);
    assert.deepEqual(await refused(M38, { responseModalities: [Modality.AUDIO], enableAffectiveDialog: true }), invalid);
    assert.deepEqual(await refused(M38, { responseModalities: [Modality.AUDIO, Modality.TEXT] }), invalid);
    assert.deepEqual(await refused(M38, { responseModalities: [Modality.TEXT] }), { code: 1011, reason: REASONS.internal });
    const whys = emulator.sessions.slice(-5).map((r) => r.events.find((e) => e.type === 'close')?.why);
    assert.deepEqual(whys.slice(0, 3).map((w) => String(w).split(':')[0]), [
      'thinkingConfig is not supported by the 3.8 family',
      'proactive audio is always on in the 3.8 family',
      'enableAffectiveDialog was removed in the 3.8 family',
    ]);
  });

  it('mediaChunks (sendRealtimeInput({media})) closes 1007 on 3.8 with the documented reason', async () => {
    const s = await open(M38, { responseModalities: [Modality.AUDIO] });
    s.session.sendRealtimeInput({ media: { data: pcm16ToBytes(silence(20)).toString('base64'), mimeType: 'audio/pcm;rate=16000' } });
    await assert.rejects(s.waitFor(() => false), /closed 1007 realtime_input\.media_chunks is deprecated/);
    assert.deepEqual(s.closed(), { code: 1007, reason: REASONS.mediaChunks });
  });

  it('gemini-3.1-flash-live-preview refuses a NON_BLOCKING declaration; takes thinkingLevel and a BLOCKING one', async () => {
    assert.deepEqual(await refused(M31, { responseModalities: [Modality.AUDIO], tools: [{ functionDeclarations: [{ ...CHECK, behavior: Behavior.NON_BLOCKING }] }] }), {
      code: 1007,
      reason: REASONS.invalidArgument,
    });
    const s = await open(M31, { responseModalities: [Modality.AUDIO], thinkingConfig: { thinkingLevel: 'MINIMAL' as never }, tools: [{ functionDeclarations: [{ ...CHECK, behavior: Behavior.BLOCKING }] }] });
    assert.equal(s.closed(), undefined);
    s.session.close();
  });

  it('sendContextUpdate on a 2.5 model closes 1007 as an unknown field', async () => {
    const s = await open(M25, { responseModalities: [Modality.AUDIO], thinkingConfig: { thinkingBudget: 0 } });
    s.session.sendContextUpdate({ systemInstruction: 'Stage two.' });
    await assert.rejects(s.waitFor(() => false), /closed 1007/);
    assert.deepEqual(s.closed(), { code: 1007, reason: 'Invalid JSON payload received. Unknown name "contextUpdate": Cannot find field.' });
  });
});
