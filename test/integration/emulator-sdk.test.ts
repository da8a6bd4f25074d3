/**
 * Cross-check against code we did not write: Google's own @google/genai SDK talks to the emulator
 * through its base-URL option, runs the default scenario (greeting, audio turns, a tool call
 * answered with sendToolResponse) and sees what it would see from the real service.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GoogleGenAI, Modality, Type, type LiveServerMessage, type Session } from '@google/genai';
import { pcm16ToBytes } from '../../src/audio/pcm.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { FAST, silence, speech } from './emulator-harness.js';

const MODEL = 'gemini-2.5-flash-native-audio-preview-12-2025';

class Inbox {
  readonly messages: LiveServerMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  #waiters = new Set<() => void>();

  push(m: LiveServerMessage): void {
    this.messages.push(m);
    for (const w of [...this.#waiters]) w();
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
    for (const w of [...this.#waiters]) w();
  }

  waitFor(test: (m: LiveServerMessage) => boolean, from = 0, timeoutMs = 10000): Promise<LiveServerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error('timed out')), timeoutMs);
      const check = () => {
        const hit = this.messages.slice(from).find(test);
        if (hit) return done(undefined, hit);
        if (this.closed) done(new Error(`closed ${this.closed.code} ${this.closed.reason}`));
      };
      const done = (err?: Error, m?: LiveServerMessage) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (err) reject(err);
        else resolve(m!);
      };
      this.#waiters.add(check);
      check();
    });
  }
}

function sendAudio(session: Session, samples: Int16Array): void {
  for (let i = 0; i < samples.length; i += 320) {
    const data = pcm16ToBytes(samples.subarray(i, i + 320)).toString('base64');
    session.sendRealtimeInput({ audio: { data, mimeType: 'audio/pcm;rate=16000' } });
  }
}

describe('@google/genai SDK against the emulator', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ timing: FAST, requireApiKey: 'test-key' });
  });
  after(() => emulator.close());

  it('connects via httpOptions.baseUrl and runs a conversation with audio and a tool call', async () => {
    const ai = new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: emulator.httpUrl } });
    const inbox = new Inbox();
    const session = await ai.live.connect({
      model: MODEL,
      config: {
        responseModalities: [Modality.AUDIO],
        speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Kore' } } },
        inputAudioTranscription: {},
        outputAudioTranscription: {},
        sessionResumption: {},
        realtimeInputConfig: { automaticActivityDetection: { silenceDurationMs: 250 } },
        tools: [
          {
            functionDeclarations: [
              {
                name: 'check_availability',
                description: 'Free appointment slots',
                parameters: { type: Type.OBJECT, properties: { service: { type: Type.STRING }, date: { type: Type.STRING } } },
              },
            ],
          },
        ],
      },
      callbacks: { onmessage: (m) => inbox.push(m), onclose: (e) => inbox.close(e.code, e.reason) },
    });
    try {
      assert.ok(session, 'connect() resolved: the SDK saw setupComplete');

      session.sendClientContent({ turns: 'The caller is on the line. Greet them.' });
      await inbox.waitFor((m) => m.serverContent?.turnComplete === true);
      assert.match(transcriptOf(inbox.messages), /Bright Smile Dental/);
      assert.ok((inbox.messages.find((m) => m.data)?.data ?? '').length > 0, 'LiveServerMessage.data carries audio');

      let from = inbox.messages.length;
      sendAudio(session, speech(400));
      sendAudio(session, silence(400));
      await inbox.waitFor((m) => m.serverContent?.turnComplete === true, from);
      const turn1 = inbox.messages.slice(from);
      assert.equal(turn1.find((m) => m.serverContent?.inputTranscription)?.serverContent?.inputTranscription?.text, "Hi, I'd like to book a cleaning, please.");
      assert.ok(turn1.some((m) => m.serverContent?.modelTurn?.parts?.[0]?.inlineData?.mimeType === 'audio/pcm;rate=24000'));

      from = inbox.messages.length;
      sendAudio(session, speech(400));
      sendAudio(session, silence(400));
      const call = await inbox.waitFor((m) => m.toolCall !== undefined, from);
      const fc = call.toolCall!.functionCalls![0]!;
      assert.equal(fc.name, 'check_availability');
      session.sendToolResponse({ functionResponses: [{ id: fc.id!, name: fc.name!, response: { output: { slots: ['9:00 AM', '2:30 PM'] } } }] });
      await inbox.waitFor((m) => m.serverContent?.turnComplete === true, inbox.messages.indexOf(call));
      assert.match(transcriptOf(inbox.messages.slice(inbox.messages.indexOf(call))), /Next Tuesday I have 9:00 AM or 2:30 PM\./);
      assert.ok(inbox.messages.some((m) => m.sessionResumptionUpdate?.resumable === true && m.sessionResumptionUpdate.newHandle));
    } finally {
      session.close();
    }

    // What the SDK put on the wire, as the emulator recorded it.
    const record = await emulator.waitForClose(emulator.sessions.length);
    assert.equal(record.path, '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent');
    const received = emulator.received(record.id);
    assert.ok(received.every((r) => !r.binary), 'the SDK sends text frames');
    const setup = received[0]!.json as { setup: Record<string, any> };
    assert.equal(setup.setup.model, `models/${MODEL}`);
    assert.deepEqual(setup.setup.generationConfig.responseModalities, ['AUDIO']);
    assert.ok(Object.keys(received[2]!.json as object).includes('realtimeInput'), 'camelCase realtimeInput.audio, not mediaChunks');
    assert.ok(received.some((r) => r.type === 'toolResponse'));
    assert.equal(record.close?.by, 'client');
  });

  it('a wrong key closes 1008; connect() never settles (an SDK trait), but onclose reports it', async () => {
    const ai = new GoogleGenAI({ apiKey: 'wrong', httpOptions: { baseUrl: emulator.httpUrl } });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      void ai.live.connect({ model: MODEL, config: { responseModalities: [Modality.AUDIO] }, callbacks: { onmessage: () => undefined, onclose: (e) => resolve({ code: e.code, reason: e.reason }) } });
    });
    const { code, reason } = await closed;
    assert.equal(code, 1008);
    assert.match(reason, /^Method doesn't allow unregistered callers/);
  });
});

function transcriptOf(messages: LiveServerMessage[]): string {
  return messages.map((m) => m.serverContent?.outputTranscription?.text ?? '').join('');
}
