/**
 * Gemini Live behind the LiveSession port: the `ws` client of src/gemini wrapped so that the call
 * sees only ../ports.ts. One subscription per event type of the session, forwarded in order.
 */
import { GeminiLiveSession, DEFAULT_FALLBACK_MODELS, DEFAULT_MODEL, type GeminiEvent, type GeminiLiveSessionOptions } from '../../gemini/index.js';
import type { AgentEvent, LiveConnect, LiveSession, SessionClose } from '../ports.js';

export { DEFAULT_FALLBACK_MODELS, DEFAULT_MODEL };

export interface GeminiEndpoint {
  apiKey: string;
  url?: string;
  setupTimeoutMs?: number;
  /** Tool response cap, audio held during a blocking call. */
  sessionOptions?: Partial<Pick<GeminiLiveSessionOptions, 'toolResponseMaxBytes' | 'heldAudioMaxMs'>>;
  /** Test hook: opens the underlying session. */
  open?(options: GeminiLiveSessionOptions): Promise<GeminiLiveSession>;
}

const EVENT_TYPES = [
  'audio', 'text', 'inputTranscription', 'outputTranscription', 'interrupted', 'generationComplete',
  'turnComplete', 'waitingForInput', 'toolCall', 'toolCallCancellation', 'goAway', 'sessionResumptionUpdate', 'usage',
] as const satisfies ReadonlyArray<GeminiEvent['type']>;

/** Every Gemini event forwarded is one the port describes (checked when this compiles). */
type Forwarded = Extract<GeminiEvent, { type: (typeof EVENT_TYPES)[number] }>;
const FORWARDED_FITS_THE_PORT: Forwarded extends AgentEvent ? true : never = true;
void FORWARDED_FITS_THE_PORT;

/** The connect function a link uses to reach this Gemini endpoint. */
export function geminiConnect(endpoint: GeminiEndpoint): LiveConnect {
  const open = endpoint.open ?? ((o: GeminiLiveSessionOptions) => GeminiLiveSession.connect(o));
  return async ({ config, log }) => {
    const session = await open({
      apiKey: endpoint.apiKey,
      ...(endpoint.url ? { url: endpoint.url } : {}),
      config,
      log,
      ...(endpoint.setupTimeoutMs ? { setupTimeoutMs: endpoint.setupTimeoutMs } : {}),
      ...endpoint.sessionOptions,
    });
    return asLiveSession(session);
  };
}

/** The port's view of one Gemini Live session. */
export function asLiveSession(session: GeminiLiveSession): LiveSession {
  return {
    get setupLatencyMs() {
      return session.setupLatencyMs;
    },
    get pendingToolCalls() {
      return session.pendingToolCalls;
    },
    onEvent(listener: (event: AgentEvent) => void) {
      const offs = EVENT_TYPES.map((type) => session.on(type, listener as (event: GeminiEvent) => void));
      return () => offs.forEach((off) => off());
    },
    onClose(listener: (close: SessionClose) => void) {
      return session.on('close', listener);
    },
    sendAudio: (pcm16k) => session.sendAudio(pcm16k),
    sendClientContent: (turns, turnComplete) => session.sendClientContent(turns, turnComplete),
    sendToolResponse: (responses) => void session.sendToolResponse(responses),
    close: (reason) => session.close(reason),
  };
}
