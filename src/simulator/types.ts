/**
 * The caller simulator's options and results.
 */
import type { PlaybackOptions } from './playback.js';
import type { ScriptStep, Synthesize } from './script.js';
import type { SessionCounts, StreamEnd } from './stream-session.js';
import type { TimelineEvent } from './timeline.js';
import type { TwimlVerb } from './twiml-reader.js';
import type { SimulatedCallRegistry } from './call.js';

export interface PlaceCallOptions {
  /** Where the server really listens, e.g. http://127.0.0.1:8080. */
  serverUrl: string;
  /** The URL the server believes it is reachable at (PUBLIC_BASE_URL), for signing; default serverUrl. */
  publicBaseUrl?: string;
  from: string;
  to: string;
  callSid?: string;
  accountSid?: string;
  /** Sign the webhook, the upgrade and status callbacks with this Twilio auth token; unsigned when absent. */
  authToken?: string;
  script: readonly ScriptStep[];
  /** 1 = real time; 0.05 = 20× faster. */
  timeScale?: number;
  /** Write what the caller heard to this WAV file (8 kHz PCM16). */
  recordPath?: string;
  /** Record stereo: the caller's own audio on the left, what it heard on the right. */
  recordStereo?: boolean;
  /** Text-to-speech for `{ say }` steps. */
  synthesize?: Synthesize;
  /** Voice webhook path (default /twilio/voice). */
  voicePath?: string;
  /** More webhook form fields (they override the defaults). */
  webhookParams?: Record<string, string>;
  /** After the script: hang up (default) or wait for the server to end the stream. */
  afterScript?: 'hangup' | 'wait';
  /** Hang up at this call time at the latest (default 10 min). */
  maxDurationMs?: number;
  /**
   * Call time between receiving the TwiML and opening the media stream (default 0). Real Twilio
   * takes a few hundred ms here (it parses the TwiML, then opens a TLS WebSocket to the server);
   * benchmarks of time-to-first-audio set it to a realistic value.
   */
  connectDelayMs?: number;
  /** POST stream-started / stream-stopped to the Stream's statusCallback (default true). */
  statusCallbacks?: boolean;
  playback?: PlaybackOptions;
  /** Makes the call reachable by the fake REST API (transfers, hang-ups). */
  registry?: SimulatedCallRegistry;
}

export type CallEndedBy = 'caller' | 'twiml' | 'twiml-replaced' | 'api-completed' | 'max-duration' | 'error';

export interface CallOutcome {
  endedBy: CallEndedBy;
  /** Verbs run besides the stream (or instead of it), ending with the one that ended the call. */
  verbs: TwimlVerb[];
  /** How the media stream ended, when there was one. */
  stream?: StreamEnd;
  /** What went wrong when endedBy is 'error'. */
  error?: string;
}

export interface CallResult {
  /** performance.now() at call time 0; call time t happened at originPerfMs + t × timeScale. */
  originPerfMs: number;
  timeScale: number;
  callSid: string;
  accountSid: string;
  streamSid: string | undefined;
  webhookStatus: number;
  /** The voice webhook's answer. */
  twiml: string | undefined;
  /** The `<Parameter>`s of the `<Stream>`. */
  customParameters: Record<string, string>;
  outcome: CallOutcome;
  /** Events on the call clock, in time order. */
  timeline: TimelineEvent[];
  sampleRateHz: number;
  /** What the caller heard, one sample per 1/8000 s of call time from the call's start. */
  heard: Int16Array;
  /** What the caller sent, on the same clock. */
  sent: Int16Array;
  /** Call time when the stream started (its first media frame's start), if it did. */
  streamStartMs: number | undefined;
  durationMs: number;
  /** Wall-clock duration. */
  wallMs: number;
  counts: SessionCounts & { statusCallbacks: number };
  /** Messages Twilio would have warned about (31950/31951), socket failures. */
  protocolErrors: string[];
  /** Wait steps that timed out. */
  timeouts: string[];
  recordPath?: string;
}
