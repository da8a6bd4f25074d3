import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { silentLogger } from '../../src/shared/log.js';
import { FlowSession, loadFlowSources, type Flow, type FlowAction } from '../../src/flows/index.js';
import { defineTool, ToolDispatcher, ToolRegistry, type CallControl } from '../../src/tools/index.js';

const FILE = 'test/fixtures/flows/engine.yaml';
const registry = ToolRegistry.create([
  defineTool({ name: 'lookup', description: 'Look something up.', schema: z.object({ q: z.string() }), handler: ({ q }) => ({ q }) }),
  defineTool({ name: 'book', description: 'Book it.', schema: z.object({ when: z.string() }), handler: () => ({ status: 'booked' }) }),
]);

function load(): { flow: Flow; registry: ToolRegistry } {
  const result = loadFlowSources([{ file: FILE, text: readFileSync(FILE, 'utf8') }], { registry, env: {} });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return { flow: result.flows[0]!, registry: result.registry };
}

function session(): FlowSession {
  const { flow, registry: r } = load();
  return new FlowSession(flow, r);
}

const instruct = (s: FlowSession, stage: string): FlowAction => ({ type: 'instruct', text: s.stageInstructions(stage) });

describe('FlowSession', () => {
  it('starts in the first stage with its onEnter, once', () => {
    const s = session();
    assert.equal(s.stage, 'menu');
    assert.equal(s.greeting(), 'Hello from the test.');
    assert.deepStrictEqual(s.start(), {
      actions: [{ type: 'say', text: 'Welcome to the menu.' }],
      events: [{ kind: 'stage_change', to: 'menu', reason: 'call started' }],
    });
    assert.deepStrictEqual(s.start(), { actions: [], events: [] });
  });

  it('declares the union of the flow’s functions once, built-ins narrowed to the flow', () => {
    const s = session();
    const decl = s.declarations();
    assert.deepStrictEqual(decl.map((d) => d.name), ['lookup', 'book', 'go_to_stage', 'transfer_call', 'end_call']);
    const byName = Object.fromEntries(decl.map((d) => [d.name, d]));
    assert.deepStrictEqual(byName.go_to_stage!.parameters!.properties!.name!.enum, ['menu', 'booking', 'support', 'done']);
    assert.deepStrictEqual(byName.transfer_call!.parameters!.properties!.target!.enum, ['desk', 'pbx']);
    assert.deepStrictEqual(byName.lookup!.parameters, { type: 'OBJECT', properties: { q: { type: 'STRING' } }, required: ['q'] });
    decl[0]!.name = 'mutated';
    assert.equal(s.declarations()[0]!.name, 'lookup', 'callers get copies');
  });

  it('builds the system instruction from persona, the stage rules and the current stage', () => {
    const s = session();
    const text = s.systemInstruction(new Date('2025-03-10T08:30:00Z'));
    assert.ok(text.startsWith('You are a test bot.\n\n## How this call works\n'));
    assert.match(text, /call go_to_stage\. The stages:\n- menu: Ask what the caller wants\.\n- booking: Book things\.\n- support: Help with anything\.\n- done: Wrap up\./);
    assert.match(text, /It is now Monday, March 10, 2025 at 9:30\sAM \(Europe\/Paris\)\./);
    assert.ok(text.endsWith('## Current stage: menu\nAsk what the caller wants. Then route them.\nFunctions you can use in this stage: go_to_stage, transfer_call.'));
    s.goTo('booking', 'test');
    assert.match(s.systemInstruction(), /## Current stage: booking\nBook an appointment\.\nFunctions you can use in this stage: lookup, book, go_to_stage\.$/);
  });

  it('writes stage instructions that stand alone', () => {
    const s = session();
    assert.equal(
      s.stageInstructions('booking'),
      '[stage: booking] The call is now in the stage "booking". These instructions replace those of the previous stage:\n' +
        'Book an appointment.\nFunctions you can use in this stage: lookup, book, go_to_stage.',
    );
    assert.match(s.stageInstructions('support'), /Functions you can use in this stage: lookup, book\.$/);
  });

  it('a mapped key moves to its stage and lets the model speak when nothing is said', () => {
    const s = session();
    s.start();
    const step = s.onDtmf('1');
    assert.equal(s.stage, 'booking');
    assert.deepStrictEqual(step, {
      actions: [instruct(s, 'booking'), { type: 'tell_model', text: 'The caller pressed 1.' }],
      events: [{ kind: 'stage_change', from: 'menu', to: 'booking', reason: 'key 1' }],
    });
  });

  it('orders a stage change as: say, onExit, instructions, onEnter', () => {
    const s = session();
    s.goTo('booking', 'test');
    const step = s.onDtmf('*');
    assert.deepStrictEqual(step.actions, [{ type: 'say', text: 'Leaving booking.' }, instruct(s, 'menu'), { type: 'say', text: 'Welcome to the menu.' }]);
    const s2 = session();
    assert.deepStrictEqual(s2.onDtmf('2').actions, [{ type: 'say', text: 'Going to support.' }, instruct(s2, 'support')]);
  });

  it('keys can say, end the call or transfer; stage keys win over flow-wide keys', () => {
    const s = session();
    assert.deepStrictEqual(s.onDtmf('3'), { actions: [{ type: 'say', text: 'Goodbye.' }, { type: 'end_call', reason: 'pressed 3' }], events: [] });
    assert.deepStrictEqual(s.onDtmf('9').actions, [{ type: 'say', text: 'Menu nine.' }]);
    s.goTo('support', 'test');
    assert.deepStrictEqual(s.onDtmf('9').actions, [{ type: 'say', text: 'Global nine.' }]);
    assert.deepStrictEqual(s.onDtmf('0').actions, [{ type: 'transfer', target: 'desk', number: '+15550000001' }]);
    assert.equal(s.stage, 'support');
  });

  it('passes unmapped keys to the model as text', () => {
    const s = session();
    assert.deepStrictEqual(s.onDtmf('5'), { actions: [{ type: 'tell_model', text: 'The caller pressed 5.' }], events: [] });
    assert.deepStrictEqual(s.onDtmf('#').actions, [{ type: 'tell_model', text: 'The caller pressed #.' }]);
  });

  it('moves on function results: equals on a nested field, in (case-insensitive), exists', () => {
    const s = session();
    s.goTo('booking', 'test');
    assert.deepStrictEqual(s.onFunctionResult('book', { result: { status: 'pending' } }), { actions: [], events: [] });
    assert.deepStrictEqual(s.onFunctionResult('lookup', { error_code: null }), { actions: [], events: [] });
    assert.deepStrictEqual(s.onFunctionResult('lookup', { error_code: 'E42' }).actions, [{ type: 'transfer', target: 'desk', number: '+15550000001' }]);
    const full = s.onFunctionResult('book', { status: 'FULL' });
    assert.deepStrictEqual(full.events, [{ kind: 'stage_change', from: 'booking', to: 'support', reason: 'book result' }]);
    assert.equal(full.actions.some((a) => a.type === 'tell_model'), false, 'the function response makes the model reply');
  });

  it('stops at a hang-up in onEnter: nothing after it is done', () => {
    const s = session();
    s.goTo('booking', 'test');
    const step = s.onFunctionResult('book', { result: { status: 'booked' } });
    assert.equal(s.stage, 'done');
    assert.deepStrictEqual(step.actions, [
      { type: 'say', text: 'Leaving booking.' },
      instruct(s, 'done'),
      { type: 'say', text: 'All done.' },
      { type: 'end_call', reason: 'finished' },
    ]);
  });

  it('fires each silence rule once per silence, the longest due one when several are due', () => {
    const s = session();
    assert.deepStrictEqual(s.onSilence(3000).actions, []);
    assert.deepStrictEqual(s.onSilence(5000).actions, [{ type: 'say', text: 'Still there?' }]);
    assert.deepStrictEqual(s.onSilence(6000).actions, []);
    assert.deepStrictEqual(s.onSilence(15000).actions, [{ type: 'end_call', reason: 'silent' }]);
    // The caller spoke (the count went down): the rules apply again.
    assert.deepStrictEqual(s.onSilence(1000).actions, []);
    assert.deepStrictEqual(s.onSilence(5200).actions, [{ type: 'say', text: 'Still there?' }]);
    const jump = session();
    assert.deepStrictEqual(jump.onSilence(16000).actions, [{ type: 'end_call', reason: 'silent' }]);
    assert.deepStrictEqual(jump.onSilence(17000).actions, []);
  });

  it('counts silence in a new stage from when the stage was entered', () => {
    const s = session();
    s.onDtmf('1');
    const step = s.onSilence(8000);
    assert.deepStrictEqual(step.events, [{ kind: 'stage_change', from: 'booking', to: 'menu', reason: 'caller silent 8 s' }]);
    assert.deepStrictEqual(s.onSilence(9000).actions, [], 'menu’s 5 s rule does not fire 1 s after entering');
    assert.deepStrictEqual(s.onSilence(13000).actions, [{ type: 'say', text: 'Still there?' }]);
  });

  it('a key press restarts the silence count', () => {
    const s = session();
    assert.equal(s.onSilence(5000).actions.length, 1);
    s.onDtmf('5');
    assert.equal(s.onSilence(5000).actions.length, 1);
  });

  it('goTo: the current stage is a no-op, an unknown stage a programming error', () => {
    const s = session();
    assert.deepStrictEqual(s.goTo('menu', 'x'), { actions: [], events: [] });
    assert.throws(() => s.goTo('nowhere', 'x'), /flow engine-test has no stage "nowhere"/);
  });

  it('allows only the stage’s functions; a stage without a list gets the flow’s, built-ins only when listed', () => {
    const s = session();
    assert.deepStrictEqual(s.allowedFunctions(), ['go_to_stage', 'transfer_call']);
    assert.equal(s.isAllowed('lookup'), false);
    s.goTo('support', 'x');
    assert.deepStrictEqual(s.allowedFunctions(), ['lookup', 'book']);
    assert.equal(s.isAllowed('go_to_stage'), false);
    assert.equal(s.isDeclared('go_to_stage'), true);
    assert.equal(s.isDeclared('cancel'), false);
  });
});

describe('FlowSession with the dispatcher: go_to_stage and stage enforcement', () => {
  function wired() {
    const { flow, registry: r } = load();
    const s = new FlowSession(flow, r);
    const applied: FlowAction[][] = [];
    const control: CallControl = {
      transfer: async (t) => ({ number: flow.transfers[t]! }),
      endCall: async () => {},
      goToStage: async (name) => void applied.push(s.goTo(name, 'go_to_stage').actions),
    };
    return { s, applied, d: new ToolDispatcher({ registry: r, session: s, control, callSid: 'CA1', log: silentLogger() }) };
  }

  it('go_to_stage is allowed where listed and moves the flow', async () => {
    const { s, d, applied } = wired();
    const r = await d.dispatch({ id: '1', name: 'go_to_stage', args: { name: 'booking' } });
    assert.deepStrictEqual(r.response, { output: { stage: 'booking' } });
    assert.equal(s.stage, 'booking');
    assert.deepStrictEqual(applied, [[instruct(s, 'booking')]]);
  });

  it('go_to_stage is refused where not listed, and functions of other stages are refused with what is allowed', async () => {
    const { s, d } = wired();
    s.goTo('support', 'x');
    const r = await d.dispatch({ id: '2', name: 'go_to_stage', args: { name: 'menu' } });
    assert.equal(r.event.errorCode, 'CB_TOOL_NOT_ALLOWED');
    assert.deepStrictEqual(r.response, {
      error: '"go_to_stage" cannot be used at this point of the call (stage "support": Help with anything.). Functions you can use now: lookup, book.',
    });
    assert.equal(s.stage, 'support');
    s.goTo('menu', 'x');
    const lookup = await d.dispatch({ id: '3', name: 'lookup', args: { q: 'x' } });
    assert.equal(lookup.event.errorCode, 'CB_TOOL_NOT_ALLOWED');
  });

  it('go_to_stage to an unknown stage gets the list of stages', async () => {
    const { d } = wired();
    const r = await d.dispatch({ id: '4', name: 'go_to_stage', args: { name: 'billing' } });
    assert.equal(r.event.errorCode, 'CB_TOOL_INVALID_ARGS');
    assert.deepStrictEqual(r.response, {
      error: 'Invalid arguments for go_to_stage: "name" must be one of "menu", "booking", "support", "done". Correct them and call go_to_stage again.',
    });
  });

  it('a built-in not listed in any stage is not declared and is unknown to the dispatcher', async () => {
    const { flow, registry: r } = load();
    const noBuiltins = { ...flow, stages: flow.stages.map((st) => ({ ...st, functions: st.functions.filter((f) => f === 'lookup' || f === 'book') })) };
    const s = new FlowSession(noBuiltins, r);
    const d = new ToolDispatcher({ registry: r, session: s, control: { transfer: async () => ({ number: '' }), endCall: async () => {}, goToStage: async () => {} }, callSid: 'CA', log: silentLogger() });
    assert.equal((await d.dispatch({ id: '5', name: 'end_call', args: { reason: 'x' } })).event.errorCode, 'CB_TOOL_UNKNOWN');
  });
});
