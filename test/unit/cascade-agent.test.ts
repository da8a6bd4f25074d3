/**
 * The cascade agent (src/cascade/agent.ts) on its own, with a scripted text model and a tone
 * synthesiser (test/support/cascade-fakes.ts): the events it gives the call, in order, for text
 * turns, caller turns, function calls, barge-in and failures.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CascadeSession } from '../../src/cascade/agent.js';
import { Endpointer } from '../../src/cascade/endpointer.js';
import { CallbridgeError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/log.js';
import type { AgentEvent, SessionClose } from '../../src/call/ports.js';
import { FakeSpeech, FakeTextModel, frames16k, gate } from '../support/cascade-fakes.js';

function session(o: { model?: FakeTextModel; speech?: FakeSpeech; silenceMs?: number; now?: () => number } = {}) {
  const model = o.model ?? new FakeTextModel();
  const speech = o.speech ?? new FakeSpeech();
  const s = new CascadeSession({
    model: 'gemini-test-flash',
    systemInstruction: 'You are a test receptionist.',
    tools: [{ name: 'lookup', description: 'Look a customer up.' }],
    voice: 'test-voice',
    textModel: model,
    speech,
    log: silentLogger(),
    endpointing: { silenceMs: o.silenceMs ?? 500 },
    ...(o.now ? { now: o.now } : {}),
  });
  const events: AgentEvent[] = [];
  const closes: SessionClose[] = [];
  s.onEvent((e) => events.push(e));
  s.onClose((c) => closes.push(c));
  const kinds = () => events.map((e) => e.type).filter((t, i, a) => t !== 'audio' || a[i - 1] !== 'audio');
  const caller = (ms: number, speech: boolean) => frames16k(ms, speech).forEach((f) => s.sendAudio(f));
  return { s, model, speech, events, closes, kinds, caller };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
};
const spoken = (events: AgentEvent[]) => events.flatMap((e) => (e.type === 'outputTranscription' ? [e.text.trim()] : [])).join(' ');
const audioMs = (events: AgentEvent[]) => events.reduce((ms, e) => ms + (e.type === 'audio' ? (e.samples.length * 1000) / e.sampleRateHz : 0), 0);

describe('the cascade agent', () => {
  it('answers a text turn: each sentence’s words, then its 8 kHz audio, then generationComplete and turnComplete', async () => {
    const t = session();
    t.model.answers.push([{ kind: 'text', text: 'Hello, this is the dental office. How can I help you today?' }, { kind: 'done' }]);
    t.s.sendClientContent([{ role: 'user', parts: [{ text: 'Greet the caller.' }] }], true);
    await settle();
    assert.deepEqual(t.kinds(), ['outputTranscription', 'audio', 'outputTranscription', 'audio', 'generationComplete', 'turnComplete']);
    assert.equal(spoken(t.events), 'Hello, this is the dental office. How can I help you today?');
    assert.ok(t.events.every((e) => e.type !== 'audio' || e.sampleRateHz === 8000), 'μ-law 8 kHz speech stays at 8 kHz');
    assert.equal(Math.round(audioMs(t.events)), 'Hello, this is the dental office.'.length + 'How can I help you today?'.length);
    assert.equal(t.model.requests[0]!.contents.at(-1)!.parts[0]!.text, 'Greet the caller.');
    assert.equal(t.model.requests[0]!.systemInstruction, 'You are a test receptionist.');
  });

  it('speaks the first sentence while the model is still writing the rest', async () => {
    const t = session();
    const more = gate();
    t.model.answers.push([{ kind: 'text', text: 'Let me see what we have. ' }, { kind: 'text', text: 'One' }, more.promise, { kind: 'text', text: ' moment more, please.' }, { kind: 'done' }]);
    t.s.sendClientContent([{ role: 'user', parts: [{ text: 'Hi' }] }], true);
    await settle();
    assert.ok(audioMs(t.events) > 0, 'audio of the first sentence before the answer is complete');
    assert.equal(spoken(t.events), 'Let me see what we have.');
    assert.ok(!t.events.some((e) => e.type === 'turnComplete'));
    more.open();
    await settle();
    assert.equal(spoken(t.events), 'Let me see what we have. One moment more, please.');
    assert.equal(t.events.at(-1)!.type, 'turnComplete');
  });

  it('hears a caller turn after the silence, sends its audio, and transcribes it in a parallel request', async () => {
    const t = session();
    t.caller(200, false);
    t.caller(800, true);
    t.caller(400, false);
    await settle();
    assert.equal(t.model.requests.length, 0, '400 ms of quiet is not the end of the turn');
    t.caller(120, false);
    await settle();
    assert.equal(t.model.requests.length, 1);
    const turn = t.model.requests[0]!.contents.at(-1)!;
    assert.equal(turn.role, 'user');
    const audio = turn.parts[0]!.inlineData!;
    assert.equal(audio.mimeType, 'audio/pcm;rate=16000');
    const ms = Buffer.from(audio.data, 'base64').length / 32;
    assert.ok(ms >= 800 && ms <= 1200, `the turn's audio is the speech with its pre-roll (${ms} ms)`);
    assert.equal(t.model.transcriptions.length, 1);
    assert.deepEqual(t.model.transcriptions[0]!.tools, []);
    const words = t.events.findIndex((e) => e.type === 'inputTranscription');
    assert.ok(words >= 0 && words < t.events.findIndex((e) => e.type === 'turnComplete'), 'the caller’s words come before the answer’s turn ends');
    // The next request carries the words, not the audio again.
    t.s.sendClientContent([{ role: 'user', parts: [{ text: 'next' }] }], true);
    await settle();
    const history = JSON.stringify(t.model.requests[1]!.contents);
    assert.ok(!history.includes('inlineData') && history.includes('I would like a check-up.'));
  });

  it('ignores speech shorter than the minimum', async () => {
    const t = session();
    t.caller(200, false);
    t.caller(120, true);
    t.caller(800, false);
    await settle();
    assert.equal(t.model.requests.length, 0);
  });

  it('calls functions in the loop: toolCall after the words before it, the result sent back, the answer spoken', async () => {
    const t = session();
    t.model.answers.push([{ kind: 'text', text: 'Let me look that up for you.' }, { kind: 'functionCall', id: 'c1', name: 'lookup', args: { name: 'Ada' } }, { kind: 'done' }]);
    t.model.answers.push([{ kind: 'text', text: 'I found your record, Ada.' }, { kind: 'done' }]);
    t.s.sendClientContent([{ role: 'user', parts: [{ text: 'Look me up.' }] }], true);
    await settle();
    const call = t.events.find((e) => e.type === 'toolCall');
    assert.deepEqual(call, { type: 'toolCall', calls: [{ id: 'c1', name: 'lookup', args: { name: 'Ada' } }] });
    assert.ok(t.events.findIndex((e) => e.type === 'audio') < t.events.indexOf(call!), 'the words before the call are spoken first');
    assert.deepEqual(t.s.pendingToolCalls, [{ id: 'c1', name: 'lookup', blocking: true }]);
    assert.throws(() => t.s.sendToolResponse([{ id: 'nope', name: 'lookup', response: {} }]), CallbridgeError);
    t.s.sendToolResponse([{ id: 'c1', name: 'lookup', response: { output: { found: true } } }]);
    await settle();
    assert.equal(t.model.requests.length, 2);
    const second = t.model.requests[1]!.contents;
    assert.deepEqual(second.at(-2), { role: 'model', parts: [{ text: 'Let me look that up for you.' }, { functionCall: { id: 'c1', name: 'lookup', args: { name: 'Ada' } } }] });
    assert.deepEqual(second.at(-1), { role: 'user', parts: [{ functionResponse: { id: 'c1', name: 'lookup', response: { output: { found: true } } } }] });
    assert.equal(spoken(t.events), 'Let me look that up for you. I found your record, Ada.');
    assert.equal(t.events.at(-1)!.type, 'turnComplete');
    assert.deepEqual(t.s.pendingToolCalls, []);
  });

  it('barge-in: caller speech aborts the generation and the rest of the speech, then interrupted and turnComplete', async () => {
    const t = session();
    const later = gate();
    t.model.answers.push([{ kind: 'text', text: 'We are open from nine to five on weekdays. On' }, later.promise, { kind: 'text', text: ' Saturdays we open at ten.' }, { kind: 'done' }]);
    t.caller(200, false);
    t.s.sendClientContent([{ role: 'user', parts: [{ text: 'Hours?' }] }], true);
    await settle();
    const before = t.events.length;
    assert.ok(audioMs(t.events) > 0);
    t.caller(100, true); // the detector confirms speech after 60 ms
    assert.deepEqual(t.events.slice(before).map((e) => e.type), ['interrupted', 'turnComplete'], 'reported synchronously, within the frame');
    await new Promise((r) => setImmediate(r));
    assert.ok(t.model.signals[0]!.aborted, 'the text stream is aborted (just after the frame that decided)');
    later.open();
    await settle();
    assert.equal(t.events.length, before + 2, 'nothing of the aborted answer follows');
    assert.equal(t.model.requests.length, 1);
    // The caller's turn is answered after it ends; the history marks what was cut.
    t.caller(600, true);
    t.caller(600, false);
    await settle();
    assert.equal(t.model.requests.length, 2);
    assert.match(JSON.stringify(t.model.requests[1]!.contents), /We are open from nine to five on weekdays\. \[interrupted by the caller\]/);
  });

  it('barge-in over the tail of a finished answer while its audio is still playing (estimated), not after', async () => {
    let clock = 1000;
    const t = session({ now: () => clock });
    t.model.answers.push([{ kind: 'text', text: 'x'.repeat(400) + '.' }, { kind: 'done' }]); // 401 ms of speech
    t.caller(200, false);
    t.s.sendClientContent([{ role: 'user', parts: [{ text: 'Hi' }] }], true);
    await settle();
    assert.equal(t.events.at(-1)!.type, 'turnComplete', 'the answer is complete');
    clock += 300; // 100 ms of it still to play
    t.caller(100, true);
    assert.deepEqual(t.events.slice(-2).map((e) => e.type), ['interrupted', 'turnComplete']);
    t.caller(600, false);
    await settle();
    const after = session({ now: () => clock });
    after.caller(200, false);
    after.s.sendClientContent([{ role: 'user', parts: [{ text: 'Hi' }] }], true);
    await settle();
    clock += 500; // played out
    after.caller(100, true);
    assert.equal(after.events.at(-1)!.type, 'turnComplete', 'no interruption once it has played');
    assert.ok(!after.events.some((e) => e.type === 'interrupted'));
  });

  it('barge-in while a function runs cancels it as Live does, and tells the model', async () => {
    const t = session();
    t.model.answers.push([{ kind: 'functionCall', id: 'c9', name: 'lookup', args: {} }, { kind: 'done' }]);
    t.caller(200, false);
    t.s.sendClientContent([{ role: 'user', parts: [{ text: 'Look me up.' }] }], true);
    await settle();
    t.caller(100, true);
    assert.deepEqual(t.events.slice(-3).map((e) => e.type), ['toolCallCancellation', 'interrupted', 'turnComplete']);
    assert.deepEqual(t.s.pendingToolCalls, []);
    t.caller(600, true);
    t.caller(600, false);
    await settle();
    assert.match(JSON.stringify(t.model.requests.at(-1)!.contents), /cancelled: the caller interrupted/);
  });

  it('a failing text model closes the session with its error and retry class (the link retries as for Live)', async () => {
    const t = session();
    t.model.failNext = new CallbridgeError('CB_CASCADE_MODEL_UNAVAILABLE', 'HTTP 429', { detail: { status: 429 } });
    t.s.sendClientContent([{ role: 'user', parts: [{ text: 'Hi' }] }], true);
    await settle();
    assert.equal(t.closes.length, 1);
    assert.equal(t.closes[0]!.byUs, false);
    assert.equal(t.closes[0]!.error?.retryClass, 'quota');
    assert.equal(t.closes[0]!.error?.error.code, 'CB_CASCADE_MODEL_UNAVAILABLE');
    const r = session();
    r.speech.failWith = new CallbridgeError('CB_CASCADE_TTS_REJECTED', 'HTTP 400 bad voice');
    r.s.sendClientContent([{ role: 'user', parts: [{ text: 'Hi' }] }], true);
    await settle();
    assert.equal(r.closes[0]?.error?.retryClass, 'none');
  });

  it('close(): ours, not an error; nothing more is emitted', async () => {
    const t = session();
    const later = gate();
    t.model.answers.push([later.promise, { kind: 'text', text: 'Too late.' }, { kind: 'done' }]);
    t.s.sendClientContent([{ role: 'user', parts: [{ text: 'Hi' }] }], true);
    await t.s.close('call ended');
    later.open();
    await settle();
    assert.deepEqual(t.closes, [{ byUs: true, code: 1000, reason: 'call ended' }]);
    assert.equal(t.events.length, 0);
  });

  it('a stage change replaces the system instruction of the next request', async () => {
    const t = session();
    t.s.instruct({ systemInstruction: 'Now book an appointment.', text: 'stage: booking' });
    t.s.sendClientContent([{ role: 'user', parts: [{ text: 'Hi' }] }], true);
    await settle();
    assert.equal(t.model.requests[0]!.systemInstruction, 'Now book an appointment.');
    assert.equal(t.s.instructionChannel, 'contextUpdate');
  });
});

describe('cascade endpointing', () => {
  it('the turn ends after the configured silence, not before', () => {
    for (const silenceMs of [300, 800]) {
      const e = new Endpointer({ silenceMs });
      let endedAfter: number | undefined;
      frames16k(200, false).forEach((f) => e.push(f));
      frames16k(600, true).forEach((f) => e.push(f));
      frames16k(1200, false).forEach((f, i) => {
        if (e.push(f)?.kind === 'turn-end') endedAfter ??= (i + 1) * 20;
      });
      assert.equal(endedAfter, silenceMs, `silence ${silenceMs} ms`);
    }
  });
});
