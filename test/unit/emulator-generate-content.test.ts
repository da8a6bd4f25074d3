/**
 * The emulator's REST generateContent: a deterministic answer that fits the requested schema (and
 * callbridge's own answer check), Google's error shape for malformed requests, unknown models and
 * refused keys, and injected 429/503 faults (in process and over HTTP).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { generateContent, generateContentUrl } from '../../src/aftercall/gemini-rest.js';
import { analysisRequest } from '../../src/aftercall/prompt.js';
import { parseAnswer } from '../../src/aftercall/answer.js';
import { AnalysisSetting, type AnalysisConfig } from '../../src/flows/analysis-schema.js';
import type { StoredCallEvent } from '../../src/transcripts/store.js';
import { demoRecord } from '../support/transcripts-fixtures.js';

const config = AnalysisSetting.parse({
  fields: {
    callback_number: { type: 'string' },
    appointment_booked: { type: 'boolean' },
    reason: { type: 'enum', values: ['booking', 'billing', 'emergency', 'other'] },
    party_size: { type: 'number' },
    note: { type: 'string' },
  },
}) as AnalysisConfig;

const events: StoredCallEvent[] = [
  { kind: 'bot_utterance', text: 'Hello, how can I help?', heardMs: 1, sentMs: 1, interrupted: false, atMs: 500, seq: 1 },
  { kind: 'caller_utterance', text: 'I want a booking for 4 people, please call me back on +44 7700 900123', atMs: 2000, seq: 2 },
];

describe('emulator generateContent', () => {
  let emulator: Emulator;
  before(async () => (emulator = await startEmulator({ port: 0, host: '127.0.0.1', requireApiKey: 'good-key' })));
  after(async () => emulator.close());
  const opts = (over: Partial<{ apiKey: string; model: string }> = {}) => ({ baseUrl: emulator.httpUrl, apiKey: 'good-key', model: 'gemini-3.8-flash', ...over });
  const request = () => analysisRequest({ record: demoRecord({ outcome: 'completed' }), events, flow: undefined }, config);

  it('answers deterministically, with every required key and the declared fields from the transcript', async () => {
    const a = await generateContent(opts(), request());
    const b = await generateContent(opts(), request());
    assert.equal(a.kind, 'ok');
    assert.deepEqual(a, b);
    const parsed = parseAnswer((a as { text: string }).text, config.fields);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(parsed.answer.fields, { callback_number: '+447700900123', appointment_booked: true, reason: 'booking', party_size: 4, note: null });
    assert.equal(parsed.answer.followUp, true);
    assert.match(parsed.answer.summary, /booking for 4 people/);
  });

  it('refuses malformed requests, unknown models and bad keys in Google’s error shape', async () => {
    const post = async (body: string, model = 'gemini-3.8-flash', key = 'good-key') => {
      const res = await fetch(generateContentUrl(emulator.httpUrl, model), { method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body });
      return { status: res.status, body: (await res.json()) as { error: { code: number; status: string; message: string } } };
    };
    const good = request();
    for (const [body, pattern] of [
      ['{not json', /Invalid JSON payload/],
      [JSON.stringify({ ...good, contents: [] }), /contents is not specified/],
      [JSON.stringify({ ...good, prompt: 'x' }), /Unknown name "prompt"/],
      [JSON.stringify({ ...good, generationConfig: { ...good.generationConfig, responseSchema: { type: 'OBJECT' } } }), /cannot both be set/],
      [JSON.stringify({ ...good, generationConfig: { ...good.generationConfig, responseMimeType: 'text/plain' } }), /requires responseMimeType/],
    ] as const) {
      const r = await post(body);
      assert.equal(r.status, 400, body.slice(0, 60));
      assert.equal(r.body.error.status, 'INVALID_ARGUMENT');
      assert.match(r.body.error.message, pattern);
    }
    const missing = await generateContent(opts({ model: 'imagen-9' }), good);
    assert.equal(missing.kind, 'rejected');
    assert.match((missing as { message: string }).message, /404 NOT_FOUND/);
    const denied = await generateContent(opts({ apiKey: 'wrong' }), good);
    assert.deepEqual([denied.kind, (denied as { status: number }).status], ['rejected', 403]);
  });

  it('injects 429 with RetryInfo and 503, in order, then answers again', async () => {
    emulator.generate.inject([{ status: 429, retryDelay: '2.5s' }]);
    const res = await fetch(`${emulator.httpUrl}/emulator/generate-faults`, { method: 'POST', body: JSON.stringify({ faults: [{ status: 503 }] }) });
    assert.equal(res.status, 204);
    const first = await generateContent(opts(), request());
    assert.deepEqual(first, { kind: 'transient', status: 429, message: 'HTTP 429 RESOURCE_EXHAUSTED: You exceeded your current quota (emulated).', retryAfterMs: 2500 });
    const second = await generateContent(opts(), request());
    assert.deepEqual([second.kind, (second as { status: number }).status], ['transient', 503]);
    assert.equal((await generateContent(opts(), request())).kind, 'ok');
  });
});
