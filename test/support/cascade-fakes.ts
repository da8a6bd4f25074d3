/**
 * In-memory stand-ins for the cascade's two services (src/cascade/types.ts): a text model whose
 * answers the test scripts (and can hold back mid-stream), and a speech synthesiser that renders
 * 8 kHz μ-law tones (one ms of audio per character, so lengths are predictable).
 */
import { encodeMulaw } from '../../src/audio/mulaw.js';
import { TRANSCRIBE_MARKER } from '../../src/cascade/transcriber.js';
import type { SpeechAudio, SpeechSynth, TextChunk, TextModel, TextModelRequest } from '../../src/cascade/types.js';

/** A promise the test resolves by hand. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** One scripted answer: chunks, each optionally preceded by a wait. */
export type Script = Array<TextChunk | Promise<void>>;

export class FakeTextModel implements TextModel {
  readonly requests: TextModelRequest[] = [];
  readonly transcriptions: TextModelRequest[] = [];
  /** Answers for reply requests, in order; when empty: "Okay." */
  readonly answers: Script[] = [];
  /** The words the transcription request returns. */
  transcript = 'I would like a check-up.';
  /** Set to make the next reply request fail with this error. */
  failNext: Error | undefined;
  /** Signals of the reply requests (to see that a barge-in aborted them). */
  readonly signals: AbortSignal[] = [];

  stream(req: TextModelRequest): AsyncIterable<TextChunk> {
    if (req.systemInstruction.startsWith(TRANSCRIBE_MARKER)) {
      this.transcriptions.push(req);
      return play([{ kind: 'text', text: this.transcript }, { kind: 'done' }], req.signal);
    }
    this.requests.push(req);
    this.signals.push(req.signal);
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) return (async function* () { throw failure; })();
    return play(this.answers.shift() ?? [{ kind: 'text', text: 'Okay.' }, { kind: 'done' }], req.signal);
  }
}

async function* play(script: Script, signal: AbortSignal): AsyncIterable<TextChunk> {
  for (const step of script) {
    if (step instanceof Promise) {
      await Promise.race([step, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);
      if (signal.aborted) return;
      continue;
    }
    if (signal.aborted) return;
    yield step;
  }
}

export class FakeSpeech implements SpeechSynth {
  readonly said: string[] = [];
  /** When set, every synthesis waits for it. */
  hold: Promise<void> | undefined;
  failWith: Error | undefined;

  async synthesize(text: string, o: { voice: string; signal: AbortSignal }): Promise<SpeechAudio> {
    this.said.push(text);
    if (this.hold) await this.hold;
    if (o.signal.aborted) throw new Error('aborted');
    if (this.failWith) throw this.failWith;
    return { audio: tone8k(text.length), format: { encoding: 'mulaw', sampleRateHz: 8000 } };
  }
}

/** `ms` of a 440 Hz tone as 8 kHz μ-law. */
export function tone8k(ms: number): Uint8Array {
  const n = ms * 8;
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return encodeMulaw(pcm);
}

/** 20 ms frames of 16 kHz caller audio: speech (a loud tone) or silence. */
export function frames16k(ms: number, speech: boolean): Int16Array[] {
  const out: Int16Array[] = [];
  for (let t = 0; t < ms; t += 20) {
    const f = new Int16Array(320);
    if (speech) for (let i = 0; i < 320; i++) f[i] = Math.round(8000 * Math.sin((2 * Math.PI * 300 * (t * 16 + i)) / 16000));
    out.push(f);
  }
  return out;
}
