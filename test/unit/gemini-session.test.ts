import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { GeminiLiveSession, type GeminiLiveSessionOptions, type SessionEvents } from '../../src/gemini/session.js';
import { LIVE_PATH } from '../../src/gemini/protocol.js';
import { CallbridgeError } from '../../src/shared/errors.js';
import { createLogger } from '../../src/shared/log.js';

// --- a tiny fake Gemini Live server ------------------------------------------------------------

type Json = Record<string, any>;

class FakeConn {
  readonly received: Json[] = [];
  readonly #waiters: ((m: Json) => void)[] = [];
  readonly closed: Promise<void>;

  constructor(readonly ws: WebSocket, readonly req: IncomingMessage) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as Json;
      const waiter = this.#waiters.shift();
      if (waiter) waiter(msg);
      else this.received.push(msg);
    });
    this.closed = new Promise((resolve) => ws.on('close', () => resolve()));
  }

  /** The next client message. */
  next(): Promise<Json> {
    const queued = this.received.shift();
    return queued ? Promise.resolve(queued) : new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Sends JSON in a binary frame, as the real server does. */
  send(msg: Json): void {
    this.ws.send(Buffer.from(JSON.stringify(msg)), { binary: true });
  }
}

interface Fake {
  url: string;
  connection(): Promise<FakeConn>;
  close(): Promise<void>;
}

const fakes: Fake[] = [];
after(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

/** mode 'setup': answer setup with setupComplete; 'silent': never answer; a number: refuse the upgrade with that HTTP status. */
async function fakeServer(mode: 'setup' | 'silent' | number = 'setup'): Promise<Fake> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    ...(typeof mode === 'number' ? { verifyClient: (_info: unknown, cb: (ok: boolean, code?: number) => void) => cb(false, mode) } : {}),
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const conns: FakeConn[] = [];
  const waiters: ((c: FakeConn) => void)[] = [];
  wss.on('connection', (ws, req) => {
    const conn = new FakeConn(ws, req);
    if (mode === 'setup') void conn.next().then((m) => m['setup'] && conn.send({ setupComplete: {} }));
    const w = waiters.shift();
    if (w) w(conn);
    else conns.push(conn);
  });
  const fake: Fake = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    connection: () => {
      const c = conns.shift();
      return c ? Promise.resolve(c) : new Promise((resolve) => waiters.push(resolve));
    },
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
  fakes.push(fake);
  return fake;
}

function captureLog(level = 'debug'): { lines: Json[]; log: ReturnType<typeof createLogger> } {
  const lines: Json[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { lines, log: createLogger({ level, destination }) };
}

function nextEvent<K extends keyof SessionEvents>(session: GeminiLiveSession, type: K): Promise<SessionEvents[K]> {
  return new Promise((resolve) => session.once(type, resolve));
}

async function connected(options: Partial<GeminiLiveSessionOptions> = {}): Promise<{ session: GeminiLiveSession; conn: FakeConn; fake: Fake }> {
  const fake = await fakeServer('setup');
  const pending = GeminiLiveSession.connect({ apiKey: 'test-key', url: fake.url, ...options });
  const conn = await fake.connection();
  const session = await pending;
  const setup = conn.received.length === 0 ? undefined : conn.received[0];
  assert.equal(setup, undefined, 'the setup message was consumed by the fake');
  return { session, conn, fake };
}

function decodeAudio(msg: Json): number[] {
  const b = Buffer.from(msg['realtimeInput']['audio']['data'], 'base64');
  return [...new Int16Array(b.buffer, b.byteOffset, b.byteLength / 2)];
}

const T = { timeout: 5000 };

// --- connecting --------------------------------------------------------------------------------

describe('GeminiLiveSession.connect', () => {
  it('sends setup, resolves on setupComplete; the key goes in the header, not the URL', T, async () => {
    const fake = await fakeServer('silent');
    const pending = GeminiLiveSession.connect({ apiKey: 'sekret-key-123', url: `${fake.url}?key=leak`, config: { voiceName: 'Puck' } });
    const conn = await fake.connection();
    assert.equal(conn.req.headers['x-goog-api-key'], 'sekret-key-123');
    assert.equal(conn.req.url, LIVE_PATH, 'bare origin gets the Live path; no key in the URL');
    const first = await conn.next();
    assert.equal(first['setup']['model'], 'models/gemini-3.8-live', 'the default model');
    assert.equal(first['setup']['generationConfig']['speechConfig']['voiceConfig']['prebuiltVoiceConfig']['voiceName'], 'Puck');
    conn.send({ setupComplete: { sessionId: 'sess-1' } });
    const session = await pending;
    assert.equal(session.isOpen, true);
    assert.equal(session.sessionId, 'sess-1');
    assert.ok(typeof session.setupLatencyMs === 'number');
    await session.close();
  });

  it('rejects at once with the classified error when the server closes before setupComplete', T, async (t) => {
    const fake = await fakeServer('silent');
    // The setup timer runs on a mocked clock that this test never advances: a rejection can only
    // come from the close, not from the 20 s setup timeout (however slow the machine).
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const pending = GeminiLiveSession.connect({ apiKey: 'k', url: fake.url, setupTimeoutMs: 20_000 });
    const conn = await fake.connection();
    await conn.next();
    conn.ws.close(1007, 'Cannot extract voices from a non-audio request.');
    await assert.rejects(pending, (err: unknown) => err instanceof CallbridgeError && err.code === 'CB_GEMINI_NON_AUDIO_REQUEST');
  });

  for (const status of [403, 404]) {
    it(`HTTP ${status} at the upgrade → CB_GEMINI_HANDSHAKE_FAILED with the status`, T, async () => {
      const fake = await fakeServer(status);
      await assert.rejects(
        GeminiLiveSession.connect({ apiKey: 'k', url: fake.url }),
        (err: unknown) => err instanceof CallbridgeError && err.code === 'CB_GEMINI_HANDSHAKE_FAILED' && err.detail?.['status'] === status && err.message.includes(String(status)),
      );
    });
  }

  it('connection refused → CB_GEMINI_HANDSHAKE_FAILED', T, async () => {
    const fake = await fakeServer('silent');
    await fake.close();
    await assert.rejects(GeminiLiveSession.connect({ apiKey: 'k', url: fake.url }), (err: unknown) => err instanceof CallbridgeError && err.code === 'CB_GEMINI_HANDSHAKE_FAILED');
  });

  it('times out without setupComplete and closes its socket', T, async () => {
    const fake = await fakeServer('silent');
    const pending = GeminiLiveSession.connect({ apiKey: 'k', url: fake.url, setupTimeoutMs: 150 });
    const conn = await fake.connection();
    await assert.rejects(pending, (err: unknown) => err instanceof CallbridgeError && err.code === 'CB_GEMINI_SETUP_TIMEOUT');
    await conn.closed; // no dangling socket
  });

  it('refuses an invalid config before opening any socket', T, async () => {
    let created = 0;
    await assert.rejects(
      GeminiLiveSession.connect({ apiKey: 'k', url: 'ws://127.0.0.1:9', config: { responseModalities: ['AUDIO', 'TEXT'] }, createWebSocket: () => (created++, undefined as never) }),
      (err: unknown) => err instanceof CallbridgeError && err.code === 'CB_GEMINI_SETUP_INVALID',
    );
    assert.equal(created, 0);
  });

  it('delivers events that arrive with setupComplete to listeners attached after connect', T, async () => {
    const fake = await fakeServer('silent');
    const pending = GeminiLiveSession.connect({ apiKey: 'k', url: fake.url });
    const conn = await fake.connection();
    await conn.next();
    conn.send({ setupComplete: {}, sessionResumptionUpdate: { newHandle: 'h0', resumable: true } });
    const session = await pending;
    const update = await nextEvent(session, 'sessionResumptionUpdate');
    assert.equal(update.newHandle, 'h0');
    await session.close();
  });
});

// --- sending -----------------------------------------------------------------------------------

describe('GeminiLiveSession sends', () => {
  it('sends audio as realtimeInput.audio, 16 kHz mime type, base64 of the exact samples', T, async () => {
    const { session, conn } = await connected();
    const samples = new Int16Array([0, 1, -1, 1234, -32768, 32767]);
    session.sendAudio(samples);
    const msg = await conn.next();
    assert.deepEqual(Object.keys(msg), ['realtimeInput']);
    assert.deepEqual(Object.keys(msg['realtimeInput']), ['audio']);
    assert.equal(msg['realtimeInput']['audio']['mimeType'], 'audio/pcm;rate=16000');
    assert.equal(msg['realtimeInput']['audio']['data'], Buffer.from(samples.buffer).toString('base64'));
    assert.deepEqual(decodeAudio(msg), [...samples]);
    // A view into a larger buffer sends only its own samples.
    const big = new Int16Array([9, 8, 7, 6, 5]);
    session.sendAudio(big.subarray(1, 3));
    assert.deepEqual(decodeAudio(await conn.next()), [8, 7]);
    await session.close();
  });

  it('sends text, client content and audioStreamEnd; refuses activity signals with automatic VAD', T, async () => {
    const { session, conn } = await connected();
    session.sendText('hello');
    assert.deepEqual(await conn.next(), { realtimeInput: { text: 'hello' } });
    session.sendClientContent([{ role: 'user', parts: [{ text: 'Say hello' }] }]);
    assert.deepEqual(await conn.next(), { clientContent: { turns: [{ role: 'user', parts: [{ text: 'Say hello' }] }], turnComplete: true } });
    session.sendAudioStreamEnd();
    assert.deepEqual(await conn.next(), { realtimeInput: { audioStreamEnd: true } });
    assert.throws(() => session.sendActivityStart(), (err: unknown) => err instanceof CallbridgeError && err.code === 'CB_GEMINI_SEND_REFUSED');
    assert.throws(() => session.sendActivityEnd(), (err: unknown) => err instanceof CallbridgeError && err.code === 'CB_GEMINI_SEND_REFUSED');
    assert.throws(
      () => session.sendClientContent([{ role: 'user', parts: [{ inlineData: { mimeType: 'audio/pcm', data: '', displayName: 'x' } as never }] }]),
      (err: unknown) => err instanceof CallbridgeError && /displayName/.test(err.message),
    );
    await session.close();
    assert.throws(() => session.sendText('late'), (err: unknown) => err instanceof CallbridgeError && err.code === 'CB_GEMINI_SEND_REFUSED');
    session.sendAudio(new Int16Array(10)); // dropped silently after close
  });

  it('sends activityStart/End when automatic VAD is disabled, and refuses audioStreamEnd', T, async () => {
    const { session, conn } = await connected({ config: { realtimeInputConfig: { automaticActivityDetection: { disabled: true } } } });
    session.sendActivityStart();
    assert.deepEqual(await conn.next(), { realtimeInput: { activityStart: {} } });
    session.sendActivityEnd();
    assert.deepEqual(await conn.next(), { realtimeInput: { activityEnd: {} } });
    assert.throws(() => session.sendAudioStreamEnd(), (err: unknown) => err instanceof CallbridgeError && err.code === 'CB_GEMINI_SEND_REFUSED');
    await session.close();
  });
});

// --- tool calls --------------------------------------------------------------------------------

/** On 2.5 (a declaration without behaviour is BLOCKING there). */
const TOOLS = { model: 'gemini-2.5-flash-native-audio-preview-12-2025', tools: [{ name: 'book', behavior: 'BLOCKING' as const }, { name: 'notify', behavior: 'NON_BLOCKING' as const }, { name: 'lookup' }] };

describe('GeminiLiveSession tool calls', () => {
  it('keeps pending calls and answers them by id, once', T, async () => {
    const { session, conn } = await connected({ config: TOOLS });
    conn.send({ toolCall: { functionCalls: [{ id: 'c1', name: 'book', args: { day: 'mon' } }, { id: 'c2', name: 'lookup', args: {} }] } });
    const call = await nextEvent(session, 'toolCall');
    assert.deepEqual(call.calls.map((c) => c.id), ['c1', 'c2']);
    assert.deepEqual(session.pendingToolCalls, [
      { id: 'c1', name: 'book', blocking: true },
      { id: 'c2', name: 'lookup', blocking: true },
    ]);

    const refusedWith = (fn: () => unknown, pattern: RegExp) =>
      assert.throws(fn, (err: unknown) => err instanceof CallbridgeError && err.code === 'CB_GEMINI_TOOL_RESPONSE_INVALID' && pattern.test(err.message));
    refusedWith(() => session.sendToolResponse([{ id: 'nope', response: { output: 1 } }]), /"nope" is not a pending tool call/);
    refusedWith(() => session.sendToolResponse([{ id: 'c1', response: { output: 1 } }, { id: 'c1', response: { output: 2 } }]), /twice/);
    refusedWith(() => session.sendToolResponse([{ id: 'c1', response: ['a'] as never }]), /plain JSON object/);
    refusedWith(() => session.sendToolResponse([{ id: 'c1', response: 'ok' as never }]), /plain JSON object/);
    refusedWith(() => session.sendToolResponse([{ id: 'c1', response: new Map() as never }]), /plain JSON object/);
    refusedWith(() => session.sendToolResponse([{ id: 'c1', response: { result: 1 } }]), /"output" or an "error"/);
    refusedWith(() => session.sendToolResponse([{ id: 'c1', name: 'lookup', response: { output: 1 } }]), /does not match/);
    refusedWith(() => session.sendToolResponse([]), /at least one/);

    const result = session.sendToolResponse([{ id: 'c1', response: { output: { booked: true } } }, { id: 'c2', response: { error: 'not found' } }]);
    assert.deepEqual(result.truncated, []);
    // The first thing the server received after the refusals is this response: nothing was sent before.
    assert.deepEqual(await conn.next(), {
      toolResponse: {
        functionResponses: [
          { id: 'c1', name: 'book', response: { output: { booked: true } } },
          { id: 'c2', name: 'lookup', response: { error: 'not found' } },
        ],
      },
    });
    assert.deepEqual(session.pendingToolCalls, []);
    refusedWith(() => session.sendToolResponse([{ id: 'c1', response: { output: 1 } }]), /already answered/);
    await session.close();
  });

  it('truncates an oversized response with a note and reports it', T, async () => {
    const { lines, log } = captureLog('info');
    const { session, conn } = await connected({ config: TOOLS, toolResponseMaxBytes: 1024, log });
    conn.send({ toolCall: { functionCalls: [{ id: 'big', name: 'lookup', args: {} }] } });
    await nextEvent(session, 'toolCall');
    const output = { rows: Array.from({ length: 200 }, (_, i) => ({ i, name: `row "${i}" ünïcode` })) };
    const result = session.sendToolResponse([{ id: 'big', response: { output } }]);
    assert.equal(result.truncated.length, 1);
    const t = result.truncated[0]!;
    assert.equal(t.originalBytes, Buffer.byteLength(JSON.stringify({ output })));
    assert.ok(t.sentBytes <= 1024 && t.sentBytes > 900, `sent ${t.sentBytes} bytes`);
    const sent = (await conn.next())['toolResponse']['functionResponses'][0];
    assert.equal(Buffer.byteLength(JSON.stringify(sent.response)), t.sentBytes);
    assert.ok(JSON.stringify({ output }).startsWith(sent.response.output));
    assert.match(sent.response.note, new RegExp(`truncated from ${t.originalBytes} to \\d+ bytes`));
    assert.equal(lines.filter((l) => /truncated/.test(l['msg'])).length, 1);
    await session.close();
  });

  it('holds caller audio while a blocking call is pending (bounded) and flushes it after the response', T, async () => {
    const { session, conn } = await connected({ config: TOOLS, heldAudioMaxMs: 200 });
    conn.send({ toolCall: { functionCalls: [{ id: 'b1', name: 'book', args: {} }] } });
    await nextEvent(session, 'toolCall');
    const chunk = new Int16Array(320); // 20 ms, reused like a real audio path does
    for (let i = 0; i < 20; i++) {
      chunk.fill(i + 1);
      session.sendAudio(chunk);
    }
    assert.deepEqual(session.heldAudio, { heldMs: 200, droppedMs: 200 });
    const result = session.sendToolResponse([{ id: 'b1', response: { output: 'ok' } }]);
    assert.equal(result.flushedAudioMs, 200);
    // Socket order proves no audio went out while the call was pending.
    assert.ok((await conn.next())['toolResponse']);
    const flushed: number[] = [];
    while (flushed.length < 3200) flushed.push(...decodeAudio(await conn.next()));
    const expected = Array.from({ length: 10 }, (_, k) => new Array<number>(320).fill(k + 11)).flat();
    assert.deepEqual(flushed, expected, 'the newest 200 ms, in order');
    session.sendAudio(new Int16Array([77]));
    assert.deepEqual(decodeAudio(await conn.next()), [77], 'audio flows again');
    await session.close();
  });

  it('does not hold audio for a NON_BLOCKING call; releases it when the blocking call is cancelled', T, async () => {
    const { session, conn } = await connected({ config: TOOLS });
    conn.send({ toolCall: { functionCalls: [{ id: 'n1', name: 'notify', args: {} }] } });
    await nextEvent(session, 'toolCall');
    session.sendAudio(new Int16Array([1, 2]));
    assert.deepEqual(decodeAudio(await conn.next()), [1, 2]);

    conn.send({ toolCall: { functionCalls: [{ id: 'b2', name: 'book', args: {} }] } });
    await nextEvent(session, 'toolCall');
    session.sendAudio(new Int16Array([3, 4]));
    assert.equal(session.heldAudio.heldMs, 2 / 16);
    conn.send({ toolCallCancellation: { ids: ['b2'] } });
    assert.deepEqual((await nextEvent(session, 'toolCallCancellation')).ids, ['b2']);
    assert.deepEqual(decodeAudio(await conn.next()), [3, 4]);
    assert.deepEqual(session.pendingToolCalls.map((c) => c.id), ['n1']);
    assert.throws(() => session.sendToolResponse([{ id: 'b2', response: { output: 1 } }]), /was already cancelled/);
    await session.close();
  });
});

// --- server messages and closes -----------------------------------------------------------------

describe('GeminiLiveSession server messages', () => {
  it('keeps the latest resumable handle and surfaces goAway', T, async () => {
    const { session, conn } = await connected();
    const updates: SessionEvents['sessionResumptionUpdate'][] = [];
    session.on('sessionResumptionUpdate', (u) => updates.push(u));
    conn.send({ sessionResumptionUpdate: { newHandle: 'h1', resumable: true } });
    conn.send({ sessionResumptionUpdate: { newHandle: '', resumable: false } });
    conn.send({ goAway: { timeLeft: '5s' } });
    const goAway = await nextEvent(session, 'goAway');
    assert.equal(updates.length, 2);
    assert.equal(session.resumptionHandle, 'h1', 'an empty update does not erase the handle');
    assert.equal(goAway.timeLeftMs, 5000);
    assert.equal(session.goAway?.timeLeftMs, 5000);
    conn.send({ sessionResumptionUpdate: { newHandle: 'h2', resumable: true } });
    await nextEvent(session, 'sessionResumptionUpdate');
    assert.equal(session.resumptionHandle, 'h2');
    await session.close();
  });

  it('survives listeners that throw and malformed frames', T, async () => {
    const { lines, log } = captureLog('info');
    const { session, conn } = await connected({ log });
    const texts: string[] = [];
    session.on('text', () => {
      throw new Error('listener bug');
    });
    session.on('text', (e) => texts.push(e.text));
    const malformed = nextEvent(session, 'malformed');
    conn.ws.send('not json');
    assert.match((await malformed).reason, /not valid JSON/);
    for (const text of ['a', 'b']) conn.send({ serverContent: { modelTurn: { parts: [{ text }] } } });
    conn.send({ serverContent: { turnComplete: true } });
    await nextEvent(session, 'turnComplete');
    assert.deepEqual(texts, ['a', 'b']);
    assert.equal(lines.filter((l) => /listener threw/.test(l['msg'])).length, 1, 'logged once');
    assert.equal(lines.filter((l) => /malformed/.test(l['msg'])).length, 1);
    await session.close();
  });

  it('classifies a server close, logs it once with meaning and fix, and emits close once', T, async () => {
    const { lines, log } = captureLog('debug');
    const { session, conn } = await connected({ log, apiKey: 'do-not-log-me' });
    const closes: SessionEvents['close'][] = [];
    session.on('close', (c) => closes.push(c));
    const closed = nextEvent(session, 'close');
    conn.ws.close(1011, 'Internal error encountered.');
    const c = await closed;
    assert.equal(c.byUs, false);
    assert.equal(c.code, 1011);
    assert.equal(c.error?.error.code, 'CB_GEMINI_INTERNAL');
    assert.equal(c.error?.retryClass, 'transient');
    const closeLogs = lines.filter((l) => /gemini closed/.test(l['msg']));
    assert.equal(closeLogs.length, 1);
    const entry = closeLogs[0]!;
    assert.equal(entry['level'], 40);
    assert.equal(entry['closeCode'], 1011);
    assert.equal(entry['reason'], 'Internal error encountered.');
    assert.equal(entry['code'], 'CB_GEMINI_INTERNAL');
    assert.ok(typeof entry['meaning'] === 'string' && entry['meaning'].length > 0);
    assert.ok(typeof entry['fix'] === 'string' && entry['fix'].length > 0);
    await session.close(); // already closed: resolves, no second event
    assert.equal(closes.length, 1);
    assert.ok(!JSON.stringify(lines).includes('do-not-log-me'), 'the API key never reaches the log');
  });

  it('a non-retryable close is logged at error level', T, async () => {
    const { lines, log } = captureLog('info');
    const { session, conn } = await connected({ log });
    const closed = nextEvent(session, 'close');
    conn.ws.close(1008, 'models/gemini-x is not found for API version v1beta');
    assert.equal((await closed).error?.error.code, 'CB_GEMINI_MODEL_NOT_FOUND');
    const entry = lines.find((l) => /gemini closed/.test(l['msg']));
    assert.equal(entry?.['level'], 50);
  });

  it('our close() is code 1000 and not an error', T, async () => {
    const { lines, log } = captureLog('info');
    const { session, conn } = await connected({ log });
    const serverSaw = new Promise<number>((resolve) => conn.ws.on('close', (code) => resolve(code)));
    const closed = nextEvent(session, 'close');
    await session.close();
    const c = await closed;
    assert.equal(c.byUs, true);
    assert.equal(c.error, undefined);
    assert.equal(await serverSaw, 1000);
    assert.equal(session.isOpen, false);
    assert.equal(lines.filter((l) => l['level'] >= 40).length, 0);
  });
});
