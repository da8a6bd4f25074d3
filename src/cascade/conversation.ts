/**
 * The conversation a cascade call sends its text model, as Gemini REST `contents`
 * (docs/cascade.md, "Request"): text turns from the call (the greeting instruction, stage notes,
 * "say" actions), the caller's turns as 16 kHz PCM audio (`inlineData`, `audio/pcm;rate=16000`),
 * the model's answers with their function calls, and the function responses.
 *
 * A caller turn is sent as audio once; when its transcript arrives (a parallel request, see
 * ./transcriber.ts) the audio in the history is replaced by the words, so later requests do not
 * pay for the same audio again. Consecutive parts of one role are merged into one turn (Gemini
 * wants alternating roles).
 */
import { pcm16ToBytes } from '../audio/pcm.js';
import { INPUT_AUDIO_MIME } from '../gemini/protocol.js';
import type { Content, FunctionCall, FunctionResponsePart, Part } from './types.js';

/** Bound on the history kept (turns): the oldest go first, the system instruction stays. */
const MAX_TURNS = 200;

export class Conversation {
  readonly #contents: Content[] = [];

  /** The contents to send (a copy of the list; parts are not mutated after they are sent). */
  contents(): Content[] {
    return this.#contents.map((c) => ({ role: c.role, parts: [...c.parts] }));
  }

  userText(text: string): void {
    this.#add('user', { text });
  }

  modelText(text: string): void {
    if (text.trim() !== '') this.#add('model', { text });
  }

  /** A caller turn as audio; returns the part, so its transcript can replace it later. */
  userAudio(pcm16k: Int16Array): Part {
    const part: Part = { inlineData: { mimeType: INPUT_AUDIO_MIME, data: pcm16ToBytes(pcm16k).toString('base64') } };
    this.#add('user', part);
    return part;
  }

  /** The caller's words replace the audio part they transcribe. */
  transcribed(part: Part, words: string): void {
    for (const c of this.#contents) {
      const i = c.parts.indexOf(part);
      if (i >= 0) c.parts[i] = { text: `(The caller said:) ${words}` };
    }
  }

  modelFunctionCall(call: FunctionCall, thoughtSignature?: string): void {
    this.#add('model', { functionCall: call, ...(thoughtSignature ? { thoughtSignature } : {}) });
  }

  functionResponse(response: FunctionResponsePart): void {
    this.#add('user', { functionResponse: response });
  }

  /**
   * What the caller heard of an interrupted answer: the model's last text turn is cut to it and
   * marked, so the model knows what was and was not said.
   */
  interrupted(heard: string): void {
    const last = this.#contents[this.#contents.length - 1];
    if (last?.role !== 'model') return;
    const texts = last.parts.filter((p) => p.text !== undefined);
    const others = last.parts.filter((p) => p.text === undefined);
    if (texts.length === 0) return;
    last.parts = [...others, { text: `${heard.trim()} [interrupted by the caller]`.trim() }];
  }

  #add(role: 'user' | 'model', part: Part): void {
    const last = this.#contents[this.#contents.length - 1];
    if (last?.role === role) last.parts.push(part);
    else this.#contents.push({ role, parts: [part] });
    if (this.#contents.length > MAX_TURNS) this.#dropOldest();
  }

  /** Drops the oldest turns, keeping the history starting on a user turn. */
  #dropOldest(): void {
    this.#contents.splice(0, this.#contents.length - MAX_TURNS);
    while (this.#contents[0]?.role === 'model' || this.#contents[0]?.parts.some((p) => p.functionResponse)) this.#contents.shift();
  }
}
