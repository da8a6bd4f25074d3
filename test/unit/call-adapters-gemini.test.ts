/**
 * Gemini Live behind the LiveSession port (src/call/adapters/gemini-session.ts): the endpoint's
 * key, URL and setup timeout reach the client, and the session's events reach the port in order.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GeminiLiveSession, GeminiLiveSessionOptions } from '../../src/gemini/index.js';
import { geminiConnect } from '../../src/call/adapters/gemini-session.js';
import { silentLogger } from '../../src/shared/log.js';
import { FakeSession } from './call-gemini-link.fakes.js';
import type { AgentEvent } from '../../src/call/ports.js';

describe('geminiConnect', () => {
  it('opens the session with the endpoint’s key, URL and setup timeout, and forwards its events and close', async () => {
    let opened: GeminiLiveSessionOptions | undefined;
    const journal: string[] = [];
    let fake: FakeSession | undefined;
    const connect = geminiConnect({
      apiKey: 'test-key',
      url: 'ws://127.0.0.1:1/live',
      setupTimeoutMs: 1234,
      open: async (options) => {
        opened = options;
        fake = new FakeSession(1, { config: { model: 'm-a', systemInstruction: '', tools: [], sessionResumption: { enabled: true } }, log: silentLogger() }, journal);
        return fake as unknown as GeminiLiveSession;
      },
    });
    const session = await connect({ config: { model: 'm-a', systemInstruction: 'Hi', tools: [], sessionResumption: { enabled: true, handle: 'h' } }, log: silentLogger() });
    assert.equal(opened?.apiKey, 'test-key');
    assert.equal(opened?.url, 'ws://127.0.0.1:1/live');
    assert.equal(opened?.setupTimeoutMs, 1234);
    assert.deepEqual(opened?.config?.sessionResumption, { enabled: true, handle: 'h' });
    const events: AgentEvent['type'][] = [];
    const off = session.onEvent((e) => events.push(e.type));
    const closes: number[] = [];
    session.onClose((c) => closes.push(c.code));
    fake!.speak();
    fake!.server({ type: 'turnComplete' });
    off();
    fake!.speak();
    assert.deepEqual(events, ['audio', 'turnComplete'], 'in order; nothing after unsubscribing');
    await session.close('done');
    assert.deepEqual(closes, [1000]);
  });
});
