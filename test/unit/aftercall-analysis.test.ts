/**
 * Post-call analysis: the flow declaration and its JSON schema, answer validation, the request the
 * client sends (checked against @google/genai's types), and the job handler with a fake
 * generateContent: ok, skipped, invalid answer asked again once, backoff on 429/5xx with
 * RetryInfo, 400 refused at once, giving up after the attempt limit, the settled hook.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Content, GenerationConfig } from '@google/genai';
import { AnalysisSetting, type AnalysisConfig } from '../../src/flows/analysis-schema.js';
import { FlowFileSchema, type Flow } from '../../src/flows/schema.js';
import { parseAnswer } from '../../src/aftercall/answer.js';
import { analysisRequest, PROMPT_VERSION } from '../../src/aftercall/prompt.js';
import { analysisHandler, analysisKey } from '../../src/aftercall/analyse.js';
import { classifyError, readAnswer } from '../../src/aftercall/gemini-rest.js';
import { analysisEndpoint } from '../../src/aftercall/index.js';
import { openSqliteStore, type SqliteTranscriptStore } from '../../src/transcripts/sqlite-store.js';
import { SqliteAnalysisStore } from '../../src/transcripts/sqlite-analysis.js';
import type { Job } from '../../src/transcripts/after-call-store.js';
import type { CallEventBody } from '../../src/transcripts/types.js';
import { silentLogger } from '../../src/shared/log.js';
import { demoRecord } from '../support/transcripts-fixtures.js';

const T0 = Date.UTC(2026, 11, 4, 9);
const DECL = {
  fields: {
    callback_number: { type: 'string', description: 'Number the caller wants to be called back on' },
    appointment_booked: { type: 'boolean' },
    reason: { type: 'enum', values: ['booking', 'billing', 'emergency', 'other'] },
    party_size: { type: 'number' },
  },
};
const config = AnalysisSetting.parse(DECL) as AnalysisConfig;

const GOOD = {
  intent: 'book a table', summary: 'The caller booked a table for four. They asked to be called back.',
  fields: { callback_number: '+447700900123', appointment_booked: true, reason: 'booking', party_size: 4 },
  resolved: true, followUp: true, followUpReason: 'Call back to confirm the allergy note.', sentiment: 'positive',
};

describe('analysis declaration and schema', () => {
  it('builds a JSON schema with every key required and declared fields nullable', () => {
    const s = config.responseJsonSchema as { required: string[]; properties: Record<string, Record<string, unknown>> };
    assert.deepEqual(s.required, ['intent', 'summary', 'fields', 'resolved', 'followUp', 'followUpReason', 'sentiment']);
    const fields = s.properties.fields as { required: string[]; properties: Record<string, unknown> };
    assert.deepEqual(fields.required, ['callback_number', 'appointment_booked', 'reason', 'party_size']);
    assert.deepEqual(fields.properties.appointment_booked, { type: ['boolean', 'null'] });
    assert.deepEqual(fields.properties.reason, { anyOf: [{ type: 'string', enum: ['booking', 'billing', 'emergency', 'other'] }, { type: 'null' }] });
    assert.equal((fields.properties.callback_number as { description: string }).description, 'Number the caller wants to be called back on');
  });

  it('defaults to on with no fields, and false turns it off', () => {
    const base = { name: 'x', persona: 'p', greeting: 'g', stages: [{ name: 's', instructions: 'i' }] };
    const on = FlowFileSchema.parse(base).analysis;
    assert.ok(on !== false);
    assert.deepEqual(on.fields, {});
    assert.equal('fields' in (on.responseJsonSchema as { properties: object }).properties, false);
    assert.equal(FlowFileSchema.parse({ ...base, analysis: false }).analysis, false);
  });

  it('refuses bad declarations with messages at the field', () => {
    const problems = (v: unknown) => {
      const r = AnalysisSetting.safeParse(v);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.match(problems({ fields: { when: { type: 'date' } } })[0]!, /^fields\.when\.type: must be one of string, enum, boolean, number/);
    assert.match(problems({ fields: { reason: { type: 'enum' } } })[0]!, /^fields\.reason\.values: an enum field needs values/);
    assert.match(problems({ fields: { ok: { type: 'boolean', values: ['a'] } } })[0]!, /values apply only to type enum/);
    assert.match(problems({ fields: { 'Call Back': { type: 'string' } } })[0]!, /field name "Call Back"/);
    assert.match(problems({ fields: { r: { type: 'enum', values: ['a', 'a'] } } })[0]!, /lists a value twice/);
    assert.match(problems({ fields: { r: { type: 'enum', values: Array.from({ length: 30 }, (_, i) => `${'v'.repeat(55)}${i}`) } } })[0]!, /enum values total/);
    assert.match(problems('yes')[0]!, /must be false/);
    assert.match(problems({ feilds: {} })[0]!, /feilds|Unrecognized/i);
  });
});

describe('analysis answer', () => {
  it('accepts a complete answer and nulls, and drops a reason without follow-up', () => {
    assert.deepEqual(parseAnswer(JSON.stringify(GOOD), config.fields), { ok: true, answer: GOOD });
    const none = { ...GOOD, followUp: false, fields: { callback_number: null, appointment_booked: null, reason: null, party_size: null } };
    const r = parseAnswer(JSON.stringify(none), config.fields);
    assert.ok(r.ok);
    assert.equal(r.answer.followUpReason, null);
  });

  it('refuses missing fields, wrong types, unknown enum values and non-JSON', () => {
    const { party_size: _p, ...missing } = GOOD.fields;
    for (const bad of [
      { ...GOOD, fields: missing },
      { ...GOOD, fields: { ...GOOD.fields, party_size: 'four' } },
      { ...GOOD, fields: { ...GOOD.fields, reason: 'complaint' } },
      { ...GOOD, sentiment: 'angry' },
      { ...GOOD, resolved: undefined },
    ]) {
      const r = parseAnswer(JSON.stringify(bad), config.fields);
      assert.equal(r.ok, false, JSON.stringify(bad));
    }
    const r = parseAnswer('{"intent": "cut sh', config.fields);
    assert.deepEqual(r, { ok: false, problem: 'the answer is not JSON' });
  });
});

describe('generateContent wire', () => {
  it('sends a request of the REST shape (@google/genai types) with the flow schema', () => {
    const req = analysisRequest({ record: demoRecord({ outcome: 'completed' }), events: [{ kind: 'caller_utterance', text: 'hi', atMs: 1000, seq: 1 }], flow: undefined }, config);
    const typed: { contents: Content[]; systemInstruction: Content; generationConfig: GenerationConfig } = req;
    assert.equal(typed.generationConfig.responseMimeType, 'application/json');
    assert.equal(typed.generationConfig.responseJsonSchema, config.responseJsonSchema);
    assert.equal(typed.generationConfig.responseSchema, undefined); // the two are mutually exclusive
    assert.match(req.contents[0]!.parts[0]!.text, /\[00:01\] Caller: hi/);
    assert.match(req.contents[0]!.parts[0]!.text, /reason \(enum one of booking, billing, emergency, other\)/);
  });

  it('classifies replies: RetryInfo, refusals, truncation, blocks', () => {
    const quota = JSON.stringify({ error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'quota', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '54s' }] } });
    assert.deepEqual(classifyError(429, quota, null), { kind: 'transient', status: 429, message: 'HTTP 429 RESOURCE_EXHAUSTED: quota', retryAfterMs: 54_000 });
    assert.equal(classifyError(503, 'overloaded', '7').kind, 'transient');
    assert.equal((classifyError(503, 'overloaded', '7') as { retryAfterMs: number }).retryAfterMs, 7000);
    assert.equal(classifyError(404, '{"error":{"code":404,"status":"NOT_FOUND","message":"models/x is not found"}}', null).kind, 'rejected');
    assert.deepEqual(readAnswer(JSON.stringify({ candidates: [{ finishReason: 'MAX_TOKENS', content: { parts: [{ text: '{' }] } }] })), { kind: 'unusable', message: 'the answer was cut short (MAX_TOKENS)', blocked: false });
    assert.equal((readAnswer(JSON.stringify({ promptFeedback: { blockReason: 'SAFETY' } })) as { blocked: boolean }).blocked, true);
    assert.deepEqual(readAnswer(JSON.stringify({ candidates: [{ finishReason: 'STOP', content: { parts: [{ text: '{"a":' }, { text: '1}' }] } }] })), { kind: 'ok', text: '{"a":1}' });
  });
});

describe('analysis endpoint', () => {
  it('prefers GEMINI_API_BASE_URL, then a local Live URL, then Google with a key, then the built-in emulator', () => {
    const emu = 'ws://127.0.0.1:4100/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';
    assert.deepEqual(analysisEndpoint({ GEMINI_API_BASE_URL: 'http://127.0.0.1:9000', GEMINI_API_KEY: 'k' }, undefined), { baseUrl: 'http://127.0.0.1:9000', apiKey: 'k', model: 'gemini-3.8-flash' });
    assert.equal(analysisEndpoint({ GEMINI_LIVE_URL: 'wss://proxy.example.com/live', GEMINI_API_KEY: 'k' }, undefined).baseUrl, 'https://proxy.example.com');
    assert.equal(analysisEndpoint({ GEMINI_LIVE_URL: 'wss://generativelanguage.googleapis.com/ws/x', GEMINI_API_KEY: 'k' }, undefined).baseUrl, 'https://generativelanguage.googleapis.com');
    assert.equal(analysisEndpoint({ GEMINI_API_KEY: 'k', ANALYSIS_MODEL: 'gemini-3.5-flash-lite' }, emu).baseUrl, 'https://generativelanguage.googleapis.com');
    assert.equal(analysisEndpoint({ GEMINI_API_KEY: 'k', ANALYSIS_MODEL: 'gemini-3.5-flash-lite' }, emu).model, 'gemini-3.5-flash-lite');
    assert.deepEqual(analysisEndpoint({}, emu), { baseUrl: 'http://127.0.0.1:4100', apiKey: 'emulator', model: 'gemini-3.8-flash' });
  });
});

type Reply = { status: number; body: unknown; headers?: Record<string, string> } | 'network';

describe('analysis job', () => {
  let dir: string;
  let store: SqliteTranscriptStore;
  let analyses: SqliteAnalysisStore;
  let replies: Reply[];
  let requests: Array<{ url: string; key: string | null; body: Record<string, unknown> }>;
  let settled: string[];
  let now: number;
  let flow: Flow;

  const fakeFetch = (async (url: string, init: RequestInit) => {
    requests.push({ url, key: new Headers(init.headers).get('x-goog-api-key'), body: JSON.parse(String(init.body)) as Record<string, unknown> });
    const r = replies.shift();
    if (!r || r === 'network') throw new TypeError('fetch failed');
    return new Response(typeof r.body === 'string' ? r.body : JSON.stringify(r.body), { status: r.status, headers: r.headers ?? {} });
  }) as unknown as typeof fetch;
  const answer = (a: unknown) => ({ status: 200, body: { candidates: [{ finishReason: 'STOP', content: { role: 'model', parts: [{ text: JSON.stringify(a) }] } }] } });

  const handler = () =>
    analysisHandler({
      store, analyses, log: silentLogger(), nowMs: () => now, random: () => 0.5,
      flowOf: (name) => (name === flow.name ? flow : undefined),
      gemini: { baseUrl: 'http://127.0.0.1:9', apiKey: 'test-key', model: 'gemini-3.8-flash', fetch: fakeFetch },
      limits: { maxAttempts: 3, baseMs: 1000, maxDelayMs: 10_000, maxAgeMs: 3600_000 },
      onSettled: (sid) => void settled.push(sid),
    });

  async function seed(callSid: string, events: CallEventBody[], flowName = 'bookings'): Promise<Job> {
    await store.writeBatch({
      records: [demoRecord({ callSid, flow: flowName, outcome: 'completed', endedAt: T0, durationMs: 60_000 })],
      events: events.map((e, i) => ({ callSid, seq: i + 1, atMs: 1000 * (i + 1), kind: e.kind, bodyJson: JSON.stringify(e), ...('text' in e ? { text: e.text } : {}) })),
    });
    return { id: 1, kind: 'analysis', key: analysisKey(callSid), callSid, payload: null, attempts: 1, runAtMs: T0, createdAtMs: T0 };
  }
  const talk: CallEventBody[] = [
    { kind: 'bot_utterance', text: 'Bookings, how can I help?', heardMs: 900, sentMs: 900, interrupted: false },
    { kind: 'caller_utterance', text: 'A table for four tonight please, and call me back on 07700 900123.' },
  ];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cb-analyse-'));
    store = openSqliteStore({ dataDir: dir });
    analyses = new SqliteAnalysisStore(store.database);
    replies = [];
    requests = [];
    settled = [];
    now = T0;
    flow = { name: 'bookings', persona: 'You take table bookings.', analysis: config } as unknown as Flow;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores an ok analysis with model and prompt version, then runs the settled hook', async () => {
    const job = await seed('CA1', talk);
    replies.push(answer(GOOD));
    assert.deepEqual(await handler()(job), { kind: 'done' });
    const a = await analyses.getAnalysis('CA1');
    assert.equal(a?.status, 'ok');
    assert.equal(a?.summary, GOOD.summary);
    assert.deepEqual(a?.fields, GOOD.fields);
    assert.equal(a?.model, 'gemini-3.8-flash');
    assert.equal(a?.promptVersion, PROMPT_VERSION);
    assert.deepEqual(settled, ['CA1']);
    assert.equal(requests[0]!.url, 'http://127.0.0.1:9/v1beta/models/gemini-3.8-flash:generateContent');
    assert.equal(requests[0]!.key, 'test-key');
  });

  it('skips a call with no conversation, and a flow with analysis: false, without a request', async () => {
    const silent = await seed('CA2', [{ kind: 'bot_utterance', text: 'Hello?', heardMs: 1, sentMs: 1, interrupted: false }]);
    assert.deepEqual(await handler()(silent), { kind: 'done' });
    assert.equal((await analyses.getAnalysis('CA2'))?.status, 'skipped');
    flow = { ...flow, analysis: false } as Flow;
    const off = await seed('CA3', talk);
    await handler()(off);
    const a = await analyses.getAnalysis('CA3');
    assert.equal(a?.status, 'skipped');
    assert.match(a?.error ?? '', /analysis: false/);
    assert.equal(requests.length, 0);
    assert.deepEqual(settled, ['CA2', 'CA3']);
  });

  it('asks again once after an answer that does not fit, then stores it as failed', async () => {
    const job = await seed('CA4', talk);
    replies.push(answer({ ...GOOD, sentiment: 'furious' }), answer(GOOD));
    await handler()(job);
    assert.equal((await analyses.getAnalysis('CA4'))?.status, 'ok');
    assert.equal(requests.length, 2);

    const job2 = await seed('CA5', talk);
    replies.push(answer({ nope: 1 }), { status: 200, body: { candidates: [{ finishReason: 'MAX_TOKENS', content: { parts: [{ text: '{"in' }] } }] } });
    assert.deepEqual(await handler()(job2), { kind: 'done' });
    const a = await analyses.getAnalysis('CA5');
    assert.equal(a?.status, 'failed');
    assert.equal(a?.errorCode, 'CB_ANALYSIS_INVALID_ANSWER');
    assert.equal(requests.length, 4);
    assert.deepEqual(settled, ['CA4', 'CA5']);
  });

  it('retries 429 after RetryInfo and 5xx/network with backoff, then gives up as failed', async () => {
    const job = await seed('CA6', talk);
    const h = handler();
    replies.push({ status: 429, body: { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'quota', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '30s' }] } } });
    assert.deepEqual(await h(job), { kind: 'retry', atMs: T0 + 30_000, error: 'HTTP 429 RESOURCE_EXHAUSTED: quota' });
    replies.push({ status: 503, body: { error: { code: 503, status: 'UNAVAILABLE', message: 'overloaded' } } });
    assert.deepEqual(await h({ ...job, attempts: 2 }), { kind: 'retry', atMs: T0 + 2000, error: 'HTTP 503 UNAVAILABLE: overloaded' });
    replies.push('network');
    const last = await h({ ...job, attempts: 3 });
    assert.deepEqual(last, { kind: 'done' });
    const a = await analyses.getAnalysis('CA6');
    assert.equal(a?.status, 'failed');
    assert.equal(a?.errorCode, 'CB_ANALYSIS_UNAVAILABLE');
    assert.deepEqual(settled, ['CA6']); // only once, when it settled
    assert.equal(await analyses.getAnalysis('CA7'), undefined);
  });

  it('stores a 400/404 refusal as failed at once, with its code', async () => {
    const job = await seed('CA8', talk);
    replies.push({ status: 404, body: { error: { code: 404, status: 'NOT_FOUND', message: 'models/gemini-0 is not found' } } });
    assert.deepEqual(await handler()(job), { kind: 'done' });
    const a = await analyses.getAnalysis('CA8');
    assert.equal(a?.errorCode, 'CB_ANALYSIS_REJECTED');
    assert.match(a?.error ?? '', /404 NOT_FOUND/);
    assert.equal(requests.length, 1);
  });

  it('a final record queues its analysis job once, in the write that finalises it', async () => {
    await seed('CA9', talk);
    await seed('CA9', talk);
    await store.writeBatch({ records: [demoRecord({ callSid: 'CA10', outcome: 'in_progress' })], events: [] });
    const jobs = store.database.prepare('SELECT key FROM jobs ORDER BY key').all() as { key: string }[];
    assert.deepEqual(jobs.map((j) => j.key), ['analysis:CA9']);
  });
});
