/**
 * Gemini Live behind the LiveSession port: the `ws` client of src/gemini wrapped so that the call
 * sees only ../ports.ts. One subscription per event type of the session, forwarded in order.
 * The model's family (src/gemini/families.ts) decides how things are said mid-session: function
 * declarations shaped to the behaviours it accepts, stage instructions as contextUpdate (§2.5),
 * clientContent or realtime text, and text turns as realtime text where clientContent only seeds
 * history (docs/gemini-live.md §2.2, §2.4).
 */
import { GeminiLiveSession, DEFAULT_FALLBACK_MODELS, DEFAULT_MODEL, type GeminiEvent, type GeminiLiveSessionOptions } from '../../gemini/index.js';
import { behaviorOn, familyOf, instructionChannel } from '../../gemini/families.js';
import type { AgentEvent, Instructions, LiveConnect, LiveSession, SessionClose, SessionConfig, Turn } from '../ports.js';

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
      config: { ...config, tools: shapeTools(config.tools, config.model) },
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
    get instructionChannel() {
      return instructionChannel(session.family);
    },
    sendClientContent: (turns, turnComplete) => sendTurns(session, turns, turnComplete),
    instruct: (update) => instruct(session, update),
    sendToolResponse: (responses) => void session.sendToolResponse(responses),
    close: (reason) => session.close(reason),
  };
}

/**
 * Every declaration with the behaviour the model's family accepts: the wanted one, else the only
 * one it takes (3.1: BLOCKING; 3.8 Extended Thinking: NON_BLOCKING). An unknown model: unchanged.
 */
export function shapeTools(tools: SessionConfig['tools'], model: string): SessionConfig['tools'] {
  const family = familyOf(model);
  return tools.map((d) => {
    const wanted = d.behavior === 'NON_BLOCKING' ? 'NON_BLOCKING' : d.behavior === 'BLOCKING' ? 'BLOCKING' : family?.functions.default;
    return wanted === undefined ? d : { ...d, behavior: behaviorOn(family, wanted) };
  });
}

const textOf = (turns: Turn[]): string => turns.flatMap((t) => t.parts.map((p) => p.text ?? '')).filter(Boolean).join('\n');

/**
 * Text turns. Where clientContent only seeds history (3.1), a turn asking for a reply, and any
 * turn once the model has spoken, goes as realtime text (which always asks for a reply).
 */
function sendTurns(session: GeminiLiveSession, turns: Turn[], turnComplete: boolean): void {
  if (session.family?.midSession.clientContent === 'initial-history' && (turnComplete || session.modelActed)) {
    session.sendText(textOf(turns));
    return;
  }
  session.sendClientContent(turns, turnComplete);
}

/** A stage change by the family's mid-session mechanism (docs/gemini-live.md §2.2, §2.5). */
function instruct(session: GeminiLiveSession, update: Instructions): void {
  switch (instructionChannel(session.family)) {
    case 'contextUpdate':
      return session.sendContextUpdate({ systemInstruction: update.systemInstruction });
    case 'clientContent':
      return session.sendClientContent([{ role: 'user', parts: [{ text: update.text }] }], false);
    case 'realtimeText':
      if (!session.modelActed) return session.sendClientContent([{ role: 'user', parts: [{ text: update.text }] }], false);
      return session.sendText(`${update.text}\n(Instructions for you, not words from the caller: do not answer this message; carry on with the caller.)`);
  }
}
