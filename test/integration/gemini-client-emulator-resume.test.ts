/**
 * The Gemini Live client against the emulator: goAway, session resumption on a new socket, and
 * the closes that follow from getting it wrong (resume while the old socket is open, a stale
 * handle, not closing after goAway).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fitSine } from '../../src/audio/analysis.js';
import type { ScenarioInput } from '../../src/emulator/index.js';
import { CallbridgeError } from '../../src/shared/errors.js';
import { Events, MODEL_25, MODEL_3, closeTts, connect, sendTurn, streamAudio, toneBursts, withEmulator, within } from './gemini-client-harness.js';

after(closeTts);

const SCENARIO: ScenarioInput = {
  name: 'client-resume',
  greeting: { say: { toneHz: 440, durationMs: 80 } },
  turns: [
    { heard: 'first', say: { toneHz: 500, durationMs: 80 } },
    { heard: 'second', say: { toneHz: 600, durationMs: 120 } },
  ],
  endOfScenario: { mode: 'silent' },
};

/** The frequency (of the candidates) that fits the audio best. */
function toneOf(samples: Int16Array, candidates: readonly number[]): number {
  let best = candidates[0]!;
  let bestDb = -Infinity;
  for (const hz of candidates) {
    const db = fitSine(samples, hz, 24000).thdnDb;
    if (db > bestDb) [best, bestDb] = [hz, db];
  }
  return best;
}

async function expectConnectError(promise: Promise<unknown>, code: string, closeCode: number, retryClass: string): Promise<CallbridgeError> {
  const err = await within(promise.then(() => undefined, (e: unknown) => e), 3000, 'connect to settle');
  assert.ok(err instanceof CallbridgeError, `connect rejects with a CallbridgeError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.equal(err.detail?.['closeCode'], closeCode);
  assert.equal(err.detail?.['retryClass'], retryClass);
  return err;
}

describe('Gemini Live client ↔ emulator: goAway and resumption', () => {
  it('goAway → the client surfaces timeLeftMs; close, resume with the handle on a new socket → the scenario continues where it stopped', async () => {
    // goAway 50 ms into each connection, with 3 s to leave: the test closes well before that.
    await withEmulator({ scenario: SCENARIO, goAwayAfterMs: 50, goAwayTimeLeftMs: 3000 }, async (emulator) => {
      const a = await connect(emulator);
      const ea = new Events(a);
      sendTurn(a, 'Greet the caller.');
      const greeted = await ea.waitFor('turnComplete');
      assert.equal(toneOf(ea.audio(0, greeted), [440, 500, 600]), 440, 'the greeting');
      streamAudio(a, toneBursts());
      const heard = await ea.waitFor('inputTranscription', { from: greeted + 1 });
      assert.equal(ea.of('inputTranscription', heard, heard + 1)[0]!.text, 'first');
      const first = await ea.waitFor('turnComplete', { from: heard });
      assert.equal(toneOf(ea.audio(heard, first), [440, 500, 600]), 500);
      // The handle the emulator issues at the idle boundary after that turn.
      const update = await ea.waitFor('sessionResumptionUpdate', { from: first, test: (u) => u.resumable && u.newHandle !== undefined });
      const handle = ea.of('sessionResumptionUpdate', update, update + 1)[0]!.newHandle!;
      assert.equal(a.resumptionHandle, handle);

      const goAwayAt = await ea.waitFor('goAway');
      assert.equal(ea.of('goAway', goAwayAt, goAwayAt + 1)[0]!.timeLeftMs, 3000);
      assert.equal(a.goAway?.timeLeftMs, 3000);
      assert.ok(a.isOpen, 'goAway does not close the connection by itself');

      await a.close();
      const closeA = await ea.closed;
      assert.equal(closeA.byUs, true);
      assert.equal(closeA.error, undefined, 'our own close is not an error');
      assert.equal(a.isOpen, false);

      const b = await connect(emulator, { sessionResumption: { handle } });
      const eb = new Events(b);
      try {
        assert.equal(emulator.session(2)!.resumedFrom, handle);
        assert.equal(emulator.session(2)!.logicalId, emulator.session(1)!.logicalId, 'same logical session');
        assert.deepEqual(b.setup.sessionResumption, { handle });
        streamAudio(b, toneBursts());
        const heardB = await eb.waitFor('inputTranscription');
        assert.equal(eb.of('inputTranscription', heardB, heardB + 1)[0]!.text, 'second', 'the next turn, not the first again');
        const doneB = await eb.waitFor('turnComplete', { from: heardB });
        assert.equal(toneOf(eb.audio(heardB, doneB), [440, 500, 600]), 600);
        assert.equal(eb.audio(heardB, doneB).length, 120 * 24);
        assert.equal(eb.audio(0, heardB).length, 0, 'nothing spoken before the caller (no greeting again)');
        assert.ok(b.resumptionHandle !== undefined && b.resumptionHandle !== handle, 'a fresh handle after the turn');
      } finally {
        await b.close();
      }
      assert.deepEqual(emulator.sessions.map((s) => s.close?.by), ['client', 'client'], 'both connections ended by the client, none by the emulator');
      assert.deepEqual(emulator.sessions.flatMap((s) => s.faults), []);
    });
  });

  it('resuming while the old socket is still open → connect rejects with the classified 1011 (CB_GEMINI_INTERNAL, transient); the old session stays up', async () => {
    await withEmulator({ scenario: SCENARIO }, async (emulator) => {
      const a = await connect(emulator);
      const ea = new Events(a);
      try {
        await ea.waitFor('sessionResumptionUpdate', { test: (u) => u.newHandle !== undefined });
        const handle = a.resumptionHandle!;
        const err = await expectConnectError(connect(emulator, { sessionResumption: { handle } }), 'CB_GEMINI_INTERNAL', 1011, 'transient');
        assert.equal(err.retryable, true);
        assert.equal(emulator.session(2)!.close?.reason, 'Internal error encountered.');
        assert.ok(a.isOpen);
        sendTurn(a, 'hello');
        await ea.waitFor('turnComplete');
      } finally {
        await a.close();
      }
    });
  });

  it('a stale handle → 1008 "session not found" → CB_GEMINI_SESSION_NOT_FOUND, retryClass fresh-session', async () => {
    await withEmulator({ scenario: SCENARIO }, async (emulator) => {
      const err = await expectConnectError(connect(emulator, { sessionResumption: { handle: 'CiQ-handle-from-a-previous-server' } }), 'CB_GEMINI_SESSION_NOT_FOUND', 1008, 'fresh-session');
      assert.equal(err.retryable, true);
      // Retrying as the class says (a fresh session, no handle) works.
      const fresh = await connect(emulator);
      await fresh.close();
    });
  });

  for (const [model, code, closeCode] of [
    [MODEL_3, 'CB_GEMINI_GOAWAY_IGNORED', 1008],
    [MODEL_25, 'CB_GEMINI_DEADLINE', 1011],
  ] as const) {
    it(`not closing after goAway on ${model} → the emulator closes ${closeCode}, classified ${code} (transient)`, async () => {
      await withEmulator({ scenario: SCENARIO, goAwayAfterMs: 20, goAwayTimeLeftMs: 150 }, async (emulator) => {
        const session = await connect(emulator, { model });
        const events = new Events(session);
        await events.waitFor('goAway');
        const closed = await within(events.closed, 3000, 'the emulator to close');
        assert.equal(closed.byUs, false);
        assert.equal(closed.code, closeCode);
        assert.equal(closed.error?.error.code, code);
        assert.equal(closed.error?.retryable, true);
        assert.equal(closed.error?.retryClass, 'transient');
        assert.deepEqual(events.types().slice(-2), ['goAway', 'close']);
        assert.deepEqual(emulator.session(1)!.faults, ['goAwayClose']);
      });
    });
  }
});
