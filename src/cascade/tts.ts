/**
 * The cascade's voices behind one interface (SpeechSynth, src/cascade/types.ts), wire facts in
 * docs/cascade.md ("Speaking"):
 *
 * - **Cloud Text-to-Speech** (`POST {TTS_BASE_URL}/v1/text:synthesize`): asked for `MULAW` at
 *   8000 Hz, exactly what Twilio plays, so the bot's audio skips the resampler. The answer's
 *   `audioContent` (base64) carries a WAV header, which is removed here.
 * - **Gemini TTS** (`POST {GEMINI_API_BASE_URL}/v1beta/models/{tts model}:generateContent` with
 *   `responseModalities: ["AUDIO"]` and a prebuilt voice): PCM16 at 24 kHz in `inlineData`.
 *
 * `voiceRouter` picks one by the voice's name: `en-US-Neural2-F` (language-region-…) is a Cloud
 * voice, `Kore` (one word) a Gemini voice. Failures reject with CB_CASCADE_TTS_UNAVAILABLE (429,
 * 408, 5xx, timeout, network) or CB_CASCADE_TTS_REJECTED (other 4xx, no audio in the answer).
 */
import { classifyError, generateContentUrl } from '../aftercall/gemini-rest.js';
import { CallbridgeError } from '../shared/errors.js';
import type { SpeechAudio, SpeechSynth } from './types.js';

/** Default TTS_BASE_URL. */
export const CLOUD_TTS_BASE_URL = 'https://texttospeech.googleapis.com';
/** The Cloud voice used when a cascade flow names none (docs/cascade.md). */
export const DEFAULT_CLOUD_VOICE = 'en-US-Neural2-F';
/** The Gemini TTS model used for one-word (Gemini) voices. */
export const DEFAULT_GEMINI_TTS_MODEL = 'gemini-2.5-flash-preview-tts';

interface RestOptions {
  baseUrl: string;
  apiKey: string;
  /** Per sentence (default 15 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export type CloudSpeechOptions = RestOptions;

export class CloudSpeech implements SpeechSynth {
  readonly #o: CloudSpeechOptions;

  constructor(options: CloudSpeechOptions) {
    this.#o = options;
  }

  async synthesize(text: string, o: { voice: string; signal: AbortSignal }): Promise<SpeechAudio> {
    const body = {
      input: { text },
      voice: { languageCode: languageOf(o.voice), name: o.voice },
      audioConfig: { audioEncoding: 'MULAW', sampleRateHertz: 8000 },
    };
    const json = await postJson(this.#o, `${trimSlash(this.#o.baseUrl)}/v1/text:synthesize`, body, o.signal);
    const b64 = (json as { audioContent?: unknown }).audioContent;
    if (typeof b64 !== 'string' || b64 === '') throw new CallbridgeError('CB_CASCADE_TTS_REJECTED', 'the Text-to-Speech answer has no audioContent');
    const audio = stripWav(Buffer.from(b64, 'base64'));
    return { audio, format: { encoding: 'mulaw', sampleRateHz: 8000 } };
  }
}

export interface GeminiSpeechOptions extends RestOptions {
  /** Default DEFAULT_GEMINI_TTS_MODEL. */
  model?: string;
}

export class GeminiSpeech implements SpeechSynth {
  readonly #o: GeminiSpeechOptions;

  constructor(options: GeminiSpeechOptions) {
    this.#o = options;
  }

  async synthesize(text: string, o: { voice: string; signal: AbortSignal }): Promise<SpeechAudio> {
    const model = this.#o.model ?? DEFAULT_GEMINI_TTS_MODEL;
    const body = {
      contents: [{ role: 'user', parts: [{ text }] }],
      generationConfig: { responseModalities: ['AUDIO'], speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: o.voice } } } },
    };
    const json = (await postJson(this.#o, generateContentUrl(this.#o.baseUrl, model), body, o.signal)) as { candidates?: Array<{ content?: { parts?: Array<{ inlineData?: { mimeType?: string; data?: string } }> } }> };
    const data = json.candidates?.[0]?.content?.parts?.find((p) => p.inlineData?.data)?.inlineData;
    if (!data?.data) throw new CallbridgeError('CB_CASCADE_TTS_REJECTED', 'the Gemini TTS answer has no audio');
    const rate = Number(/rate=(\d+)/.exec(data.mimeType ?? '')?.[1] ?? 24000);
    const bytes = Buffer.from(data.data, 'base64');
    return { audio: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength - (bytes.byteLength % 2)), format: { encoding: 'pcm16', sampleRateHz: rate } };
  }
}

/** Cloud voices (`en-US-…`) to `cloud`, one-word Gemini voices (`Kore`) to `gemini`. */
export function voiceRouter(cloud: SpeechSynth, gemini: SpeechSynth): SpeechSynth {
  return { synthesize: (text, o) => (isCloudVoice(o.voice) ? cloud : gemini).synthesize(text, o) };
}

export function isCloudVoice(voice: string): boolean {
  return /^[a-z]{2,3}-[A-Za-z0-9]{2,4}-/.test(voice);
}

/** `en-US` of `en-US-Neural2-F`; `cmn-CN` of `cmn-CN-Wavenet-A`. */
export function languageOf(voice: string): string {
  const m = /^([a-z]{2,3}-[A-Za-z0-9]{2,4})-/.exec(voice);
  return m ? m[1]! : 'en-US';
}

/**
 * The samples of a WAV file (its `data` chunk), or the bytes unchanged when they are not RIFF.
 * A data size of 0 or larger than what arrived (a streamed header's 0xFFFFFFFF) means "the rest".
 */
export function stripWav(bytes: Uint8Array): Uint8Array {
  const ascii = (at: number) => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
  if (bytes.length < 12 || ascii(0) !== 'RIFF' || ascii(8) !== 'WAVE') return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = ascii(at);
    const size = view.getUint32(at + 4, true);
    if (id === 'data') return bytes.subarray(at + 8, size === 0 ? bytes.length : Math.min(bytes.length, at + 8 + size));
    at += 8 + size + (size % 2);
  }
  throw new CallbridgeError('CB_CASCADE_TTS_REJECTED', 'the Text-to-Speech answer is a WAV file without a data chunk');
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** POSTs JSON and returns the parsed answer, or rejects with a CB_CASCADE_TTS_* error. */
async function postJson(o: RestOptions, url: string, body: unknown, signal: AbortSignal): Promise<unknown> {
  const timeout = AbortSignal.timeout(o.timeoutMs ?? 15_000);
  let res: Response;
  let text: string;
  try {
    res = await (o.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': o.apiKey },
      body: JSON.stringify(body),
      signal: AbortSignal.any([signal, timeout]),
    });
    text = await res.text();
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    const why = timeout.aborted ? 'no answer in time' : `network error: ${err instanceof Error ? err.message : String(err)}`;
    throw new CallbridgeError('CB_CASCADE_TTS_UNAVAILABLE', `Text-to-Speech: ${why}`, { cause: err });
  }
  if (!res.ok) {
    const r = classifyError(res.status, text, res.headers.get('retry-after'));
    const message = `Text-to-Speech: ${'message' in r ? r.message : `HTTP ${res.status}`}`;
    if (r.kind === 'transient') throw new CallbridgeError('CB_CASCADE_TTS_UNAVAILABLE', message, { detail: { status: res.status, ...(r.retryAfterMs === undefined ? {} : { retryAfterMs: r.retryAfterMs }) } });
    throw new CallbridgeError('CB_CASCADE_TTS_REJECTED', message, { detail: { status: res.status } });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CallbridgeError('CB_CASCADE_TTS_REJECTED', 'the Text-to-Speech answer is not JSON');
  }
}
