/**
 * Fuzzing the Gemini side through whole calls: the Live emulator sends a garbage frame before
 * about 30% of its messages (every garbage kind: binary noise, truncated JSON, known fields with
 * wrong types, unknown messages) into normal calls. The calls still complete every turn — the
 * caller hears each reply whole — the server logs CB_GEMINI_MALFORMED_MESSAGE once per session
 * (then only counts), and nothing throws. In-process rig (test/support/e2e.ts); the emulator's
 * garbage is seeded: reproduce with FUZZ_SEED=<seed>.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startRig, testFlow } from '../support/e2e.js';
import { createLogger } from '../../src/shared/log.js';
import { fitSine } from '../../src/audio/analysis.js';
import type { ScriptStep } from '../../src/simulator/index.js';

const SEED = process.env['FUZZ_SEED'] ? Number(process.env['FUZZ_SEED']) : Math.floor(Math.random() * 2 ** 31);
const CALLS = 4;
/** The model's replies, in order: a tone each (turn k answers the caller's k-th utterance). */
const REPLIES = [
  { toneHz: 610, durationMs: 900 },
  { toneHz: 830, durationMs: 700 },
  { toneHz: 1070, durationMs: 800 },
] as const;
const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 3, turnCompleteDelayMs: 20 };

type LogLine = Record<string, unknown> & { level: number; msg: string };

describe('bridge fuzz: the Gemini side', () => {
  it(`garbage frames from Gemini (garbageRate 0.3, every kind) do not stop calls from completing their turns (FUZZ_SEED=${SEED})`, async () => {
    console.log(`# bridge-fuzz-gemini: FUZZ_SEED=${SEED}`);
    const seedNote = `(FUZZ_SEED=${SEED})`;
    const log: LogLine[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) log.push(JSON.parse(line) as LogLine);
        done();
      },
    });
    const rig = await startRig({
      flows: { 'line.yaml': testFlow() },
      log: createLogger({ level: 'debug', destination }),
      emulator: {
        seed: SEED,
        timing: FAST,
        faults: { garbageRate: 0.3, garbageKinds: ['binary', 'truncated-json', 'wrong-types', 'unknown-message'] },
        scenario: {
          name: 'tones',
          turns: REPLIES.map((say, i) => ({ heard: `utterance ${i + 1}`, say: { ...say, amplitude: 10_000 } })),
          endOfScenario: { mode: 'silent' },
        },
      },
    });
    try {
      const turn = (hz: number): ScriptStep[] => [
        { tone: { hz, durationMs: 600, amplitude: 8000 } },
        { waitForBotSpeech: { timeoutMs: 15_000 } },
        { waitForBotSilence: { silenceMs: 700, timeoutMs: 15_000 } },
      ];
      const results = await Promise.all(
        Array.from({ length: CALLS }, (_, i) =>
          rig.call({
            callSid: `CA${'9'.repeat(31)}${i}`,
            timeScale: 0.5,
            maxDurationMs: 60_000,
            script: [
              { waitForBotSpeech: { timeoutMs: 15_000 } },
              { waitForBotSilence: { silenceMs: 700, timeoutMs: 15_000 } },
              ...turn(300 + 40 * i),
              ...turn(300 + 40 * i),
              ...turn(300 + 40 * i),
            ],
          }),
        ),
      );
      const health = await fetch(`${rig.bridge.url}/healthz`);
      assert.equal(health.status, 200, `GET /healthz answers ${seedNote}`);
      await rig.bridge.writer.flush();

      const sessions = rig.emulator.sessions;
      const garbage = sessions.reduce((sum, s) => sum + s.counts.garbageSent, 0);
      const malformedLines = log.filter((l) => l['code'] === 'CB_GEMINI_MALFORMED_MESSAGE');
      console.log(
        `# bridge-fuzz-gemini: seed ${SEED}; ${CALLS} calls, ${sessions.length} Gemini sessions, ${garbage} garbage frames ` +
          `(per session ${sessions.map((s) => s.counts.garbageSent).join('/')}); ${malformedLines.length} CB_GEMINI_MALFORMED_MESSAGE lines, ` +
          `${log.filter((l) => l.level >= 40).length} warnings in all`,
      );

      for (const [i, result] of results.entries()) {
        const label = `call ${i} ${seedNote}`;
        assert.deepEqual(result.timeouts, [], `${label}: no wait timed out`);
        assert.equal(result.outcome.endedBy, 'caller', `${label}: the caller hung up after its script`);
        assert.deepEqual(result.protocolErrors, [], `${label}: no protocol errors`);
        // Every reply heard whole, in order.
        let previousAt = -1;
        for (const reply of REPLIES) {
          const frames: number[] = [];
          for (let s = 0; s + 160 <= result.heard.length; s += 160) if (fitSine(result.heard, reply.toneHz, 8000, s, s + 160).amplitude > 5000) frames.push(s / 8);
          assert.ok(frames.length * 20 >= reply.durationMs - 60, `${label}: heard ${frames.length * 20} ms of the ${reply.durationMs} ms ${reply.toneHz} Hz reply`);
          assert.ok(frames[0]! > previousAt, `${label}: the ${reply.toneHz} Hz reply came after the previous one`);
          previousAt = frames[0]!;
        }
        const record = await rig.bridge.store.getCall(result.callSid);
        assert.ok(record && ['completed', 'caller_hung_up'].includes(record.outcome), `${label}: recorded as ended by the caller (${record?.outcome})`);
        assert.equal(record.reconnects, 0, `${label}: garbage never cost the call its Gemini session`);
        // Logged once per session: the first malformed frame as a warning, the rest counted at debug.
        const callLines = log.filter((l) => l['callSid'] === result.callSid);
        const firstMalformed = callLines.filter((l) => l['code'] === 'CB_GEMINI_MALFORMED_MESSAGE' && /malformed frame/.test(l.msg));
        const counted = callLines.filter((l) => l.msg === 'gemini malformed frame');
        assert.equal(firstMalformed.length, 1, `${label}: the first malformed frame is logged once with its code (${firstMalformed.length} lines; ${counted.length} more counted at debug)`);
        const skippedKinds = callLines.filter((l) => l['code'] === 'CB_GEMINI_MALFORMED_MESSAGE' && /part skipped/.test(l.msg)).map((l) => String(l['part']));
        assert.equal(new Set(skippedKinds).size, skippedKinds.length, `${label}: each kind of skipped part is logged once: ${skippedKinds.join(', ')}`);
      }
      // Every session got garbage, and the log is a small fraction of it.
      for (const s of sessions) assert.ok(s.counts.garbageSent > 0, `session ${s.id} received garbage frames ${seedNote}`);
      assert.ok(malformedLines.length <= sessions.length * 8, `${malformedLines.length} CB_GEMINI_MALFORMED_MESSAGE lines for ${sessions.length} sessions: rate-limited ${seedNote}`);
      assert.ok(malformedLines.length < garbage / 3, `${malformedLines.length} warning lines for ${garbage} garbage frames ${seedNote}`);
      assert.deepEqual(log.filter((l) => l.level >= 50).map((l) => l.msg), [], `no error-level log lines (no listener threw) ${seedNote}`);
    } finally {
      await rig.close();
    }
  });
});
