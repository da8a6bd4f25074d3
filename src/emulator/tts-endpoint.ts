/**
 * The emulator's Cloud Text-to-Speech `POST /v1/text:synthesize` (docs/cascade.md, "Emulator"):
 * the text is rendered by the emulator's own speech (tts.ts, espeak-ng at 24 kHz), resampled to
 * the requested rate and answered as `{audioContent}` (base64) in the real service's container:
 * a WAV file of μ-law samples for `MULAW`, of PCM16 for `LINEAR16` (the encodings callbridge
 * asks for; others are refused with 400 like an unsupported field). A fixed first-byte delay
 * (`timing.ttsFirstByteMs`, shared with stream-generate.ts) and queued faults serve the tests and
 * the bench. Gemini TTS (`generateContent` on a `…-tts` model, answered with PCM16 at 24 kHz in
 * `inlineData`) is served the same way, for one-word Gemini voices.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeMulaw } from '../audio/mulaw.js';
import { resampleWhole } from '../audio/resampler.js';
import { pcm16ToBytes } from '../audio/pcm.js';
import { encodeWav } from '../audio/wav.js';
import { readBody, sendError, sendFault } from './http-util.js';
import type { CascadeTiming } from './stream-generate.js';
import { espeakVoiceFor, OUTPUT_RATE_HZ, type SpeechSynth } from './tts.js';

/** Gemini TTS: `generateContent` on a `…-tts` model with responseModalities AUDIO. */
export const GEMINI_TTS_PATH = /^(?:\/emulator\/flows\/[a-z0-9][a-z0-9-]{0,63})?\/+v1beta\/models\/([^/:]*-tts[^/:]*):generateContent$/;

export const SYNTHESIZE_PATH = /^(?:\/emulator\/flows\/[a-z0-9][a-z0-9-]{0,63})?\/+v1(?:beta1)?\/text:synthesize$/;

const RATES = new Set([8000, 16000, 24000]);

/** A WAV file (format 7, μ-law, 8 kHz mono) around `samples`, as Cloud TTS answers MULAW. */
export function mulawWav(samples: Uint8Array): Uint8Array {
  const header = Buffer.alloc(46);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(38 + samples.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(18, 16);
  header.writeUInt16LE(7, 20); // WAVE_FORMAT_MULAW
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(8000, 28);
  header.writeUInt16LE(1, 32);
  header.writeUInt16LE(8, 34);
  header.writeUInt16LE(0, 36);
  header.write('data', 38, 'ascii');
  header.writeUInt32LE(samples.length, 42);
  return new Uint8Array(Buffer.concat([header, samples]));
}

interface SynthesizeRequest {
  input?: { text?: unknown; ssml?: unknown };
  voice?: { languageCode?: unknown; name?: unknown };
  audioConfig?: { audioEncoding?: unknown; sampleRateHertz?: unknown };
}

interface GeminiTtsRequest {
  contents?: Array<{ parts?: Array<{ text?: string }> }>;
  generationConfig?: { responseModalities?: string[]; speechConfig?: { voiceConfig?: { prebuiltVoiceConfig?: { voiceName?: string } } } };
}

export class TtsEmulator {
  /** Requests answered (any status), for tests. */
  requests = 0;
  readonly #faults: Array<429 | 500 | 503> = [];
  readonly #tts: SpeechSynth;
  readonly #timing: CascadeTiming;

  constructor(tts: SpeechSynth, timing: CascadeTiming) {
    this.#tts = tts;
    this.#timing = timing;
  }

  inject(statuses: ReadonlyArray<429 | 500 | 503>): void {
    this.#faults.push(...statuses);
  }

  async handle(req: IncomingMessage, res: ServerResponse, authorized: boolean): Promise<void> {
    const r = await this.#open<SynthesizeRequest>(req, res, authorized, 'The request is missing a valid API key.');
    if (r === undefined) return;
    const text = typeof r.input?.text === 'string' ? r.input.text : typeof r.input?.ssml === 'string' ? r.input.ssml.replace(/<[^>]*>/g, ' ') : undefined;
    if (text === undefined || text.trim() === '') return sendError(res, 400, 'Either `input.text` or `input.ssml` needs to be set.');
    if (typeof r.voice?.languageCode !== 'string') return sendError(res, 400, 'Voice `language_code` is required.');
    const encoding = r.audioConfig?.audioEncoding;
    if (encoding !== 'MULAW' && encoding !== 'LINEAR16') return sendError(res, 400, `audioEncoding ${String(encoding)} is not emulated (MULAW and LINEAR16 are).`);
    const rate = typeof r.audioConfig?.sampleRateHertz === 'number' ? r.audioConfig.sampleRateHertz : encoding === 'MULAW' ? 8000 : OUTPUT_RATE_HZ;
    if (!RATES.has(rate) || (encoding === 'MULAW' && rate !== 8000)) return sendError(res, 400, `sampleRateHertz ${rate} is not emulated for ${encoding}.`);
    const started = Date.now();
    const speech = await this.#tts.render(text.trim(), espeakVoiceFor(typeof r.voice.name === 'string' ? r.voice.name.split('-').pop() : undefined));
    const pcm = rate === OUTPUT_RATE_HZ ? speech : resampleWhole(speech, OUTPUT_RATE_HZ, rate);
    const file = encoding === 'MULAW' ? mulawWav(encodeMulaw(pcm)) : encodeWav({ sampleRateHz: rate, channels: 1, samples: pcm });
    await this.#delay(started);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ audioContent: Buffer.from(file).toString('base64') }));
  }

  /** Gemini TTS: the text of the request's contents in the prebuilt voice, PCM16 at 24 kHz. */
  async handleGemini(req: IncomingMessage, res: ServerResponse, authorized: boolean): Promise<void> {
    const r = await this.#open<GeminiTtsRequest>(req, res, authorized, 'Method doesn\'t allow unregistered callers. Please use an API key.');
    if (r === undefined) return;
    const text = (r.contents ?? []).flatMap((c) => c.parts ?? []).map((p) => p.text ?? '').join(' ').trim();
    if (text === '') return sendError(res, 400, '* GenerateContentRequest.contents: contents is not specified');
    if (!r.generationConfig?.responseModalities?.includes('AUDIO')) return sendError(res, 400, 'The requested combination of response modalities (TEXT) is not supported by the model.');
    const started = Date.now();
    const voice = r.generationConfig.speechConfig?.voiceConfig?.prebuiltVoiceConfig?.voiceName;
    const speech = await this.#tts.render(text, espeakVoiceFor(voice));
    await this.#delay(started);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      candidates: [{ content: { role: 'model', parts: [{ inlineData: { mimeType: `audio/L16;codec=pcm;rate=${OUTPUT_RATE_HZ}`, data: pcm16ToBytes(speech).toString('base64') } }] }, finishReason: 'STOP', index: 0 }],
    }));
  }

  /**
   * Counts and reads a request; answers a refused key (403 with `refusal`), a queued fault or a
   * body that is not JSON, and then gives undefined; else the parsed body.
   */
  async #open<T>(req: IncomingMessage, res: ServerResponse, authorized: boolean, refusal: string): Promise<T | undefined> {
    this.requests++;
    const body = await readBody(req);
    if (!authorized) return void sendError(res, 403, refusal);
    const fault = this.#faults.shift();
    if (fault) return void sendFault(res, fault);
    try {
      return JSON.parse(body) as T;
    } catch {
      return void sendError(res, 400, 'Invalid JSON payload received.');
    }
  }

  /** Holds the answer until `ttsFirstByteMs` after `started` (rendering counts towards it). */
  async #delay(started: number): Promise<void> {
    const wait = this.#timing.ttsFirstByteMs - (Date.now() - started);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
