/**
 * The probe's turn logic (src/health/probe-run.ts) against scripted fake sessions: what counts as
 * a turn OK and each failure kind (short timeouts, outcomes only), the function turn
 * (answered by id, the turn waits for the answer's content), a new session after a failed turn, a
 * refused model failing every turn after one session, and the sentence order on the wire
 * (activityStart, audio, activityEnd).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TypedEmitter } from '../../src/shared/emitter.js';
import { CallbridgeError } from '../../src/shared/errors.js';
import type { GeminiLiveSession, GeminiLiveSessionOptions, SessionEvents, ToolResponseInput } from '../../src/gemini/index.js';
import { probeModel } from '../../src/health/probe-run.js';
import { PROBE_FUNCTION_NAME } from '../../src/health/probe-audio.js';

type Script = (s: FakeSession) => void;

/** A session that answers each turn's activityEnd with `script` (on the next tick). */
class FakeSession extends TypedEmitter<SessionEvents> {
  isOpen = true;
  goAway: undefined;
  setupLatencyMs = 120;
  readonly sent: string[] = [];
  readonly responses: ToolResponseInput[][] = [];
  readonly #turns: Script[];

  constructor(turns: Script[]) {
    super(() => undefined);
    this.#turns = turns;
  }

  fire<K extends keyof SessionEvents>(type: K, event: SessionEvents[K]): void {
    this.emit(type, event);
  }

  serverClose(code: number, reason: string): void {
    this.isOpen = false;
    this.emit('close', { byUs: false, code, reason, error: { error: new CallbridgeError(code === 1011 ? 'CB_GEMINI_INTERNAL' : 'CB_GEMINI_CLOSED') } as never });
  }

  sendActivityStart(): void {
    this.sent.push('activityStart');
  }

  sendAudio(): void {
    if (this.sent.at(-1) !== 'audio') this.sent.push('audio');
  }

  sendActivityEnd(): void {
    this.sent.push('activityEnd');
    const script = this.#turns.shift();
    if (script) setImmediate(() => script(this));
  }

  sendToolResponse(responses: ToolResponseInput[]): void {
    this.responses.push(responses);
    setImmediate(() => {
      this.fire('audio', { type: 'audio', samples: new Int16Array(10), sampleRateHz: 24000 });
      this.fire('turnComplete', { type: 'turnComplete' });
    });
  }

  close(): Promise<void> {
    this.isOpen = false;
    return Promise.resolve();
  }
}

const reply: Script = (s) => {
  s.fire('audio', { type: 'audio', samples: new Int16Array(10), sampleRateHz: 24000 });
  s.fire('turnComplete', { type: 'turnComplete' });
};
const lookup: Script = (s) => {
  s.fire('toolCall', { type: 'toolCall', calls: [{ id: 'call-1', name: PROBE_FUNCTION_NAME, args: {} }] });
  // The model ends its pre-lookup part; the turn still owes the answer that uses the lookup.
  s.fire('turnComplete', { type: 'turnComplete' });
};
const internal: Script = (s) => s.serverClose(1011, 'Internal error encountered.');

function connector(sessions: FakeSession[]) {
  const opened: FakeSession[] = [];
  return {
    opened,
    connect: (_o: GeminiLiveSessionOptions) => {
      const s = sessions.shift();
      if (!s) throw new Error('no more fake sessions');
      opened.push(s);
      return Promise.resolve(s as unknown as GeminiLiveSession);
    },
  };
}

const base = { apiKey: 'k', pace: Infinity, replyTimeoutMs: 30, turnTimeoutMs: 60 };

describe('probe turns', () => {
  it('plays the function turn first, answers the call by id and waits for the answer', async () => {
    const s = new FakeSession([lookup, reply, reply]);
    const c = connector([s]);
    const run = await probeModel('m', { ...base, turns: 3, connect: c.connect });
    assert.deepEqual(run.turns.map((t) => [t.kind, t.status, t.session]), [['function', 'ok', 1], ['plain', 'ok', 1], ['plain', 'ok', 1]]);
    assert.equal(run.sessions, 1);
    assert.equal(run.turns[0]!.functionCalled, true);
    assert.equal(typeof run.turns[0]!.functionRoundTripMs, 'number');
    assert.equal(run.turns[0]!.setupMs, 120);
    assert.equal(run.turns[1]!.setupMs, undefined, 'setup is counted once per session');
    assert.deepEqual(s.responses, [[{ id: 'call-1', name: PROBE_FUNCTION_NAME, response: { output: { hours: '9 am to 5 pm' } } }]]);
    assert.deepEqual(s.sent.slice(0, 3), ['activityStart', 'audio', 'activityEnd'], 'one sentence between activityStart and activityEnd');
  });

  it('opens a new session after a failed turn and replays the function turn until it is measured', async () => {
    const first = new FakeSession([internal]);
    const second = new FakeSession([lookup, reply]);
    const c = connector([first, second]);
    const run = await probeModel('m', { ...base, turns: 3, connect: c.connect });
    assert.deepEqual(run.turns.map((t) => [t.kind, t.status, t.session]), [['function', 'closed-before-content', 1], ['function', 'ok', 2], ['plain', 'ok', 2]]);
    assert.deepEqual(run.turns[0]!.close, { code: 1011, reason: 'Internal error encountered.', error: 'CB_GEMINI_INTERNAL' });
    assert.equal(run.sessions, 2);
  });

  it('tells each failure kind apart', async () => {
    const afterContent: Script = (s) => {
      s.fire('audio', { type: 'audio', samples: new Int16Array(10), sampleRateHz: 24000 });
      s.serverClose(1011, 'Internal error encountered.');
    };
    const silent: Script = () => undefined;
    const emptyTurn: Script = (s) => s.fire('turnComplete', { type: 'turnComplete' });
    const neverCompletes: Script = (s) => s.fire('audio', { type: 'audio', samples: new Int16Array(10), sampleRateHz: 24000 });
    const sessions = [afterContent, silent, emptyTurn, neverCompletes].map((script) => new FakeSession([script]));
    const run = await probeModel('m', { ...base, turns: 4, functionTurn: false, connect: connector(sessions).connect });
    assert.deepEqual(run.turns.map((t) => t.status), ['closed-after-content', 'no-content', 'no-reply', 'incomplete']);
    assert.equal(run.sessions, 4, 'every failed turn closes its session');
    assert.ok(sessions.every((s) => !s.isOpen));
  });

  it('fails every turn of a refused model after one session, and retries a retryable setup failure', async () => {
    let calls = 0;
    const refused = await probeModel('gemini-9.9-nonexistent', {
      ...base,
      turns: 3,
      connect: () => {
        calls++;
        return Promise.reject(new CallbridgeError('CB_GEMINI_MODEL_NOT_FOUND', 'x', { detail: { closeCode: 1008, closeReason: 'models/gemini-9.9-nonexistent is not found' } }));
      },
    });
    assert.equal(calls, 1);
    assert.deepEqual(refused.turns.map((t) => [t.status, t.close?.code]), [['setup-failed', 1008], ['setup-failed', 1008], ['setup-failed', 1008]]);

    const later = new FakeSession([reply]);
    let attempts = 0;
    const flaky = await probeModel('m', {
      ...base,
      turns: 2,
      functionTurn: false,
      connect: () => (++attempts === 1 ? Promise.reject(new CallbridgeError('CB_GEMINI_SETUP_TIMEOUT', 'no setupComplete within 10 ms')) : Promise.resolve(later as unknown as GeminiLiveSession)),
    });
    assert.deepEqual(flaky.turns.map((t) => [t.status, t.close?.error]), [['setup-failed', 'CB_GEMINI_SETUP_TIMEOUT'], ['ok', undefined]]);
    assert.equal(flaky.sessions, 2);
  });
});
