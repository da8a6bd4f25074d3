/**
 * The cascade pipeline's contract (issue 20): a text model that streams its answer and a speech
 * synthesiser, each behind one interface so the call side (src/cascade/agent.ts,
 * src/call/adapters/cascade-session.ts) codes against these types and the tests against fakes.
 *
 * Wire shapes (Gemini REST `streamGenerateContent?alt=sse`, Cloud Text-to-Speech
 * `text:synthesize`) are documented in docs/cascade.md; the clients are src/cascade/text-model.ts
 * and src/cascade/tts.ts. Failures reach the caller of `stream` / `synthesize` as a
 * CallbridgeError (src/shared/errors.ts) with a CB_CASCADE_* code and its retryable flag.
 */

import type { Blob, FunctionCall, FunctionDeclaration, Schema } from '../gemini/protocol.js';

/**
 * The REST pieces shared with Live (src/gemini/protocol.ts): `Blob` (base64 data with its MIME
 * type, `audio/pcm;rate=16000` for a caller turn), `FunctionCall`, and the function declarations
 * with their OpenAPI-subset `Schema` (a Live-only `behavior` field is accepted and not sent).
 */
export type { Blob, FunctionCall, FunctionDeclaration, Schema };

export interface FunctionResponsePart {
  id?: string;
  name: string;
  /** `{output: …}` for results, `{error: …}` for failures. */
  response: Record<string, unknown>;
}

/** One part of a REST `Content`. Exactly one of the fields is set. */
export interface Part {
  text?: string;
  inlineData?: Blob;
  functionCall?: FunctionCall;
  functionResponse?: FunctionResponsePart;
  /** Set by the model on thought summaries; never spoken. */
  thought?: boolean;
  /** Opaque; must be echoed back on the model turn that carried it (Gemini 3 function calls). */
  thoughtSignature?: string;
}

/**
 * Gemini REST `contents[]`: user turns may carry inlineData audio (`audio/pcm;rate=16000`, base64)
 * plus text; model turns carry text and functionCall parts; function responses go in a `user` turn.
 */
export interface Content {
  role: 'user' | 'model';
  parts: Part[];
}

/** One streamed piece of a text model's answer. */
export type TextChunk =
  | { kind: 'text'; text: string }
  | { kind: 'functionCall'; id?: string; name: string; args: Record<string, unknown>; thoughtSignature?: string }
  | { kind: 'done'; finishReason?: string; usage?: { promptTokens: number; responseTokens: number } };

export interface TextModelRequest {
  model: string;
  systemInstruction: string;
  contents: Content[];
  tools: FunctionDeclaration[];
  signal: AbortSignal;
}

/**
 * `streamGenerateContent?alt=sse` over REST. The iterable yields text and function calls as they
 * arrive and ends with one `done`; errors (HTTP 429 / 5xx / 4xx, a blocked answer, a broken
 * stream) are thrown from the iterator as CallbridgeError. Aborting `signal` ends the iteration
 * quietly (no `done`, no error).
 */
export interface TextModel {
  stream(req: TextModelRequest): AsyncIterable<TextChunk>;
}

export interface SpeechAudio {
  audio: Uint8Array;
  format: { encoding: 'mulaw' | 'pcm16'; sampleRateHz: number };
}

/**
 * Google Cloud TTS (`MULAW` at 8000 Hz: no resampling before Twilio) or Gemini TTS (pcm16 at
 * 24 kHz). Rejects with a CallbridgeError; an aborted `signal` rejects with the abort reason.
 */
export interface SpeechSynth {
  synthesize(text: string, o: { voice: string; signal: AbortSignal }): Promise<SpeechAudio>;
}
