/**
 * `pipeline: cascade` end to end (issue 20's "done when"): a simulated Twilio call through the
 * real server to a flow whose agent is the cascade (callbridge's endpointing, the emulator's
 * streamGenerateContent and text:synthesize answering from the scenario), and the same flow with
 * `pipeline: live` through the emulator's Live API, in the same run: greeting spoken, a caller
 * turn answered with a function call in between, a barge-in that cuts the bot off, end_call
 * after the goodbye, transcript and recording stored. The barge-in reaction (caller starts talking → the clear reaches the
 * caller) of the two pipelines is compared with each other, measured in the same run.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startRig, TOOLS_MODULE, ZOD_MODULE, type Rig } from '../support/e2e.js';
import { InstantSpeech } from '../support/instant-speech.js';
import type { StoredCallEvent } from '../../src/transcripts/index.js';
import type { ScriptStep, CallResult } from '../../src/simulator/index.js';

const LONG = 'We are open from eight in the morning until six in the evening on weekdays, and on Saturdays from nine until one, closed on Sundays.';

const flow = (name: string, number: string, extra: string) => `
name: ${name}
numbers: ["${number}"]
${extra}
recording: true
persona: You are the front desk of a small practice.
greeting: Front desk, good morning.
functions: [lookup]
stages:
  - name: main
    instructions: Help the caller.
    functions: [lookup, end_call]
`;

const TOOLS = {
  'lookup.ts': `
import { z } from '${ZOD_MODULE}';
import { defineTool } from '${TOOLS_MODULE}';
export default defineTool({
  name: 'lookup', description: 'Look a patient up by name.', schema: z.object({ name: z.string() }),
  handler: ({ name }) => ({ found: true, name, nextVisit: '2026-12-10' }),
});`,
};

const script: ScriptStep[] = [
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } },
  { tone: { hz: 300, durationMs: 1200, amplitude: 8000 } }, // "Is Ada on file?"
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 1500, timeoutMs: 20000 } },
  { tone: { hz: 320, durationMs: 1000, amplitude: 8000 } }, // "When are you open?"
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { silence: 1500 }, // the long answer plays for a while …
  { tone: { hz: 450, durationMs: 900, amplitude: 9000 } }, // … and the caller talks over it
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 1000, timeoutMs: 20000 } },
];

const texts = (events: StoredCallEvent[], kind: 'bot_utterance' | 'caller_utterance') => events.flatMap((e) => (e.kind === kind ? [e.text] : []));

/** Caller starts talking over the answer → the clear reaches the caller, on the call clock (ms). */
function bargeInMs(result: CallResult): number {
  const talk = result.timeline.find((e) => e.kind === 'step' && e.step === 'tone 450 Hz 900 ms');
  assert.ok(talk, 'the talk-over step ran');
  const clear = result.timeline.find((e) => e.kind === 'clear' && e.atMs >= talk.atMs);
  assert.ok(clear, `a clear reached the caller after the talk-over (${result.timeline.filter((e) => e.kind === 'clear').length} clears)`);
  return clear.atMs - talk.atMs;
}

describe('pipeline: cascade, end to end through the emulator', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({
      flows: {
        'desk-live.yaml': flow('desk-live', '+15550111001', 'default: true'),
        'desk-cascade.yaml': flow('desk-cascade', '+15550111002', 'pipeline: cascade'),
      },
      tools: TOOLS,
      emulator: {
        timing: { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 },
        tts: new InstantSpeech(),
        scenario: {
          name: 'desk',
          turns: [
            { heard: 'Is Ada on file?', say: 'Let me look that up.', toolCalls: [{ name: 'lookup', args: { name: 'Ada' } }], afterTool: { say: 'Yes, Ada is on file, her next visit is on {{output.nextVisit}}.' } },
            { heard: 'When are you open?', say: LONG },
            { heard: 'Sorry, thank you.', say: 'You are welcome, goodbye.', toolCalls: [{ name: 'end_call', args: { reason: 'caller said thank you' } }] },
          ],
        },
      },
    });
    Object.assign(rig.emulator.streamGenerate.timing, { firstTokenMs: 150, perTokenMs: 10, ttsFirstByteMs: 100 });
  });
  after(() => rig.close());

  it('the cascade flow takes the call as the Live one does: greeting, a function call, barge-in, transcript and recording', async () => {
    const results: Record<string, CallResult> = {};
    for (const [name, to] of [['desk-live', '+15550111001'], ['desk-cascade', '+15550111002']] as const) {
      results[name] = await rig.call({ to, timeScale: 1, script });
      assert.deepEqual(results[name].timeouts, [], `${name}: no wait timed out`);
    }
    await rig.bridge.writer.flush();
    for (const name of ['desk-live', 'desk-cascade']) {
      const result = results[name]!;
      const events = await rig.bridge.store.getEvents(result.callSid);
      const record = (await rig.bridge.store.getCall(result.callSid))!;
      const bot = texts(events, 'bot_utterance');
      assert.equal(bot[0], 'Front desk, good morning.', `${name}: the greeting, word for word`);
      assert.deepEqual(texts(events, 'caller_utterance').slice(0, 2), ['Is Ada on file?', 'When are you open?'], `${name}: the caller's words`);
      const fn = events.find((e): e is Extract<StoredCallEvent, { kind: 'function_call' }> => e.kind === 'function_call');
      assert.equal(fn?.name, 'lookup', `${name}: the function was called`);
      assert.deepEqual(fn.args, { name: 'Ada' });
      assert.ok(bot.includes('Yes, Ada is on file, her next visit is on 2026-12-10.'), `${name}: the answer after the function: ${bot.join(' | ')}`);
      const cut = events.find((e): e is Extract<StoredCallEvent, { kind: 'bot_utterance' }> => e.kind === 'bot_utterance' && e.interrupted);
      assert.ok(cut, `${name}: the talked-over answer is recorded as interrupted`);
      assert.ok(cut.heardMs > 0 && cut.heardMs < cut.sentMs, `${name}: heard ${cut.heardMs} of ${cut.sentMs} ms`);
      assert.ok(bot.includes('You are welcome, goodbye.'), `${name}: the caller's interruption is answered`);
      assert.ok(record.recordingPath && existsSync(join(rig.dataDir, record.recordingPath)), `${name}: the recording is stored`);
      assert.equal(record.outcome, 'ended_by_bot', `${name}: end_call hung up after the goodbye (${JSON.stringify(record.outcomeDetail)})`);
      assert.equal(result.outcome.endedBy, results['desk-live']!.outcome.endedBy, 'both calls end the same way');
      if (name === 'desk-cascade') assert.deepEqual(record.models, ['gemini-3.8-flash'], 'the default cascade text model');
      else assert.ok(!record.models.includes('gemini-3.8-flash'));
    }
    assert.ok(rig.emulator.streamGenerate.requests >= 4, 'the cascade asked the text model (answers and transcriptions)');
    const live = bargeInMs(results['desk-live']!);
    const cascade = bargeInMs(results['desk-cascade']!);
    console.log(`# barge-in (caller starts talking → clear at the caller): live ${live.toFixed(0)} ms, cascade ${cascade.toFixed(0)} ms`);
    // The same bound as Live: no later than Live's own reaction plus three 20 ms frames (one
    // sample each: the frame the detectors' 60 ms confirmation ends on, plus timer jitter).
    assert.ok(cascade <= live + 60, `cascade barge-in ${cascade.toFixed(0)} ms vs live ${live.toFixed(0)} ms`);
  });
});
