import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, type EmulatorOptions, type ScenarioInput } from '../../src/emulator/index.js';
import { FAST, MODEL_25, MODEL_25_OLD, MODEL_3, RawClient, outputAudio, silence, speech, summarize } from './emulator-harness.js';

const SCENARIO: ScenarioInput = {
  greeting: { say: { toneHz: 440, durationMs: 80 } },
  turns: [
    { heard: 'first', say: { toneHz: 500, durationMs: 80 } },
    { heard: 'second', say: { toneHz: 600, durationMs: 80 }, toolCalls: [{ name: 'lookup', args: {} }], afterTool: { say: { toneHz: 700, durationMs: 80 } } },
    { heard: 'third', say: { toneHz: 800, durationMs: 2000 } },
  ],
};
const RESUMABLE = { model: MODEL_25, generationConfig: { responseModalities: ['AUDIO'] }, inputAudioTranscription: {}, sessionResumption: {}, realtimeInputConfig: { automaticActivityDetection: { silenceDurationMs: 200 } } };

async function withEmulator(options: EmulatorOptions, fn: (url: string, emulator: Awaited<ReturnType<typeof startEmulator>>) => Promise<void>): Promise<void> {
  const emulator = await startEmulator({ scenario: SCENARIO, timing: FAST, ...options });
  try {
    await fn(`${emulator.url}?key=k`, emulator);
  } finally {
    await emulator.close();
  }
}

function greet(client: RawClient): void {
  client.send({ clientContent: { turns: [{ role: 'user', parts: [{ text: 'greet' }] }], turnComplete: true } });
}

function utterance(client: RawClient): void {
  client.sendAudio(speech(200));
  client.sendAudio(silence(300));
}

/** Waits for the turnComplete after message index `from` and returns the handle that follows it. */
async function handleAfterTurn(client: RawClient, from: number): Promise<string> {
  const tc = await client.waitFor((m) => m.serverContent?.turnComplete, { from });
  const h = await client.waitFor((m) => m.sessionResumptionUpdate?.newHandle, { from: client.messages.indexOf(tc) });
  return h.sessionResumptionUpdate.newHandle as string;
}

describe('emulator lifetimes and resumption', () => {
  it('goAway with timeLeft, then 1011 "Deadline expired…" on 2.5 and the 1008 GoAway close on 3.x', async () => {
    await withEmulator({ goAwayAfterMs: 20, goAwayTimeLeftMs: 100 }, async (url) => {
      for (const [model, code, reason] of [
        [MODEL_25, 1011, 'Deadline expired before operation could complete.'],
        [MODEL_3, 1008, 'Connection aborted because the client failed to close the connection after receiving a GoAway signal once the session durat'],
      ] as const) {
        const client = await RawClient.connect(url);
        await client.setup({ model });
        const goAway = await client.waitFor((m) => m.goAway);
        assert.deepEqual(goAway, { goAway: { timeLeft: '0.1s' } });
        assert.deepEqual(await client.waitClose(), { code, reason });
      }
    });
  });

  it('a client that closes on goAway gets no server close', async () => {
    await withEmulator({ goAwayAfterMs: 10, goAwayTimeLeftMs: 200 }, async (url, emulator) => {
      const client = await RawClient.connect(url);
      await client.setup({ model: MODEL_25 });
      await client.waitFor((m) => m.goAway);
      client.ws.close(1000);
      assert.equal((await client.waitClose()).code, 1000);
      const record = await emulator.waitForClose(1);
      assert.equal(record.close?.by, 'client');
      assert.deepEqual(record.faults, []);
    });
  });

  it('resumption: {} while generating, a handle when idle; resuming continues the scenario where it stopped', async () => {
    await withEmulator({}, async (url) => {
      const a = await RawClient.connect(url);
      await a.setup(RESUMABLE);
      await a.waitFor((m) => m.sessionResumptionUpdate?.resumable === true);
      greet(a);
      await handleAfterTurn(a, 1);
      const from = a.messages.length;
      utterance(a);
      const handle = await handleAfterTurn(a, from);
      const turn = summarize(a.messages.slice(from));
      assert.deepEqual(turn.slice(0, 3), ['resumptionUpdate{}', 'inputTranscription', 'audio']);
      assert.deepEqual(turn.slice(-3), ['generationComplete', 'turnComplete', 'handle']);
      a.close();
      await a.waitClose();

      const b = await RawClient.connect(url);
      await b.setup({ ...RESUMABLE, sessionResumption: { handle } });
      utterance(b);
      const heard = await b.waitFor((m) => m.serverContent?.inputTranscription);
      assert.equal(heard.serverContent.inputTranscription.text, 'second', 'the turn after the one before the handle');
      b.close();
    });
  });

  it('a stale handle closes 1008 "BidiGenerateContent session not found"; resuming while the old socket is open closes 1011', async () => {
    await withEmulator({}, async (url) => {
      const stale = await RawClient.connect(url);
      stale.send({ setup: { ...RESUMABLE, sessionResumption: { handle: 'CiQnot-a-real-handle' } } });
      assert.deepEqual(await stale.waitClose(), { code: 1008, reason: 'BidiGenerateContent session not found' });

      const a = await RawClient.connect(url);
      await a.setup(RESUMABLE);
      const h = await a.waitFor((m) => m.sessionResumptionUpdate?.newHandle);
      const b = await RawClient.connect(url);
      b.send({ setup: { ...RESUMABLE, sessionResumption: { handle: h.sessionResumptionUpdate.newHandle } } });
      assert.deepEqual(await b.waitClose(), { code: 1011, reason: 'Internal error encountered.' });
      a.close();
    });
  });
});

describe('emulator fault regimes', () => {
  it('seed 002: model A closes 1011 before any content at rate 1.0 (after an empty resumption update); model B at rate 0 is healthy', async () => {
    const faults = { internalErrorBeforeContent: { rate: { 'gemini-2.5-flash-native-audio-preview-12-2025': 1, '*': 0 }, delayMs: [20, 40] as const } };
    await withEmulator({ faults }, async (url, emulator) => {
      const a = await RawClient.connect(url);
      await a.setup(RESUMABLE);
      greet(a);
      assert.deepEqual(await a.waitClose(), { code: 1011, reason: 'Internal error encountered.' });
      assert.deepEqual(summarize(a.messages), ['setupComplete', 'handle', 'resumptionUpdate{}'], 'no content before the close');
      const delay = emulator.session(1)!.events.find((e) => e.type === 'fault')!.delayMs as number;
      assert.ok(delay >= 20 && delay <= 40);

      const b = await RawClient.connect(url);
      await b.setup({ ...RESUMABLE, model: MODEL_25_OLD });
      greet(b);
      await b.waitFor((m) => m.serverContent?.turnComplete);
      assert.ok(outputAudio(b.messages).length > 0);
      b.close();
      assert.deepEqual(emulator.stats().faultsInjected, { internalBeforeContent: 1 });
    });
  });

  it('seed 003: closes 1008 "Requested entity was not found." or 1011 right after a tool response', async () => {
    for (const [kind, code, reason] of [
      ['entity-not-found', 1008, 'Requested entity was not found.'],
      ['internal', 1011, 'Internal error encountered.'],
    ] as const) {
      await withEmulator({ faults: { closeAfterToolResponse: { rate: 1, kind } } }, async (url) => {
        const client = await RawClient.connect(url);
        await client.setup(RESUMABLE);
        greet(client);
        await client.waitFor((m) => m.serverContent?.turnComplete);
        utterance(client);
        await client.waitFor((m) => m.serverContent?.turnComplete, { from: client.messages.length });
        utterance(client);
        const call = await client.waitFor((m) => m.toolCall);
        const fc = call.toolCall.functionCalls[0];
        const before = client.messages.length;
        client.send({ toolResponse: { functionResponses: [{ id: fc.id, name: fc.name, response: { output: 'ok' } }] } });
        assert.deepEqual(await client.waitClose(), { code, reason });
        assert.equal(client.messages.length, before, 'nothing after the tool response');
      });
    }
  });

  it('caps concurrent sessions with the real quota 1011 (reason truncated to 123 bytes)', async () => {
    await withEmulator({ faults: { maxConcurrentSessions: 1 } }, async (url) => {
      const a = await RawClient.connect(url);
      await a.setup({ model: MODEL_25 });
      const b = await RawClient.connect(url);
      b.send({ setup: { model: MODEL_25 } });
      const closed = await b.waitClose();
      assert.equal(closed.code, 1011);
      assert.ok(closed.reason.startsWith("Quota exceeded for quota metric 'Bidi generate content active sessions' and limit 'Bidi generate content active sessions pe"));
      assert.equal(Buffer.byteLength(closed.reason), 123);
      a.close();
      await a.waitClose();
      const c = await RawClient.connect(url);
      await c.setup({ model: MODEL_25 });
      c.close();
    });
  });

  it('cuts the socket without a close frame after N ms (client sees 1006)', async () => {
    await withEmulator({ faults: { cutSocketAfterMs: 20 } }, async (url, emulator) => {
      const client = await RawClient.connect(url);
      await client.setup({ model: MODEL_25 });
      assert.equal((await client.waitClose()).code, 1006);
      assert.equal(emulator.session(1)!.close?.by, 'cut');
    });
  });

  it('cuts the socket part-way through a turn at a per-turn rate', async () => {
    await withEmulator({ faults: { cutSocketPerTurnRate: 1 } }, async (url, emulator) => {
      const client = await RawClient.connect(url);
      await client.setup(RESUMABLE);
      greet(client);
      assert.equal((await client.waitClose()).code, 1006);
      assert.ok(!summarize(client.messages).includes('turnComplete'));
      assert.deepEqual(emulator.session(1)!.faults, ['cutSocket']);
    });
  });

  it('sends garbage frames (non-JSON binary, JSON with wrong types) at a rate, around a valid conversation', async () => {
    await withEmulator({ faults: { garbageRate: 1, garbageKinds: ['binary'] } }, async (url, emulator) => {
      const client = await RawClient.connect(url);
      await client.setup({ model: MODEL_25 });
      greet(client);
      await client.waitFor((m) => m.serverContent?.turnComplete);
      const junk = client.frames.filter((f) => f.json === undefined);
      assert.equal(junk.length, client.messages.length, 'one garbage frame before each message');
      assert.ok(junk.every((f) => f.binary));
      assert.equal(emulator.stats().counts.garbageSent, junk.length);
      client.close();
    });
    await withEmulator({ faults: { garbageRate: 1, garbageKinds: ['wrong-types'] } }, async (url) => {
      const client = await RawClient.connect(url);
      client.send({ setup: { model: MODEL_25 } });
      await client.waitFor((m) => m.setupComplete !== undefined && typeof m.setupComplete === 'object');
      assert.ok(client.frames.length >= 2);
      const first = client.frames[0]!.json;
      assert.ok(first !== undefined && JSON.stringify(first) !== '{"setupComplete":{}}', 'a well-formed JSON frame with wrong types came first');
      client.close();
    });
  });

  it('audioDuringToolCall: "abort" closes 1008 "The operation was aborted." on audio while a call is pending', async () => {
    await withEmulator({ faults: { audioDuringToolCall: 'abort' } }, async (url) => {
      const client = await RawClient.connect(url);
      await client.setup(RESUMABLE);
      utterance(client);
      await client.waitFor((m) => m.serverContent?.turnComplete);
      utterance(client);
      await client.waitFor((m) => m.toolCall);
      client.sendAudio(silence(20));
      assert.deepEqual(await client.waitClose(), { code: 1008, reason: 'The operation was aborted.' });
    });
  });

  it('the same seed gives the same fault decisions', async () => {
    const run = async (seed: number) => {
      const outcomes: number[] = [];
      await withEmulator({ seed, faults: { internalErrorBeforeContent: { rate: 0.5, delayMs: [0, 5] } } }, async (url) => {
        for (let i = 0; i < 6; i++) {
          const client = await RawClient.connect(url);
          await client.setup({ model: MODEL_25 });
          greet(client);
          const end = await Promise.race([client.waitFor((m) => m.serverContent?.turnComplete).then(() => 0), client.closed.then((c) => c.code)]);
          outcomes.push(end);
          client.close();
        }
      });
      return outcomes;
    };
    const first = await run(42);
    assert.deepEqual(await run(42), first);
    assert.ok(first.includes(0) && first.includes(1011), `rate 0.5 over 6 sessions hit some: ${first}`);
  });
});
