/**
 * What the emulator records per session, for tests (in process) and GET /emulator/stats (out of
 * process): every message received (parsed JSON as the client spelled it, arrival time) and what
 * it sent at a high level (events), plus counts and injected faults.
 */
import type { Setup, UsageMetadata } from '../gemini/protocol.js';
import type { FaultKind } from './faults.js';

export interface ReceivedMessage {
  /** Connection number of the session. */
  sessionId: number;
  /** Milliseconds since the socket opened. */
  atMs: number;
  /** 'setup' | 'clientContent' | … or 'invalid' when it was rejected. */
  type: string;
  /** The frame parsed as JSON, keys as the client sent them (undefined when not JSON). */
  json: unknown;
  /** Whether it arrived in a binary frame. */
  binary: boolean;
  sizeBytes: number;
}

export type EmulatorEventType =
  | 'setupComplete'
  | 'turnStart'
  | 'inputTranscription'
  | 'speechStart'
  | 'speechEnd'
  | 'generationComplete'
  | 'turnComplete'
  | 'interrupted'
  | 'toolCall'
  | 'toolResponse'
  | 'toolCallCancellation'
  | 'resumptionUpdate'
  | 'goAway'
  | 'contextUpdate'
  | 'vad'
  | 'fault'
  | 'error'
  | 'close';

export interface EmulatorEvent {
  atMs: number;
  type: EmulatorEventType;
  [detail: string]: unknown;
}

export interface CloseInfo {
  code: number;
  reason: string;
  /** Who ended it: the emulator with a close frame, the client, or a cut without a close frame. */
  by: 'server' | 'client' | 'cut';
}

export interface SessionCounts {
  received: number;
  sent: number;
  audioChunksSent: number;
  audioBytesSent: number;
  audioBytesReceived: number;
  garbageSent: number;
}

export class SessionRecord {
  readonly id: number;
  readonly path: string;
  readonly apiVersion: string;
  readonly openedAt = Date.now();
  readonly #t0 = performance.now();
  /** performance.now() when the socket opened: `openedPerfMs + atMs` compares with other in-process clocks. */
  get openedPerfMs(): number {
    return this.#t0;
  }
  readonly #maxReceived: number;
  readonly #keepAudio: boolean;
  /** Same across resumed connections. */
  logicalId: string | undefined;
  /** The handle this connection resumed from. */
  resumedFrom: string | undefined;
  model: string | undefined;
  setup: Setup | undefined;
  scenario: string | undefined;
  state: 'connected' | 'setting-up' | 'active' | 'closed' = 'connected';
  closedAt: number | undefined;
  close: CloseInfo | undefined;
  readonly received: ReceivedMessage[] = [];
  readonly events: EmulatorEvent[] = [];
  readonly handles: string[] = [];
  readonly faults: FaultKind[] = [];
  readonly counts: SessionCounts = {
    received: 0,
    sent: 0,
    audioChunksSent: 0,
    audioBytesSent: 0,
    audioBytesReceived: 0,
    garbageSent: 0,
  };

  constructor(id: number, path: string, apiVersion: string, options: { maxReceived: number; keepAudio: boolean }) {
    this.id = id;
    this.path = path;
    this.apiVersion = apiVersion;
    this.#maxReceived = options.maxReceived;
    this.#keepAudio = options.keepAudio;
  }

  /** Milliseconds since the socket opened. */
  now(): number {
    return Math.round((performance.now() - this.#t0) * 10) / 10;
  }

  receive(type: string, json: unknown, binary: boolean, sizeBytes: number): void {
    this.counts.received++;
    if (this.received.length >= this.#maxReceived) this.received.shift();
    this.received.push({ sessionId: this.id, atMs: this.now(), type, json: this.#keepAudio ? json : stripAudio(json), binary, sizeBytes });
  }

  event(type: EmulatorEventType, detail: Record<string, unknown> = {}): void {
    this.events.push({ atMs: this.now(), type, ...detail });
  }

  fault(kind: FaultKind, detail: Record<string, unknown> = {}): void {
    this.faults.push(kind);
    this.event('fault', { kind, ...detail });
  }

  /** A JSON-safe summary (for /emulator/stats). */
  summary(): Record<string, unknown> {
    return {
      id: this.id,
      logicalId: this.logicalId,
      resumedFrom: this.resumedFrom,
      model: this.model,
      scenario: this.scenario,
      apiVersion: this.apiVersion,
      state: this.state,
      openedAt: new Date(this.openedAt).toISOString(),
      closedAt: this.closedAt === undefined ? undefined : new Date(this.closedAt).toISOString(),
      close: this.close,
      counts: this.counts,
      faults: this.faults,
      handlesIssued: this.handles.length,
      events: this.events.length,
    };
  }
}

/** Replaces realtimeInput audio data with its length (when payloads are not kept). */
function stripAudio(json: unknown): unknown {
  if (typeof json !== 'object' || json === null) return json;
  const ri = (json as Record<string, unknown>).realtimeInput ?? (json as Record<string, unknown>).realtime_input;
  if (typeof ri !== 'object' || ri === null) return json;
  const audio = (ri as Record<string, unknown>).audio;
  if (typeof audio !== 'object' || audio === null || typeof (audio as { data?: unknown }).data !== 'string') return json;
  const data = (audio as { data: string }).data;
  return { realtimeInput: { ...(ri as object), audio: { ...(audio as object), data: `<${data.length} base64 chars>` } } };
}

/** Rough token accounting for turnComplete's usageMetadata (audio ≈ 25 tokens/s, text ≈ 4 chars/token). */
export function usageMetadata(
  inputAudioMs: number,
  historyChars: number,
  responseAudioMs: number,
  responseChars: number,
  modality: 'AUDIO' | 'TEXT',
): UsageMetadata {
  const responseTokens = Math.round(responseAudioMs * 0.025 + responseChars / 4);
  const promptTokens = Math.round(inputAudioMs * 0.025 + historyChars / 4);
  return {
    promptTokenCount: promptTokens,
    responseTokenCount: responseTokens,
    totalTokenCount: promptTokens + responseTokens,
    responseTokensDetails: [{ modality, tokenCount: responseTokens }],
  };
}
