/**
 * Function behaviour for businesses: defaults (blocking; when_idle), defineTool and HTTP function
 * fields, per-function overrides in a flow, the built-ins that never talk over a hand-off, and the
 * flows:check advice about the model. docs/gemini-live.md §2.4, §6.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { builtinTools, createHttpTool, declarationFor, defineTool, ToolRegistry, withModes } from '../../src/tools/index.js';
import { loadFlowSources, type LoadResult } from '../../src/flows/index.js';

const facts = { name: 'f', stages: ['a'], transfers: ['desk'] };
const lookup = defineTool({ name: 'lookup', description: 'Look up.', schema: z.object({ q: z.string() }), handler: () => 1 });
const logCallback = defineTool({ name: 'log_callback', description: 'Note a callback.', schema: z.object({}), behavior: 'non_blocking', scheduling: 'silent', handler: () => 1 });
const registry = ToolRegistry.create([lookup, logCallback]);

const flow = (extra: string, functions: string) => `
name: shop
default: true
${extra}
persona: You help.
greeting: Hello.
transfers: { desk: "+15550109999" }
secret: 0123456789abcdef0123
functions:
${functions}
stages:
  - name: a
    instructions: Help.
`;

function load(text: string): LoadResult & { ok: true } {
  const result = loadFlowSources([{ file: 'shop.yaml', text }], { registry, env: {} });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result;
}

describe('function behaviour and scheduling', () => {
  it('defaults: a code function is blocking and answers when idle; the declaration says BLOCKING', () => {
    assert.equal(lookup.behavior, 'blocking');
    assert.equal(lookup.scheduling, 'when_idle');
    assert.equal(declarationFor(lookup, facts).behavior, 'BLOCKING');
    assert.equal(declarationFor(logCallback, facts).behavior, 'NON_BLOCKING');
    assert.equal(logCallback.scheduling, 'silent');
    assert.throws(() => defineTool({ name: 'x', description: 'X.', schema: z.object({}), behavior: 'later' as never, handler: () => 1 }), /blocking/);
  });

  it('built-ins are blocking; transfer_call and end_call answer silently (never talk over the hand-off)', () => {
    const by = Object.fromEntries(builtinTools().map((t) => [t.name, [t.behavior, t.scheduling]]));
    assert.deepEqual(by, { transfer_call: ['blocking', 'silent'], end_call: ['blocking', 'silent'], go_to_stage: ['blocking', 'when_idle'] });
  });

  it('an HTTP function takes behavior and scheduling; a flow overrides a named function, and the declarations follow', () => {
    const http = createHttpTool({ name: 'notify', description: 'N.', url: 'https://x.example/n', behavior: 'non_blocking', scheduling: 'interrupt' }, { secret: 's', source: 'f' });
    assert.deepEqual([http.behavior, http.scheduling], ['non_blocking', 'interrupt']);
    const { flows } = load(flow('', '  - { name: lookup, behavior: non_blocking, scheduling: interrupt }\n  - log_callback'));
    const f = flows[0]!;
    assert.deepEqual(f.functions, ['lookup', 'log_callback']);
    assert.deepEqual(f.functionModes, { lookup: { behavior: 'non_blocking', scheduling: 'interrupt' } });
    const declared = withModes([declarationFor(lookup, facts), declarationFor(logCallback, facts)], f.functionModes);
    assert.deepEqual(declared.map((d) => [d.name, d.behavior]), [['lookup', 'NON_BLOCKING'], ['log_callback', 'NON_BLOCKING']]);
  });

  it('flows:check names a preview model and what to use instead, and a behaviour the model cannot honour', () => {
    const preview = load(flow('model: gemini-2.5-flash-native-audio-preview-12-2025', '  - lookup')).warnings.map((w) => w.message);
    assert.ok(preview.some((m) => /is a preview model .*use gemini-3\.8-live/.test(m)), preview.join('\n'));
    const legacy = load(flow('model: gemini-3.1-flash-live-preview', '  - log_callback')).warnings.map((w) => w.message);
    assert.ok(legacy.some((m) => /legacy preview model .*use gemini-3\.8-live/.test(m)), legacy.join('\n'));
    assert.ok(legacy.some((m) => /log_callback is non_blocking.*synchronously only.*declared BLOCKING/.test(m)), legacy.join('\n'));
    const blockingScheduling = load(flow('', '  - { name: lookup, scheduling: silent }')).warnings.map((w) => w.message);
    assert.ok(blockingScheduling.some((m) => /scheduling only applies to non_blocking/.test(m)), blockingScheduling.join('\n'));
    assert.deepEqual(load(flow('model: gemini-3.8-live', '  - lookup\n  - log_callback')).warnings, [], 'the default model: nothing to say');
  });
});
