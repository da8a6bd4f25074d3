/**
 * What a call's link takes and tells: its options, its states, and the events it emits.
 */
import type { CallbridgeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import type { ReplyTimes } from '../../health/reply-times.js';
import type { AgentEvent, Clock, LiveConnect, SessionClose, SessionConfig, Turn } from '../ports.js';
import type { ModelHealth, RetryPolicy } from './retry.js';

/** The process-wide model health the link reports to and consults (src/health/breakers.ts). */
export interface LinkBreakers extends ModelHealth {
  record(model: string, ok: boolean): void;
  pauseForQuota(model: string, pauseMs: number): void;
}

export interface LinkOptions {
  /** Primary model first, then fallbacks. */
  models: readonly string[];
  /** The session config for a model (system instruction, tools, voice…); the link adds resumption. */
  sessionConfig(model: string): SessionConfig;
  /** The conversation so far, for re-seeding a fresh session (ends with a user turn when given). */
  history?(): Turn[];
  /** Opens a session (./adapters/gemini-session.ts for Gemini Live). */
  connect: LiveConnect;
  breakers?: LinkBreakers;
  /** Healthy reply delays, shared by the process's calls (src/health/reply-times.ts). */
  replyTimes?: ReplyTimes;
  retry?: Partial<RetryPolicy>;
  /** Caller audio kept during an outage, in ms of 16 kHz audio. */
  outageAudioMs?: number;
  /** Hand over this long before a goAway deadline at the latest. */
  goAwayMarginMs?: number;
  log: Logger;
  random?: () => number;
  clock?: Clock;
}

export type LinkState = 'idle' | 'connecting' | 'ready' | 'recovering' | 'failed' | 'closed';

export interface ReadyInfo {
  model: string;
  /** Resumed with a handle (the model keeps its context) rather than a fresh session. */
  resumed: boolean;
  /** First session of the call, or why this one replaced another. */
  cause: 'start' | 'fault' | 'goAway';
  /** Connection attempts this incident took (1 = first try). */
  attempts: number;
  /** Time without a session, from the failure (or handover) to this ready. */
  outageMs: number;
  setupLatencyMs: number | undefined;
}

export interface DownInfo {
  model: string;
  error: SessionClose['error'];
  /** The failure came from a connect attempt rather than a live session. */
  duringConnect: boolean;
  errorCode: string;
  code: number;
  reason: string;
}

export interface FailedInfo {
  error: CallbridgeError;
  attempts: number;
}

export type LinkEvents = {
  event: AgentEvent;
  ready: ReadyInfo;
  down: DownInfo;
  failed: FailedInfo;
};

