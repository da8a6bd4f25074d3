/**
 * The cascade agent behind the call's LiveSession port (src/call/ports.ts): callbridge hears the
 * caller itself (./endpointer.ts), asks a Gemini text model with the flow's functions
 * (./reply.ts), and speaks the answer through a speech synthesiser (./speaker.ts); the call code
 * (flow engine, functions, stages, transcript, recording, barge-in, transfers, end_call) sees the
 * same events as from a Gemini Live session and runs unchanged (docs/cascade.md).
 *
 * - A caller turn ends after `silenceMs` of quiet; its audio goes to the model with the
 *   conversation so far, and in parallel to a transcription request (./transcriber.ts) whose words
 *   become the caller's `inputTranscription` (before the answer's `turnComplete`).
 * - Text turns from the call (greeting, "say" actions, re-seeded history) join the conversation;
 *   one that asks for a reply (`turnComplete`) starts one. Stage changes replace the system
 *   instruction for the next request (`instructionChannel` 'contextUpdate').
 * - Barge-in: caller speech while an answer is being generated or synthesised aborts it (the text
 *   stream, every sentence not yet synthesised, the wait for function results: pending calls are
 *   cancelled as Live cancels them) and reports `interrupted` then `turnComplete`; the call
 *   clears the caller's buffer and records what was heard from the marks, as on Live. Speech over
 *   a finished answer whose audio is estimated to be still playing (it is sent faster than real
 *   time) reports `interrupted` too, so the tail is cut as quickly; past the estimate the call's
 *   own local barge-in (300 ms of talking over) still catches a late tail.
 * - A failing text model or synthesiser closes the session with the error and its retry class,
 *   so the call's link retries, falls back and apologises exactly as for a Live session.
 */
import { CallbridgeError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { AgentEvent, Instructions, LiveSession, RetryClass, SessionClose, ToolCallRequest, ToolResult, Turn } from '../call/ports.js';
import { Conversation } from './conversation.js';
import { Endpointer, type EndpointingOptions } from './endpointer.js';
import { Reply, type ReplyTiming } from './reply.js';
import { transcribe } from './transcriber.js';
import type { FunctionDeclaration, Part, SpeechSynth, TextModel } from './types.js';

export interface CascadeOptions {
  model: string;
  systemInstruction: string;
  tools: FunctionDeclaration[];
  voice: string;
  textModel: TextModel;
  speech: SpeechSynth;
  log: Logger;
  endpointing?: EndpointingOptions;
  /** Model for the caller's transcript (default `model`); false: no transcript request. */
  transcribeModel?: string | false;
  /** Monotonic ms (default performance.now). */
  now?: () => number;
  /** Each answer's timing, once it has played out of the session (the bench). */
  onTiming?: (timing: CascadeTiming) => void;
}

/** One answer's figures: when the caller stopped, when the turn was endpointed, then the reply's steps. */
export interface CascadeTiming extends ReplyTiming {
  /** When the caller's speech ended (the detector's estimate; undefined for a text turn). */
  speechEndAt?: number;
  /** When the turn was declared over (speech end + silence). */
  endpointedAt?: number;
}

/** Close codes as Live would send them (the link logs them). */
const CLOSE_NORMAL = 1000;
const CLOSE_INTERNAL = 1011;

export class CascadeSession implements LiveSession {
  readonly setupLatencyMs = 0;
  readonly instructionChannel = 'contextUpdate' as const;
  readonly #o: CascadeOptions;
  readonly #now: () => number;
  readonly #endpointer: Endpointer;
  readonly #conversation = new Conversation();
  readonly #listeners = new Set<(event: AgentEvent) => void>();
  readonly #closeListeners = new Set<(close: SessionClose) => void>();
  #systemInstruction: string;
  #reply: Reply | undefined;
  #pending: Array<{ id: string; name: string; blocking: boolean }> = [];
  #results = new Map<string, ToolResult>();
  #resultsWaiter: (() => void) | undefined;
  /** A reply is owed once the current one ends (a text turn asked for one meanwhile). */
  #owed = false;
  /** The caller's turn not yet answered, with its transcript on the way. */
  #turnTiming: { speechEndAt: number; endpointedAt: number } | undefined;
  #transcript: Promise<void> | undefined;
  #closed = false;
  /**
   * When the audio emitted so far will have played at the caller, if playback kept pace from the
   * first chunk (an estimate: only the call sees the marks). Speech before then is a barge-in.
   */
  #playingUntil = 0;

  constructor(options: CascadeOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
    this.#systemInstruction = options.systemInstruction;
    this.#endpointer = new Endpointer(options.endpointing);
  }

  get pendingToolCalls(): ReadonlyArray<{ id: string; name: string; blocking: boolean }> {
    return this.#pending;
  }

  onEvent(listener: (event: AgentEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onClose(listener: (close: SessionClose) => void): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** Caller audio, 16 kHz. Hot path: the detector runs; only a transition does more. */
  sendAudio(pcm16k: Int16Array): void {
    if (this.#closed) return;
    const e = this.#endpointer.push(pcm16k);
    if (e === undefined) return;
    if (e.kind === 'speech-start') return this.#bargeIn();
    if (e.kind === 'turn-end') this.#callerTurn(e.audio, e.silenceMs);
  }

  sendClientContent(turns: Turn[], turnComplete: boolean): void {
    if (this.#closed) return;
    for (const turn of turns) {
      const text = turn.parts.map((p) => p.text ?? '').filter(Boolean).join('\n');
      if (text === '') continue;
      if (turn.role === 'model') this.#conversation.modelText(text);
      else this.#conversation.userText(text);
    }
    if (turnComplete) this.#startReply(undefined);
  }

  instruct(update: Instructions): void {
    this.#systemInstruction = update.systemInstruction;
  }

  sendToolResponse(responses: ToolResult[]): void {
    for (const r of responses) {
      if (!this.#pending.some((p) => p.id === r.id)) throw new CallbridgeError('CB_GEMINI_TOOL_RESPONSE_INVALID', `no pending function call with id ${r.id}`);
    }
    for (const r of responses) this.#results.set(r.id, r);
    this.#resultsWaiter?.();
  }

  async close(reason: string): Promise<void> {
    this.#end({ byUs: true, code: CLOSE_NORMAL, reason });
  }

  // --- turns -----------------------------------------------------------------------------------

  #emit(event: AgentEvent): void {
    if (event.type === 'audio') this.#playingUntil = Math.max(this.#playingUntil, this.#now()) + (event.samples.length * 1000) / event.sampleRateHz;
    for (const l of [...this.#listeners]) l(event);
  }

  #callerTurn(audio: Int16Array, silenceMs: number): void {
    const now = this.#now();
    const part = this.#conversation.userAudio(audio);
    this.#turnTiming = { speechEndAt: now - silenceMs, endpointedAt: now };
    // A turn that ends while an answer runs uninterrupted (a function call was pending) is answered next.
    if (this.#reply) this.#owed = true;
    else this.#startReply(this.#turnTiming);
    // After the answer's request: the transcript must not delay it.
    this.#transcript = this.#transcribe(part);
  }

  async #transcribe(part: Part): Promise<void> {
    const model = this.#o.transcribeModel === undefined ? this.#o.model : this.#o.transcribeModel;
    if (model === false || this.#closed) return;
    try {
      const signal = AbortSignal.timeout(15_000);
      const words = await transcribe(this.#o.textModel, { model, audio: part, signal });
      if (this.#closed || words === '') return;
      this.#conversation.transcribed(part, words);
      this.#emit({ type: 'inputTranscription', text: words, finished: true });
    } catch (err) {
      // The transcript shows "(caller audio, N s)" instead; the answer does not depend on it.
      this.#o.log.warn({ err, code: (err as CallbridgeError).code }, 'the caller turn could not be transcribed');
    }
  }

  #startReply(turn: { speechEndAt: number; endpointedAt: number } | undefined): void {
    if (this.#closed) return;
    if (this.#reply) {
      this.#owed = true;
      return;
    }
    this.#turnTiming = undefined;
    const reply = new Reply({
      model: this.#o.model,
      systemInstruction: () => this.#systemInstruction,
      tools: this.#o.tools,
      voice: this.#o.voice,
      textModel: this.#o.textModel,
      speech: this.#o.speech,
      conversation: this.#conversation,
      emit: (e) => this.#emit(e),
      now: this.#now,
      results: (calls, signal) => this.#awaitResults(calls, signal),
    });
    this.#reply = reply;
    void this.#run(reply, turn);
  }

  async #run(reply: Reply, turn: { speechEndAt: number; endpointedAt: number } | undefined): Promise<void> {
    let failure: unknown;
    let finished = false;
    try {
      finished = await reply.run();
    } catch (err) {
      if (!reply.aborted) failure = err;
    }
    if (this.#reply !== reply || this.#closed) return; // interrupted or closed: already reported
    if (failure !== undefined) return this.#fail(failure);
    this.#emit({ type: 'generationComplete' });
    await this.#transcript; // the caller's words are recorded before the answer's turn ends
    if (this.#reply !== reply || this.#closed) return;
    this.#reply = undefined;
    this.#emit({ type: 'turnComplete' });
    if (finished) this.#o.onTiming?.({ ...reply.timing, ...(turn ?? {}) });
    if (this.#owed) {
      this.#owed = false;
      this.#startReply(this.#turnTiming);
    }
  }

  /** Waits until every call has a result (or the answer is aborted: the pending calls are cancelled). */
  async #awaitResults(calls: ToolCallRequest[], signal: AbortSignal): Promise<ToolResult[]> {
    this.#pending = calls.map((c) => ({ id: c.id, name: c.name, blocking: true }));
    this.#results.clear();
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (signal.aborted || calls.every((c) => this.#results.has(c.id))) {
          this.#resultsWaiter = undefined;
          signal.removeEventListener('abort', check);
          resolve();
        }
      };
      this.#resultsWaiter = check;
      signal.addEventListener('abort', check);
      check();
    });
    this.#pending = [];
    return calls.map((c) => this.#results.get(c.id)).filter((r): r is ToolResult => r !== undefined);
  }

  /** Caller speech while an answer runs: stop it, as Live does (interrupted, then turnComplete). */
  #bargeIn(): void {
    const reply = this.#reply;
    if (!reply) {
      // The answer is complete but its audio (sent faster than real time) may still be playing:
      // stop it now rather than after the call's own 300 ms talk-over rule.
      if (this.#now() < this.#playingUntil) this.#tailInterrupted();
      return;
    }
    const cancelled = this.#pending.map((p) => p.id);
    reply.abort('the caller interrupted');
    this.#playingUntil = 0;
    this.#reply = undefined;
    this.#owed = false;
    if (cancelled.length > 0) {
      for (const p of this.#pending) this.#conversation.functionResponse({ id: p.id, name: p.name, response: { error: 'cancelled: the caller interrupted' } });
      this.#pending = [];
      this.#emit({ type: 'toolCallCancellation', ids: cancelled });
    }
    this.#emit({ type: 'interrupted' });
    this.#emit({ type: 'turnComplete' });
  }

  /** Barge-in over the tail of a finished answer: the call clears what is still buffered. */
  #tailInterrupted(): void {
    this.#playingUntil = 0;
    this.#emit({ type: 'interrupted' });
    this.#emit({ type: 'turnComplete' });
  }

  #fail(err: unknown): void {
    const error = err instanceof CallbridgeError ? err : new CallbridgeError('CB_CASCADE_MODEL_BAD_STREAM', String(err), { cause: err });
    this.#o.log.warn({ code: error.code, err: error.message }, 'cascade answer failed: closing the session');
    this.#end({ byUs: false, code: CLOSE_INTERNAL, reason: error.message.slice(0, 123), error: { retryable: error.retryable, retryClass: retryClassOf(error), error } });
  }

  #end(close: SessionClose): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reply?.abort(close.reason);
    this.#reply = undefined;
    this.#resultsWaiter?.();
    for (const l of [...this.#closeListeners]) l(close);
    this.#listeners.clear();
    this.#closeListeners.clear();
  }
}

/** How the link may retry after this error: a 429 waits for quota, other retryable errors back off. */
export function retryClassOf(error: CallbridgeError): RetryClass {
  if (!error.retryable) return 'none';
  const status = Number(error.detail?.['status'] ?? 0);
  return status === 429 ? 'quota' : 'transient';
}
