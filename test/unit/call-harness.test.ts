/**
 * One call, whole, in memory (test/support/call-harness.ts): the real Call with an in-memory
 * caller transport, fake Live sessions and a manual clock. Each case is a call-level behaviour
 * that used to be checked only through sockets.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallHarness, flush } from '../support/call-harness.js';
import { CLOSES, connectError } from './call-gemini-link.fakes.js';

describe('a call in the unit harness', () => {
  it('greets: the agent is asked for the greeting word for word, its audio reaches the caller with marks', async () => {
    const h = new CallHarness();
    await h.connect();
    assert.equal(h.call.state, 'live');
    assert.match(h.gemini.last.clientText().join('\n'), /Greet them now by saying exactly: "Hello from the harness\."/);
    await h.agentSays('Hello from the harness.', 5);
    assert.equal(h.transport.audioBytes(), 5 * 160, 'five 20 ms chunks of 8 kHz μ-law');
    assert.ok(h.transport.count('mark') >= 1, 'the reply is followed by a mark');
    h.transport.playAll();
    await flush();
    const [greeting] = h.log.of('bot_utterance');
    assert.deepEqual(greeting, { kind: 'bot_utterance', text: 'Hello from the harness.', heardMs: 100, sentMs: 100, interrupted: false });
    assert.equal(h.log.record.latency.firstBotAudioMs, 0, 'the greeting was ready when the media started');
  });

  it('barge-in: `interrupted` clears the caller’s buffer at once, records what was heard, drops the rest of the turn', async () => {
    const h = new CallHarness();
    await h.connect();
    await h.agentSays('A long answer that goes on', 10, false);
    h.transport.playAll(); // the first 200 ms were heard
    h.gemini.last.speak();
    h.gemini.last.server({ type: 'interrupted' });
    await flush();
    const clearAt = h.transport.sent.findIndex((s) => s.kind === 'clear');
    assert.ok(clearAt > 0, 'a clear was sent');
    const bytesBefore = h.transport.audioBytes();
    h.gemini.last.speak(); // the rest of the interrupted turn
    await flush();
    assert.equal(h.transport.audioBytes(), bytesBefore, 'audio of the interrupted turn after `interrupted` is dropped');
    const [u] = h.log.of('bot_utterance');
    assert.equal(u!.interrupted, true);
    assert.equal(u!.heardMs, 200);
    assert.equal(u!.sentMs, 220);
    h.gemini.last.server({ type: 'turnComplete' });
    await h.agentSays('Yes?', 2);
    assert.equal(h.transport.audioBytes(), bytesBefore + 2 * 160, 'the next turn is heard again');
  });

  it('answers a function call with the function’s result, once, by id', async () => {
    const h = new CallHarness();
    await h.connect();
    h.gemini.last.server({ type: 'toolCall', calls: [{ id: 'fc-1', name: 'lookup', args: { name: 'Ada' } }] });
    await h.clock.advance(0);
    const responses = h.gemini.last.sent.filter((s) => s.kind === 'toolResponse');
    assert.equal(responses.length, 1);
    // The function's scheduling goes along; the session drops it for a BLOCKING call (tested in gemini-tool-calls).
    assert.deepEqual(responses[0], { kind: 'toolResponse', responses: [{ id: 'fc-1', name: 'lookup', response: { output: { found: true, name: 'Ada' } }, scheduling: 'WHEN_IDLE' }] });
    const [fc] = h.log.of('function_call');
    assert.equal(fc!.name, 'lookup');
    assert.equal(fc!.status, 'ok');
  });

  it('a stage change records the change and hands the agent the new instructions, after the go_to_stage answer', async () => {
    const h = new CallHarness();
    await h.connect();
    h.gemini.last.server({ type: 'toolCall', calls: [{ id: 'fc-2', name: 'go_to_stage', args: { name: 'booking' } }] });
    await h.clock.advance(0);
    assert.ok(h.log.of('stage_change').some((e) => e.to === 'booking'));
    const sent = h.gemini.last.sent;
    const i = sent.findIndex((s) => s.kind === 'instruct');
    assert.ok(i >= 0, 'the booking instructions were sent');
    const { update } = sent[i] as Extract<(typeof sent)[number], { kind: 'instruct' }>;
    assert.match(update.text, /\[stage: booking\]/);
    assert.match(update.systemInstruction, /## Current stage: booking/, 'the whole system instruction, for a contextUpdate');
    assert.ok(sent.findIndex((s) => s.kind === 'toolResponse') < i, 'nothing goes before the answer to the blocking go_to_stage');
  });

  it('end_call waits for the goodbye to be generated and played, then hangs up: ended by the bot', async () => {
    const h = new CallHarness();
    await h.connect();
    h.gemini.last.server({ type: 'toolCall', calls: [{ id: 'fc-3', name: 'end_call', args: { reason: 'caller is done' } }] });
    await h.clock.advance(0);
    await h.agentSays('Goodbye!', 3);
    await h.clock.advance(2000);
    assert.equal(h.transport.closed, undefined, 'not before the goodbye has played');
    assert.equal(h.call.state, 'live');
    h.transport.playAll();
    await h.clock.advance(0);
    assert.deepEqual(h.transport.closed, { kind: 'normal', reason: 'call ended by the assistant' });
    assert.equal(h.call.state, 'ended');
    assert.equal(h.log.record.outcome, 'ended_by_bot');
    assert.equal(h.log.record.outcomeDetail?.reason, 'caller is done');
    assert.ok(h.log.of('bot_utterance').some((u) => u.text === 'Goodbye!' && u.heardMs === 60));
    assert.equal(h.ended, 1);
    assert.equal(h.transport.released, true);
  });

  it('transfer_call transfers after the last words through the transport: transferred, with the target', async () => {
    const h = new CallHarness();
    await h.connect();
    h.gemini.last.server({ type: 'toolCall', calls: [{ id: 'fc-4', name: 'transfer_call', args: { target: 'desk' } }] });
    await h.clock.advance(0);
    await h.agentSays('Putting you through.', 2);
    h.transport.playAll();
    await h.clock.advance(0);
    assert.deepEqual(h.transport.transfers, ['+15550000001']);
    assert.equal(h.log.record.outcome, 'transferred');
    assert.equal(h.log.record.outcomeDetail?.transferTarget, 'desk (+15550000001)');
    assert.ok(h.log.of('transfer').length === 1);
  });

  it('a transfer that fails is told to the agent and the call goes on', async () => {
    const h = new CallHarness();
    await h.connect();
    h.transport.failTransfer = true;
    h.gemini.last.server({ type: 'toolCall', calls: [{ id: 'fc-5', name: 'transfer_call', args: { target: 'desk' } }] });
    await h.clock.advance(0);
    await h.agentSays('One moment.', 1);
    h.transport.playAll();
    await h.clock.advance(0);
    assert.equal(h.call.state, 'live');
    assert.match(h.gemini.last.clientText().at(-1)!, /The transfer could not be completed/);
    assert.ok(h.log.of('error').some((e) => /the transfer failed/.test(e.message)));
  });

  it('Gemini gone for good → the apology plays → agentUnavailable transfers: transferred, with the error code', async () => {
    const h = new CallHarness();
    await h.connect();
    // A config error on each model (1007): not retried, the ladder runs out.
    h.gemini.plan(connectError(CLOSES.invalidArgument));
    h.gemini.last.serverClose(CLOSES.invalidArgument);
    await h.clock.advance(500);
    assert.ok(h.log.of('error').some((e) => e.code === 'CB_CALL_GEMINI_UNAVAILABLE'));
    assert.equal(h.transport.audioBytes(), 8000, 'the 1 s apology was sent');
    assert.deepEqual(h.transport.transfers, [], 'the transfer waits for the apology to play');
    h.transport.playAll();
    await h.clock.advance(0);
    assert.deepEqual(h.transport.transfers, ['+15550000001']);
    assert.equal(h.log.record.outcome, 'transferred');
    assert.equal(h.log.record.outcomeDetail?.errorCode, 'CB_CALL_GEMINI_UNAVAILABLE');
    assert.deepEqual(h.log.of('gemini_close').map((c) => c.code), [1007, 1007]);
  });

  it('goAway: the link hands over at a quiet moment by resuming with the handle; the call notes a resumed reconnect', async () => {
    const h = new CallHarness();
    await h.connect();
    await h.agentSays('Hello from the harness.', 2);
    h.transport.playAll();
    h.gemini.last.handle('handle-1');
    h.gemini.last.server({ type: 'goAway', timeLeftMs: 10_000 });
    await h.clock.advance(0);
    assert.equal(h.gemini.calls.length, 2);
    assert.equal(h.gemini.calls[1]!.handle, 'handle-1');
    assert.equal(h.log.of('gemini_close').length, 0, 'a hand-over is not a fault');
    const [reconnect] = h.log.of('reconnect');
    assert.equal(reconnect!.resumed, true);
    assert.equal(h.log.record.reconnects, 1);
  });

  it('caller hangs up mid-reply: an abandoned call; at a natural pause: completed', async () => {
    const mid = new CallHarness();
    await mid.connect();
    await mid.agentSays('Let me tell you about', 3, false);
    mid.transport.hangUp();
    await flush();
    assert.equal(mid.log.record.outcome, 'caller_hung_up');
    const done = new CallHarness();
    await done.connect();
    await done.agentSays('Hello from the harness.', 2);
    done.transport.playAll();
    await flush();
    done.transport.hangUp();
    await flush();
    assert.equal(done.log.record.outcome, 'completed');
  });

  it('the caller talking over a finished reply’s buffered tail clears it locally after 300 ms of speech', async () => {
    const h = new CallHarness();
    await h.connect();
    await h.callerSpeaks(100, false); // line noise first: the detector learns the floor
    await h.agentSays('A long finished answer.', 50); // 1 s buffered, not yet played
    assert.equal(h.transport.count('clear'), 0);
    await h.callerSpeaks(200);
    assert.equal(h.transport.count('clear'), 0, 'not after 200 ms of speech');
    await h.callerSpeaks(400);
    assert.equal(h.transport.count('clear'), 1);
    assert.equal(h.log.of('bot_utterance')[0]!.interrupted, true);
  });

  it('live captions carry the words as they come; a redacting flow sends none, only the recorded utterance', async () => {
    const plain = new CallHarness();
    await plain.connect();
    await plain.agentSays('Your code is 123456.');
    assert.deepEqual(plain.transport.captions, ['bot: Your code is 123456.']);

    const redacting = new CallHarness('redactDigits: true\n');
    await redacting.connect();
    await redacting.agentSays('Your code is 123456.');
    redacting.transport.playAll();
    await flush();
    assert.deepEqual(redacting.transport.captions, [], 'a digit run can span caption pieces: none are sent unredacted');
    // The recorded utterance still arrives (the writer redacts it as stored, and the page shows that).
    assert.equal(redacting.log.of('bot_utterance').length, 1);
  });
});
