/**
 * The transcript store interface: where call records and their events live.
 *
 * Designed so more than one backend can implement it: today SQLite (`sqlite-store.ts`, one
 * instance), later PostgreSQL for multi-instance deployments. Hence every method is async, the
 * query model is backend-neutral (no SQL, no FTS syntax: `q` is plain words), and writes arrive
 * as whole batches that a backend applies atomically (one transaction) and idempotently (a batch
 * retried after a failure must not duplicate events).
 */
import type { CallChannel, CallEvent, CallEventKind, CallOutcome, CallRecord } from './types.js';
import type { CallAnalysis } from './after-call-store.js';

/** An event as stored: numbered per call from 1, in the order the bridge reported them. */
export type StoredCallEvent = CallEvent & { seq: number };

/** One event to append, already serialised by the writer (off the caller's hot path). */
export interface EventRow {
  callSid: string;
  seq: number;
  atMs: number;
  kind: CallEventKind;
  /** JSON of the event body (without atMs/seq). */
  bodyJson: string;
  /** Searchable text (utterances and notes), or undefined. */
  text?: string;
}

/** What the writer hands a store in one go: latest record states (upserts) and new events. */
export interface WriteBatch {
  records: CallRecord[];
  events: EventRow[];
}

export interface CallListQuery {
  /** Plain words, matched against what was said (every word must appear, prefix match). */
  q?: string;
  /** Calls started at or after this epoch ms. */
  from?: number;
  /** Calls started before this epoch ms. */
  to?: number;
  flow?: string;
  outcome?: CallOutcome[];
  /** Only calls of this channel (calls recorded before channels existed are phone calls). */
  channel?: CallChannel;
  /**
   * Only calls flagged for follow-up: by callbridge's rules at any level (`any`) or this one, or
   * `true`: by the rules or by the post-call analysis (`analysis.followUp`).
   */
  followUp?: FollowUpFilter;
  /** Only calls whose analysis has these field values (name → value as text: 'true', '4', 'booking', 'null'). */
  fields?: Record<string, string>;
  limit: number;
  offset?: number;
  /** Opaque keyset cursor from a previous page's `nextCursor` (takes precedence over offset). */
  cursor?: string;
}

export type FollowUpFilter = 'any' | 'amber' | 'red' | 'true';
export const FOLLOW_UP_FILTERS: readonly FollowUpFilter[] = ['any', 'amber', 'red', 'true'];

export interface CallSummary {
  record: CallRecord;
  /** The caller's first words, to recognise a call in a list. */
  preview?: string;
  /** When `q` was given: the best matching utterance, with matches between \u0002 and \u0003. */
  match?: { kind: CallEventKind; seq: number; snippet: string };
  /** The post-call analysis, when there is one (after-call-store.ts). */
  analysis?: CallAnalysis;
}

export interface CallListPage {
  calls: CallSummary[];
  /** Calls matching the filters (all pages). */
  total: number;
  /** Present when more calls follow this page. */
  nextCursor?: string;
}

export interface DeletedCall {
  callSid: string;
  recordingPath?: string;
}

/** Which calls a retention pass applies to: one flow, or every call not in the listed flows. */
export type RetentionScope = { flow: string } | { exceptFlows: string[] };

export interface TranscriptStore {
  /**
   * Applies a batch atomically; events already stored (same callSid+seq) are left as they are. A
   * record whose outcome is final also queues its analysis job (`analysis:<CallSid>`, see
   * after-call-store.ts) in the same transaction, unless that job exists.
   */
  writeBatch(batch: WriteBatch): Promise<void>;
  listCalls(query: CallListQuery): Promise<CallListPage>;
  getCall(callSid: string): Promise<CallRecord | undefined>;
  /** Every event of the call in call-time order: by atMs, then seq (empty when unknown). */
  getEvents(callSid: string): Promise<StoredCallEvent[]>;
  /** Flow names that have calls, sorted. */
  listFlows(): Promise<string[]>;
  /**
   * Deletes up to `limit` calls (with their events) in `scope` that started before `beforeMs`,
   * returning them so their recordings can be removed. Call again until fewer than `limit` return.
   */
  deleteCallsStartedBefore(beforeMs: number, scope: RetentionScope, limit: number): Promise<DeletedCall[]>;
  close(): Promise<void>;
}

/** Marks around matched words in `CallSummary.match.snippet` (control characters never typed). */
export const MATCH_START = '\u0002';
export const MATCH_END = '\u0003';

/** Splits a user's search text into words for a prefix match; drops punctuation and operators. */
export function searchTerms(q: string): string[] {
  return (q.normalize('NFKC').match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, 12);
}

/** Keyset cursor (startedAt, callSid) ↔ opaque string. */
export function encodeCursor(startedAt: number, callSid: string): string {
  return Buffer.from(JSON.stringify([startedAt, callSid])).toString('base64url');
}

export function decodeCursor(cursor: string): { startedAt: number; callSid: string } | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') {
      return { startedAt: value[0], callSid: value[1] };
    }
  } catch {
    // fall through
  }
  return undefined;
}
