/**
 * Where a cascade call's requests go (docs/cascade.md, "Endpoints"): the text model to
 * GEMINI_API_BASE_URL (else the origin of a GEMINI_LIVE_URL that is not Google's, else Google's
 * with a key, as the post-call analysis does), the speech to TTS_BASE_URL (else the text model's
 * base when that is not Google's, an emulator or proxy; else Google Cloud Text-to-Speech). Without a key and URLs, both go to the built-in emulator under the flow's own
 * path, so its scenario answers (src/emulator/stream-generate.ts, tts-endpoint.ts).
 */
import { analysisEndpoint } from '../aftercall/index.js';
import { GeminiTextModel, GOOGLE_API_BASE_URL } from './text-model.js';
import { CloudSpeech, CLOUD_TTS_BASE_URL, GeminiSpeech, voiceRouter } from './tts.js';
import type { SpeechSynth, TextModel } from './types.js';

export interface CascadeEnv {
  GEMINI_API_KEY?: string | undefined;
  GEMINI_LIVE_URL?: string | undefined;
  GEMINI_API_BASE_URL?: string | undefined;
  TTS_BASE_URL?: string | undefined;
}

export interface CascadeServices {
  textModel: TextModel;
  speech: SpeechSynth;
}

/**
 * The text model and speech for a flow's calls. `emulatorBase`: the built-in emulator's REST base
 * for this flow when it runs (no key, src/emulator/stream-generate.ts emulatorRestBaseForFlow).
 */
export function cascadeServices(env: CascadeEnv, emulatorBase: string | undefined): CascadeServices {
  const apiKey = env.GEMINI_API_KEY ?? 'emulator';
  const textBaseUrl = env.GEMINI_API_BASE_URL ?? emulatorBase ?? analysisEndpoint(env, undefined).baseUrl;
  // A text base that is not Google's is an emulator or a proxy standing in for Google: speech goes there too.
  const ttsBaseUrl = env.TTS_BASE_URL ?? emulatorBase ?? (textBaseUrl === GOOGLE_API_BASE_URL ? CLOUD_TTS_BASE_URL : textBaseUrl);
  const textModel = new GeminiTextModel({ baseUrl: textBaseUrl, apiKey });
  const speech = voiceRouter(new CloudSpeech({ baseUrl: ttsBaseUrl, apiKey }), new GeminiSpeech({ baseUrl: textBaseUrl, apiKey }));
  return { textModel, speech };
}
