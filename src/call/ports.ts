/**
 * The two ports a call talks through, and the clock it runs on. Nothing in src/call/ outside
 * ./adapters/ knows a wire protocol: a call sees a CallerTransport (a Twilio Media Stream today,
 * the browser test phone next) and a LiveSession (Gemini Live over `ws`), both described here in
 * the call's own terms. The adapters in ./adapters/ implement them; the unit harness
 * (test/support/call-harness.ts) implements them in memory.
 */
import type { CallbridgeError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { FlowSession } from '../flows/index.js';

// --- the caller --------------------------------------------------------------------------------

/** Audio as it crosses the port: the encoding and its sample rate. */
export interface AudioFormat {
  encoding: 'mulaw' | 'pcm16';
  sampleRateHz: number;
}

/** Where a call came from: a phone network call, or the browser test phone. */
export type { CallChannel } from '../transcripts/types.js';
import type { CallChannel } from '../transcripts/types.js';

/** How the caller's side of the media ended. */
export type TransportEndReason = 'stop' | 'close';

/** What a transport tells its call. Called synchronously, in the order things happened. */
export interface TransportListener {
  /** The caller's media is flowing (Twilio: the stream's `start`). Once. */
  connected(info: { mediaId: string }): void;
  /**
   * One inbound frame in `inputFormat`. Hot path: `payload` is a view into a reused buffer, valid
   * until the listener returns. `timestampMs` is the frame's place on the media's own timeline.
   */
  audio(payload: Uint8Array, timestampMs: number): void;
  /** One key pressed on the caller's keypad ("0"-"9", "*", "#"). */
  dtmf(digit: string): void;
  /** A mark sent with `sendMark` came back: the audio before it was played (or cleared). */
  played(markName: string): void;
  /** The caller's media ended (hang-up, our close, or the call was redirected). Once. */
  ended(reason: TransportEndReason): void;
}

/**
 * The caller's end of a call. Created when the call is admitted (before any media, so the agent
 * can start early); `connected` follows when media starts.
 */
export interface CallerTransport {
  readonly channel: CallChannel;
  /** Format of inbound `audio` frames and of what `sendAudio` takes. */
  readonly inputFormat: AudioFormat;
  readonly outputFormat: AudioFormat;
  readonly capabilities: {
    /** `transfer()` can connect the caller elsewhere (Twilio: REST credentials configured). */
    transfer: boolean;
    /** The caller can press keys that arrive as `dtmf`. */
    dtmf: boolean;
  };
  /** The call's listener (exactly one). Events before it is set are not lost: media waits for it. */
  listen(listener: TransportListener): void;
  /** Bot audio in `outputFormat`; false when the media is not open. Hot path. */
  sendAudio(audio: Uint8Array): boolean;
  /** A named marker after the audio sent so far; it comes back through `played` once heard. */
  sendMark(name: string): void;
  /** Drops every buffered, unplayed bot audio at once (barge-in). */
  clear(): void;
  /** Runs `send` so that what it sends leaves in one write (audio and its mark). */
  batch(send: () => void): void;
  /** Connects the caller to `number` and ends this media (needs capabilities.transfer). */
  transfer(number: string): Promise<void>;
  /** Ends the caller's media: 'normal' (hang up) or 'going-away' (the server stops the call). */
  close(kind: 'normal' | 'going-away', reason: string): void;
  /** The call has finished: forget it (called once). */
  release(): void;
  /**
   * Optional: words as they are transcribed, before the utterance is recorded (the browser
   * phone's live captions). Pieces of one utterance arrive in order (a bot utterance's pieces
   * carry its id); the recorded event follows.
   */
  caption?(who: 'caller' | 'bot', text: string, utteranceId?: string): void;
}

// --- the agent ---------------------------------------------------------------------------------

/** A conversation turn as the agent takes it. */
export interface Turn {
  role?: 'user' | 'model';
  parts: Array<{ text?: string }>;
}

export interface ToolCallRequest {
  id: string;
  name: string;
  args?: Record<string, unknown>;
}

/** Everything a live agent session reports (the call ignores what it does not use). */
export type AgentEvent =
  | { type: 'audio'; samples: Int16Array; sampleRateHz: number }
  | { type: 'text'; text: string }
  | { type: 'inputTranscription'; text: string; finished: boolean }
  | { type: 'outputTranscription'; text: string; finished: boolean }
  | { type: 'interrupted' }
  | { type: 'generationComplete' }
  | { type: 'turnComplete' }
  | { type: 'waitingForInput' }
  | { type: 'toolCall'; calls: ToolCallRequest[] }
  | { type: 'toolCallCancellation'; ids: string[] }
  /** The service will close the session; `timeLeftMs` until it does. */
  | { type: 'goAway'; timeLeftMs?: number }
  /** `resumable: false` with no handle: the agent is working on a reply. */
  | { type: 'sessionResumptionUpdate'; newHandle?: string; resumable: boolean }
  | { type: 'usage'; usage: { promptTokenCount?: number; responseTokenCount?: number; totalTokenCount?: number } };

/** How a failed session may be retried: not at all, after a backoff, after a quota pause, fresh. */
export type RetryClass = 'none' | 'transient' | 'quota' | 'fresh-session';

export interface SessionClose {
  /** Our own close(): not an error. */
  byUs: boolean;
  code: number;
  reason: string;
  /** Set for every close the service (or the network) initiated. */
  error?: { retryable: boolean; retryClass: RetryClass; error: CallbridgeError };
}

export interface ToolResult {
  id: string;
  name: string;
  response: Record<string, unknown>;
  /** How a NON_BLOCKING call's answer is voiced (the session drops it for a BLOCKING call). */
  scheduling?: 'WHEN_IDLE' | 'INTERRUPT' | 'SILENT';
}

/** New stage instructions: the whole system instruction, and the same change as a message. */
export interface Instructions {
  systemInstruction: string;
  text: string;
}

/** The declarations the flow gives the agent (the flow engine's own type). */
export type ToolDeclarations = ReturnType<FlowSession['declarations']>;

/** What a session is opened with: the call's part (the link adds resumption). */
export interface SessionConfig {
  model: string;
  systemInstruction: string;
  tools: ToolDeclarations;
  voiceName?: string;
  languageCode?: string;
}

/** One live agent session (Gemini Live over a WebSocket; in tests, in memory). */
export interface LiveSession {
  readonly setupLatencyMs: number | undefined;
  /** Tool calls the agent is waiting on; `blocking`: the agent waits for the answer (nothing else may go first). */
  readonly pendingToolCalls: ReadonlyArray<{ id: string; name: string; blocking: boolean }>;
  /** How `instruct` reaches this agent mid-session (its model family's rule; docs/gemini-live.md §2.2). */
  readonly instructionChannel: 'contextUpdate' | 'clientContent' | 'realtimeText';
  /** Every event, in order; returns the unsubscribe function. */
  onEvent(listener: (event: AgentEvent) => void): () => void;
  /** Once, when the session is gone. */
  onClose(listener: (close: SessionClose) => void): () => void;
  /** Caller audio, 16 kHz PCM16. Hot path. */
  sendAudio(pcm16k: Int16Array): void;
  sendClientContent(turns: Turn[], turnComplete: boolean): void;
  /** Replaces the agent's instructions mid-session (a stage change), by `instructionChannel`. */
  instruct(update: Instructions): void;
  /** Answers pending tool calls by id (throws a CallbridgeError for an unknown id). */
  sendToolResponse(responses: ToolResult[]): void;
  close(reason: string): Promise<void>;
}

export interface ConnectOptions {
  config: SessionConfig & { sessionResumption: { enabled: true; handle?: string } };
  log: Logger;
}

/**
 * Opens a session: resolves once it is set up, rejects with a CallbridgeError whose detail may
 * carry `retryClass`, `closeCode` and `closeReason`.
 */
export type LiveConnect = (options: ConnectOptions) => Promise<LiveSession>;

// --- time --------------------------------------------------------------------------------------

export type TimerHandle = { readonly __timer?: never } | object;

/** The clock a call runs on: the machine's in production, a manual one in the unit harness. */
export interface Clock {
  /** Monotonic ms. */
  now(): number;
  /** Wall-clock ms since the epoch (for records). */
  wallNow(): number;
  /** A timer that never keeps the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}
