/**
 * Calls, events and analyses for the dashboard tests, written straight into a SQLite store:
 *
 *   await seedCall(store, { n: 1, flow: 'dental', startedAt, outcome: 'completed', durationMs: 60_000 });
 *   await seedAnalysis(store, demoCallSid(1), { intent: 'Booking', followUp: true, followUpReason: 'Wants a call back' });
 */
import { SqliteAnalysisStore, type AnalysisStore, type CallAnalysis, type TranscriptStore } from '../../src/transcripts/index.js';
import type { SqliteTranscriptStore } from '../../src/transcripts/sqlite-store.js';
import type { CallEventBody, CallOutcome, CallRecord, FollowUp } from '../../src/transcripts/types.js';
import { demoCallSid, demoRecord } from './transcripts-fixtures.js';

export interface SeedCall {
  n: number;
  flow?: string | undefined;
  startedAt: number;
  outcome?: CallOutcome;
  durationMs?: number;
  from?: string;
  followUp?: FollowUp;
  /** Events of the call, in order (atMs 1000, 2000, …). */
  events?: CallEventBody[];
}

/** Writes a finished call (and its events); returns its sid. */
export async function seedCall(store: Pick<TranscriptStore, 'writeBatch'>, c: SeedCall): Promise<string> {
  const callSid = demoCallSid(c.n);
  const record: CallRecord = demoRecord({
    callSid,
    startedAt: c.startedAt,
    outcome: c.outcome ?? 'completed',
    ...(c.durationMs !== undefined ? { durationMs: c.durationMs, endedAt: c.startedAt + c.durationMs } : {}),
    ...(c.from !== undefined ? { from: c.from } : {}),
    ...(c.followUp !== undefined ? { followUp: c.followUp } : {}),
  });
  if ('flow' in c) {
    if (c.flow === undefined) delete record.flow;
    else record.flow = c.flow;
  }
  const events = (c.events ?? []).map((body, i) => {
    const { kind, ...rest } = body;
    return { callSid, seq: i + 1, atMs: (i + 1) * 1000, kind, bodyJson: JSON.stringify({ kind, ...rest }) };
  });
  await store.writeBatch({ records: [record], events });
  return callSid;
}

/** A failed function call event. */
export function failedFunction(name: string, status: 'error' | 'timeout' | 'rejected' = 'error'): CallEventBody {
  return { kind: 'function_call', id: `fc-${name}`, name, args: {}, status, error: `${name} failed. Tell the caller.`, latencyMs: 100 };
}

/** Stores an analysis that settled ok (or with the given status), in a SQLite store or any AnalysisStore. */
export async function seedAnalysis(store: SqliteTranscriptStore | AnalysisStore, callSid: string, a: Partial<CallAnalysis>): Promise<void> {
  const analysis: CallAnalysis = {
    status: 'ok',
    summary: 'The caller asked about something.',
    intent: 'other',
    resolved: true,
    followUp: false,
    followUpReason: null,
    sentiment: 'neutral',
    fields: {},
    model: 'gemini-test',
    promptVersion: 'test-1',
    analysedAtMs: 1,
    ...a,
  };
  const analyses = 'putAnalysis' in store ? store : new SqliteAnalysisStore(store.database);
  await analyses.putAnalysis(callSid, analysis, 1);
}
