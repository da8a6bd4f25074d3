/**
 * The cascade's text model over Gemini REST: `POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse`
 * with `x-goog-api-key`, answered as server-sent events, one GenerateContentResponse per event
 * (wire facts and their sources: docs/cascade.md). No SDK: a fetch keeps the emulator and the
 * tests in control, as src/aftercall/gemini-rest.ts does for the analysis.
 *
 * Errors leave the iterator as CallbridgeError: CB_CASCADE_MODEL_UNAVAILABLE (429, 408, 5xx,
 * timeout, network; `detail.retryAfterMs` from RetryInfo / Retry-After), CB_CASCADE_MODEL_REJECTED
 * (other 4xx), CB_CASCADE_MODEL_BAD_STREAM (malformed event, an error inside the stream, a blocked
 * or unfinished answer). Aborting the request's signal ends the iteration quietly.
 */
import { classifyError, errorMessage, GOOGLE_API_BASE_URL } from '../aftercall/gemini-rest.js';
import { CallbridgeError } from '../shared/errors.js';
import { SseReader, type SseEvent } from './sse.js';
import type { FunctionDeclaration, Part, TextChunk, TextModel, TextModelRequest } from './types.js';

export { GOOGLE_API_BASE_URL };

export interface GeminiTextModelOptions {
  /** GEMINI_API_BASE_URL (default Google's). */
  baseUrl?: string;
  apiKey: string;
  /** Limit for the whole answer, headers to last event (default 60 s). */
  timeoutMs?: number;
  /** Limit for a silence inside the answer: before the headers, or between two reads (default 15 s). */
  idleTimeoutMs?: number;
  /** Sent as `generationConfig` (temperature, maxOutputTokens, thinkingConfig …). */
  generationConfig?: Record<string, unknown>;
  fetch?: typeof fetch;
}

/** Finish reasons that mean the answer was withheld or unusable, not merely ended. */
const BLOCKED = new Set(['SAFETY', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'SPII', 'RECITATION', 'IMAGE_SAFETY', 'MALFORMED_FUNCTION_CALL', 'UNEXPECTED_TOOL_CALL', 'OTHER']);

export function streamGenerateContentUrl(baseUrl: string, model: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/v1beta/models/${encodeURIComponent(model)}:streamGenerateContent?alt=sse`;
}

/** The REST request body for `req` (function declarations without the Live-only `behavior`). */
export function requestBody(req: Pick<TextModelRequest, 'systemInstruction' | 'contents' | 'tools'>, generationConfig?: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { contents: req.contents };
  if (req.systemInstruction !== '') body.systemInstruction = { parts: [{ text: req.systemInstruction }] };
  if (req.tools.length > 0) body.tools = [{ functionDeclarations: req.tools.map(restDeclaration) }];
  if (generationConfig) body.generationConfig = generationConfig;
  return body;
}

function restDeclaration(d: FunctionDeclaration): FunctionDeclaration {
  const out: FunctionDeclaration = { name: d.name };
  if (d.description !== undefined) out.description = d.description;
  if (d.parameters !== undefined) out.parameters = d.parameters;
  return out;
}

export class GeminiTextModel implements TextModel {
  readonly #o: GeminiTextModelOptions;

  constructor(options: GeminiTextModelOptions) {
    this.#o = options;
  }

  stream(req: TextModelRequest): AsyncIterable<TextChunk> {
    return this.#run(req);
  }

  async *#run(req: TextModelRequest): AsyncGenerator<TextChunk> {
    if (req.signal.aborted) return;
    const timeout = AbortSignal.timeout(this.#o.timeoutMs ?? 60_000);
    const idle = new IdleWatch(this.#o.idleTimeoutMs ?? 15_000);
    const signal = AbortSignal.any([req.signal, timeout, idle.signal]);
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const state = new AnswerState();
    try {
      const res = await this.#post(req, signal);
      if (!res) return;
      reader = res.body?.getReader();
      if (!reader) throw new CallbridgeError('CB_CASCADE_MODEL_BAD_STREAM', 'the answer has no body');
      for (;;) {
        let read: Awaited<ReturnType<typeof reader.read>>;
        idle.arm();
        try {
          read = await reader.read();
        } catch (err) {
          if (req.signal.aborted) return;
          const why = idle.fired ? `the answer stalled (nothing for ${idle.ms} ms)` : timeout.aborted ? 'the answer did not finish in time' : `the answer stream broke: ${errorMessage(err)}`;
          throw unavailable(why, err);
        }
        const events = read.done ? state.sse.end() : state.sse.push(read.value);
        for (const e of events) yield* state.take(e);
        if (read.done) break;
      }
    } finally {
      idle.stop();
      reader?.cancel().catch(() => undefined);
    }
    if (req.signal.aborted) return;
    yield state.finish();
  }

  /** The response once its headers are in and OK; undefined when the caller aborted. */
  async #post(req: TextModelRequest, signal: AbortSignal): Promise<Response | undefined> {
    const doFetch = this.#o.fetch ?? fetch;
    let res: Response;
    try {
      res = await doFetch(streamGenerateContentUrl(this.#o.baseUrl ?? GOOGLE_API_BASE_URL, req.model), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': this.#o.apiKey },
        body: JSON.stringify(requestBody(req, this.#o.generationConfig)),
        signal,
      });
    } catch (err) {
      if (req.signal.aborted) return undefined;
      throw unavailable(signal.aborted ? 'no answer in time (headers)' : `network error: ${errorMessage(err)}`, err);
    }
    if (res.ok) return res;
    let body = '';
    try {
      body = await res.text();
    } catch {
      // the status decides
    }
    if (req.signal.aborted) return undefined;
    const r = classifyError(res.status, body, res.headers.get('retry-after'));
    if (r.kind === 'transient') {
      throw new CallbridgeError('CB_CASCADE_MODEL_UNAVAILABLE', r.message, { detail: { status: res.status, ...(r.retryAfterMs === undefined ? {} : { retryAfterMs: r.retryAfterMs }) } });
    }
    throw new CallbridgeError('CB_CASCADE_MODEL_REJECTED', r.kind === 'rejected' ? r.message : `HTTP ${res.status}`, { detail: { status: res.status } });
  }
}

interface ResponseShape {
  candidates?: Array<{ content?: { parts?: Part[] }; finishReason?: string }>;
  promptFeedback?: { blockReason?: string };
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number; thoughtsTokenCount?: number };
  error?: { code?: number; message?: string; status?: string };
}

/** What one answer has said so far: turns SSE events into chunks, or throws what went wrong. */
class AnswerState {
  readonly sse = new SseReader();
  #finishReason: string | undefined;
  #usage: { promptTokens: number; responseTokens: number } | undefined;

  *take(e: SseEvent): Generator<TextChunk> {
    if (e.kind === 'invalid') throw new CallbridgeError('CB_CASCADE_MODEL_BAD_STREAM', `a malformed event in the answer: ${e.reason}: ${e.data.slice(0, 120)}`);
    const r = e.value as ResponseShape;
    if (r.error) {
      const code = r.error.code ?? 0;
      const message = `an error inside the answer stream: ${code} ${r.error.status ?? ''} ${r.error.message ?? ''}`.trim();
      throw new CallbridgeError(code === 429 || code >= 500 ? 'CB_CASCADE_MODEL_UNAVAILABLE' : 'CB_CASCADE_MODEL_BAD_STREAM', message, { detail: { status: code } });
    }
    if (r.promptFeedback?.blockReason) throw new CallbridgeError('CB_CASCADE_MODEL_BAD_STREAM', `the request was blocked (${r.promptFeedback.blockReason})`);
    const u = r.usageMetadata;
    if (u) this.#usage = { promptTokens: u.promptTokenCount ?? 0, responseTokens: (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0) };
    const candidate = r.candidates?.[0];
    for (const p of candidate?.content?.parts ?? []) {
      if (p.thought) continue;
      if (p.functionCall && typeof p.functionCall.name === 'string') {
        const chunk: TextChunk = { kind: 'functionCall', name: p.functionCall.name, args: isRecord(p.functionCall.args) ? p.functionCall.args : {} };
        if (p.functionCall.id) chunk.id = p.functionCall.id;
        if (p.thoughtSignature) chunk.thoughtSignature = p.thoughtSignature;
        yield chunk;
      } else if (typeof p.text === 'string' && p.text !== '') {
        yield { kind: 'text', text: p.text };
      }
    }
    const finish = candidate?.finishReason;
    if (finish && finish !== 'FINISH_REASON_UNSPECIFIED') {
      if (BLOCKED.has(finish)) throw new CallbridgeError('CB_CASCADE_MODEL_BAD_STREAM', `the answer stopped early (${finish})`, { detail: { finishReason: finish } });
      this.#finishReason = finish;
    }
  }

  finish(): TextChunk {
    if (this.#finishReason === undefined) throw new CallbridgeError('CB_CASCADE_MODEL_BAD_STREAM', 'the answer stream ended before the answer finished (no finishReason)');
    const done: TextChunk = { kind: 'done', finishReason: this.#finishReason };
    if (this.#usage) done.usage = this.#usage;
    return done;
  }
}

/** Aborts its signal when armed and not re-armed within `ms`. */
class IdleWatch {
  readonly #ac = new AbortController();
  readonly ms: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number) {
    this.ms = ms;
    this.arm();
  }

  get signal(): AbortSignal {
    return this.#ac.signal;
  }

  get fired(): boolean {
    return this.#ac.signal.aborted;
  }

  arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#ac.abort(new Error('idle')), this.ms);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unavailable(message: string, cause: unknown): CallbridgeError {
  return new CallbridgeError('CB_CASCADE_MODEL_UNAVAILABLE', message, { cause });
}
