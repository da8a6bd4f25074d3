/**
 * CallMoves (src/call/migration.ts): a migrated call's first session resumes with the hand-off's
 * handle and is not greeted again; a refused handle falls back to a fresh session seeded with the
 * conversation; the draining side hands over the latest handle and the conversation and closes
 * its link; without a port nothing is wrapped.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallMoves, type Handoff, type MigrationPort, type MovableCall } from '../../src/call/migration.js';
import type { AgentEvent, ConnectOptions, LiveConnect, LiveSession, Turn } from '../../src/call/ports.js';
import type { GeminiLink } from '../../src/call/link/link.js';
import { silentLogger } from '../../src/shared/log.js';
import { readFileSync } from 'node:fs';
import { FlowSession, loadFlowSources } from '../../src/flows/index.js';
import { z } from 'zod';
import { defineTool, ToolRegistry } from '../../src/tools/index.js';

function engineFlowSession(): FlowSession {
  const file = 'test/fixtures/flows/engine.yaml';
  const result = loadFlowSources([{ file, text: readFileSync(file, 'utf8') }], {
    registry: ToolRegistry.create([
      defineTool({ name: 'lookup', description: 'Look something up.', schema: z.object({ q: z.string() }), handler: ({ q }) => ({ q }) }),
      defineTool({ name: 'book', description: 'Book it.', schema: z.object({ when: z.string() }), handler: () => ({ status: 'booked' }) }),
    ]),
    env: {},
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return new FlowSession(result.flows[0]!, result.registry);
}

interface Fake {
  session: LiveSession;
  sent: Array<{ turns: Turn[]; complete: boolean }>;
  emit(e: AgentEvent): void;
}

function fakeSession(): Fake {
  const listeners: Array<(e: AgentEvent) => void> = [];
  const sent: Fake['sent'] = [];
  const session: LiveSession = {
    setupLatencyMs: 1,
    pendingToolCalls: [],
    instructionChannel: 'clientContent',
    onEvent: (l) => {
      listeners.push(l);
      return () => undefined;
    },
    onClose: () => () => undefined,
    sendAudio: () => undefined,
    sendClientContent: (turns, complete) => void sent.push({ turns, complete }),
    instruct: () => undefined,
    sendToolResponse: () => undefined,
    close: async () => undefined,
  };
  return { session, sent, emit: (e) => listeners.forEach((l) => l(e)) };
}

const CONFIG = { sessionResumption: { enabled: true as const } } as unknown as ConnectOptions['config'];
const HISTORY: Turn[] = [
  { role: 'user', parts: [{ text: 'I would like to book a visit' }] },
  { role: 'model', parts: [{ text: 'Of course, which day suits you?' }] },
];
const GREETING: Turn[] = [{ role: 'user', parts: [{ text: '(The caller has just been connected.) Greet them now by saying exactly: "Hi"' }] }];

function handoff(extra: Partial<Handoff> = {}): Handoff {
  return { id: 'h1', callSid: 'CA1', from: 'a', to: 'b', flow: 'f', history: HISTORY, createdAt: 1000, handle: 'H-42', ...extra };
}

function port(found: Handoff | undefined, moved: MovableCall[] = []): MigrationPort {
  return {
    onDrain: true,
    arrived: async () => found,
    move: async (call) => {
      moved.push(call);
      return true;
    },
  };
}

describe('CallMoves, receiving side', () => {
  it('resumes the first session with the hand-off handle and drops the repeated greeting', async () => {
    const moves = new CallMoves(port(handoff()), silentLogger());
    await moves.arrive('CA1');
    const opened: ConnectOptions[] = [];
    const fake = fakeSession();
    const inner: LiveConnect = async (o) => {
      opened.push(o);
      return fake.session;
    };
    const session = await moves.connect('CA1', inner)({ config: CONFIG, log: silentLogger() });
    assert.equal(opened[0]?.config.sessionResumption.handle, 'H-42');
    session.sendClientContent(GREETING, true);
    session.sendClientContent([{ role: 'user', parts: [{ text: 'later' }] }], true);
    assert.deepEqual(fake.sent.map((s) => s.turns[0]?.parts[0]?.text), ['later'], 'no greeting, no re-seed; later turns pass');
  });

  it('a refused handle: the next attempt is fresh and seeded with the conversation', async () => {
    const moves = new CallMoves(port(handoff()), silentLogger());
    await moves.arrive('CA1');
    const handles: Array<string | undefined> = [];
    const fake = fakeSession();
    let first = true;
    const connect = moves.connect('CA1', async (o) => {
      handles.push(o.config.sessionResumption.handle);
      if (first) {
        first = false;
        throw new Error('session not found');
      }
      return fake.session;
    });
    await assert.rejects(connect({ config: CONFIG, log: silentLogger() }));
    await connect({ config: CONFIG, log: silentLogger() });
    assert.deepEqual(handles, ['H-42', undefined]);
    assert.deepEqual(fake.sent[0], { turns: HISTORY, complete: false });
  });

  it('history puts the earlier conversation first; the migrated event carries from, to and the gap', async () => {
    const moves = new CallMoves(port(handoff()), silentLogger());
    await moves.arrive('CA1');
    const own: Turn[] = [{ role: 'user', parts: [{ text: 'Tuesday' }] }];
    assert.deepEqual(moves.history('CA1', () => own).history?.(), [...HISTORY, ...own]);
    const events: unknown[] = [];
    moves.opened('CA1', { event: (body: unknown) => void events.push(body) } as never, 1250);
    assert.deepEqual(events, [{ kind: 'migrated', from: 'a', to: 'b', gapMs: 250, withHandle: true }]);
  });

  it('without a hand-off the call is an ordinary one (no event, connect options unchanged)', async () => {
    const moves = new CallMoves(port(undefined), silentLogger());
    await moves.arrive('CA1');
    const events: unknown[] = [];
    moves.opened('CA1', { event: (body: unknown) => void events.push(body) } as never, 1250);
    assert.deepEqual(events, []);
    const fake = fakeSession();
    let seen: ConnectOptions | undefined;
    const session = await moves.connect('CA1', async (o) => ((seen = o), fake.session))({ config: CONFIG, log: silentLogger() });
    assert.equal(seen?.config.sessionResumption.handle, undefined);
    session.sendClientContent(GREETING, true);
    assert.equal(fake.sent.length, 1, 'the greeting goes out');
  });
});

describe('CallMoves, the flow stage', () => {
  it('an arrival continues in its stage: start() runs no onEnter again', async () => {
    const moves = new CallMoves(port(handoff({ stage: 'booking' })), silentLogger());
    await moves.arrive('CA1');
    const session = moves.session('CA1', engineFlowSession());
    assert.equal(session.stage, 'booking');
    assert.deepEqual(session.start(), { actions: [], events: [] });
  });

  it('a stage the flow does not have: the call starts at the first stage', async () => {
    const moves = new CallMoves(port(handoff({ stage: 'no-such-stage' })), silentLogger());
    await moves.arrive('CA1');
    const session = moves.session('CA1', engineFlowSession());
    assert.equal(session.stage, 'menu');
    assert.equal(session.start().events[0]?.kind, 'stage_change');
  });

  it('the draining side hands over the stage the call is in', async () => {
    const moved: MovableCall[] = [];
    const moves = new CallMoves(port(undefined, moved), silentLogger());
    const session = moves.session('CA1', engineFlowSession());
    session.start();
    session.goTo('support', 'test');
    moves.track('CA1', { close: async () => undefined } as unknown as GeminiLink);
    await moves.moveAll(['CA1'], () => 'engine-test');
    assert.equal(moved[0]?.stage, 'support');
  });
});

describe('CallMoves, draining side', () => {
  it('hands over the latest resumable handle and the conversation, and closes the link', async () => {
    const moved: MovableCall[] = [];
    const moves = new CallMoves(port(undefined, moved), silentLogger());
    const fake = fakeSession();
    await moves.connect('CA1', async () => fake.session)({ config: CONFIG, log: silentLogger() });
    fake.emit({ type: 'sessionResumptionUpdate', resumable: true, newHandle: 'H-1' });
    fake.emit({ type: 'sessionResumptionUpdate', resumable: false });
    fake.emit({ type: 'sessionResumptionUpdate', resumable: true, newHandle: 'H-2' });
    moves.history('CA1', () => HISTORY);
    let closed = 0;
    moves.track('CA1', { close: async () => void closed++ } as unknown as GeminiLink);
    const out = await moves.moveAll(['CA1', 'CA-unknown'], (sid) => (sid === 'CA1' ? 'f' : undefined));
    assert.deepEqual(out, { moved: 1, stayed: 1 });
    assert.equal(moved[0]?.handle, 'H-2');
    assert.deepEqual(moved[0]?.history, HISTORY);
    await moved[0]?.detach();
    assert.equal(closed, 1);
  });

  it('a busy agent (mid-reply, running functions): the move waits for its next resumable handle', async () => {
    const moved: MovableCall[] = [];
    const moves = new CallMoves(port(undefined, moved), silentLogger());
    const fake = fakeSession();
    await moves.connect('CA1', async () => fake.session)({ config: CONFIG, log: silentLogger() });
    fake.emit({ type: 'sessionResumptionUpdate', resumable: true, newHandle: 'H-1' });
    fake.emit({ type: 'sessionResumptionUpdate', resumable: false });
    moves.track('CA1', { close: async () => undefined } as unknown as GeminiLink);
    const done = moves.moveAll(['CA1'], () => 'f');
    await new Promise((r) => setImmediate(r));
    assert.equal(moved.length, 0, 'not moved while the agent is busy');
    fake.emit({ type: 'sessionResumptionUpdate', resumable: true, newHandle: 'H-2' });
    assert.deepEqual(await done, { moved: 1, stayed: 0 });
    assert.equal(moved[0]?.handle, 'H-2', 'the handle that includes the busy turn');
  });

  it('without a port nothing is wrapped and nothing moves', async () => {
    const moves = new CallMoves(undefined, silentLogger());
    const inner: LiveConnect = async () => fakeSession().session;
    assert.equal(moves.connect('CA1', inner), inner);
    assert.deepEqual(await moves.moveAll(['CA1'], () => 'f'), { moved: 0, stayed: 1 });
  });
});
