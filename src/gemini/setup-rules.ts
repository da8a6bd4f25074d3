/**
 * Spelling tables and field checks used by setup.ts. Each check appends plain sentences naming the
 * field to `problems`; nothing throws, so every problem of a config is reported at once.
 * Sources: docs/gemini-live.md §2.1 (fields, enums, Vertex-only fields).
 */
import type { ModelCapabilities } from './models.js';

/** Native-audio HD voices (docs/gemini-live.md §2.1; the half-cascade voices are a subset). */
export const VOICES: readonly string[] = [
  'Zephyr', 'Puck', 'Charon', 'Kore', 'Fenrir', 'Leda', 'Orus', 'Aoede', 'Callirrhoe', 'Autonoe',
  'Enceladus', 'Iapetus', 'Umbriel', 'Algieba', 'Despina', 'Erinome', 'Algenib', 'Rasalgethi', 'Laomedeia', 'Achernar',
  'Alnilam', 'Schedar', 'Gacrux', 'Pulcherrima', 'Achird', 'Zubenelgenubi', 'Vindemiatrix', 'Sadachbia', 'Sadaltager', 'Sulafat',
];

export const ENUMS = {
  modality: ['AUDIO', 'TEXT'],
  startOfSpeechSensitivity: ['START_SENSITIVITY_UNSPECIFIED', 'START_SENSITIVITY_HIGH', 'START_SENSITIVITY_LOW'],
  endOfSpeechSensitivity: ['END_SENSITIVITY_UNSPECIFIED', 'END_SENSITIVITY_HIGH', 'END_SENSITIVITY_LOW'],
  activityHandling: ['ACTIVITY_HANDLING_UNSPECIFIED', 'START_OF_ACTIVITY_INTERRUPTS', 'NO_INTERRUPTION'],
  turnCoverage: ['TURN_COVERAGE_UNSPECIFIED', 'TURN_INCLUDES_ONLY_ACTIVITY', 'TURN_INCLUDES_ALL_INPUT', 'TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO'],
  thinkingLevel: ['MINIMAL', 'LOW', 'MEDIUM', 'HIGH'],
  behavior: ['UNSPECIFIED', 'BLOCKING', 'NON_BLOCKING'],
  schemaType: ['STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT'],
} as const;

/** Fields the Gemini-API SDK refuses because only Vertex AI knows them (docs/gemini-live.md §2.1). */
const VERTEX_ONLY: Readonly<Record<string, string>> = {
  transparent: 'is Vertex AI only; the Gemini API refuses it',
  explicitVadSignal: 'is Vertex AI only; the Gemini API refuses it',
  displayName: '(on a blob) is Vertex AI only; the Gemini API refuses it',
};

const FUNCTION_NAME = /^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$/;

/** Schema keys the Gemini API's OpenAPI subset knows; anything else closes with 1007 "Unknown name". */
const SCHEMA_KEYS = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required',
  'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering',
  'default', 'items', 'minimum', 'maximum',
]);

export type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reports keys of `obj` outside `allowed`, with the Vertex explanation where it applies. */
export function checkKeys(obj: Obj, allowed: readonly string[], path: string, problems: string[]): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const field = path ? `${path}.${key}` : key;
    const vertex = VERTEX_ONLY[key];
    problems.push(vertex ? `${field} ${vertex}.` : `${field} is not a known field (the service closes with 1007 on unknown names).`);
  }
}

export function checkEnum(value: unknown, allowed: readonly string[], field: string, problems: string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || !allowed.includes(value)) {
    problems.push(`${field}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')} (enums are spelled in upper case as the API spells them).`);
  }
}

export function checkInt(value: unknown, field: string, min: number, max: number, problems: string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${field}: must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}.`);
  }
}

export function checkVoice(value: unknown, problems: string[]): void {
  if (value === undefined) return;
  if (typeof value === 'string' && VOICES.includes(value)) return;
  const near = typeof value === 'string' ? VOICES.find((v) => v.toLowerCase() === value.toLowerCase()) : undefined;
  problems.push(`voiceName: ${JSON.stringify(value)} is not a known voice${near ? ` (did you mean "${near}"?)` : ''}; known voices: ${VOICES.join(', ')}.`);
}

/** int64 token counts: positive integers as numbers or digit strings → the proto3 JSON string. */
export function tokenCount(value: unknown, field: string, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value === 'string' && /^[1-9]\d{0,17}$/.test(value)) return value;
  problems.push(`${field}: must be a positive integer (number or digit string), got ${JSON.stringify(value)}.`);
  return undefined;
}

/**
 * Function declarations: names, behaviour (against the model), parameter schemas.
 * Returns name → whether a call blocks the model until it is answered.
 */
export function checkTools(tools: unknown, caps: ModelCapabilities | undefined, modelId: string, problems: string[]): Map<string, boolean> {
  const blocking = new Map<string, boolean>();
  if (tools === undefined) return blocking;
  if (!Array.isArray(tools)) {
    problems.push('tools: must be a list of function declarations.');
    return blocking;
  }
  tools.forEach((decl: unknown, i) => {
    const path = `tools[${i}]`;
    if (!isObject(decl)) return void problems.push(`${path}: must be a function declaration object.`);
    checkKeys(decl, ['name', 'description', 'parameters', 'behavior'], path, problems);
    const name = decl['name'];
    if (typeof name !== 'string' || !FUNCTION_NAME.test(name)) {
      problems.push(`${path}.name: ${JSON.stringify(name)} must start with a letter or _, then letters, digits, _ or -, at most 64 characters.`);
    } else if (blocking.has(name)) problems.push(`${path}.name: "${name}" is declared twice.`);
    if (decl['description'] !== undefined && typeof decl['description'] !== 'string') problems.push(`${path}.description: must be a string.`);
    const behavior = decl['behavior'];
    checkEnum(behavior, ENUMS.behavior, `${path}.behavior`, problems);
    if ((behavior === 'BLOCKING' || behavior === 'NON_BLOCKING') && caps && !caps.functions.behaviors.includes(behavior)) {
      const only = behavior === 'NON_BLOCKING' ? 'synchronous (BLOCKING)' : 'asynchronous (NON_BLOCKING)';
      problems.push(`${path}.behavior: ${behavior} is not supported by ${modelId} (${caps.label} takes ${only} functions only).`);
    }
    const effective = behavior === 'BLOCKING' || behavior === 'NON_BLOCKING' ? behavior : (caps?.functions.default ?? 'BLOCKING');
    if (typeof name === 'string') blocking.set(name, effective === 'BLOCKING');
    if (decl['parameters'] !== undefined) checkSchema(decl['parameters'], `${path}.parameters`, problems);
  });
  return blocking;
}

function checkSchema(schema: unknown, path: string, problems: string[], depth = 0): void {
  if (depth > 32) return void problems.push(`${path}: schema is nested too deeply.`);
  if (!isObject(schema)) return void problems.push(`${path}: must be a schema object.`);
  for (const key of Object.keys(schema)) {
    if (!SCHEMA_KEYS.has(key)) problems.push(`${path}.${key} is not a schema field the Gemini API knows (the service closes with 1007 on unknown names).`);
  }
  const type = schema['type'];
  if (type === undefined && schema['anyOf'] === undefined) problems.push(`${path}.type: missing (one of ${ENUMS.schemaType.join(', ')}).`);
  checkEnum(type, ENUMS.schemaType, `${path}.type`, problems);
  const en = schema['enum'];
  if (en !== undefined) {
    if (type !== 'STRING') problems.push(`${path}.enum: only allowed on STRING schemas (this one is ${JSON.stringify(type)}).`);
    else if (!Array.isArray(en) || !en.every((v) => typeof v === 'string')) problems.push(`${path}.enum: must be a list of strings.`);
  }
  const props = schema['properties'];
  if (props !== undefined) {
    if (!isObject(props)) problems.push(`${path}.properties: must be an object of schemas.`);
    else for (const [k, v] of Object.entries(props)) checkSchema(v, `${path}.properties.${k}`, problems, depth + 1);
  }
  const required = schema['required'];
  if (required !== undefined) {
    if (!Array.isArray(required) || !required.every((r) => typeof r === 'string')) problems.push(`${path}.required: must be a list of property names.`);
    else for (const r of required) if (!isObject(props) || !(r in props)) problems.push(`${path}.required: "${r}" is not among the properties.`);
  }
  if (schema['items'] !== undefined) checkSchema(schema['items'], `${path}.items`, problems, depth + 1);
  else if (type === 'ARRAY') problems.push(`${path}.items: an ARRAY schema needs items.`);
  const anyOf = schema['anyOf'];
  if (anyOf !== undefined) {
    if (!Array.isArray(anyOf)) problems.push(`${path}.anyOf: must be a list of schemas.`);
    else anyOf.forEach((s: unknown, i) => checkSchema(s, `${path}.anyOf[${i}]`, problems, depth + 1));
  }
}
