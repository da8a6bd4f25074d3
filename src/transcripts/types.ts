/**
 * The call record model: what callbridge keeps about every call. The call bridge produces these;
 * stores persist them; the review UI, JSON API and CLI read them.
 *
 * Times: `startedAt`/`answeredAt`/`endedAt` are epoch milliseconds; every event's `atMs` is
 * milliseconds since the call started (the webhook), so a timeline reads without clocks.
 */

export type CallOutcome =
  /** Still running (or the process died before it ended: see `endedAt` missing). */
  | 'in_progress'
  /** The conversation ended normally (caller and bot done; e.g. Twilio stop after goodbye). */
  | 'completed'
  /** Handed to a human or another number; `outcomeDetail.transferTarget` says where. */
  | 'transferred'
  /** The bot ended the call (end_call) after its last words played. */
  | 'ended_by_bot'
  /** The caller hung up. */
  | 'caller_hung_up'
  /** Something failed for good; `outcomeDetail.errorCode` is a CB_* code. */
  | 'failed';

export const CALL_OUTCOMES: readonly CallOutcome[] = [
  'in_progress', 'completed', 'transferred', 'ended_by_bot', 'caller_hung_up', 'failed',
];

/** A call's caller side: the phone network (Twilio) or the browser test phone (/phone). */
export type CallChannel = 'phone' | 'browser';
export const CALL_CHANNELS: readonly CallChannel[] = ['phone', 'browser'];

/**
 * A call that ended but needs the business's attention: amber (something the caller wanted may
 * not have happened: closed-hours message, a function that failed) or red (the call itself
 * failed or could not be handed over: the apology, an impossible or failed transfer).
 */
export interface FollowUp {
  level: 'amber' | 'red';
  /** Plain sentences, most serious first. */
  reasons: string[];
}

export interface OutcomeDetail {
  transferTarget?: string;
  errorCode?: string;
  reason?: string;
}

export interface GeminiCloseRecord {
  atMs: number;
  /** WebSocket close code (1007, 1008, 1011, 1006…). */
  code: number;
  reason: string;
  /** CB_GEMINI_* catalogue code. */
  errorCode: string;
  model: string;
}

export interface UsageTotals {
  promptTokens: number;
  responseTokens: number;
  totalTokens: number;
}

export interface TurnLatency {
  /** When the caller stopped talking (bridge's own voice-activity detection), ms since call start. */
  callerStopMs: number;
  /** When the first bot audio of the reply was sent to Twilio, ms since call start. */
  firstBotAudioMs: number;
  latencyMs: number;
}

export interface LatencyFigures {
  /** Twilio `start` → first bot audio sent to the caller. */
  firstBotAudioMs?: number;
  /** Per turn: caller stop → first bot audio, as seen by the bridge. */
  turns: TurnLatency[];
}

export interface CallRecord {
  callSid: string;
  streamSid?: string;
  accountSid?: string;
  /** Caller number (personal data: redaction applies to logs, not to the record itself). */
  from: string;
  /** Called number. */
  to: string;
  flow?: string;
  /** Content hash of the flow file the call ran on (the version; hot reload changes it). */
  flowVersion?: string;
  /** Where the caller was: a phone call through Twilio, or the browser test phone. */
  channel?: CallChannel;
  /** The callbridge instance running the call (INSTANCE_ID; docs/scale-out.md): the one that took its media. */
  instance?: string;
  /** Set when the business should look at this call: why, and how urgent. */
  followUp?: FollowUp;
  /** Models used, in order (fallbacks append). */
  models: string[];
  /** Webhook received (epoch ms). */
  startedAt: number;
  /** Media stream started (epoch ms). */
  answeredAt?: number;
  endedAt?: number;
  durationMs?: number;
  outcome: CallOutcome;
  outcomeDetail?: OutcomeDetail;
  geminiCloses: GeminiCloseRecord[];
  reconnects: number;
  usage: UsageTotals;
  latency: LatencyFigures;
  /** Path of the stereo WAV recording, relative to DATA_DIR, when recording was on. */
  recordingPath?: string;
}

/** Everything that happens in a call, in order. */
export type CallEventBody =
  | { kind: 'caller_utterance'; text: string }
  | {
      kind: 'bot_utterance';
      text: string;
      /** ms of this utterance the caller actually heard (from Twilio mark echoes). */
      heardMs: number;
      /** ms of audio sent for it. */
      sentMs: number;
      interrupted: boolean;
    }
  | { kind: 'dtmf'; digit: string }
  | { kind: 'stage_change'; from?: string; to: string; reason: string }
  | {
      kind: 'function_call';
      id: string;
      name: string;
      args: unknown;
      status: 'ok' | 'error' | 'timeout' | 'cancelled' | 'rejected';
      result?: unknown;
      error?: string;
      /** CB_TOOL_* code when status is not ok. */
      errorCode?: string;
      latencyMs: number;
    }
  | { kind: 'transfer'; target: string }
  | { kind: 'gemini_close'; code: number; reason: string; errorCode: string; model: string }
  | { kind: 'reconnect'; model: string; resumed: boolean; silenceMs: number }
  /** The call moved here from a draining instance (docs/scale-out.md, "Live migration"); gapMs: from its agent closing there to its media arriving here. */
  | { kind: 'migrated'; from: string; to: string; gapMs: number; withHandle: boolean }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'note'; text: string };

export type CallEvent = CallEventBody & {
  /** ms since call start. */
  atMs: number;
};

export type CallEventKind = CallEventBody['kind'];
