import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { silentLogger } from '../../src/shared/log.js';
import { defineTool, ToolDispatcher, ToolError, ToolRegistry, type CallControl, type DispatchSession } from '../../src/tools/index.js';

/** A handler that waits until its signal fires and records why. */
function waitForAbort(seen: { reason?: unknown }) {
  return (_args: unknown, ctx: { signal: AbortSignal }) =>
    new Promise((_, reject) => {
      ctx.signal.addEventListener('abort', () => {
        seen.reason = ctx.signal.reason;
        reject(new Error('aborted'));
      });
    });
}

const runs: string[] = [];
const slowSeen: { reason?: unknown } = {};
const hangSeen: { reason?: unknown } = {};
const tools = [
  defineTool({
    name: 'echo',
    description: 'Echoes text.',
    schema: z.object({ text: z.string().describe('What to echo.'), times: z.int().min(1).max(3).optional() }),
    handler: ({ text, times }) => {
      runs.push('echo');
      return { echo: text.repeat(times ?? 1) };
    },
  }),
  defineTool({ name: 'slow', description: 'Never answers.', schema: z.object({}), timeoutMs: 30, handler: waitForAbort(slowSeen) }),
  defineTool({ name: 'hang', description: 'Answers when aborted.', schema: z.object({}), handler: waitForAbort(hangSeen) }),
  defineTool({
    name: 'boom',
    description: 'Throws an internal error.',
    schema: z.object({}),
    handler: () => {
      throw new Error("ENOENT: no such file or directory, open '/srv/callbridge/secret/db.sqlite'");
    },
  }),
  defineTool({
    name: 'taken',
    description: 'A business error.',
    schema: z.object({}),
    handler: async () => {
      throw new ToolError('That slot is already taken; offer 10:30 instead.');
    },
  }),
  defineTool({ name: 'big', description: 'Large output.', schema: z.object({}), handler: () => ({ rows: Array.from({ length: 2000 }, (_, i) => ({ i, text: `row ${i} — é` })) }) }),
  defineTool({ name: 'bigint', description: 'Not JSON.', schema: z.object({}), handler: () => ({ n: 10n }) }),
  defineTool({ name: 'nothing', description: 'Returns nothing.', schema: z.object({}), handler: () => undefined }),
  defineTool({ name: 'elsewhere', description: 'Not allowed in this stage.', schema: z.object({}), handler: () => runs.push('elsewhere') }),
];
const registry = ToolRegistry.create(tools);

function setup(options: { maxResponseBytes?: number } = {}) {
  const calls: string[] = [];
  const control: CallControl = {
    transfer: async (t) => {
      calls.push(`transfer ${t}`);
      return { number: '+15550000001' };
    },
    endCall: async (r) => void calls.push(`end ${r}`),
    goToStage: async (s) => void calls.push(`goTo ${s}`),
  };
  const declared = [...tools.map((t) => t.name), 'transfer_call', 'end_call', 'go_to_stage'];
  const allowed = declared.filter((n) => n !== 'elsewhere');
  const session: DispatchSession = {
    stage: 'menu',
    facts: { name: 'test-flow', stages: ['menu', 'booking'], transfers: ['desk'] },
    isDeclared: (n) => declared.includes(n),
    isAllowed: (n) => allowed.includes(n),
    allowedFunctions: () => allowed,
    stagePurpose: () => 'Find out what the caller needs.',
  };
  let t = 1000;
  const dispatcher = new ToolDispatcher({ registry, session, control, callSid: 'CA1', log: silentLogger(), now: () => (t += 5), ...options });
  return { dispatcher, calls };
}

describe('ToolDispatcher', () => {
  it('runs a valid call and records it', async () => {
    const { dispatcher } = setup();
    const r = await dispatcher.dispatch({ id: 'c1', name: 'echo', args: { text: 'hi', times: 2 } });
    assert.deepStrictEqual(r.response, { output: { echo: 'hihi' } });
    assert.equal(r.stage, 'menu');
    assert.deepStrictEqual(r.event, { kind: 'function_call', id: 'c1', name: 'echo', args: { text: 'hi', times: 2 }, status: 'ok', result: { echo: 'hihi' }, latencyMs: 5 });
  });

  it('returns validation messages to the model without running the handler', async () => {
    const { dispatcher } = setup();
    runs.length = 0;
    const r = await dispatcher.dispatch({ id: 'c2', name: 'echo', args: { times: 9 } });
    assert.equal(r.event.status, 'rejected');
    assert.equal(r.event.errorCode, 'CB_TOOL_INVALID_ARGS');
    assert.ok('error' in r.response);
    assert.match(r.response.error, /^Invalid arguments for echo: "text" is missing; "times" must be at most 3\. Correct them and call echo again\.$/);
    assert.deepStrictEqual(runs, []);
  });

  it('tells the model which functions exist when it calls an unknown one', async () => {
    const { dispatcher } = setup();
    const r = await dispatcher.dispatch({ id: 'c3', name: 'book_flight', args: {} });
    assert.equal(r.event.errorCode, 'CB_TOOL_UNKNOWN');
    assert.ok('error' in r.response);
    assert.match(r.response.error, /There is no function named "book_flight"\. Functions you can use now: echo, slow, .*go_to_stage\./);
  });

  it('refuses a function not allowed in the stage, with the stage purpose and what is allowed', async () => {
    const { dispatcher } = setup();
    runs.length = 0;
    const r = await dispatcher.dispatch({ id: 'c4', name: 'elsewhere' });
    assert.equal(r.event.errorCode, 'CB_TOOL_NOT_ALLOWED');
    assert.ok('error' in r.response);
    assert.match(r.response.error, /"elsewhere" cannot be used at this point of the call \(stage "menu": Find out what the caller needs\.\)\. Functions you can use now: echo,/);
    assert.doesNotMatch(r.response.error, /you can use now: .*elsewhere/);
    assert.deepStrictEqual(runs, []);
  });

  it('times out a slow function and aborts its signal', async () => {
    const { dispatcher } = setup();
    const r = await dispatcher.dispatch({ id: 'c5', name: 'slow' });
    assert.equal(r.event.status, 'timeout');
    assert.equal(r.event.errorCode, 'CB_TOOL_TIMEOUT');
    assert.deepStrictEqual(r.response, { error: 'slow did not answer in time. Tell the caller it cannot be done right now.' });
    assert.equal(slowSeen.reason, 'timeout');
    assert.equal(dispatcher.pending, 0);
  });

  it('cancels a running call through its AbortSignal', async () => {
    const { dispatcher } = setup();
    const pending = dispatcher.dispatch({ id: 'c6', name: 'hang' });
    assert.equal(dispatcher.pending, 1);
    dispatcher.cancel(['c6', 'unknown-id']);
    const r = await pending;
    assert.deepStrictEqual(r.response, { error: 'cancelled' });
    assert.equal(r.event.status, 'cancelled');
    assert.equal(r.event.errorCode, 'CB_TOOL_CANCELLED');
    assert.equal(hangSeen.reason, 'cancelled');
  });

  it('answers a call cancelled before it was dispatched as cancelled, without running it', async () => {
    const { dispatcher } = setup();
    runs.length = 0;
    dispatcher.cancel(['c7']);
    const r = await dispatcher.dispatch({ id: 'c7', name: 'echo', args: { text: 'x' } });
    assert.equal(r.event.status, 'cancelled');
    assert.deepStrictEqual(runs, []);
  });

  it('hides internals of a failing handler', async () => {
    const { dispatcher } = setup();
    const r = await dispatcher.dispatch({ id: 'c8', name: 'boom' });
    assert.equal(r.event.status, 'error');
    assert.equal(r.event.errorCode, 'CB_TOOL_FAILED');
    assert.deepStrictEqual(r.response, { error: 'boom failed because of a technical problem. Tell the caller it cannot be done right now.' });
    assert.doesNotMatch(JSON.stringify(r), /ENOENT|\/srv|sqlite|at .*\.ts/);
  });

  it('passes a ToolError message through', async () => {
    const { dispatcher } = setup();
    const r = await dispatcher.dispatch({ id: 'c9', name: 'taken' });
    assert.deepStrictEqual(r.response, { error: 'That slot is already taken; offer 10:30 instead.' });
    assert.equal(r.event.status, 'error');
  });

  it('truncates an oversized output with a note, within the byte limit', async () => {
    const { dispatcher } = setup({ maxResponseBytes: 2048 });
    const r = await dispatcher.dispatch({ id: 'c10', name: 'big' });
    assert.ok('output' in r.response);
    const out = r.response.output as { truncated: boolean; note: string; partial: string };
    assert.equal(out.truncated, true);
    assert.match(out.note, /too long \(\d+ bytes\) and was cut/);
    assert.ok(out.partial.startsWith('{"rows":[{"i":0,"text":"row 0 — é"}'));
    assert.ok(Buffer.byteLength(JSON.stringify(out)) <= 2048, `${Buffer.byteLength(JSON.stringify(out))} bytes`);
    assert.ok(Buffer.byteLength(JSON.stringify(out)) > 1500);
  });

  it('reports output that is not JSON as a failure, and undefined output as done', async () => {
    const { dispatcher } = setup();
    assert.equal((await dispatcher.dispatch({ id: 'c11', name: 'bigint' })).event.status, 'error');
    assert.deepStrictEqual((await dispatcher.dispatch({ id: 'c12', name: 'nothing' })).response, { output: { ok: true } });
  });

  it('answers each call id once: a second dispatch of the same id is refused and flagged', async () => {
    const { dispatcher } = setup();
    runs.length = 0;
    const first = await dispatcher.dispatch({ id: 'same', name: 'echo', args: { text: 'a' } });
    const second = await dispatcher.dispatch({ id: 'same', name: 'echo', args: { text: 'a' } });
    assert.equal(first.event.status, 'ok');
    assert.equal(first.duplicate, undefined);
    assert.equal(second.duplicate, true);
    assert.equal(second.event.status, 'rejected');
    assert.equal(second.event.errorCode, 'CB_GEMINI_TOOL_RESPONSE_INVALID');
    assert.deepStrictEqual(runs, ['echo']);
  });

  it('never rejects, even when the session throws', async () => {
    const session: DispatchSession = {
      stage: 'menu',
      facts: { name: 'test-flow', stages: ['menu'], transfers: [] },
      isDeclared: () => true,
      isAllowed: () => {
        throw new Error('session bug');
      },
      allowedFunctions: () => [],
      stagePurpose: () => '',
    };
    const control: CallControl = { transfer: async () => ({ number: '' }), endCall: async () => {}, goToStage: async () => {} };
    const d = new ToolDispatcher({ registry, session, control, callSid: 'CA2', log: silentLogger() });
    const r = await d.dispatch({ id: 'x1', name: 'echo', args: { text: 'a' } });
    assert.deepStrictEqual(r.response, { error: 'echo failed because of a technical problem. Tell the caller it cannot be done right now.' });
    assert.equal(r.event.errorCode, 'CB_TOOL_FAILED');
  });

  it('runs built-ins through CallControl, with arguments narrowed to the flow', async () => {
    const { dispatcher, calls } = setup();
    assert.deepStrictEqual((await dispatcher.dispatch({ id: 'b1', name: 'transfer_call', args: { target: 'desk' } })).response, { output: { transferring: 'desk' } });
    const bad = await dispatcher.dispatch({ id: 'b2', name: 'transfer_call', args: { target: 'boss' } });
    assert.equal(bad.event.errorCode, 'CB_TOOL_INVALID_ARGS');
    assert.ok('error' in bad.response && bad.response.error.includes('"desk"'));
    assert.deepStrictEqual((await dispatcher.dispatch({ id: 'b3', name: 'go_to_stage', args: { name: 'booking' } })).response, { output: { stage: 'booking' } });
    const same = await dispatcher.dispatch({ id: 'b4', name: 'go_to_stage', args: { name: 'menu' } });
    assert.deepStrictEqual(same.response, { error: 'The call is already in the stage "menu"; carry on with its instructions.' });
    assert.deepStrictEqual((await dispatcher.dispatch({ id: 'b5', name: 'end_call', args: { reason: 'caller said goodbye' } })).response, { output: { ending: true } });
    assert.deepStrictEqual(calls, ['transfer desk', 'goTo booking', 'end caller said goodbye']);
  });
});
