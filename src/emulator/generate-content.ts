/**
 * The emulator's REST `POST /v1beta/models/{model}:generateContent`, enough for callbridge's
 * post-call analysis to run offline (docs/after-call.md): it checks the request the way the real
 * endpoint does (Google's error shape, 400 INVALID_ARGUMENT for a malformed body, 404 NOT_FOUND for
 * an unknown model, 403 for a refused key) and answers deterministically from the transcript in
 * the request, shaped by the requested `responseJsonSchema` (every required key, enums, nullable
 * types). Faults (429 with RetryInfo, 500, 503) can be queued for tests: in process with
 * `inject()`, or over HTTP with `POST /emulator/generate-faults {"faults":[{"status":429}]}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendError, sendFault } from './http-util.js';

export const GENERATE_PATH = /^\/+v1beta\/models\/([^/:]+):generateContent$/;

export interface GenerateFault {
  status: 429 | 500 | 503;
  /** RetryInfo.retryDelay of a 429, e.g. "0.2s" (default "1s"). */
  retryDelay?: string;
}

const TOP_LEVEL = new Set(['contents', 'systemInstruction', 'generationConfig', 'safetySettings', 'tools', 'toolConfig', 'cachedContent']);

export class GenerateContentEmulator {
  /** Requests answered (any status), for tests. */
  requests = 0;
  private readonly faults: GenerateFault[] = [];

  /** The next requests answer these faults, in order. */
  inject(faults: readonly GenerateFault[]): void {
    this.faults.push(...faults);
  }

  async handle(req: IncomingMessage, res: ServerResponse, model: string, authorized: boolean): Promise<void> {
    this.requests++;
    const body = await readBody(req);
    if (!authorized) return sendError(res, 403, 'Method doesn\'t allow unregistered callers. Please use an API key.');
    if (!/^gemini-[a-z0-9.-]+$/.test(model)) return sendError(res, 404, `models/${model} is not found for API version v1beta, or is not supported for generateContent.`);
    const fault = this.faults.shift();
    if (fault) return sendFault(res, fault.status, fault.retryDelay);
    let request: unknown;
    try {
      request = JSON.parse(body);
    } catch {
      return sendError(res, 400, 'Invalid JSON payload received.');
    }
    const problem = requestProblem(request);
    if (problem) return sendError(res, 400, problem);
    const r = request as RequestShape;
    const text = (r.contents ?? []).flatMap((c) => c.parts.map((p) => p.text ?? '')).join('\n');
    const schema = r.generationConfig?.responseJsonSchema;
    const answer = schema === undefined ? summaryOf(readTranscript(text)) : valueFor('', schema, readTranscript(text));
    const out = typeof answer === 'string' && schema === undefined ? answer : JSON.stringify(answer);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      candidates: [{ content: { role: 'model', parts: [{ text: out }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: Math.ceil(text.length / 4), candidatesTokenCount: Math.ceil(out.length / 4), totalTokenCount: Math.ceil((text.length + out.length) / 4) },
      modelVersion: model,
    }));
  }
}

interface RequestShape {
  contents?: Array<{ role?: string; parts: Array<{ text?: string }> }>;
  generationConfig?: { responseMimeType?: string; responseJsonSchema?: Schema; responseSchema?: unknown };
}

/** What the real endpoint would refuse with 400 INVALID_ARGUMENT, or undefined. */
export function requestProblem(request: unknown): string | undefined {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) return 'Invalid JSON payload received. Expected an object.';
  for (const key of Object.keys(request)) {
    if (!TOP_LEVEL.has(key)) return `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`;
  }
  const r = request as Record<string, unknown>;
  if (!Array.isArray(r.contents) || r.contents.length === 0) return '* GenerateContentRequest.contents: contents is not specified';
  for (const c of r.contents as unknown[]) {
    const parts = (c as { parts?: unknown } | null)?.parts;
    if (!Array.isArray(parts) || parts.length === 0) return '* GenerateContentRequest.contents.parts: contents.parts must not be empty.';
    if (parts.some((p) => typeof (p as { text?: unknown } | null)?.text !== 'string')) return '* GenerateContentRequest.contents.parts: only text parts are emulated.';
  }
  const g = r.generationConfig as RequestShape['generationConfig'] | undefined;
  if (g?.responseJsonSchema !== undefined && g.responseSchema !== undefined) {
    return 'responseSchema and responseJsonSchema cannot both be set.';
  }
  if (g?.responseJsonSchema !== undefined) {
    if (g.responseMimeType !== 'application/json') return 'responseJsonSchema requires responseMimeType application/json.';
    if (typeof g.responseJsonSchema !== 'object' || g.responseJsonSchema === null) return 'responseJsonSchema must be a JSON Schema object.';
  }
  return undefined;
}

// --- the deterministic answer --------------------------------------------------------------------

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; enum?: unknown[]; anyOf?: Schema[]; items?: Schema };

interface Transcript {
  caller: string[];
  all: string;
  outcome: string;
}

function readTranscript(text: string): Transcript {
  const caller = [...text.matchAll(/^\[\d+:\d+\] Caller: (.*)$/gm)].map((m) => m[1]!.trim());
  const outcome = /outcome (\w+)/.exec(text)?.[1] ?? 'completed';
  return { caller, all: caller.join(' ').toLowerCase(), outcome };
}

const FOLLOW_UP_WORDS = /\b(call (me )?back|callback|ring me|urgent|emergency|complain|manager|refund)\b/;

function summaryOf(t: Transcript): string {
  const first = t.caller[0];
  if (!first) return 'The caller did not say anything.';
  return `The caller said: "${first.slice(0, 160)}". The call ended (${t.outcome}).`;
}

function followUp(t: Transcript): boolean {
  return FOLLOW_UP_WORDS.test(t.all) || t.outcome === 'failed';
}

/** A known key's value from the transcript, or undefined to fall back on the schema's type. */
function known(name: string, t: Transcript): unknown {
  switch (name) {
    case 'intent':
      return (t.caller[0] ?? 'nothing said').split(/\s+/).slice(0, 8).join(' ');
    case 'summary':
      return summaryOf(t);
    case 'resolved':
      return !followUp(t) && ['completed', 'ended_by_bot', 'transferred'].includes(t.outcome);
    case 'followUp':
      return followUp(t);
    case 'followUpReason':
      return followUp(t) ? 'The caller asked for a person to get back to them.' : null;
    case 'sentiment':
      return /\b(angry|terrible|awful|complain|useless)\b/.test(t.all) ? 'negative' : /\b(thanks|thank you|great|perfect)\b/.test(t.all) ? 'positive' : 'neutral';
    default:
      return undefined;
  }
}

function types(schema: Schema): string[] {
  if (schema.anyOf) return schema.anyOf.flatMap(types);
  if (Array.isArray(schema.type)) return schema.type;
  return schema.type ? [schema.type] : [];
}

function enumOf(schema: Schema): unknown[] | undefined {
  return schema.enum ?? schema.anyOf?.find((s) => s.enum)?.enum;
}

/** A declared field's value: found in what the caller said, else null when allowed. */
function fieldValue(name: string, schema: Schema, t: Transcript): unknown {
  const ts = types(schema);
  const nullable = ts.includes('null');
  const values = enumOf(schema);
  if (values) return values.find((v) => typeof v === 'string' && t.all.includes(v.toLowerCase())) ?? (nullable ? null : values[0]);
  if (ts.includes('boolean')) {
    if (/book|confirm|appointment/.test(name)) return /\b(book|booking|appointment|reserve|table)\b/.test(t.all);
    return nullable ? null : false;
  }
  if (ts.includes('number') || ts.includes('integer')) {
    const n = /\b(\d{1,4})\b/.exec(t.all);
    return n ? Number(n[1]) : nullable ? null : 0;
  }
  if (ts.includes('string')) {
    if (/number|phone/.test(name)) {
      const m = /(\+?\d[\d\s-]{6,}\d)/.exec(t.all);
      if (m) return m[1]!.replace(/[\s-]/g, '');
    }
    return nullable ? null : '';
  }
  return null;
}

/** A value for `schema`, every required key filled. */
export function valueFor(name: string, schema: Schema, t: Transcript, inFields = false): unknown {
  const ts = types(schema);
  if (ts.includes('object') || schema.properties) {
    const out: Record<string, unknown> = {};
    const props = schema.properties ?? {};
    for (const key of Object.keys(props)) out[key] = valueFor(key, props[key]!, t, name === 'fields' || inFields);
    return out;
  }
  if (!inFields) {
    const v = known(name, t);
    if (v !== undefined) return v;
  }
  if (ts.includes('array')) return [];
  return fieldValue(name, schema, t);
}
