import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startEmulator, type Emulator, type ScenarioInput } from '../../src/emulator/index.js';
import { FAST, MODEL_25, RawClient, outputAudio, silence, speech } from './emulator-harness.js';

const TONES: ScenarioInput = {
  greeting: { say: { toneHz: 440, durationMs: 80 } },
  turns: [{ heard: 'hi', say: { toneHz: 600, durationMs: 80 } }],
};
const AUDIO = { model: MODEL_25, generationConfig: { responseModalities: ['AUDIO'] } };
const PCM = Buffer.alloc(640).toString('base64');

async function rejectedWith(emulator: Emulator, messages: unknown[], waitSetup = true): Promise<{ code: number; reason: string }> {
  const client = await RawClient.connect(`${emulator.url}?key=k`);
  const [first, ...rest] = messages;
  client.send(first);
  if (waitSetup && rest.length > 0) await client.waitFor((m) => m.setupComplete);
  for (const m of rest) client.send(m);
  return client.waitClose();
}

describe('emulator wire rules', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ scenario: TONES, timing: FAST });
  });
  after(() => emulator.close());

  it('sends setupComplete {} in a binary frame and accepts snake_case input', async () => {
    const client = await RawClient.connect(`${emulator.url}?key=k`);
    try {
      client.send({ setup: { model: MODEL_25, generation_config: { response_modalities: ['AUDIO'] }, session_resumption: { handle: null } } });
      await client.waitFor((m) => m.setupComplete);
      assert.deepEqual(client.frames[0]!.json, { setupComplete: {} });
      assert.equal(client.frames[0]!.binary, true);
      client.send({ client_content: { turns: [{ role: 'user', parts: [{ text: 'hi' }] }], turn_complete: true } });
      await client.waitFor((m) => m.serverContent?.turnComplete);
      assert.equal(outputAudio(client.messages).length, 1920);
      assert.ok(client.frames.every((f) => f.binary));
    } finally {
      client.close();
    }
  });

  it('closes 1007 for realtimeInput.mediaChunks with the exact reason', async () => {
    const closed = await rejectedWith(emulator, [{ setup: AUDIO }, { realtimeInput: { mediaChunks: [{ mimeType: 'audio/pcm;rate=16000', data: PCM }] } }]);
    assert.deepEqual(closed, { code: 1007, reason: 'realtime_input.media_chunks is deprecated. Use audio, video, or text instead.' });
  });

  it('closes 1007 for two response modalities', async () => {
    const closed = await rejectedWith(emulator, [{ setup: { model: MODEL_25, generationConfig: { responseModalities: ['AUDIO', 'TEXT'] } } }]);
    assert.deepEqual(closed, { code: 1007, reason: 'Request contains an invalid argument.' });
  });

  it('closes 1007 for TEXT on a native-audio model', async () => {
    const closed = await rejectedWith(emulator, [{ setup: { model: MODEL_25, generationConfig: { responseModalities: ['TEXT'] } } }]);
    assert.deepEqual(closed, { code: 1007, reason: 'Cannot extract voices from a non-audio request.' });
  });

  it('closes 1007 naming an unknown setup field', async () => {
    const closed = await rejectedWith(emulator, [{ setup: { ...AUDIO, proactivty: { proactiveAudio: true } } }]);
    assert.deepEqual(closed, { code: 1007, reason: `Invalid JSON payload received. Unknown name "proactivty" at 'setup': Cannot find field.` });
  });

  it('closes 1008 for an unknown or Vertex-only model, truncated to 123 bytes', async () => {
    const closed = await rejectedWith(emulator, [{ setup: { model: 'models/gemini-live-2.5-flash-native-audio' } }]);
    assert.equal(closed.code, 1008);
    assert.ok(closed.reason.startsWith('models/gemini-live-2.5-flash-native-audio is not found for API version v1beta, or is not supported for bidiGenerateContent'));
    assert.equal(Buffer.byteLength(closed.reason), 123);
  });

  it('closes 1007 for a message before setup and for a second setup', async () => {
    assert.deepEqual(await rejectedWith(emulator, [{ realtimeInput: { text: 'hi' } }]), { code: 1007, reason: 'Request contains an invalid argument.' });
    assert.deepEqual(await rejectedWith(emulator, [{ setup: AUDIO }, { setup: AUDIO }]), { code: 1007, reason: 'Request contains an invalid argument.' });
  });

  it('closes 1007 for audio at 24 kHz or a non-PCM type (strict by default)', async () => {
    for (const mimeType of ['audio/pcm;rate=24000', 'audio/wav']) {
      const closed = await rejectedWith(emulator, [{ setup: AUDIO }, { realtimeInput: { audio: { mimeType, data: PCM } } }]);
      assert.deepEqual(closed, { code: 1007, reason: 'Request contains an invalid argument.' }, mimeType);
    }
  });

  it('closes 1007 for a message with two fields or none', async () => {
    const two = await rejectedWith(emulator, [{ setup: AUDIO }, { realtimeInput: { text: 'a' }, clientContent: { turnComplete: true } }]);
    assert.equal(two.code, 1007);
    assert.deepEqual(await rejectedWith(emulator, [{ setup: AUDIO }, {}]), { code: 1007, reason: 'Request contains an invalid argument.' });
  });

  it('answers 404 on other paths and accepts the SDK’s double-slash path', async () => {
    await assert.rejects(RawClient.connect(emulator.url.replace('BidiGenerateContent', 'Nope')), /HTTP 404/);
    const client = await RawClient.connect(emulator.url.replace('/ws/', '//ws/'));
    await client.setup(AUDIO);
    client.close();
  });
});

describe('emulator options on the wire', () => {
  it('requireApiKey: missing or wrong key → 1008 unregistered callers; header or ?key= accepted', async () => {
    const emulator = await startEmulator({ scenario: TONES, timing: FAST, requireApiKey: 'secret' });
    try {
      for (const url of [emulator.url, `${emulator.url}?key=wrong`]) {
        const client = await RawClient.connect(url);
        client.send({ setup: AUDIO });
        const closed = await client.waitClose();
        assert.equal(closed.code, 1008);
        assert.ok(closed.reason.startsWith("Method doesn't allow unregistered callers (callers without established identity)."));
        assert.ok(Buffer.byteLength(closed.reason) <= 123);
      }
      const byQuery = await RawClient.connect(`${emulator.url}?key=secret`);
      await byQuery.setup(AUDIO);
      byQuery.close();
      const byHeader = await RawClient.connect(emulator.url, { 'x-goog-api-key': 'secret' });
      await byHeader.setup(AUDIO);
      byHeader.close();
    } finally {
      await emulator.close();
    }
  });

  it('lenient audio (strictAudioMime: false) takes 24 kHz PCM and times VAD by the declared rate', async () => {
    const emulator = await startEmulator({ scenario: TONES, timing: FAST, strictAudioMime: false });
    try {
      const client = await RawClient.connect(`${emulator.url}?key=k`);
      await client.setup({ ...AUDIO, realtimeInputConfig: { automaticActivityDetection: { silenceDurationMs: 200 } } });
      // 16 kHz samples declared as 24 kHz: still speech then silence, just shorter in time.
      client.sendAudio(speech(300), 'audio/pcm;rate=24000');
      client.sendAudio(silence(400), 'audio/pcm;rate=24000');
      await client.waitFor((m) => m.serverContent?.turnComplete);
      const vad = emulator.sessions[0]!.events.filter((e) => e.type === 'vad');
      assert.deepEqual(vad.map((e) => e.speech), ['start', 'end']);
      assert.equal(vad[1]!.atMs, 200, '4800 samples at 24 kHz = 200 ms');
      client.close();
    } finally {
      await emulator.close();
    }
  });

  it('serves a TEXT-modality (half-cascade) model added through options.models with text parts', async () => {
    const emulator = await startEmulator({
      scenario: { greeting: 'Hello there, how can I help?' },
      timing: FAST,
      models: { 'half-cascade-test': { nativeAudio: false, family: '2.5' } },
    });
    try {
      const client = await RawClient.connect(`${emulator.url}?key=k`);
      await client.setup({ model: 'models/half-cascade-test', generationConfig: { responseModalities: ['TEXT'] } });
      client.send({ clientContent: { turns: [{ role: 'user', parts: [{ text: 'hi' }] }], turnComplete: true } });
      await client.waitFor((m) => m.serverContent?.turnComplete);
      const text = client.messages.map((m) => (m.serverContent?.modelTurn?.parts ?? []).map((p: { text?: string }) => p.text ?? '').join('')).join('');
      assert.equal(text, 'Hello there, how can I help?');
      assert.equal(outputAudio(client.messages).length, 0);
      client.close();
    } finally {
      await emulator.close();
    }
  });

  it('GET /emulator/stats and /emulator/sessions/:id serve JSON for out-of-process use', async () => {
    const emulator = await startEmulator({ scenario: TONES, timing: FAST });
    try {
      const client = await RawClient.connect(`${emulator.url}?key=k`);
      await client.setup(AUDIO);
      const stats = (await (await fetch(`${emulator.httpUrl}/emulator/stats`)).json()) as Record<string, any>;
      assert.equal(stats.counts.sessions, 1);
      assert.equal(stats.counts.active, 1);
      assert.equal(stats.sessions[0].model, 'gemini-2.5-flash-native-audio-preview-12-2025');
      const session = (await (await fetch(`${emulator.httpUrl}/emulator/sessions/1`)).json()) as Record<string, any>;
      assert.equal(session.received[0].type, 'setup');
      assert.equal((await fetch(`${emulator.httpUrl}/emulator/nope`)).status, 404);
      client.close();
    } finally {
      await emulator.close();
    }
  });

  it('a plain WebSocket text-frame client is fine too (frames are decoded regardless of type)', async () => {
    const emulator = await startEmulator({ scenario: TONES, timing: FAST });
    try {
      const ws = new WebSocket(`${emulator.url}?key=k`);
      await new Promise((r) => ws.once('open', r));
      ws.send(Buffer.from(JSON.stringify({ setup: AUDIO })), { binary: true });
      const first = await new Promise<{ data: Buffer; binary: boolean }>((r) => ws.once('message', (data, binary) => r({ data: data as Buffer, binary })));
      assert.equal(first.binary, true);
      assert.deepEqual(JSON.parse(first.data.toString()), { setupComplete: {} });
      ws.close();
    } finally {
      await emulator.close();
    }
  });
});
