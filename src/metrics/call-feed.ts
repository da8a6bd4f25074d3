/**
 * Feeds the call metrics from the transcript writer's live changes (src/transcripts/writer.ts
 * `subscribe`): every record patch and stored event of every call, the same feed the live call
 * list uses. Records are patched per turn, per close and at the end, events per utterance or
 * function call: nothing here runs per audio frame.
 *
 *   - a record with `endedAt` (closed)   → callbridge_calls_total{flow,outcome,channel}, unless
 *                                           its `instance` changed since it opened here: another
 *                                           instance took the call's media and counts it there
 *   - latency.firstBotAudioMs appears    → callbridge_first_audio_seconds{flow}
 *   - latency.turns grows                → callbridge_turn_latency_seconds{flow}, one per new turn
 *   - event gemini_close                 → callbridge_gemini_closes_total{code,error_code,model}
 *   - event reconnect                    → callbridge_reconnects_total{model,resumed}
 *   - event function_call                → callbridge_function_duration_seconds{function,status},
 *                                           and callbridge_function_errors_total when not ok
 */
import type { CallEvent, CallRecord } from '../transcripts/types.js';
import type { LiveChange } from '../transcripts/writer.js';
import type { CallbridgeMetrics } from './metrics.js';

/** What is already counted of a call still open. */
interface Seen {
  firstAudio: boolean;
  turns: number;
  /** The record's instance when first seen here (several instances: docs/scale-out.md). */
  instance: string | undefined;
}

/** The label for a call without a flow (refused before one was chosen). */
const NO_FLOW = 'none';

export class CallFeed {
  readonly #m: CallbridgeMetrics;
  readonly #open = new Map<string, Seen>();

  constructor(metrics: CallbridgeMetrics) {
    this.#m = metrics;
  }

  /** Calls seen open (tests; bounded by the calls in progress). */
  get tracked(): number {
    return this.#open.size;
  }

  readonly onChange = (change: LiveChange): void => {
    if (change.type === 'call') this.#record(change.record);
    else this.#event(change.event);
  };

  #record(record: Readonly<CallRecord>): void {
    let seen = this.#open.get(record.callSid);
    if (!seen) this.#open.set(record.callSid, (seen = { firstAudio: false, turns: 0, instance: record.instance }));
    const flow = record.flow ?? NO_FLOW;
    const first = record.latency.firstBotAudioMs;
    if (!seen.firstAudio && first !== undefined) {
      seen.firstAudio = true;
      this.#m.firstAudio.observe({ flow }, first / 1000);
    }
    const turns = record.latency.turns;
    for (let i = seen.turns; i < turns.length; i++) this.#m.turnLatency.observe({ flow }, turns[i]!.latencyMs / 1000);
    seen.turns = Math.max(seen.turns, turns.length);
    if (record.endedAt !== undefined) {
      this.#open.delete(record.callSid);
      if (record.instance !== seen.instance) return; // taken over elsewhere: that instance counts it
      this.#m.callsTotal.inc({ flow, outcome: record.outcome, channel: record.channel ?? 'phone' });
    }
  }

  #event(event: Readonly<CallEvent>): void {
    switch (event.kind) {
      case 'gemini_close':
        return this.#m.geminiCloses.inc({ code: String(event.code), error_code: event.errorCode, model: event.model });
      case 'reconnect':
        return this.#m.reconnects.inc({ model: event.model, resumed: String(event.resumed) });
      case 'function_call':
        this.#m.functionDuration.observe({ function: event.name, status: event.status }, event.latencyMs / 1000);
        if (event.status !== 'ok') this.#m.functionErrors.inc({ function: event.name, error_code: event.errorCode ?? event.status });
        return;
      default:
        return;
    }
  }
}
