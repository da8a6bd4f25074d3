import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SseReader } from '../../src/cascade/sse.js';
import { GeminiTextModel, requestBody, streamGenerateContentUrl } from '../../src/cascade/text-model.js';
import type { TextChunk, TextModelRequest } from '../../src/cascade/types.js';
import { CallbridgeError } from '../../src/shared/errors.js';

const enc = new TextEncoder();

describe('SseReader', () => {
  it('reads events split anywhere, across CRLF, CR and LF line ends and a split UTF-8 character', () => {
    const body = 'data: {"a":"é1"}\r\n\r\n: a comment\nevent: x\ndata: {"a":2}\n\ndata: {"a":\rdata: 3}\r\r';
    const bytes = enc.encode(body);
    for (let cut = 1; cut < bytes.length; cut++) {
      const r = new SseReader();
      const events = [...r.push(bytes.subarray(0, cut)), ...r.push(bytes.subarray(cut)), ...r.end()];
      assert.deepEqual(events, [
        { kind: 'json', value: { a: 'é1' } },
        { kind: 'json', value: { a: 2 } },
        { kind: 'json', value: { a: 3 } },
      ], `cut at ${cut}`);
    }
  });

  it('reads byte by byte, and takes a last event without its blank line at the end', () => {
    const r = new SseReader();
    const out = [...enc.encode('data: {"n":1}\n\ndata: {"n":2}')].flatMap((b) => r.push(new Uint8Array([b])));
    assert.deepEqual(out, [{ kind: 'json', value: { n: 1 } }]);
    assert.deepEqual(r.end(), [{ kind: 'json', value: { n: 2 } }]);
  });

  it('reports malformed events and goes on with the next one', () => {
    const r = new SseReader();
    const out = r.push('data: {"broken\n\ndata: [1,2]\n\ndata: {"ok":true}\n\n');
    assert.equal(out.length, 3);
    assert.equal(out[0]!.kind, 'invalid');
    assert.match(out[0]!.kind === 'invalid' ? out[0]!.reason : '', /not JSON/);
    assert.equal(out[1]!.kind, 'invalid');
    assert.deepEqual(out[2], { kind: 'json', value: { ok: true } });
  });
});

function sse(...events: unknown[]): string {
  return events.map((e) => `data: ${typeof e === 'string' ? e : JSON.stringify(e)}\r\n\r\n`).join('');
}

/** A fetch answering `body` in `pieces` reads (or a status), recording the request. */
function fakeFetch(status: number, body: string, pieces = 3, headers: Record<string, string> = {}) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const f = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const bytes = enc.encode(body);
    const size = Math.ceil(bytes.length / pieces) || 1;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += size) c.enqueue(bytes.slice(i, i + size));
        c.close();
      },
    });
    return new Response(stream, { status, headers: { 'content-type': 'text/event-stream', ...headers } });
  }) as unknown as typeof fetch;
  return { f, calls };
}

function request(signal = new AbortController().signal): TextModelRequest {
  return {
    model: 'gemini-3.8-flash',
    systemInstruction: 'Be brief.',
    contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'audio/pcm;rate=16000', data: 'AAAA' } }] }],
    tools: [{ name: 'check', description: 'd', parameters: { type: 'OBJECT', properties: {} }, behavior: 'NON_BLOCKING' }],
    signal,
  };
}

async function collect(it: AsyncIterable<TextChunk>): Promise<TextChunk[]> {
  const out: TextChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<CallbridgeError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CallbridgeError, `expected a CallbridgeError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('GeminiTextModel', () => {
  it('posts the REST request and streams text, function calls (with signature) and done with usage', async () => {
    const { f, calls } = fakeFetch(200, sse(
      { candidates: [{ content: { role: 'model', parts: [{ text: 'Let me ' }] } }] },
      { candidates: [{ content: { role: 'model', parts: [{ text: 'thinking', thought: true }, { text: 'check.' }] } }] },
      { candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'check', args: { day: 'mon' } }, thoughtSignature: 'sig' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 4, thoughtsTokenCount: 2 } },
    ), 7);
    const model = new GeminiTextModel({ baseUrl: 'http://127.0.0.1:9/', apiKey: 'k', fetch: f });
    const chunks = await collect(model.stream(request()));
    assert.deepEqual(chunks, [
      { kind: 'text', text: 'Let me ' },
      { kind: 'text', text: 'check.' },
      { kind: 'functionCall', name: 'check', args: { day: 'mon' }, thoughtSignature: 'sig' },
      { kind: 'done', finishReason: 'STOP', usage: { promptTokens: 10, responseTokens: 6 } },
    ]);
    assert.equal(calls[0]!.url, 'http://127.0.0.1:9/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse');
    assert.equal((calls[0]!.init.headers as Record<string, string>)['x-goog-api-key'], 'k');
    const body = JSON.parse(String(calls[0]!.init.body)) as Record<string, unknown>;
    assert.deepEqual(body.systemInstruction, { parts: [{ text: 'Be brief.' }] });
    assert.deepEqual(body.tools, [{ functionDeclarations: [{ name: 'check', description: 'd', parameters: { type: 'OBJECT', properties: {} } }] }]);
  });

  it('omits tools and the system instruction when there are none', () => {
    assert.deepEqual(requestBody({ systemInstruction: '', contents: [], tools: [] }), { contents: [] });
    assert.equal(streamGenerateContentUrl('http://h', 'a/b'), 'http://h/v1beta/models/a%2Fb:streamGenerateContent?alt=sse');
  });

  it('classifies 429 (with RetryInfo) and 503 as unavailable, 400 and 404 as rejected', async () => {
    const e429 = JSON.stringify({ error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'quota', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' }] } });
    const err = await rejectsWith(collect(new GeminiTextModel({ apiKey: 'k', fetch: fakeFetch(429, e429).f }).stream(request())), 'CB_CASCADE_MODEL_UNAVAILABLE');
    assert.equal(err.retryable, true);
    assert.deepEqual(err.detail, { status: 429, retryAfterMs: 2000 });
    await rejectsWith(collect(new GeminiTextModel({ apiKey: 'k', fetch: fakeFetch(503, 'busy').f }).stream(request())), 'CB_CASCADE_MODEL_UNAVAILABLE');
    const rejected = await rejectsWith(collect(new GeminiTextModel({ apiKey: 'k', fetch: fakeFetch(400, '{"error":{"code":400,"message":"bad schema"}}').f }).stream(request())), 'CB_CASCADE_MODEL_REJECTED');
    assert.match(rejected.message, /bad schema/);
    assert.equal(rejected.retryable, false);
    await rejectsWith(collect(new GeminiTextModel({ apiKey: 'k', fetch: fakeFetch(404, 'nope').f }).stream(request())), 'CB_CASCADE_MODEL_REJECTED');
  });

  it('reports a network failure as unavailable', async () => {
    const f = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    await rejectsWith(collect(new GeminiTextModel({ apiKey: 'k', fetch: f }).stream(request())), 'CB_CASCADE_MODEL_UNAVAILABLE');
  });

  it('fails a malformed event, an error in the stream, a block and an unfinished answer after the text before them', async () => {
    const text = { candidates: [{ content: { parts: [{ text: 'Hi.' }] } }] };
    const cases: Array<[string, string]> = [
      [sse(text, '{"candid'), 'CB_CASCADE_MODEL_BAD_STREAM'],
      [sse(text, { error: { code: 503, status: 'UNAVAILABLE', message: 'overloaded' } }), 'CB_CASCADE_MODEL_UNAVAILABLE'],
      [sse(text, { candidates: [{ content: { parts: [] }, finishReason: 'SAFETY' }] }), 'CB_CASCADE_MODEL_BAD_STREAM'],
      [sse({ promptFeedback: { blockReason: 'OTHER' } }), 'CB_CASCADE_MODEL_BAD_STREAM'],
      [sse(text), 'CB_CASCADE_MODEL_BAD_STREAM'],
    ];
    for (const [body, code] of cases) {
      const seen: TextChunk[] = [];
      const run = async () => {
        for await (const c of new GeminiTextModel({ apiKey: 'k', fetch: fakeFetch(200, body).f }).stream(request())) seen.push(c);
      };
      await rejectsWith(run(), code);
      if (body.includes('Hi.')) assert.deepEqual(seen, [{ kind: 'text', text: 'Hi.' }], body);
    }
  });

  it('reports an answer that stalls between events as unavailable (short idle limit)', async () => {
    const f = (async (_url: string, init: RequestInit) => {
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(enc.encode(sse({ candidates: [{ content: { parts: [{ text: 'One.' }] } }] })));
          init.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
        },
      });
      return new Response(stream, { status: 200 });
    }) as unknown as typeof fetch;
    const seen: TextChunk[] = [];
    const run = async () => {
      for await (const c of new GeminiTextModel({ apiKey: 'k', fetch: f, idleTimeoutMs: 30 }).stream(request())) seen.push(c);
    };
    const err = await rejectsWith(run(), 'CB_CASCADE_MODEL_UNAVAILABLE');
    assert.match(err.message, /stalled/);
    assert.deepEqual(seen, [{ kind: 'text', text: 'One.' }]);
  });

  it('ends quietly (no error, no done) when the caller aborts mid-answer', async () => {
    const ac = new AbortController();
    const f = (async (_url: string, init: RequestInit) => {
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(enc.encode(sse({ candidates: [{ content: { parts: [{ text: 'One.' }] } }] })));
          init.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
        },
      });
      return new Response(stream, { status: 200 });
    }) as unknown as typeof fetch;
    const seen: TextChunk[] = [];
    for await (const c of new GeminiTextModel({ apiKey: 'k', fetch: f }).stream(request(ac.signal))) {
      seen.push(c);
      ac.abort();
    }
    assert.deepEqual(seen, [{ kind: 'text', text: 'One.' }]);
  });
});
