/**
 * The body of a notification (docs/after-call.md, "Notifications"): Standard Webhooks' suggested
 * envelope `{type, timestamp, data}`, with the call's facts, the post-call analysis and a link to
 * the call page — never the transcript, so a body stays well under MAX_BODY_BYTES (long texts are
 * shortened until it fits).
 */
import type { CallAnalysis } from '../transcripts/after-call-store.js';
import type { CallRecord } from '../transcripts/types.js';
import { NOTIFY_EVENT_NAMES } from '../flows/notify-schema.js';

export const NOTIFY_EVENTS = NOTIFY_EVENT_NAMES;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** The largest body sent (receivers and proxies often cap around here). */
export const MAX_BODY_BYTES = 20 * 1024;

export interface NotifyData {
  callId: string;
  flow: string | null;
  flowVersion: string | null;
  /** The caller's number (the browser test phone: who was signed in). */
  from: string;
  to: string;
  channel: 'phone' | 'browser';
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  outcome: CallRecord['outcome'];
  /** Where a transferred call went, the error code of a failed one, the bot's reason for ending. */
  outcomeDetail: CallRecord['outcomeDetail'] | null;
  /** What callbridge itself flagged (amber: something may not have happened; red: the call failed or was not handed over). */
  flag: CallRecord['followUp'] | null;
  analysis: {
    status: CallAnalysis['status'];
    model: string | null;
    promptVersion: string | null;
    error: string | null;
  };
  summary: string | null;
  intent: string | null;
  resolved: boolean | null;
  followUp: boolean;
  followUpReason: string | null;
  sentiment: CallAnalysis['sentiment'] | null;
  fields: CallAnalysis['fields'];
  /** The call's page in the review UI (sign-in required). */
  url: string;
}

export interface NotifyPayload {
  type: NotifyEvent;
  /** When the event happened (ISO 8601). */
  timestamp: string;
  data: NotifyData;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

function analysisPart(a: CallAnalysis | undefined): Pick<NotifyData, 'analysis' | 'summary' | 'intent' | 'resolved' | 'followUp' | 'followUpReason' | 'sentiment' | 'fields'> {
  const ok = a?.status === 'ok';
  return {
    analysis: { status: a?.status ?? 'failed', model: a?.model || null, promptVersion: a?.promptVersion || null, error: a?.error ?? (a ? null : 'no analysis stored') },
    summary: ok ? a.summary : null,
    intent: ok ? a.intent : null,
    resolved: ok ? a.resolved : null,
    followUp: a?.followUp === true,
    followUpReason: a?.followUp === true ? a.followUpReason : null,
    sentiment: ok ? a.sentiment : null,
    fields: a?.fields ?? {},
  };
}

/** The payload of `type` for this call. `publicBaseUrl` without a trailing slash. */
export function buildPayload(type: NotifyEvent, record: CallRecord, analysis: CallAnalysis | undefined, publicBaseUrl: string, nowMs: number): NotifyPayload {
  const data: NotifyData = {
    callId: record.callSid,
    flow: record.flow ?? null,
    flowVersion: record.flowVersion ?? null,
    from: record.from,
    to: record.to,
    channel: record.channel ?? 'phone',
    startedAt: new Date(record.startedAt).toISOString(),
    endedAt: iso(record.endedAt),
    durationMs: record.durationMs ?? null,
    outcome: record.outcome,
    outcomeDetail: record.outcomeDetail ?? null,
    flag: record.followUp ?? null,
    ...analysisPart(analysis),
    url: `${publicBaseUrl}/calls/${encodeURIComponent(record.callSid)}`,
  };
  return fit({ type, timestamp: new Date(nowMs).toISOString(), data });
}

/** Strings longer than `max` characters shortened with an ellipsis (deeply). */
function shorten(value: unknown, max: number): unknown {
  if (typeof value === 'string') return value.length > max ? `${value.slice(0, max - 1)}…` : value;
  if (Array.isArray(value)) return value.map((v) => shorten(v, max));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shorten(v, max)]));
  return value;
}

/** Facts kept whole however long the texts are (ids, numbers, times, the link). */
const KEEP = new Set(['callId', 'flow', 'flowVersion', 'from', 'to', 'channel', 'startedAt', 'endedAt', 'url']);

/** The payload, its long texts (summary, reasons, fields …) shortened step by step until the body fits MAX_BODY_BYTES. */
function fit(payload: NotifyPayload): NotifyPayload {
  const cut = (max: number, dropFields = false): NotifyPayload => {
    const data = Object.fromEntries(Object.entries(payload.data).map(([k, v]) => [k, KEEP.has(k) ? v : shorten(v, max)])) as unknown as NotifyData;
    return { ...payload, data: dropFields ? { ...data, fields: {} } : data };
  };
  for (const max of [2000, 500, 120, 40]) {
    const candidate = max === 2000 && Buffer.byteLength(JSON.stringify(payload)) <= MAX_BODY_BYTES ? payload : cut(max);
    if (Buffer.byteLength(JSON.stringify(candidate)) <= MAX_BODY_BYTES) return candidate;
  }
  // Only an absurd number of declared fields gets here: send the call without them.
  return cut(40, true);
}

/** The exact bytes sent (stored once, re-sent identical on every retry). */
export function bodyOf(payload: NotifyPayload): string {
  return JSON.stringify(payload);
}
