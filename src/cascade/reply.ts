/**
 * One answer of the cascade (./agent.ts): the conversation goes to the text model, its text is
 * spoken sentence by sentence as it streams (./speaker.ts), and its function calls go to the call
 * (a `toolCall` event, answered through the session's `sendToolResponse`), after which the model
 * is asked again with the results, until it answers without calling anything (at most
 * MAX_ROUNDS rounds). The call sees the same events as from Gemini Live: `outputTranscription`
 * and `audio` per sentence, `toolCall`, `usage`, then `generationComplete`.
 *
 * A function call is announced once the sentences before it have been emitted, so the transcript
 * splits the model's words around it in the order the caller hears them. Aborting (barge-in,
 * close) stops the stream, the synthesis of every sentence not yet emitted, and the wait for
 * function results.
 */
import type { AgentEvent, ToolCallRequest, ToolResult } from '../call/ports.js';
import { Conversation } from './conversation.js';
import { SentenceSplitter } from './sentences.js';
import { Speaker } from './speaker.js';
import type { FunctionDeclaration, SpeechSynth, TextModel } from './types.js';

/** Function-call rounds in one answer before the model is cut short. */
export const MAX_ROUNDS = 8;

/** When each step of an answer happened (monotonic ms; the bench's split). */
export interface ReplyTiming {
  requestAt: number;
  firstTokenAt?: number;
  firstSentenceAt?: number;
  ttsFirstByteAt?: number;
  firstAudioAt?: number;
}

export interface ReplyDeps {
  model: string;
  systemInstruction(): string;
  tools: FunctionDeclaration[];
  voice: string;
  textModel: TextModel;
  speech: SpeechSynth;
  conversation: Conversation;
  emit(event: AgentEvent): void;
  now(): number;
  /** Waits for the results of these calls (resolved by the session's sendToolResponse). */
  results(calls: ToolCallRequest[], signal: AbortSignal): Promise<ToolResult[]>;
}

let callSeq = 0;

export class Reply {
  readonly #d: ReplyDeps;
  readonly #abort = new AbortController();
  /** Stopped: set at once by abort(), before the signal fires. */
  #stopped = false;
  readonly timing: ReplyTiming;
  /** What has been emitted as speech in the current round (for an interruption's record). */
  #speaker: Speaker | undefined;

  constructor(deps: ReplyDeps) {
    this.#d = deps;
    this.timing = { requestAt: deps.now() };
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get aborted(): boolean {
    return this.#stopped || this.#abort.signal.aborted;
  }

  /** Text whose audio the current round has emitted. */
  get spoken(): string {
    return this.#speaker?.spoken ?? '';
  }

  /**
   * Stops the answer: nothing more is emitted from now on; the request, the syntheses and the
   * wait for results are aborted just after (tearing down a fetch can take milliseconds, too long
   * for the audio frame that decided a barge-in).
   */
  abort(reason: string): void {
    if (this.#stopped) return;
    this.#stopped = true;
    setImmediate(() => this.#abort.abort(new Error(reason)));
  }

  /** Runs the answer to its end. Resolves false when aborted; rejects with the model's or the synthesiser's error. */
  async run(): Promise<boolean> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const calls = await this.#round();
      if (this.aborted) return false;
      if (calls.length === 0) return true;
      this.#d.emit({ type: 'toolCall', calls });
      const results = await this.#d.results(calls, this.signal);
      if (this.aborted) return false;
      for (const r of results) this.#d.conversation.functionResponse({ id: r.id, name: r.name, response: r.response });
    }
    this.#d.conversation.userText('(System note: too many function calls in one answer; answer the caller now without calling more.)');
    const calls = await this.#round();
    return !this.aborted && calls.length === 0;
  }

  /** One request: speaks its text, returns its function calls (announced after the words before them). */
  async #round(): Promise<ToolCallRequest[]> {
    const d = this.#d;
    const speaker = new Speaker({ synth: d.speech, voice: d.voice, signal: this.signal, emit: (e) => this.#emitAudio(e), now: d.now });
    this.#speaker = speaker;
    const splitter = new SentenceSplitter();
    const calls: ToolCallRequest[] = [];
    let text = '';
    const stream = d.textModel.stream({ model: d.model, systemInstruction: d.systemInstruction(), contents: d.conversation.contents(), tools: d.tools, signal: this.signal });
    for await (const chunk of stream) {
      if (this.aborted) break;
      this.timing.firstTokenAt ??= d.now();
      if (chunk.kind === 'text') {
        text += chunk.text;
        for (const s of splitter.push(chunk.text)) this.#say(speaker, s);
      } else if (chunk.kind === 'functionCall') {
        const id = chunk.id ?? `cascade-${++callSeq}`;
        calls.push({ id, name: chunk.name, args: chunk.args });
        d.conversation.modelText(text);
        text = '';
        d.conversation.modelFunctionCall({ id, name: chunk.name, args: chunk.args }, chunk.thoughtSignature);
      } else if (chunk.usage) {
        d.emit({ type: 'usage', usage: { promptTokenCount: chunk.usage.promptTokens, responseTokenCount: chunk.usage.responseTokens, totalTokenCount: chunk.usage.promptTokens + chunk.usage.responseTokens } });
      }
    }
    if (this.aborted) return this.#cut(speaker, text, false);
    for (const s of splitter.flush()) this.#say(speaker, s);
    d.conversation.modelText(text);
    await speaker.finished();
    return this.aborted ? this.#cut(speaker, text, true) : calls;
  }

  /** Aborted mid-round: the history keeps what the caller was sent of it, marked as interrupted. */
  #cut(speaker: Speaker, text: string, added: boolean): ToolCallRequest[] {
    if (added) this.#d.conversation.interrupted(speaker.spoken);
    else if (text !== '') this.#d.conversation.modelText(`${speaker.spoken} [interrupted by the caller]`.trim());
    return [];
  }

  #say(speaker: Speaker, sentence: string): void {
    this.timing.firstSentenceAt ??= this.#d.now();
    speaker.say(sentence);
  }

  #emitAudio(event: AgentEvent): void {
    if (this.aborted) return;
    if (event.type === 'audio' && this.timing.firstAudioAt === undefined) {
      this.timing.firstAudioAt = this.#d.now();
      this.timing.ttsFirstByteAt = this.#speaker?.timing.audioAt;
    }
    this.#d.emit(event);
  }
}
