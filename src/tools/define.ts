/**
 * Code functions (`defineTool`), the ToolError a handler throws for business errors, and the
 * zod → Gemini function-declaration converter (docs/gemini-live.md §2.1: Schema types in UPPER
 * case, `enum` only on STRING; §2.0: int64 bounds as strings). Empty OBJECT schemas are avoided
 * as a precaution of ours, not a documented rule.
 */
import { z } from 'zod';
import type { FunctionBehavior, FunctionDeclaration, Schema } from '../gemini/protocol.js';
import type { FlowFacts, Tool, ToolBehavior, ToolContext, ToolScheduling } from './types.js';
import { parseBehavior, parseScheduling, toolMode, wireBehavior } from './modes.js';

const TOOL_BRAND = Symbol.for('callbridge.tool');
const TOOL_ERROR_BRAND = Symbol.for('callbridge.toolError');

/** Function names Gemini accepts (and that read well in a flow file). */
export const FUNCTION_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * A business error whose message IS shown to the model ("that slot is taken"). Any other error
 * a handler throws reaches the model only as "failed because of a technical problem".
 */
export class ToolError extends Error {
  readonly [TOOL_ERROR_BRAND] = true;
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}

/** True for ToolErrors, also from another copy of this module (a tools folder with its own import path). */
export function isToolError(err: unknown): err is ToolError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[TOOL_ERROR_BRAND] === true;
}

export interface ToolDefinition<S extends z.ZodObject> {
  /** Letters, digits and underscores, e.g. `book_appointment`. */
  name: string;
  /** Told to the model: what the function does, when to call it, what it returns. */
  description: string;
  /** The arguments; `.describe()` each field, the model reads those too. */
  schema: S;
  /** Overrides the dispatcher's default (8 s). */
  timeoutMs?: number;
  /**
   * 'blocking' (default): the model waits for the answer, as a lookup needs. 'non_blocking': the
   * model may keep talking while it runs, as a background action allows (docs/gemini-live.md §2.4).
   * The wire spellings BLOCKING / NON_BLOCKING are accepted too.
   */
  behavior?: ToolBehavior | Exclude<FunctionBehavior, 'UNSPECIFIED'>;
  /** A non-blocking function's answer: 'when_idle' (default), 'interrupt' or 'silent' (told to the model, not spoken). */
  scheduling?: ToolScheduling | 'WHEN_IDLE' | 'INTERRUPT' | 'SILENT';
  handler(args: z.output<S>, ctx: ToolContext): unknown;
}

/** A code function; a module in the tools folder default-exports one. */
export interface CodeTool extends Tool {
  readonly [TOOL_BRAND]: true;
  readonly declaration: FunctionDeclaration;
}

/**
 * Defines a code function. Throws at once (so at module load, naming the function) when the name,
 * timeout or schema cannot be declared to Gemini.
 */
export function defineTool<S extends z.ZodObject>(def: ToolDefinition<S>): CodeTool {
  if (!FUNCTION_NAME_RE.test(def.name)) {
    throw new Error(`function name "${def.name}" is invalid: use letters, digits and underscores (at most 64), starting with a letter`);
  }
  if (!def.description?.trim()) throw new Error(`function ${def.name}: description is empty; the model needs it to know when to call the function`);
  if (def.timeoutMs !== undefined && !(Number.isInteger(def.timeoutMs) && def.timeoutMs > 0 && def.timeoutMs <= 120_000)) {
    throw new Error(`function ${def.name}: timeoutMs must be a whole number of milliseconds between 1 and 120000`);
  }
  if (!(def.schema instanceof z.ZodObject)) throw new Error(`function ${def.name}: schema must be a zod object (z.object({...}))`);
  const behavior = parseBehavior(def.behavior);
  const scheduling = parseScheduling(def.scheduling);
  if (def.behavior !== undefined && !behavior) throw new Error(`function ${def.name}: behavior must be 'blocking' or 'non_blocking'`);
  if (def.scheduling !== undefined && !scheduling) throw new Error(`function ${def.name}: scheduling must be 'when_idle', 'interrupt' or 'silent'`);
  const mode = toolMode(behavior, scheduling);
  const declaration = declare(def.name, def.description, def.schema, mode.behavior);
  return {
    [TOOL_BRAND]: true,
    name: def.name,
    kind: 'code',
    description: def.description,
    source: 'code',
    timeoutMs: def.timeoutMs,
    behavior: mode.behavior,
    scheduling: mode.scheduling,
    declaration,
    args: () => def.schema,
    run: async (args, ctx) => def.handler(args as z.output<S>, ctx),
  };
}

/** Whether a module's export is a defineTool(...) result. */
export function isCodeTool(value: unknown): value is CodeTool {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TOOL_BRAND] === true;
}

/** The declaration of a tool in a flow (built-ins enumerate the flow's stages / transfer names). */
export function declarationFor(tool: Tool, flow: FlowFacts): FunctionDeclaration {
  return declare(tool.name, tool.description, tool.args(flow), tool.behavior);
}

/** Every declaration carries an explicit behavior (the family decides at setup what it may be). */
function declare(name: string, description: string, schema: z.ZodType, behavior: ToolBehavior): FunctionDeclaration {
  const parameters = zodToGeminiSchema(schema, `function ${name}`);
  const declaration: FunctionDeclaration = { name, description };
  // Gemini refuses an OBJECT without properties: a function without arguments declares none.
  if (parameters.type !== 'OBJECT' || Object.keys(parameters.properties ?? {}).length > 0) declaration.parameters = parameters;
  declaration.behavior = wireBehavior(behavior);
  return declaration;
}

type Json = Record<string, unknown>;

const SAFE_INT = Number.MAX_SAFE_INTEGER;
/** Formats Gemini does not take in `format`; told to the model in the description instead. */
const FORMAT_HINTS: Record<string, string> = {
  date: 'YYYY-MM-DD',
  time: 'HH:MM',
  'date-time': 'ISO 8601 date and time',
  email: 'an email address',
};

/**
 * Converts a zod schema to a Gemini `Schema`. Supports objects, strings (with enums), numbers,
 * integers, booleans, arrays and nullable values; throws naming the field for anything else
 * (unions, records, tuples, recursive schemas, enums of numbers).
 */
export function zodToGeminiSchema(schema: z.ZodType, where = 'schema'): Schema {
  let json: Json;
  try {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw' }) as Json;
  } catch (err) {
    throw new Error(`${where}: cannot be declared to Gemini (${(err as Error).message})`);
  }
  return convert(json, where, 'arguments');
}

function convert(node: Json, where: string, field: string): Schema {
  const fail = (why: string): never => {
    throw new Error(`${where}: ${field}: ${why}`);
  };
  if ('$ref' in node) fail('recursive or shared sub-schemas are not supported; inline them');
  const variants = (node.anyOf ?? node.oneOf) as Json[] | undefined;
  if (variants) {
    const nonNull = variants.filter((v) => v.type !== 'null');
    if (nonNull.length === 1 && variants.length === 2) {
      return { ...convert({ ...nonNull[0], description: node.description ?? nonNull[0]!.description }, where, field), nullable: true };
    }
    fail('unions (several possible types) are not supported; use one type, or a string enum');
  }
  let type = node.type;
  let nullable = false;
  if (Array.isArray(type)) {
    const types = type.filter((t) => t !== 'null');
    if (types.length !== 1) fail('unions (several possible types) are not supported');
    nullable = types.length !== type.length;
    type = types[0];
  }
  const out = { type: 'STRING' } as Schema;
  const values = Array.isArray(node.enum) ? node.enum : 'const' in node ? [node.const] : undefined;
  switch (type) {
    case 'string':
      out.type = 'STRING';
      if (values) out.enum = values.map(String);
      break;
    case 'number':
    case 'integer':
      out.type = type === 'number' ? 'NUMBER' : 'INTEGER';
      if (values) fail('enum/literal values are only allowed on strings (Gemini refuses them on numbers); use a string enum');
      if (typeof node.minimum === 'number' && node.minimum > -SAFE_INT) out.minimum = node.minimum;
      if (typeof node.maximum === 'number' && node.maximum < SAFE_INT) out.maximum = node.maximum;
      break;
    case 'boolean':
      out.type = 'BOOLEAN';
      if (values) fail('enum/literal values are only allowed on strings');
      break;
    case 'array': {
      out.type = 'ARRAY';
      if (typeof node.items !== 'object' || node.items === null || Array.isArray(node.items)) fail('arrays need one item type (tuples are not supported)');
      out.items = convert(node.items as Json, where, `${field}[]`);
      if (typeof node.minItems === 'number') out.minItems = String(node.minItems);
      if (typeof node.maxItems === 'number') out.maxItems = String(node.maxItems);
      break;
    }
    case 'object': {
      out.type = 'OBJECT';
      const properties = (node.properties ?? {}) as Record<string, Json>;
      const names = Object.keys(properties);
      if (names.length === 0 && field !== 'arguments') fail('objects need at least one declared field (free-form maps are not supported)');
      if (names.length > 0) {
        out.properties = Object.fromEntries(names.map((k) => [k, convert(properties[k]!, where, field === 'arguments' ? k : `${field}.${k}`)]));
      }
      const required = ((node.required ?? []) as string[]).filter((k) => names.includes(k));
      if (required.length > 0) out.required = required;
      break;
    }
    default:
      fail(`type ${JSON.stringify(type ?? 'unknown')} is not supported (use string, number, integer, boolean, array or object)`);
  }
  const hint = typeof node.format === 'string' ? FORMAT_HINTS[node.format] : undefined;
  const description = [node.description, hint && `Format: ${hint}.`].filter(Boolean).join(' ');
  if (description) out.description = description;
  if (nullable) out.nullable = true;
  return reorder(out);
}

/** Fixed key order so declarations read (and snapshot) the same every time. */
function reorder(s: Schema): Schema {
  const keys = ['type', 'description', 'enum', 'nullable', 'items', 'properties', 'required', 'minItems', 'maxItems', 'minimum', 'maximum'] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (s[k] !== undefined) out[k] = s[k];
  return out as unknown as Schema;
}
