import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CloudSpeech, GeminiSpeech, isCloudVoice, languageOf, stripWav, voiceRouter } from '../../src/cascade/tts.js';
import { mulawWav } from '../../src/emulator/tts-endpoint.js';
import { CallbridgeError } from '../../src/shared/errors.js';

function fakeFetch(status: number, json: unknown) {
  const calls: Array<{ url: string; body: Record<string, unknown>; headers: Record<string, string> }> = [];
  const f = (async (url: string, init: RequestInit) => {
    calls.push({ url, body: JSON.parse(String(init.body)) as Record<string, unknown>, headers: init.headers as Record<string, string> });
    return new Response(typeof json === 'string' ? json : JSON.stringify(json), { status });
  }) as unknown as typeof fetch;
  return { f, calls };
}

const signal = () => new AbortController().signal;

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof CallbridgeError && err.code === code);
}

describe('Cloud Text-to-Speech client', () => {
  it('asks for MULAW at 8000 Hz and returns the samples without the WAV header', async () => {
    const samples = new Uint8Array([0xff, 0x7f, 0x00, 0x80, 0x12]);
    const { f, calls } = fakeFetch(200, { audioContent: Buffer.from(mulawWav(samples)).toString('base64') });
    const out = await new CloudSpeech({ baseUrl: 'http://127.0.0.1:9/', apiKey: 'k', fetch: f }).synthesize('Hello there.', { voice: 'en-GB-Neural2-A', signal: signal() });
    assert.deepEqual([...out.audio], [...samples]);
    assert.deepEqual(out.format, { encoding: 'mulaw', sampleRateHz: 8000 });
    assert.equal(calls[0]!.url, 'http://127.0.0.1:9/v1/text:synthesize');
    assert.equal(calls[0]!.headers['x-goog-api-key'], 'k');
    assert.deepEqual(calls[0]!.body, {
      input: { text: 'Hello there.' },
      voice: { languageCode: 'en-GB', name: 'en-GB-Neural2-A' },
      audioConfig: { audioEncoding: 'MULAW', sampleRateHertz: 8000 },
    });
  });

  it('classifies 429 and 503 as unavailable, 400 and 403 and an answer without audio as rejected', async () => {
    const synth = (status: number, json: unknown) => new CloudSpeech({ baseUrl: 'http://x', apiKey: 'k', fetch: fakeFetch(status, json).f }).synthesize('Hi.', { voice: 'en-US-Neural2-F', signal: signal() });
    await rejectsWith(synth(429, { error: { code: 429, message: 'quota' } }), 'CB_CASCADE_TTS_UNAVAILABLE');
    await rejectsWith(synth(503, 'down'), 'CB_CASCADE_TTS_UNAVAILABLE');
    await rejectsWith(synth(400, { error: { code: 400, message: 'voice' } }), 'CB_CASCADE_TTS_REJECTED');
    await rejectsWith(synth(403, { error: { code: 403, message: 'disabled' } }), 'CB_CASCADE_TTS_REJECTED');
    await rejectsWith(synth(200, { audioContent: '' }), 'CB_CASCADE_TTS_REJECTED');
    await rejectsWith(synth(200, 'not json'), 'CB_CASCADE_TTS_REJECTED');
  });

  it('rejects with the abort reason when the sentence is cancelled', async () => {
    const ac = new AbortController();
    const f = ((_u: string, init: RequestInit) => new Promise((_r, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason)))) as unknown as typeof fetch;
    const p = new CloudSpeech({ baseUrl: 'http://x', apiKey: 'k', fetch: f }).synthesize('Hi.', { voice: 'en-US-Neural2-F', signal: ac.signal });
    ac.abort(new Error('barge-in'));
    await assert.rejects(p, /barge-in/);
  });
});

describe('stripWav', () => {
  it('passes raw bytes through, skips chunks before data, and refuses a WAV without data', () => {
    assert.deepEqual([...stripWav(new Uint8Array([1, 2, 3]))], [1, 2, 3]);
    const wav = mulawWav(new Uint8Array([9, 8, 7]));
    // Insert a LIST chunk of odd size (padded) before the data chunk.
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from([1, 2, 3, 0])]);
    const withList = Buffer.concat([Buffer.from(wav.subarray(0, 38)), list, Buffer.from(wav.subarray(38))]);
    assert.deepEqual([...stripWav(withList)], [9, 8, 7]);
    assert.throws(() => stripWav(wav.subarray(0, 38)), (e: unknown) => e instanceof CallbridgeError && e.code === 'CB_CASCADE_TTS_REJECTED');
  });
});

describe('Gemini TTS client and the voice router', () => {
  it('asks for AUDIO with the prebuilt voice and returns PCM16 at the answer rate', async () => {
    const pcm = Buffer.from([1, 0, 2, 0]);
    const { f, calls } = fakeFetch(200, { candidates: [{ content: { parts: [{ inlineData: { mimeType: 'audio/L16;codec=pcm;rate=24000', data: pcm.toString('base64') } }] } }] });
    const out = await new GeminiSpeech({ baseUrl: 'http://127.0.0.1:9', apiKey: 'k', model: 'tts-model', fetch: f }).synthesize('Hi.', { voice: 'Kore', signal: signal() });
    assert.deepEqual(out.format, { encoding: 'pcm16', sampleRateHz: 24000 });
    assert.deepEqual([...out.audio], [1, 0, 2, 0]);
    assert.equal(calls[0]!.url, 'http://127.0.0.1:9/v1beta/models/tts-model:generateContent');
    assert.deepEqual(calls[0]!.body.generationConfig, { responseModalities: ['AUDIO'], speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Kore' } } } });
  });

  it('routes language-region voices to Cloud and one-word voices to Gemini', async () => {
    const used: string[] = [];
    const fake = (name: string) => ({ synthesize: async () => (used.push(name), { audio: new Uint8Array(), format: { encoding: 'mulaw' as const, sampleRateHz: 8000 } }) });
    const router = voiceRouter(fake('cloud'), fake('gemini'));
    await router.synthesize('a', { voice: 'en-US-Neural2-F', signal: signal() });
    await router.synthesize('a', { voice: 'Kore', signal: signal() });
    await router.synthesize('a', { voice: 'cmn-CN-Wavenet-A', signal: signal() });
    assert.deepEqual(used, ['cloud', 'gemini', 'cloud']);
    assert.equal(isCloudVoice('Puck'), false);
    assert.equal(languageOf('cmn-CN-Wavenet-A'), 'cmn-CN');
  });
});
