/**
 * Parsing and validation of client frames, with the close code and reason the real server sends for
 * each rejection (docs/gemini-live.md §2, §6, §7). The emulator's own parser: it imports only types
 * from src/gemini/protocol.ts, so a client parser bug cannot cancel itself out in tests.
 *
 * Never throws: every result is tagged `{kind: 'ok'}` or `{kind: 'reject', close}`.
 * Field names may be camelCase or snake_case (proto3 JSON); the message handed on is camelCase.
 */
import type { ClientContent, ClientMessage, RealtimeInput, Setup, ToolResponse } from '../gemini/protocol.js';
import {
  CLOSE_INTERNAL,
  CLOSE_INVALID_ARGUMENT,
  REASONS,
  close,
  invalidValueReason,
  modelNotFound,
  unknownFieldReason,
  type CloseSpec,
} from './close-reasons.js';
import { findModel, rulesOf, type ModelSpec } from './models.js';
import { checkFamilySetup } from './validate-family.js';
import { CLIENT_MESSAGE, camelToSnake, snakeToCamel, type FieldNode } from './wire-schema.js';

export type ClientMessageType = 'setup' | 'clientContent' | 'realtimeInput' | 'toolResponse' | 'contextUpdate';

export type ParsedFrame =
  | { kind: 'ok'; type: ClientMessageType; message: ClientMessage; json: unknown }
  | { kind: 'reject'; close: CloseSpec; json?: unknown };

const TYPE_NAMES: Record<string, string> = {
  string: 'TYPE_STRING',
  bool: 'TYPE_BOOL',
  int32: 'TYPE_INT32',
  int64: 'TYPE_INT64',
  float: 'TYPE_FLOAT',
  bytes: 'TYPE_BYTES',
};

/** 1 for the characters of the standard and URL-safe base64 alphabets (proto3 JSON takes both). */
const BASE64_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_') BASE64_CHAR[c.charCodeAt(0)] = 1;

/**
 * What proto3 JSON accepts for `bytes`: base64 (either alphabet) in groups of four, the last group
 * of 2 or 3 characters optionally padded with '='. A loop over a table: the pattern
 * /^(?:[A-Za-z0-9+/\-_]{4})*(?:[A-Za-z0-9+/\-_]{2}(?:==)?|[A-Za-z0-9+/\-_]{3}=?)?$/ says the
 * same and cost three times as much per audio message.
 */
export function isProtoBase64(s: string): boolean {
  let end = s.length;
  let pad = 0;
  while (end > 0 && s.charCodeAt(end - 1) === 61 && pad < 2) {
    end--;
    pad++;
  }
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || BASE64_CHAR[c] === 0) return false;
  }
  const tail = end % 4;
  if (tail === 1) return false;
  if (pad === 0) return true;
  // "xx==" or "xxx=" only: padding completes the last group to four.
  return tail + pad === 4;
}

type Walk = { ok: true; value: unknown } | { ok: false; reason: string; code?: number };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function join(path: string, segment: string): string {
  return path === '' ? segment : `${path}.${segment}`;
}

/** Checks `value` against `node` and returns a camelCase copy (free-form JSON copied as is). */
function walk(node: FieldNode, value: unknown, path: string): Walk {
  switch (node.t) {
    case 'any':
      return { ok: true, value };
    case 'unsupported':
      return { ok: false, reason: REASONS.invalidArgument };
    case 'msg': {
      if (!isObject(value)) return { ok: false, reason: invalidValueReason(path, node.type, value) };
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(value)) {
        const name = Object.hasOwn(node.fields, key) ? key : snakeToCamel(key);
        const field = Object.hasOwn(node.fields, name) ? node.fields[name] : undefined;
        if (!field) return { ok: false, reason: unknownFieldReason(key, path) };
        if (child === null) continue; // proto3 JSON: null means "not set"
        const childPath = join(path, camelToSnake(name));
        if (Array.isArray(child) && field.t !== 'list' && field.t !== 'any') {
          return {
            ok: false,
            reason: `Invalid JSON payload received. Unknown name "${key}" at '${path}': Proto field is not repeating, cannot start list.`,
          };
        }
        const r = walk(field, child, childPath);
        if (!r.ok) return r;
        out[name] = r.value;
      }
      return { ok: true, value: out };
    }
    case 'list': {
      if (!Array.isArray(value)) return { ok: false, reason: invalidValueReason(path, 'list', value) };
      const out: unknown[] = [];
      for (let i = 0; i < value.length; i++) {
        const r = walk(node.of, value[i], `${path}[${i}]`);
        if (!r.ok) return r;
        out.push(r.value);
      }
      return { ok: true, value: out };
    }
    case 'map': {
      if (!isObject(value)) return { ok: false, reason: invalidValueReason(path, 'map', value) };
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(value)) {
        const r = walk(node.of, child, `${path}[${key}]`);
        if (!r.ok) return r;
        out[key] = r.value;
      }
      return { ok: true, value: out };
    }
    case 'enum': {
      if (typeof value === 'string' && node.values.includes(value)) return { ok: true, value };
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < node.values.length) {
        return { ok: true, value: node.values[value] };
      }
      return { ok: false, reason: invalidValueReason(path, node.type, value) };
    }
    default:
      return scalar(node.t, value, path);
  }
}

// The rejection's wording (a JSON copy of the value) is only built for a rejection: audio messages
// carry kilobytes of base64 in a `bytes` field, fifty times a second per session.
function badValue(t: keyof typeof TYPE_NAMES, value: unknown, path: string): Walk {
  return { ok: false, reason: invalidValueReason(path, TYPE_NAMES[t]!, value) };
}

function scalar(t: 'string' | 'bool' | 'int32' | 'int64' | 'float' | 'bytes', value: unknown, path: string): Walk {
  switch (t) {
    case 'string':
      return typeof value === 'string' ? { ok: true, value } : badValue(t, value, path);
    case 'bool':
      return typeof value === 'boolean' ? { ok: true, value } : badValue(t, value, path);
    case 'int32':
    case 'int64': {
      const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n)) return badValue(t, value, path);
      if (t === 'int32' && (n < -2147483648 || n > 2147483647)) return badValue(t, value, path);
      return { ok: true, value: t === 'int64' ? String(value) : n };
    }
    case 'float': {
      if (typeof value === 'number') return { ok: true, value };
      if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return { ok: true, value: Number(value) };
      return badValue(t, value, path);
    }
    case 'bytes':
      if (typeof value === 'string' && isProtoBase64(value)) return { ok: true, value };
      return {
        ok: false,
        reason: `Invalid JSON payload received. Invalid value at '${path}' (TYPE_BYTES), Base64 decoding failed for ${JSON.stringify(String(value).slice(0, 40))}`,
      };
  }
}

/** Parses one client frame (text or binary) into a validated, camelCase client message. */
export function parseClientFrame(data: Buffer | string): ParsedFrame {
  let json: unknown;
  try {
    json = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    return { kind: 'reject', close: close(CLOSE_INVALID_ARGUMENT, 'Invalid JSON payload received. Unexpected token.') };
  }
  if (!isObject(json)) {
    return { kind: 'reject', json, close: close(CLOSE_INVALID_ARGUMENT, 'Invalid JSON payload received. Root element must be a message.') };
  }
  const r = walk(CLIENT_MESSAGE, json, '');
  if (!r.ok) return { kind: 'reject', json, close: close(r.code ?? CLOSE_INVALID_ARGUMENT, r.reason) };
  const message = r.value as Record<string, unknown>;
  const keys = Object.keys(message) as ClientMessageType[];
  if (keys.length === 0) return { kind: 'reject', json, close: close(CLOSE_INVALID_ARGUMENT, REASONS.invalidArgument) };
  if (keys.length > 1) {
    // APPROXIMATE wording of the proto3-JSON oneof error.
    const reason = `Invalid JSON payload received. Oneof field 'message_type' is already set. Cannot set '${keys[1]}'`;
    return { kind: 'reject', json, close: close(CLOSE_INVALID_ARGUMENT, reason) };
  }
  return { kind: 'ok', type: keys[0]!, message: message as ClientMessage, json };
}

// ---------------------------------------------------------------------------------------------
// Semantic checks

export interface SetupFacts {
  modelId: string;
  spec: ModelSpec;
  modality: 'AUDIO' | 'TEXT';
}

/** Checks a setup against the served models; returns the facts the session needs or the close. */
export function checkSetup(
  setup: Setup,
  models: Readonly<Record<string, ModelSpec>>,
  apiVersion: string,
): { kind: 'ok'; facts: SetupFacts } | { kind: 'reject'; close: CloseSpec } {
  if (typeof setup.model !== 'string' || setup.model === '') {
    return { kind: 'reject', close: close(CLOSE_INVALID_ARGUMENT, REASONS.invalidArgument) };
  }
  const spec = findModel(models, setup.model);
  if (!spec) return { kind: 'reject', close: modelNotFound(setup.model, apiVersion) };
  const modalities = setup.generationConfig?.responseModalities ?? [];
  const distinct = [...new Set(modalities)];
  if (distinct.length > 1 || modalities.length > 1 || distinct.some((m) => m !== 'AUDIO' && m !== 'TEXT')) {
    return { kind: 'reject', close: close(CLOSE_INVALID_ARGUMENT, REASONS.invalidArgument) };
  }
  const modality = distinct[0] === 'TEXT' ? 'TEXT' : 'AUDIO';
  if (modality === 'TEXT' && spec.nativeAudio) {
    const internal = rulesOf(spec).textModalityClose === 'internal-1011';
    return { kind: 'reject', close: internal ? close(CLOSE_INTERNAL, REASONS.internal) : close(CLOSE_INVALID_ARGUMENT, REASONS.nonAudio) };
  }
  const schemaProblem = checkToolSchemas(setup);
  if (schemaProblem) return { kind: 'reject', close: close(CLOSE_INVALID_ARGUMENT, schemaProblem) };
  const familyProblem = checkFamilySetup(setup, spec);
  if (familyProblem) return { kind: 'reject', close: familyProblem };
  return { kind: 'ok', facts: { modelId: setup.model.slice('models/'.length), spec, modality } };
}

/** `enum` is only allowed on STRING schemas (livekit/agents#4159). */
function checkToolSchemas(setup: Setup): string | undefined {
  const visit = (s: unknown, path: string): string | undefined => {
    if (!isObject(s)) return undefined;
    if (s.enum !== undefined && s.type !== 'STRING') {
      return `* BidiGenerateContentRequest.${path}.enum: only allowed for STRING type\n`;
    }
    if (isObject(s.properties)) {
      for (const [k, v] of Object.entries(s.properties)) {
        const p = visit(v, `${path}.properties[${k}]`);
        if (p) return p;
      }
    }
    return visit(s.items, `${path}.items`);
  };
  for (const [t, tool] of (setup.tools ?? []).entries()) {
    for (const [f, fn] of (tool.functionDeclarations ?? []).entries()) {
      const p = visit(fn.parameters, `setup.tools[${t}].function_declarations[${f}].parameters`);
      if (p) return p;
    }
  }
  return undefined;
}

/** Parses an input audio mime type: `audio/pcm` (16 kHz implied) or `audio/pcm;rate=N`. */
export function parseAudioMime(mimeType: string): { readonly rateHz: number } | undefined {
  // Every audio message names its type: remember the few distinct ones (at most 64).
  if (mimeCache.has(mimeType)) return mimeCache.get(mimeType);
  const parsed = parseMime(mimeType);
  if (mimeCache.size < 64) mimeCache.set(mimeType, parsed && Object.freeze(parsed));
  return parsed;
}

const mimeCache = new Map<string, { readonly rateHz: number } | undefined>();

function parseMime(mimeType: string): { rateHz: number } | undefined {
  const [type, ...params] = mimeType.split(';').map((s) => s.trim().toLowerCase());
  if (type !== 'audio/pcm') return undefined;
  let rateHz = 16000;
  for (const p of params) {
    const m = /^rate=(\d+)$/.exec(p);
    if (!m) return undefined;
    rateHz = Number(m[1]);
  }
  return rateHz >= 8000 && rateHz <= 48000 ? { rateHz } : undefined;
}

export interface RealtimeCheckOptions {
  /** Only `audio/pcm;rate=16000` and `audio/pcm` (the real service may resample other rates). */
  strictAudioMime: boolean;
  rejectMediaChunks: boolean;
  automaticActivityDetection: boolean;
}

/** Checks a realtimeInput; returns the close, or the input audio rate when it carries audio. */
export function checkRealtimeInput(
  input: RealtimeInput,
  options: RealtimeCheckOptions,
): { kind: 'ok'; audioRateHz?: number } | { kind: 'reject'; close: CloseSpec } {
  if (input.mediaChunks !== undefined && options.rejectMediaChunks) {
    return { kind: 'reject', close: close(CLOSE_INVALID_ARGUMENT, REASONS.mediaChunks) };
  }
  if ((input.activityStart !== undefined || input.activityEnd !== undefined) && options.automaticActivityDetection) {
    return { kind: 'reject', close: close(CLOSE_INVALID_ARGUMENT, REASONS.explicitActivity) };
  }
  if (input.audio) {
    const mime = parseAudioMime(input.audio.mimeType ?? '');
    if (!mime || (options.strictAudioMime && mime.rateHz !== 16000)) {
      return { kind: 'reject', close: close(CLOSE_INVALID_ARGUMENT, REASONS.invalidArgument) };
    }
    return { kind: 'ok', audioRateHz: mime.rateHz };
  }
  return { kind: 'ok' };
}

export type { ClientContent, ToolResponse };
