/**
 * A call's figures for its record: time to the first bot audio, per-turn latency (caller stops →
 * first bot audio of the reply), token usage, the agent's closes and reconnects. Each change is
 * patched into the record as it happens, so a crash keeps the figures so far.
 */
import type { CallLog } from '../transcripts/writer.js';
import type { CallRecord, GeminiCloseRecord, TurnLatency } from '../transcripts/types.js';
import type { AgentEvent } from './ports.js';

type Usage = Extract<AgentEvent, { type: 'usage' }>['usage'];

export class CallMetrics {
  readonly #record: CallLog;
  #firstBotAudioMs: number | undefined;
  /** When the caller last stopped talking, until the reply's first audio (call clock). */
  #callerStopMs: number | undefined;
  readonly #turns: TurnLatency[] = [];
  readonly #usage = { promptTokens: 0, responseTokens: 0, totalTokens: 0 };
  readonly #closes: GeminiCloseRecord[] = [];
  #reconnects = 0;

  constructor(record: CallLog) {
    this.#record = record;
  }

  /** The caller's words wait for a reply (they stopped talking and no bot audio followed yet). */
  get awaitingReply(): boolean {
    return this.#callerStopMs !== undefined;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  callerStarted(): void {
    this.#callerStopMs = undefined;
  }

  callerStopped(atMs: number): void {
    this.#callerStopMs = atMs;
  }

  /** A chunk of bot audio went to the caller at `atMs`; the media started at `mediaStartMs`. */
  botAudioSent(atMs: number, mediaStartMs: number): void {
    if (this.#firstBotAudioMs === undefined) {
      this.#firstBotAudioMs = atMs - mediaStartMs;
      this.#record.update({ latency: this.#latency() });
    }
    if (this.#callerStopMs === undefined) return;
    this.#turns.push({ callerStopMs: this.#callerStopMs, firstBotAudioMs: atMs, latencyMs: atMs - this.#callerStopMs });
    this.#callerStopMs = undefined;
    this.#record.update({ latency: this.#latency() });
  }

  usage(usage: Usage): void {
    this.#usage.promptTokens += usage.promptTokenCount ?? 0;
    this.#usage.responseTokens += usage.responseTokenCount ?? 0;
    this.#usage.totalTokens += usage.totalTokenCount ?? 0;
    this.#record.update({ usage: { ...this.#usage } });
  }

  agentClosed(close: GeminiCloseRecord): void {
    this.#closes.push(close);
    this.#record.update({ geminiCloses: [...this.#closes] });
  }

  reconnected(): void {
    this.#reconnects++;
    this.#record.update({ reconnects: this.#reconnects });
  }

  /** Everything, for the record's final patch. */
  final(): Pick<CallRecord, 'geminiCloses' | 'reconnects' | 'usage' | 'latency'> {
    return { geminiCloses: [...this.#closes], reconnects: this.#reconnects, usage: { ...this.#usage }, latency: this.#latency() };
  }

  #latency(): CallRecord['latency'] {
    return { ...(this.#firstBotAudioMs !== undefined ? { firstBotAudioMs: this.#firstBotAudioMs } : {}), turns: [...this.#turns] };
  }
}
