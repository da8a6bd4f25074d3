/**
 * Caller speech the agent gives no words for (the no-scenario emulator, a scenario turn without
 * `heard`) is recorded as what it is — "(caller audio, N s)", measured by the call's own voice
 * activity detection — never as words; speech the agent transcribes is recorded as its words only.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallHarness, flush } from '../support/call-harness.js';

async function talkThenReply(h: CallHarness, transcribe: string | undefined): Promise<void> {
  await h.connect();
  await h.agentSays('Hello from the harness.', 2);
  h.transport.playAll();
  await h.callerSpeaks(200, false); // line noise first: the detector learns the floor
  await h.callerSpeaks(3200);
  await h.callerSpeaks(1000, false);
  if (transcribe) h.gemini.last.server({ type: 'inputTranscription', text: transcribe, finished: true });
  await h.agentSays('I heard you.', 3);
  h.transport.playAll();
  await flush();
}

describe('caller speech without words', () => {
  it('is recorded as "(caller audio, N s)" at the time the caller spoke, once the reply to it has finished', async () => {
    const h = new CallHarness();
    await talkThenReply(h, undefined);
    const caller = h.log.events.filter((e) => e.body.kind === 'caller_utterance');
    assert.equal(caller.length, 1);
    const body = caller[0]!.body as { text: string };
    const m = /^\(caller audio, (\d+\.\d) s\)$/.exec(body.text);
    assert.ok(m, `got ${body.text}`);
    assert.ok(Math.abs(Number(m[1]) - 3.2) <= 0.3, `about the 3.2 s spoken, got ${m[1]}`);
    const reply = h.log.events.find((e) => e.body.kind === 'bot_utterance' && (e.body as { text: string }).text === 'I heard you.')!;
    assert.ok(caller[0]!.atMs < reply.atMs, 'placed when the caller spoke, before the reply');
  });

  it('speech the agent transcribes is recorded as its words, with no audio stand-in', async () => {
    const h = new CallHarness();
    await talkThenReply(h, 'I would like a table.');
    const texts = h.log.events.filter((e) => e.body.kind === 'caller_utterance').map((e) => (e.body as { text: string }).text);
    assert.deepEqual(texts, ['I would like a table.']);
  });

  it('speech still without words when the call ends is recorded then', async () => {
    const h = new CallHarness();
    await h.connect();
    await h.callerSpeaks(200, false);
    await h.callerSpeaks(1500);
    await h.callerSpeaks(1000, false);
    h.transport.hangUp();
    await flush();
    const texts = h.log.events.filter((e) => e.body.kind === 'caller_utterance').map((e) => (e.body as { text: string }).text);
    assert.equal(texts.length, 1);
    assert.match(texts[0]!, /^\(caller audio, 1\.\d s\)$/);
  });
});
