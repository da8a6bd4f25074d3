import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { builtinTools, declarationFor, defineTool, zodToGeminiSchema } from '../../src/tools/index.js';

describe('zod → Gemini function schema', () => {
  it('converts every supported type to the exact Gemini JSON', () => {
    const schema = z.object({
      name: z.string().describe('Full name.'),
      kind: z.enum(['new', 'existing']).describe('Patient kind.'),
      fixed: z.literal('yes'),
      count: z.int().min(1).max(4),
      ratio: z.number().optional(),
      anyInt: z.int(),
      urgent: z.boolean(),
      tags: z.array(z.string()).min(1).max(3).describe('Labels.'),
      day: z.iso.date().describe('The day.'),
      note: z.string().nullable(),
      address: z.object({ street: z.string(), zip: z.string().optional() }).describe('Where.'),
    });
    assert.deepStrictEqual(zodToGeminiSchema(schema), {
      type: 'OBJECT',
      properties: {
        name: { type: 'STRING', description: 'Full name.' },
        kind: { type: 'STRING', description: 'Patient kind.', enum: ['new', 'existing'] },
        fixed: { type: 'STRING', enum: ['yes'] },
        count: { type: 'INTEGER', minimum: 1, maximum: 4 },
        ratio: { type: 'NUMBER' },
        anyInt: { type: 'INTEGER' },
        urgent: { type: 'BOOLEAN' },
        tags: { type: 'ARRAY', description: 'Labels.', items: { type: 'STRING' }, minItems: '1', maxItems: '3' },
        day: { type: 'STRING', description: 'The day. Format: YYYY-MM-DD.' },
        note: { type: 'STRING', nullable: true },
        address: {
          type: 'OBJECT',
          description: 'Where.',
          properties: { street: { type: 'STRING' }, zip: { type: 'STRING' } },
          required: ['street'],
        },
      },
      required: ['name', 'kind', 'fixed', 'count', 'anyInt', 'urgent', 'tags', 'day', 'note', 'address'],
    });
  });

  it('treats fields with defaults as optional (the model may leave them out)', () => {
    const s = zodToGeminiSchema(z.object({ a: z.string(), b: z.boolean().default(false) }));
    assert.deepStrictEqual(s.required, ['a']);
  });

  it('refuses what Gemini cannot take, naming the field', () => {
    assert.throws(() => zodToGeminiSchema(z.object({ v: z.union([z.string(), z.number()]) }), 'function f'), /function f: v: unions/);
    assert.throws(() => zodToGeminiSchema(z.object({ n: z.literal(3) }), 'function f'), /function f: n: enum\/literal values are only allowed on strings/);
    assert.throws(() => zodToGeminiSchema(z.object({ m: z.record(z.string(), z.string()) }), 'function f'), /function f: m: objects need at least one declared field/);
    assert.throws(() => zodToGeminiSchema(z.object({ t: z.tuple([z.string(), z.number()]) }), 'function f'), /function f: t: arrays need one item type/);
  });

  it('declares a function without arguments with no parameters (Gemini refuses an empty OBJECT)', () => {
    const tool = defineTool({ name: 'ping', description: 'Ping.', schema: z.object({}), behavior: 'NON_BLOCKING', handler: () => 'pong' });
    assert.deepStrictEqual(tool.declaration, { name: 'ping', description: 'Ping.', behavior: 'NON_BLOCKING' });
  });

  it('defineTool refuses bad names, empty descriptions, bad timeouts and unconvertible schemas at definition', () => {
    const ok = { description: 'd', schema: z.object({}), handler: () => 1 };
    assert.throws(() => defineTool({ ...ok, name: 'book-appointment' }), /function name "book-appointment" is invalid/);
    assert.throws(() => defineTool({ ...ok, name: 'x', description: ' ' }), /function x: description is empty/);
    assert.throws(() => defineTool({ ...ok, name: 'x', timeoutMs: 0 }), /function x: timeoutMs/);
    assert.throws(() => defineTool({ ...ok, name: 'x', schema: z.object({ u: z.union([z.string(), z.boolean()]) }) }), /function x: u: unions/);
  });

  it('built-ins enumerate the flow’s own transfer names and stages', () => {
    const facts = { name: 'f', stages: ['menu', 'booking'], transfers: ['desk', 'pbx'] };
    const decl = Object.fromEntries(builtinTools().map((t) => [t.name, declarationFor(t, facts)]));
    assert.deepStrictEqual(decl.transfer_call!.parameters, {
      type: 'OBJECT',
      properties: { target: { type: 'STRING', description: 'Where to transfer the caller. One of: desk, pbx.', enum: ['desk', 'pbx'] } },
      required: ['target'],
    });
    assert.deepStrictEqual(decl.go_to_stage!.parameters!.properties!.name!.enum, ['menu', 'booking']);
    assert.deepStrictEqual(decl.end_call!.parameters!.required, ['reason']);
  });
});
