/**
 * The caller's words for the transcript: a separate, parallel request to the text model with the
 * turn's audio alone and an instruction to write down what was said (docs/cascade.md,
 * "Transcribing the caller").
 *
 * Why a parallel request and not a transcript part in the answer itself: asking the answering
 * model to write the caller's words first would put every word of the transcript in front of the
 * first spoken sentence (a long caller turn costs seconds of silence), and would mix the
 * transcript into the text that is spoken and into function calling. The parallel request costs
 * the audio's input tokens a second time (short: one turn, no history, no tools) and delays
 * nothing: the answer starts at the same moment. Its words replace the audio in the history
 * (./conversation.ts), so later requests carry text, not audio.
 *
 * The request is recognisable on the wire (the emulator answers it with the scenario's `heard:`
 * line): no tools, and the system instruction begins with TRANSCRIBE_MARKER.
 */
import type { Part, TextModel } from './types.js';

export const TRANSCRIBE_MARKER = 'You transcribe phone calls.';
export const TRANSCRIBE_INSTRUCTION =
  `${TRANSCRIBE_MARKER} Write down exactly what the caller says in the audio, in the language they speak, ` +
  'with normal punctuation. Write only their words: no comments, no labels, no quotation marks. ' +
  'If there are no words (noise, silence), write nothing.';

/** The caller's words in `audio` (trimmed; '' when none). Rejects with the model's CallbridgeError. */
export async function transcribe(model: TextModel, o: { model: string; audio: Part; signal: AbortSignal }): Promise<string> {
  let words = '';
  const stream = model.stream({
    model: o.model,
    systemInstruction: TRANSCRIBE_INSTRUCTION,
    contents: [{ role: 'user', parts: [o.audio] }],
    tools: [],
    signal: o.signal,
  });
  for await (const chunk of stream) {
    if (chunk.kind === 'text') words += chunk.text;
  }
  return words.trim().replace(/\s+/g, ' ');
}
