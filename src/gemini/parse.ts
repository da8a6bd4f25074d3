/**
 * Server frame → typed events. Never throws: anything it cannot read becomes
 * `{ kind: 'malformed' }` (the frame is unusable) or a note in `skipped` (one part was unusable,
 * the rest of the frame is kept). Field meanings: docs/gemini-live.md §3.
 *
 * Rules:
 * - The frame must be a JSON object (text or binary frame; the real server sends binary).
 * - A known top-level field that is present but not an object makes the whole frame malformed.
 * - Deeper wrong types skip only that part (noted), so one odd part does not lose the audio.
 * - A frame may carry several fields (3.x models); events come out in this order:
 *   setupComplete, interrupted, toolCallCancellation, inputTranscription, modelTurn parts,
 *   outputTranscription, toolCall, generationComplete, waitingForInput, turnComplete,
 *   sessionResumptionUpdate, goAway, usage — content before the end-of-turn markers.
 */
import type { ModalityTokenCount, UsageMetadata } from './protocol.js';
import { OUTPUT_SAMPLE_RATE_HZ } from './protocol.js';
import { bytesToPcm16 } from '../audio/pcm.js';

export interface ToolCallRequest {
  id: string;
  name: string;
  args: Record<string, unknown>;
}

export type GeminiEvent =
  | { type: 'setupComplete'; sessionId?: string }
  | { type: 'audio'; samples: Int16Array; sampleRateHz: number }
  | { type: 'text'; text: string }
  | { type: 'inputTranscription'; text: string; finished: boolean }
  | { type: 'outputTranscription'; text: string; finished: boolean }
  | { type: 'interrupted' }
  | { type: 'generationComplete' }
  | { type: 'turnComplete'; reason?: string }
  | { type: 'waitingForInput' }
  | { type: 'toolCall'; calls: ToolCallRequest[] }
  | { type: 'toolCallCancellation'; ids: string[] }
  /** timeLeftMs is absent when the server sent none or it was unreadable (then noted in `skipped`). */
  | { type: 'goAway'; timeLeftMs?: number }
  | { type: 'sessionResumptionUpdate'; newHandle?: string; resumable: boolean }
  | { type: 'usage'; usage: UsageMetadata };

export type GeminiEventType = GeminiEvent['type'];

export type ParseResult =
  | {
      kind: 'events';
      events: GeminiEvent[];
      /** Field paths this parser does not know (e.g. a new server feature), for a one-time log. */
      unknownFields: string[];
      /** Parts dropped for having the wrong type, with the reason. */
      skipped: string[];
    }
  | { kind: 'malformed'; reason: string; preview: string };

export type FrameData = string | Buffer | ArrayBuffer | Buffer[] | Uint8Array;

const PREVIEW_CHARS = 200;
/** What Gemini Live labels its audio with (docs/gemini-live.md, server messages). */
const USUAL_AUDIO_MIME = `audio/pcm;rate=${OUTPUT_SAMPLE_RATE_HZ}`;
/** protobuf Duration upper bound (±10 000 years). */
const MAX_DURATION_S = 315_576_000_000;

const TOP_LEVEL = new Set(['setupComplete', 'serverContent', 'toolCall', 'toolCallCancellation', 'goAway', 'sessionResumptionUpdate', 'usageMetadata']);
/** Known but deliberately not turned into events (docs/gemini-live.md §3). */
const TOP_LEVEL_IGNORED = new Set(['voiceActivity', 'voiceActivityDetectionSignal']);
const SERVER_CONTENT = new Set([
  'modelTurn', 'turnComplete', 'generationComplete', 'interrupted', 'inputTranscription', 'outputTranscription',
  'turnCompleteReason', 'waitingForInput', 'groundingMetadata', 'urlContextMetadata', 'interactionStatus', 'interimInputTranscription',
]);

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function frameText(data: FrameData): string | undefined {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  if (Array.isArray(data)) return data.every((b) => Buffer.isBuffer(b)) ? Buffer.concat(data).toString('utf8') : undefined;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  return undefined;
}

/**
 * Parses one WebSocket message. `isBinary` is accepted for the caller's convenience only: the
 * server sends JSON in binary frames too, so both are decoded as UTF-8 JSON.
 */
export function parseServerFrame(data: FrameData, _isBinary = false): ParseResult {
  try {
    const text = frameText(data);
    if (text === undefined) return { kind: 'malformed', reason: 'unsupported frame data type', preview: '' };
    // The preview is cut only for a malformed frame (not for every audio chunk).
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      // The JSON.parse message quotes the input, which may hold transcript text: keep it out.
      return { kind: 'malformed', reason: 'frame is not valid JSON', preview: text.slice(0, PREVIEW_CHARS) };
    }
    if (!isObject(msg)) return { kind: 'malformed', reason: `frame is ${describe(msg)}, not a JSON object`, preview: text.slice(0, PREVIEW_CHARS) };
    for (const key of TOP_LEVEL) {
      const v = msg[key];
      if (v !== undefined && v !== null && !isObject(v)) return { kind: 'malformed', reason: `${key} is ${describe(v)}, not an object`, preview: text.slice(0, PREVIEW_CHARS) };
    }
    if ('error' in msg && !Object.keys(msg).some((k) => TOP_LEVEL.has(k) || TOP_LEVEL_IGNORED.has(k))) {
      return { kind: 'malformed', reason: 'frame is an error object, not a server message', preview: text.slice(0, PREVIEW_CHARS) };
    }
    return parseMessage(msg);
  } catch (err) {
    // Defence in depth: nothing above should throw, but a receive loop must never see it.
    return { kind: 'malformed', reason: `parser failure: ${(err as Error)?.message ?? String(err)}`, preview: '' };
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function parseMessage(msg: Obj): ParseResult {
  const events: GeminiEvent[] = [];
  const unknownFields: string[] = [];
  const skipped: string[] = [];
  for (const key of Object.keys(msg)) if (!TOP_LEVEL.has(key) && !TOP_LEVEL_IGNORED.has(key)) unknownFields.push(key);

  const setup = msg['setupComplete'];
  if (isObject(setup)) {
    const sessionId = setup['sessionId'];
    events.push(typeof sessionId === 'string' && sessionId !== '' ? { type: 'setupComplete', sessionId } : { type: 'setupComplete' });
  }

  const sc = isObject(msg['serverContent']) ? msg['serverContent'] : undefined;
  if (sc) for (const key of Object.keys(sc)) if (!SERVER_CONTENT.has(key)) unknownFields.push(`serverContent.${key}`);
  if (sc?.['interrupted'] === true) events.push({ type: 'interrupted' });

  const cancel = msg['toolCallCancellation'];
  if (isObject(cancel)) {
    const ids = cancel['ids'];
    if (Array.isArray(ids) && ids.every((id) => typeof id === 'string')) events.push({ type: 'toolCallCancellation', ids: ids as string[] });
    else skipped.push('toolCallCancellation.ids: not an array of strings');
  }

  if (sc) {
    transcription(sc, 'inputTranscription', events, skipped);
    modelTurn(sc['modelTurn'], events, unknownFields, skipped);
    transcription(sc, 'outputTranscription', events, skipped);
  }

  const toolCall = msg['toolCall'];
  if (isObject(toolCall)) parseToolCall(toolCall, events, skipped);

  if (sc) {
    if (sc['generationComplete'] === true) events.push({ type: 'generationComplete' });
    if (sc['waitingForInput'] === true) events.push({ type: 'waitingForInput' });
    if (sc['turnComplete'] === true) {
      const reason = sc['turnCompleteReason'];
      events.push(typeof reason === 'string' && reason !== '' ? { type: 'turnComplete', reason } : { type: 'turnComplete' });
    }
  }

  const resumption = msg['sessionResumptionUpdate'];
  if (isObject(resumption)) {
    const handle = resumption['newHandle'];
    const resumable = resumption['resumable'] === true;
    events.push(typeof handle === 'string' && handle !== '' ? { type: 'sessionResumptionUpdate', newHandle: handle, resumable } : { type: 'sessionResumptionUpdate', resumable });
  }

  const goAway = msg['goAway'];
  if (isObject(goAway)) {
    const timeLeft = goAway['timeLeft'];
    const ms = typeof timeLeft === 'string' ? parseDurationMs(timeLeft) : undefined;
    if (ms === undefined && timeLeft !== undefined) skipped.push('goAway.timeLeft: not a protobuf Duration string');
    events.push(ms === undefined ? { type: 'goAway' } : { type: 'goAway', timeLeftMs: ms });
  }

  const usage = msg['usageMetadata'];
  if (isObject(usage)) events.push({ type: 'usage', usage: parseUsage(usage, skipped) });

  return { kind: 'events', events, unknownFields, skipped };
}

function transcription(sc: Obj, key: 'inputTranscription' | 'outputTranscription', events: GeminiEvent[], skipped: string[]): void {
  const t = sc[key];
  if (t === undefined || t === null) return;
  if (!isObject(t)) return void skipped.push(`serverContent.${key}: not an object`);
  const text = t['text'] ?? '';
  if (typeof text !== 'string') return void skipped.push(`serverContent.${key}.text: not a string`);
  const finished = t['finished'] === true;
  if (text !== '' || finished) events.push({ type: key, text, finished });
}

function modelTurn(turn: unknown, events: GeminiEvent[], unknownFields: string[], skipped: string[]): void {
  if (turn === undefined || turn === null) return;
  if (!isObject(turn)) return void skipped.push('serverContent.modelTurn: not an object');
  const parts = turn['parts'];
  if (parts === undefined) return;
  if (!Array.isArray(parts)) return void skipped.push('serverContent.modelTurn.parts: not an array');
  // A loop, and each part's path written only when it is reported: this runs for every audio chunk.
  for (let i = 0; i < parts.length; i++) modelPart(parts[i], i, events, unknownFields, skipped);
}

const partPath = (i: number): string => `serverContent.modelTurn.parts[${i}]`;

function modelPart(part: unknown, i: number, events: GeminiEvent[], unknownFields: string[], skipped: string[]): void {
  if (!isObject(part)) return void skipped.push(`${partPath(i)}: not an object`);
  const inline = part['inlineData'];
  if (inline !== undefined) {
    if (!isObject(inline) || typeof inline['mimeType'] !== 'string' || typeof inline['data'] !== 'string') {
      return void skipped.push(`${partPath(i)}.inlineData: mimeType and data must be strings`);
    }
    if (!inline['mimeType'].startsWith('audio/pcm')) return void unknownFields.push(`${partPath(i)}.inlineData(${inline['mimeType'].slice(0, 40)})`);
    const samples = bytesToPcm16(Buffer.from(inline['data'], 'base64'));
    return void events.push({ type: 'audio', samples, sampleRateHz: sampleRateOf(inline['mimeType']) });
  }
  const text = part['text'];
  if (text !== undefined) {
    if (typeof text !== 'string') return void skipped.push(`${partPath(i)}.text: not a string`);
    if (part['thought'] !== true && text !== '') events.push({ type: 'text', text });
    return;
  }
  for (const key of Object.keys(part)) if (key !== 'thought' && key !== 'thoughtSignature') unknownFields.push(`serverContent.modelTurn.parts[].${key}`);
}

/** `audio/pcm;rate=24000` → 24000; no or implausible rate → the documented 24 kHz. */
export function sampleRateOf(mimeType: string): number {
  if (mimeType === USUAL_AUDIO_MIME) return OUTPUT_SAMPLE_RATE_HZ; // every chunk in practice: no match object
  const m = /;\s*rate=(\d{4,6})\b/i.exec(mimeType);
  const rate = m ? Number(m[1]) : NaN;
  return rate >= 8000 && rate <= 192000 ? rate : OUTPUT_SAMPLE_RATE_HZ;
}

function parseToolCall(toolCall: Obj, events: GeminiEvent[], skipped: string[]): void {
  const list = toolCall['functionCalls'];
  if (!Array.isArray(list)) return void skipped.push('toolCall.functionCalls: not an array');
  const calls: ToolCallRequest[] = [];
  list.forEach((call: unknown, i) => {
    const where = `toolCall.functionCalls[${i}]`;
    if (!isObject(call)) return void skipped.push(`${where}: not an object`);
    const { id, name } = call;
    const args = call['args'] ?? {};
    if (typeof id !== 'string' || id === '') return void skipped.push(`${where}.id: missing (the Gemini API needs it to answer)`);
    if (typeof name !== 'string' || name === '') return void skipped.push(`${where}.name: not a string`);
    if (!isObject(args)) return void skipped.push(`${where}.args: not an object`);
    calls.push({ id, name, args });
  });
  if (calls.length > 0) events.push({ type: 'toolCall', calls });
}

/**
 * protobuf Duration JSON ("50s", "0.5s", "1.000000001s") → milliseconds (fractional kept).
 * Negative, out-of-range or otherwise unreadable → undefined.
 */
export function parseDurationMs(value: string): number | undefined {
  const m = /^(\d{1,12})(?:\.(\d{1,9}))?s$/.exec(value.trim());
  if (!m) return undefined;
  const seconds = Number(m[1]);
  if (seconds > MAX_DURATION_S) return undefined;
  const nanos = m[2] ? Number(m[2].padEnd(9, '0')) : 0;
  return seconds * 1000 + nanos / 1e6;
}

const USAGE_COUNTS = ['promptTokenCount', 'cachedContentTokenCount', 'responseTokenCount', 'toolUsePromptTokenCount', 'thoughtsTokenCount', 'totalTokenCount'] as const;
const USAGE_DETAILS = ['promptTokensDetails', 'cacheTokensDetails', 'responseTokensDetails', 'toolUsePromptTokensDetails'] as const;

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Keeps only well-typed fields; drops the rest with a note. */
function parseUsage(u: Obj, skipped: string[]): UsageMetadata {
  const out: UsageMetadata = {};
  for (const key of USAGE_COUNTS) {
    const v = u[key];
    if (v === undefined) continue;
    if (isCount(v)) out[key] = v;
    else skipped.push(`usageMetadata.${key}: not a non-negative integer`);
  }
  for (const key of USAGE_DETAILS) {
    const v = u[key];
    if (v === undefined) continue;
    if (!Array.isArray(v)) {
      skipped.push(`usageMetadata.${key}: not an array`);
      continue;
    }
    const details: ModalityTokenCount[] = [];
    for (const d of v as unknown[]) {
      if (isObject(d) && (d['modality'] === undefined || typeof d['modality'] === 'string') && (d['tokenCount'] === undefined || isCount(d['tokenCount']))) {
        details.push({ ...(typeof d['modality'] === 'string' ? { modality: d['modality'] } : {}), ...(isCount(d['tokenCount']) ? { tokenCount: d['tokenCount'] } : {}) });
      } else skipped.push(`usageMetadata.${key}[]: malformed entry`);
    }
    out[key] = details;
  }
  return out;
}
