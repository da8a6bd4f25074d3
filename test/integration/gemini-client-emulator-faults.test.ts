/**
 * The Gemini Live client against the emulator's injected faults and setup-time rejections: each
 * must surface as the right typed error (code, retryable, retryClass) on the `close` event or as
 * the connect rejection, and the close is logged once with its meaning and fix.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { thdnDb } from '../../src/audio/analysis.js';
import type { Emulator, ScenarioInput } from '../../src/emulator/index.js';
import { DEFAULT_FALLBACK_MODELS, GeminiLiveSession, LIVE_PATH } from '../../src/gemini/index.js';
import { CallbridgeError, ERRORS } from '../../src/shared/errors.js';
import {
  API_KEY,
  Events,
  MODEL_25,
  captureLog,
  closeTts,
  connect,
  realtimeInputs,
  sendTurn,
  streamAudio,
  toneBursts,
  withEmulator,
  within,
} from './gemini-client-harness.js';

after(closeTts);

const SCENARIO: ScenarioInput = {
  name: 'client-faults',
  greeting: { say: { toneHz: 1000, durationMs: 400 } },
  turns: [
    {
      heard: 'Is Tuesday free?',
      toolCalls: [{ name: 'check_availability', args: { day: 'tuesday' } }],
      afterTool: { say: { toneHz: 700, durationMs: 100 } },
    },
  ],
  endOfScenario: { mode: 'silent' },
};

/** The rejection of `promise` (an upper bound well below the client's own setup timeout). */
async function rejection(promise: Promise<unknown>, timeoutMs = 3000): Promise<CallbridgeError> {
  const err = await within(promise.then(() => undefined, (e: unknown) => e), timeoutMs, 'connect to settle');
  assert.ok(err instanceof CallbridgeError, `connect rejects with a CallbridgeError, got ${String(err)}`);
  return err;
}

function noSessions(emulator: Emulator): void {
  assert.equal(emulator.sessions.length, 0, 'the emulator saw no session');
}

describe('Gemini Live client ↔ emulator: faults as typed errors', () => {
  it('seed 002: internal error before content (rate 1 for the model in use) → close CB_GEMINI_INTERNAL (transient), no content first; the healthy fallback model answers', async () => {
    const fallback = DEFAULT_FALLBACK_MODELS[0]!;
    await withEmulator({ scenario: SCENARIO, faults: { internalErrorBeforeContent: { rate: { [MODEL_25]: 1 }, delayMs: [20, 20] } } }, async (emulator) => {
      const session = await connect(emulator, { model: MODEL_25 });
      const events = new Events(session);
      sendTurn(session, 'Greet the caller.');
      const closed = await within(events.closed, 3000, 'the close');
      assert.equal(closed.byUs, false);
      assert.equal(closed.code, 1011);
      assert.equal(closed.error?.error.code, 'CB_GEMINI_INTERNAL');
      assert.equal(closed.error?.retryable, true);
      assert.equal(closed.error?.retryClass, 'transient');
      assert.equal(closed.error?.reason, 'Internal error encountered.');
      for (const t of ['audio', 'outputTranscription', 'generationComplete', 'turnComplete'] as const) assert.equal(events.of(t).length, 0, `no ${t} before the close`);
      assert.ok(events.of('sessionResumptionUpdate').some((u) => !u.resumable), 'the turn started (not resumable) and then failed');
      assert.equal(session.isOpen, false);
      assert.throws(() => sendTurn(session, 'again'), (err: unknown) => (err as CallbridgeError).code === 'CB_GEMINI_SEND_REFUSED');

      // The per-model rate leaves the fallback model healthy.
      const healthy = await connect(emulator, { model: fallback });
      const ok = new Events(healthy);
      try {
        sendTurn(healthy, 'Greet the caller.');
        const done = await ok.waitFor('turnComplete');
        assert.equal(ok.audio(0, done).length, 400 * 24);
        assert.ok(thdnDb(ok.audio(0, done), 1000, 24000) >= 40);
        assert.deepEqual(emulator.sessions.map((s) => [s.model, s.faults]), [[MODEL_25, ['internalBeforeContent']], [fallback, []]]);
      } finally {
        await healthy.close();
      }
    });
  });

  for (const [kind, code, closeCode] of [
    ['entity-not-found', 'CB_GEMINI_ENTITY_NOT_FOUND', 1008],
    ['internal', 'CB_GEMINI_INTERNAL', 1011],
  ] as const) {
    it(`seed 003: close right after the tool response (${kind}) → ${code} (${closeCode}, transient)`, async () => {
      await withEmulator({ scenario: SCENARIO, faults: { closeAfterToolResponse: { rate: 1, kind } } }, async (emulator) => {
        const session = await connect(emulator);
        const events = new Events(session);
        streamAudio(session, toneBursts());
        const at = await events.waitFor('toolCall');
        const call = events.of('toolCall', at, at + 1)[0]!.calls[0]!;
        session.sendToolResponse([{ id: call.id, response: { output: { slots: ['10:30'] } } }]);
        const closed = await within(events.closed, 3000, 'the close');
        assert.equal(closed.code, closeCode);
        assert.equal(closed.error?.error.code, code);
        assert.equal(closed.error?.retryable, true);
        assert.equal(closed.error?.retryClass, 'transient');
        assert.equal(events.of('audio', at).length, 0, 'nothing spoken after the response');
        assert.deepEqual(session.pendingToolCalls, []);
        assert.deepEqual(emulator.session(1)!.faults, ['closeAfterToolResponse']);
      });
    });
  }

  it('quota: maxConcurrentSessions 1 → the second connect rejects fast with CB_GEMINI_QUOTA (retryClass quota)', async () => {
    await withEmulator({ scenario: SCENARIO, faults: { maxConcurrentSessions: 1 } }, async (emulator) => {
      const first = await connect(emulator);
      try {
        const err = await rejection(connect(emulator, {}, { setupTimeoutMs: 10_000 }));
        assert.equal(err.code, 'CB_GEMINI_QUOTA', err.message);
        assert.equal(err.retryable, true);
        assert.equal(err.detail?.['closeCode'], 1011);
        assert.equal(err.detail?.['retryClass'], 'quota');
        assert.ok(first.isOpen);
      } finally {
        await first.close();
      }
      // The slot is free again once the first session closed.
      await emulator.waitForClose(1);
      const third = await connect(emulator);
      await third.close();
    });
  });

  it('a socket cut without a close frame → close 1006 CB_GEMINI_ABNORMAL_CLOSE (transient)', async () => {
    await withEmulator({ scenario: SCENARIO, faults: { cutSocketAfterMs: 30 } }, async (emulator) => {
      const session = await connect(emulator);
      const events = new Events(session);
      const closed = await within(events.closed, 3000, 'the cut');
      assert.equal(closed.byUs, false);
      assert.equal(closed.code, 1006);
      assert.equal(closed.error?.error.code, 'CB_GEMINI_ABNORMAL_CLOSE');
      assert.equal(closed.error?.retryable, true);
      assert.equal(closed.error?.retryClass, 'transient');
      assert.deepEqual(emulator.session(1)!.faults, ['cutSocket']);
    });
  });

  it('garbage frames (binary, truncated JSON) → one `malformed` event each; the session keeps working and the turn completes intact', async () => {
    await withEmulator({ scenario: SCENARIO, seed: 7, faults: { garbageRate: 0.3, garbageKinds: ['binary', 'truncated-json'] } }, async (emulator) => {
      const session = await connect(emulator);
      const events = new Events(session);
      try {
        sendTurn(session, 'Greet the caller.');
        const done = await events.waitFor('turnComplete');
        await events.waitFor('sessionResumptionUpdate', { from: done });
        const garbage = emulator.session(1)!.counts.garbageSent;
        assert.ok(garbage >= 2, `garbage was sent (${garbage})`);
        assert.equal(events.of('malformed').length, garbage, 'every garbage frame is reported, none is taken for content');
        const audio = events.audio(0, done);
        assert.equal(audio.length, 400 * 24, 'all the audio, nothing extra');
        assert.ok(thdnDb(audio, 1000, 24000) >= 40, 'and it is clean');
        assert.ok(session.isOpen);
      } finally {
        await session.close();
      }
    });
  });

  it('garbage frames with wrong types or unknown messages are skipped: no false turnComplete, the turn completes intact', async () => {
    await withEmulator({ scenario: SCENARIO, seed: 11, faults: { garbageRate: 0.5, garbageKinds: ['wrong-types', 'unknown-message'] } }, async (emulator) => {
      const session = await connect(emulator);
      const events = new Events(session);
      try {
        sendTurn(session, 'Greet the caller.');
        const done = await events.waitFor('turnComplete');
        assert.ok(emulator.session(1)!.counts.garbageSent >= 2);
        assert.equal(events.of('generationComplete', 0, done).length, 1);
        assert.equal(events.audio(0, done).length, 400 * 24);
        assert.equal(events.of('toolCall').length, 0);
        assert.ok(session.isOpen);
      } finally {
        await session.close();
      }
    });
  });
});

describe('Gemini Live client ↔ emulator: setup-time rejections and the API key', () => {
  it('the client never produces realtimeInput.mediaChunks: audio goes as realtimeInput.audio, audio/pcm;rate=16000 (the emulator closes 1007 on mediaChunks)', async () => {
    await withEmulator({ scenario: SCENARIO, rejectMediaChunks: true }, async (emulator) => {
      const session = await connect(emulator);
      const events = new Events(session);
      try {
        const chunks = streamAudio(session, toneBursts());
        session.sendAudioStreamEnd();
        await events.waitFor('toolCall');
        const inputs = realtimeInputs(emulator, 1).map((m) => m.json.realtimeInput);
        assert.equal(inputs.length, chunks + 1);
        assert.equal(inputs.filter((ri) => ri.mediaChunks !== undefined || ri.media_chunks !== undefined).length, 0);
        for (const ri of inputs.slice(0, chunks)) assert.equal(ri.audio.mimeType, 'audio/pcm;rate=16000');
        assert.deepEqual(inputs.at(-1), { audioStreamEnd: true });
        assert.ok(session.isOpen);
      } finally {
        await session.close();
      }
    });
  });

  for (const [what, config, pattern] of [
    ['two response modalities', { responseModalities: ['AUDIO', 'TEXT'] }, /only one response modality/],
    ['TEXT on a native-audio model', { model: MODEL_25, responseModalities: ['TEXT'] }, /TEXT is not supported by native-audio model/],
  ] as const) {
    it(`${what} is refused by the client's validation before connecting (CB_GEMINI_SETUP_INVALID)`, async () => {
      await withEmulator({ scenario: SCENARIO }, async (emulator) => {
        const err = await rejection(connect(emulator, config as never));
        assert.equal(err.code, 'CB_GEMINI_SETUP_INVALID');
        assert.match(err.message, pattern);
        assert.equal(err.retryable, false);
        noSessions(emulator);
      });
    });
  }

  it('an unknown model → connect rejects fast with CB_GEMINI_MODEL_NOT_FOUND (1008, not retryable)', async () => {
    await withEmulator({ scenario: SCENARIO }, async (emulator) => {
      const err = await rejection(connect(emulator, { model: 'gemini-9.9-flash-live-nonexistent' }, { setupTimeoutMs: 10_000 }));
      assert.equal(err.code, 'CB_GEMINI_MODEL_NOT_FOUND', err.message);
      assert.equal(err.retryable, false);
      assert.equal(err.detail?.['closeCode'], 1008);
      assert.equal(err.detail?.['retryClass'], 'none');
      assert.match(String(err.detail?.['closeReason']), /^models\/gemini-9\.9-flash-live-nonexistent is not found for API version v1beta/);
    });
  });

  it('requireApiKey: a wrong key → CB_GEMINI_AUTH (not retryable); the right key in the header is accepted', async () => {
    await withEmulator({ scenario: SCENARIO, requireApiKey: API_KEY }, async (emulator) => {
      const err = await rejection(connect(emulator, {}, { apiKey: 'wrong-key' }));
      assert.equal(err.code, 'CB_GEMINI_AUTH', err.message);
      assert.equal(err.retryable, false);
      assert.equal(err.detail?.['retryClass'], 'none');
      const session = await connect(emulator);
      const events = new Events(session);
      try {
        sendTurn(session, 'hello');
        await events.waitFor('turnComplete');
      } finally {
        await session.close();
      }
    });
  });

  it('the API key travels in the x-goog-api-key header, never in the URL (even when the configured URL has ?key=)', async () => {
    const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
    const server = createServer();
    server.on('upgrade', (req, socket) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const err = await rejection(GeminiLiveSession.connect({ apiKey: API_KEY, url: `ws://127.0.0.1:${port}/?key=${API_KEY}`, setupTimeoutMs: 5000 }));
      assert.equal(err.code, 'CB_GEMINI_HANDSHAKE_FAILED');
      assert.equal(err.detail?.['status'], 403);
      assert.ok(!JSON.stringify({ message: err.message, detail: err.detail }).includes(API_KEY), 'the error does not carry the key');
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.url, LIVE_PATH, 'the Live path, no query string');
      assert.equal(seen[0]!.headers['x-goog-api-key'], API_KEY);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('Gemini Live client ↔ emulator: close logging', () => {
  /** The 'gemini closed' lines of a captured log. */
  const closeLines = (lines: Record<string, any>[]) => lines.filter((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('gemini closed'));

  it('a server close is logged once, with code, meaning and fix (warn when retryable, error when not), never with the key', async () => {
    await withEmulator({ scenario: SCENARIO, faults: { internalErrorBeforeContent: { rate: 1, delayMs: [10, 10] } } }, async (emulator) => {
      const captured = captureLog();
      const session = await connect(emulator, { model: MODEL_25 }, { log: captured.log });
      const events = new Events(session);
      sendTurn(session, 'Greet the caller.');
      await within(events.closed, 3000, 'the close');
      await session.close(); // a close after the close: nothing more to log
      const closes = closeLines(captured.lines());
      assert.equal(closes.length, 1, `one close line:\n${captured.raw()}`);
      const line = closes[0]!;
      assert.equal(line['level'], 40, 'warn: retryable');
      assert.equal(line['component'], 'gemini');
      assert.equal(line['model'], MODEL_25);
      assert.equal(line['code'], 'CB_GEMINI_INTERNAL');
      assert.equal(line['closeCode'], 1011);
      assert.equal(line['reason'], 'Internal error encountered.');
      assert.equal(line['meaning'], ERRORS.CB_GEMINI_INTERNAL.explanation);
      assert.equal(line['fix'], ERRORS.CB_GEMINI_INTERNAL.fix);
      assert.equal(line['retryable'], true);
      assert.equal(line['retryClass'], 'transient');
      assert.ok(!captured.raw().includes(API_KEY), 'the API key is never logged');
      assert.ok(!captured.raw().includes('x-goog-api-key'));

      // A close that fails the connect (not retryable) is logged once too, at error level.
      const captured2 = captureLog();
      await rejection(connect(emulator, { model: 'gemini-9.9-flash-live-nonexistent' }, { log: captured2.log }));
      const closes2 = closeLines(captured2.lines());
      assert.equal(closes2.length, 1, `one close line:\n${captured2.raw()}`);
      assert.equal(closes2[0]!['level'], 50);
      assert.equal(closes2[0]!['code'], 'CB_GEMINI_MODEL_NOT_FOUND');
      assert.equal(closes2[0]!['fix'], ERRORS.CB_GEMINI_MODEL_NOT_FOUND.fix);
      assert.ok(!captured2.lines().some((l) => /connect failed/.test(String(l['msg']))), 'not reported a second time as a connect failure');
      assert.ok(!captured2.raw().includes(API_KEY));
    });
  });
});
