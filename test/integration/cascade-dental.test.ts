/**
 * The shipped dental demo (flows/dental-receptionist.yaml with scenarios/dental-receptionist.yaml)
 * on `pipeline: cascade`, end to end through the emulator, next to the same flow on Live in the
 * same run: the call goes through its stage change, the calendar lookup, a booking whose date and
 * time come from that lookup (the emulator's REST replay carries function results into a later
 * turn, src/emulator/cascade-replay.ts), and end_call in the wrap-up stage.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startRig, type Rig } from '../support/e2e.js';
import { InstantSpeech } from '../support/instant-speech.js';
import type { StoredCallEvent } from '../../src/transcripts/index.js';
import type { ScriptStep } from '../../src/simulator/index.js';

type Fn = Extract<StoredCallEvent, { kind: 'function_call' }>;
const fns = (events: StoredCallEvent[]): Fn[] => events.filter((e): e is Fn => e.kind === 'function_call');
const texts = (events: StoredCallEvent[], kind: 'bot_utterance' | 'caller_utterance') => events.flatMap((e) => (e.kind === kind ? [e.text] : []));

const DENTAL = readFileSync(resolve('flows/dental-receptionist.yaml'), 'utf8');
const CASCADE_NUMBER = '+15550120002';

/** The demo flow as shipped (Live, the default flow), and a copy on the cascade with its own number. */
function cascadeCopy(): string {
  const out = DENTAL.replace(/^name: dental-receptionist$/m, 'name: dental-cascade')
    .replace(/^numbers: \[\]$/m, `numbers: ["${CASCADE_NUMBER}"]`)
    .replace(/^default: true$/m, 'default: false')
    .replace(/^model: gemini-3\.8-live\nfallbackModels:\n(?: {2}- .*\n)+/m, 'pipeline: cascade\n');
  assert.notEqual(out.indexOf('pipeline: cascade'), -1, 'the copy is on the cascade');
  assert.notEqual(out.indexOf(`numbers: ["${CASCADE_NUMBER}"]`), -1, 'the copy has its own number');
  return out;
}

// The demo caller (scripts/demo.ts): four utterances, each after the bot's answer; tones of
// different pitch stand for the words (the scenario gives what was heard).
const listen: ScriptStep[] = [{ waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 1500, timeoutMs: 20000 } }];
const script: ScriptStep[] = [
  ...listen,
  ...[300, 340, 380, 420].flatMap((hz): ScriptStep[] => [{ tone: { hz, durationMs: 1000, amplitude: 8000 } }, ...listen]),
];

describe('the dental demo on pipeline: cascade, end to end through the emulator', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({
      flows: { 'dental-receptionist.yaml': DENTAL, 'dental-cascade.yaml': cascadeCopy() },
      bridge: { toolsDir: resolve('tools'), now: () => new Date('2026-11-24T15:00:00Z') },
      emulator: {
        timing: { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 },
        tts: new InstantSpeech(),
        scenariosBySystemInstruction: [{ match: 'Bright Smile Dental', scenario: resolve('scenarios/dental-receptionist.yaml') }],
      },
    });
  });
  after(() => rig.close());

  it('books the slot the calendar offered and says goodbye with end_call, as the Live call does', async () => {
    // The shipped Live flow runs the same demo in test/integration/bridge-flows.test.ts; set
    // CASCADE_DENTAL_BOTH=1 to run it here too, side by side (doubles this test's ~45 s).
    const runs = [...(process.env['CASCADE_DENTAL_BOTH'] ? [['live', '+15550100100'] as const] : []), ['cascade', CASCADE_NUMBER] as const];
    for (const [name, to] of runs) {
      const result = await rig.call({ to, timeScale: 1, afterScript: 'wait', maxDurationMs: 75000, script });
      assert.deepEqual(result.timeouts, [], `${name}: no wait timed out`);
      console.log(`# ${name}: the call lasted ${((result.timeline.at(-1)?.atMs ?? 0) / 1000).toFixed(1)} s`);
      await rig.bridge.writer.flush();
      const events = await rig.bridge.store.getEvents(result.callSid);
      const record = (await rig.bridge.store.getCall(result.callSid))!;
      const calls = fns(events);
      assert.deepEqual(calls.map((c) => [c.name, c.status]), [['go_to_stage', 'ok'], ['check_availability', 'ok'], ['book_appointment', 'ok'], ['end_call', 'ok']], `${name}: the functions`);
      const offered = calls[1]!.result as { days: Array<{ date: string; weekday: string; times: string[] }> };
      const day = offered.days[0]!;
      assert.ok(day.date !== '' && day.times[0], `${name}: the calendar offered a slot`);
      const bookArgs = calls[2]!.args as { date?: unknown; time?: unknown; patientName?: unknown };
      assert.deepEqual([bookArgs.date, bookArgs.time, bookArgs.patientName], [day.date, day.times[0], 'Sam Lee'], `${name}: booked the slot the calendar offered`);
      assert.equal((calls[2]!.result as { status: string }).status, 'booked', `${name}: booked`);
      assert.ok(events.some((e) => e.kind === 'stage_change' && e.to === 'wrap-up'), `${name}: reached wrap-up`);
      const bot = texts(events, 'bot_utterance');
      assert.equal(bot[0], 'Thank you for calling Bright Smile Dental, this is Maya. How can I help you today?', `${name}: the greeting`);
      assert.ok(bot.some((t) => t.startsWith(`I have ${day.weekday} at ${day.times[0]}`)), `${name}: the offer: ${bot.join(' | ')}`);
      assert.ok(bot.some((t) => /^You're all set, Sam: \S+ at \S+\. Your reference is \S+\./.test(t)), `${name}: the confirmation: ${bot.join(' | ')}`);
      assert.ok(bot.includes('Thank you for calling Bright Smile Dental, Sam. Goodbye!'), `${name}: the goodbye`);
      assert.deepEqual(texts(events, 'caller_utterance'), ["Hi, I'd like to book a check-up, please.", "It's for Sam Lee. A morning would be best.", 'The first one, please.', "No, that's all. Thank you!"], `${name}: the caller's words`);
      assert.equal(record.outcome, 'ended_by_bot', `${name}: end_call hung up (${JSON.stringify(record.outcomeDetail)})`);
      if (name === 'cascade') assert.ok(record.models.every((m) => !m.includes('live')), `cascade: a text model (${record.models.join(', ')})`);
    }
  });
});
