/**
 * Gemini's REST `generateContent`, as the post-call analysis uses it: one JSON request with a
 * response JSON schema, one answer, and a classification of every failure into "try again later"
 * (429, 5xx, timeout, network: with Google's RetryInfo delay when given), "refused" (400, 403,
 * 404: retrying cannot help) or "not a usable answer" (cut short, blocked, no text). The wire
 * facts (endpoint, x-goog-api-key, generationConfig, candidates/finishReason/promptFeedback, the
 * error body) are in docs/after-call.md. No SDK: a fetch keeps tests and the emulator in control.
 */

/** Default ANALYSIS_MODEL: a GA text model (docs/after-call.md explains the choice). */
export const DEFAULT_ANALYSIS_MODEL = 'gemini-3.8-flash';
/** Default GEMINI_API_BASE_URL. */
export const GOOGLE_API_BASE_URL = 'https://generativelanguage.googleapis.com';

export interface GenerateContentRequest {
  systemInstruction: { parts: Array<{ text: string }> };
  contents: Array<{ role: 'user'; parts: Array<{ text: string }> }>;
  generationConfig: {
    responseMimeType: 'application/json';
    responseJsonSchema: Record<string, unknown>;
    temperature: number;
    maxOutputTokens: number;
  };
}

export type GenerateResult =
  | { kind: 'ok'; text: string }
  /** Retry later: 429 / 5xx / timeout / network. `retryAfterMs` from RetryInfo or Retry-After. */
  | { kind: 'transient'; status: number | undefined; message: string; retryAfterMs?: number }
  /** Refused for good: 400 / 403 / 404 (and other 4xx). */
  | { kind: 'rejected'; status: number; message: string }
  /** Answered, but with no usable text: cut short (MAX_TOKENS), blocked, or empty. */
  | { kind: 'unusable'; message: string; blocked: boolean };

export interface GeminiRestOptions {
  baseUrl: string;
  apiKey: string;
  model: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export function generateContentUrl(baseUrl: string, model: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/v1beta/models/${encodeURIComponent(model)}:generateContent`;
}

export async function generateContent(options: GeminiRestOptions, request: GenerateContentRequest): Promise<GenerateResult> {
  const doFetch = options.fetch ?? fetch;
  let res: Response;
  let body: string;
  try {
    res = await doFetch(generateContentUrl(options.baseUrl, options.model), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': options.apiKey },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(options.timeoutMs ?? 45_000),
    });
    body = await res.text();
  } catch (err) {
    const timeout = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    return { kind: 'transient', status: undefined, message: timeout ? 'no answer in time' : `network error: ${errorMessage(err)}` };
  }
  if (!res.ok) return classifyError(res.status, body, res.headers.get('retry-after'));
  return readAnswer(body);
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}

interface GoogleError {
  error?: { code?: number; message?: string; status?: string; details?: Array<Record<string, unknown>> };
}

/** An error reply: Google's `{error: {code, message, status, details}}`, or anything else. */
export function classifyError(status: number, body: string, retryAfter: string | null): GenerateResult {
  let parsed: GoogleError = {};
  try {
    parsed = JSON.parse(body) as GoogleError;
  } catch {
    // not JSON (a proxy's page): the status decides
  }
  const e = parsed.error;
  const message = `HTTP ${status}${e?.status ? ` ${e.status}` : ''}: ${(e?.message ?? body).slice(0, 300)}`;
  if (status === 429 || status === 408 || status >= 500) {
    const result: GenerateResult = { kind: 'transient', status, message };
    const delay = retryInfoDelayMs(e?.details) ?? retryAfterMs(retryAfter);
    if (delay !== undefined) result.retryAfterMs = delay;
    return result;
  }
  return { kind: 'rejected', status, message };
}

/** `google.rpc.RetryInfo.retryDelay` ("54s", "1.5s") in ms. */
export function retryInfoDelayMs(details: Array<Record<string, unknown>> | undefined): number | undefined {
  for (const d of details ?? []) {
    if (typeof d['@type'] === 'string' && d['@type'].endsWith('google.rpc.RetryInfo') && typeof d.retryDelay === 'string') {
      const m = /^(\d+(?:\.\d+)?)s$/.exec(d.retryDelay);
      if (m) return Math.round(Number(m[1]) * 1000);
    }
  }
  return undefined;
}

function retryAfterMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

interface GenerateResponse {
  candidates?: Array<{ content?: { parts?: Array<{ text?: string; thought?: boolean }> }; finishReason?: string }>;
  promptFeedback?: { blockReason?: string };
}

/** The text of the first candidate, or why there is none. */
export function readAnswer(body: string): GenerateResult {
  let parsed: GenerateResponse;
  try {
    parsed = JSON.parse(body) as GenerateResponse;
  } catch {
    return { kind: 'unusable', message: 'the reply is not JSON', blocked: false };
  }
  const blockReason = parsed.promptFeedback?.blockReason;
  if (blockReason) return { kind: 'unusable', message: `the request was blocked (${blockReason})`, blocked: true };
  const candidate = parsed.candidates?.[0];
  if (!candidate) return { kind: 'unusable', message: 'the reply has no candidate', blocked: false };
  const finish = candidate.finishReason;
  if (finish === 'MAX_TOKENS') return { kind: 'unusable', message: 'the answer was cut short (MAX_TOKENS)', blocked: false };
  if (finish && finish !== 'STOP') return { kind: 'unusable', message: `the answer stopped early (${finish})`, blocked: finish === 'SAFETY' || finish === 'PROHIBITED_CONTENT' || finish === 'BLOCKLIST' || finish === 'SPII' };
  const text = (candidate.content?.parts ?? []).filter((p) => !p.thought && typeof p.text === 'string').map((p) => p.text).join('');
  if (text.trim() === '') return { kind: 'unusable', message: 'the answer has no text', blocked: false };
  return { kind: 'ok', text };
}
