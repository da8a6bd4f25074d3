/**
 * The emulator's `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`, for the cascade
 * pipeline offline (docs/cascade.md, "Emulator"): the answer comes from the flow's scenario
 * (cascade-replay.ts), streamed word by word as server-sent events in Gemini's shape (text parts,
 * then functionCall parts and finishReason STOP with usageMetadata in the last event).
 *
 * - The flow: a base URL ending in `/emulator/flows/{flow}` (emulatorRestBaseForFlow) picks the
 *   flow's scenario as `?flow=` does for Live; without it the scenario is chosen like a Live
 *   session's (by system instruction, by model, else the default).
 * - Transcription requests (no tools, a system instruction beginning with TRANSCRIBE_MARKER, an
 *   audio part: src/cascade/transcriber.ts) are answered with the scenario's `heard:` line for that audio,
 *   learnt from the answer request that carries the same audio (they run in parallel: the
 *   transcription waits up to a second for it).
 * - Fixed, configurable delays (`timing`: first token, per token) let a bench measure the
 *   bridge's share; faults (429 with RetryInfo, 500, 503, or a broken stream) can be queued.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRANSCRIBE_MARKER } from '../cascade/transcriber.js';
import type { GenerateFault } from './generate-content.js';
import { readBody, sendError, sendFault } from './http-util.js';
import { replayAnswer, type CascadeAnswer, type RestContent } from './cascade-replay.js';
import type { Scenario } from './scenario.js';

export const STREAM_GENERATE_PATH = /^(?:\/emulator\/flows\/([a-z0-9][a-z0-9-]{0,63}))?\/+v1beta\/models\/([^/:]+):streamGenerateContent$/;

export interface CascadeTiming {
  /** Before the first event of an answer (default 0). */
  firstTokenMs: number;
  /** Between two words of an answer (default 0). */
  perTokenMs: number;
  /** Before a text:synthesize answer (tts-endpoint.ts; default 0). */
  ttsFirstByteMs: number;
}

/** An HTTP error, or `broken`: a malformed event after the first word. */
export type StreamFault = GenerateFault | { status: 'broken' };

/** The scenario for a request: by flow (from the path) or like a Live session. */
export type ScenarioResolver = (flow: string | undefined, model: string, systemInstruction: string) => Promise<Scenario>;


/** The REST base URL (GEMINI_API_BASE_URL / TTS_BASE_URL) that routes requests to `flow`'s scenario. */
export function emulatorRestBaseForFlow(httpUrl: string, flow: string): string {
  return `${httpUrl.replace(/\/+$/, '')}/emulator/flows/${encodeURIComponent(flow)}`;
}

/** What the answers to caller audio said was heard, by audio, for the parallel transcription. */
class HeardLog {
  readonly #heard = new Map<string, string>();
  readonly #waiters = new Map<string, Array<(heard: string) => void>>();

  add(audio: string, heard: string): void {
    const key = keyOf(audio);
    this.#heard.delete(key);
    this.#heard.set(key, heard);
    if (this.#heard.size > 500) this.#heard.delete(this.#heard.keys().next().value!);
    for (const w of this.#waiters.get(key) ?? []) w(heard);
    this.#waiters.delete(key);
  }

  wait(audio: string, timeoutMs: number): Promise<string> {
    const key = keyOf(audio);
    const known = this.#heard.get(key);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve) => {
      const list = this.#waiters.get(key) ?? [];
      const timer = setTimeout(() => {
        const rest = (this.#waiters.get(key) ?? []).filter((w) => w !== done);
        if (rest.length === 0) this.#waiters.delete(key);
        else this.#waiters.set(key, rest);
        resolve('');
      }, timeoutMs);
      const done = (heard: string) => {
        clearTimeout(timer);
        resolve(heard);
      };
      list.push(done);
      this.#waiters.set(key, list);
    });
  }
}

function keyOf(audio: string): string {
  return createHash('sha1').update(audio).digest('base64');
}

interface RequestShape {
  contents?: RestContent[];
  systemInstruction?: { parts?: Array<{ text?: string }> };
  tools?: Array<{ functionDeclarations?: unknown[] }>;
}

export class StreamGenerateEmulator {
  /** Requests answered (any status), for tests. */
  requests = 0;
  readonly timing: CascadeTiming = { firstTokenMs: 0, perTokenMs: 0, ttsFirstByteMs: 0 };
  readonly #faults: StreamFault[] = [];
  readonly #heard = new HeardLog();
  readonly #resolve: ScenarioResolver;
  #ids = 0;

  constructor(resolve: ScenarioResolver) {
    this.#resolve = resolve;
  }

  inject(faults: readonly StreamFault[]): void {
    this.#faults.push(...faults);
  }

  async handle(req: IncomingMessage, res: ServerResponse, route: { flow: string | undefined; model: string }, authorized: boolean): Promise<void> {
    this.requests++;
    const body = await readBody(req);
    if (!authorized) return sendError(res, 403, 'Method doesn\'t allow unregistered callers. Please use an API key.');
    if (!/^gemini-[a-z0-9.-]+$/.test(route.model)) return sendError(res, 404, `models/${route.model} is not found for API version v1beta, or is not supported for streamGenerateContent.`);
    const fault = this.#faults.shift();
    if (fault && fault.status !== 'broken') return sendFault(res, fault.status, fault.retryDelay);
    let request: RequestShape;
    try {
      request = JSON.parse(body) as RequestShape;
    } catch {
      return sendError(res, 400, 'Invalid JSON payload received.');
    }
    const problem = problemOf(request);
    if (problem) return sendError(res, 400, problem);
    const system = (request.systemInstruction?.parts ?? []).map((p) => p.text ?? '').join('\n');
    const contents = request.contents!;
    const tools = (request.tools ?? []).flatMap((t) => t.functionDeclarations ?? []);
    const audio = contents.flatMap((c) => c.parts).find((p) => p.inlineData?.data)?.inlineData?.data;
    let answer: Omit<CascadeAnswer, 'heard'>;
    if (tools.length === 0 && system.startsWith(TRANSCRIBE_MARKER) && audio !== undefined) {
      answer = { text: await this.#heard.wait(audio, 1000), calls: [] };
    } else {
      const scenario = await this.#resolve(route.flow, route.model, system);
      const full = replayAnswer(scenario, contents, () => `function-call-${++this.#ids}`);
      for (const h of full.heard) this.#heard.add(h.audio, h.heard);
      answer = full;
    }
    await this.#stream(res, answer, fault?.status === 'broken', route.model);
  }

  /** Writes the answer as SSE, word by word, with the configured delays; stops if the client goes. */
  async #stream(res: ServerResponse, answer: Omit<CascadeAnswer, 'heard'>, broken: boolean, model: string): Promise<void> {
    let gone = false;
    let wake: () => void = () => undefined;
    res.on('close', () => {
      gone = true;
      wake();
    });
    /** Waits `ms`, or less when the client goes (no timer outlives the request). */
    const sleep = (ms: number) =>
      ms <= 0 || gone
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, ms);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const words = answer.text.match(/\S+\s*/g) ?? [];
    const event = (parts: unknown[], last: boolean) => {
      const chunk: Record<string, unknown> = { candidates: [{ content: { role: 'model', parts }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) }], modelVersion: model };
      if (last) chunk.usageMetadata = { promptTokenCount: 100, candidatesTokenCount: words.length + answer.calls.length, totalTokenCount: 100 + words.length + answer.calls.length };
      res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
    };
    await sleep(this.timing.firstTokenMs);
    if (gone) return;
    for (let i = 0; i < words.length && !gone; i++) {
      if (i > 0) await sleep(this.timing.perTokenMs);
      if (gone) return;
      event([{ text: words[i] }], false);
      if (broken) {
        res.end('data: {"candidates": [\r\n\r\n');
        return;
      }
    }
    if (gone) return;
    event(answer.calls.map((c) => ({ functionCall: c })), true);
    res.end();
  }
}

function problemOf(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'Invalid JSON payload received. Expected an object.';
  const contents = (r as RequestShape).contents;
  if (!Array.isArray(contents) || contents.length === 0) return '* GenerateContentRequest.contents: contents is not specified';
  for (const c of contents) {
    if (!Array.isArray(c?.parts) || c.parts.length === 0) return '* GenerateContentRequest.contents.parts: contents.parts must not be empty.';
    if (c.role !== undefined && c.role !== 'user' && c.role !== 'model') return `* GenerateContentRequest.contents.role: Please use a valid role: user, model.`;
  }
  return undefined;
}
