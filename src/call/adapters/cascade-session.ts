/**
 * The cascade pipeline behind the LiveSession port (../ports.ts): a flow with
 * `pipeline: cascade` gets, instead of a Gemini Live session, callbridge's own ears (voice
 * activity endpointing), a Gemini text model with the flow's functions, and a speech
 * synthesiser (src/cascade/agent.ts; docs/cascade.md). The link treats it as any session: its
 * failures are retried, fall back along the flow's models and end in the apology as on Live.
 */
import { CascadeSession } from '../../cascade/agent.js';
import type { SpeechSynth, TextModel } from '../../cascade/types.js';
import { cascadeServices, type CascadeEnv } from '../../cascade/endpoints.js';
import { DEFAULT_CLOUD_VOICE } from '../../cascade/tts.js';
import type { LiveConnect } from '../ports.js';

/** A flow with `pipeline: cascade` and no `model:` uses this Gemini text model (docs/cascade.md). */
export const DEFAULT_CASCADE_MODEL = 'gemini-3.8-flash';
/** A flow with `pipeline: cascade` and no `tts:` speaks with this voice (Cloud Text-to-Speech, docs/cascade.md). */
export const DEFAULT_CASCADE_VOICE = DEFAULT_CLOUD_VOICE;

export interface CascadeEndpoint {
  textModel: TextModel;
  speech: SpeechSynth;
  /** The flow's `tts:` voice. */
  voice: string;
}

/** The connect function a call's link uses for a cascade flow. */
export function cascadeConnect(endpoint: CascadeEndpoint): LiveConnect {
  return async ({ config, log }) =>
    new CascadeSession({
      model: config.model,
      systemInstruction: config.systemInstruction,
      tools: config.tools,
      voice: endpoint.voice,
      textModel: endpoint.textModel,
      speech: endpoint.speech,
      log,
    });
}

/**
 * The cascade agent for a flow's calls on the configured endpoints (src/cascade/endpoints.ts),
 * speaking with the flow's `tts:` voice (default DEFAULT_CASCADE_VOICE).
 */
export function cascadeConnectFor(env: CascadeEnv, emulatorBase: string | undefined, flow: { tts?: string | undefined }): LiveConnect {
  const { textModel, speech } = cascadeServices(env, emulatorBase);
  return cascadeConnect({ textModel, speech, voice: flow.tts ?? DEFAULT_CASCADE_VOICE });
}
