/**
 * Exports of a call: JSON (the record and its events, versioned) and plain text (a readable
 * transcript for email or a ticket), plus the latency summary the UI, API and CLI show.
 */
import type { CallAnalysis } from './after-call-store.js';
import { analysisLines } from './analysis-format.js';
import { ERRORS, isErrorCode } from '../shared/errors.js';
import type { StoredCallEvent } from './store.js';
import type { CallOutcome, CallRecord } from './types.js';
import { ZoneCalendar } from '../dashboard/days.js';

export interface LatencySummary {
  firstBotAudioMs?: number;
  turns: number;
  p50Ms?: number;
  p95Ms?: number;
  maxMs?: number;
}

/** Nearest-rank percentile of `values` (p in 0-100); undefined when empty. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function latencySummary(record: CallRecord): LatencySummary {
  const values = record.latency.turns.map((t) => t.latencyMs);
  const summary: LatencySummary = { turns: values.length };
  if (record.latency.firstBotAudioMs !== undefined) summary.firstBotAudioMs = record.latency.firstBotAudioMs;
  const p50 = percentile(values, 50);
  const p95 = percentile(values, 95);
  if (p50 !== undefined) summary.p50Ms = p50;
  if (p95 !== undefined) summary.p95Ms = p95;
  if (values.length > 0) summary.maxMs = Math.max(...values);
  return summary;
}

/** Plain words for each error code used in the call (from the error catalogue). */
export function explainCodes(record: CallRecord, events: readonly StoredCallEvent[]): Record<string, { explanation: string; fix: string }> {
  const codes = new Set<string>();
  if (record.outcomeDetail?.errorCode) codes.add(record.outcomeDetail.errorCode);
  for (const c of record.geminiCloses) codes.add(c.errorCode);
  for (const e of events) {
    if (e.kind === 'error') codes.add(e.code);
    if (e.kind === 'gemini_close') codes.add(e.errorCode);
    if (e.kind === 'function_call' && e.errorCode) codes.add(e.errorCode);
  }
  const out: Record<string, { explanation: string; fix: string }> = {};
  for (const code of [...codes].sort()) {
    if (isErrorCode(code)) out[code] = { explanation: ERRORS[code].explanation, fix: ERRORS[code].fix };
  }
  return out;
}

export const OUTCOME_LABELS: Readonly<Record<CallOutcome, string>> = {
  in_progress: 'In progress',
  completed: 'Completed',
  transferred: 'Transferred',
  ended_by_bot: 'Ended by bot',
  caller_hung_up: 'Caller hung up',
  failed: 'Failed',
};

export const EXPORT_FORMAT_VERSION = 1;

export interface CallExport {
  format: 'callbridge.call';
  version: number;
  exportedAt: string;
  call: CallRecord;
  latency: LatencySummary;
  events: StoredCallEvent[];
  /** The post-call analysis, when there is one (after-call-store.ts). */
  analysis?: CallAnalysis;
}

export function toJsonExport(record: CallRecord, events: StoredCallEvent[], now = Date.now(), analysis?: CallAnalysis): CallExport {
  return {
    format: 'callbridge.call',
    version: EXPORT_FORMAT_VERSION,
    exportedAt: new Date(now).toISOString(),
    call: record,
    latency: latencySummary(record),
    events,
    ...(analysis ? { analysis } : {}),
  };
}

/** 83400 → "1m 23s"; 4200 → "4.2 s"; 640 → "640 ms". */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalS = Math.round(ms / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  return h > 0 ? `${h}h ${m}m ${s}s` : `${m}m ${s}s`;
}

/** 83400 → "01:23.4" (a timeline offset). */
export function formatOffset(ms: number): string {
  const tenths = Math.max(0, Math.round(ms / 100));
  const m = Math.floor(tenths / 600);
  const s = Math.floor((tenths % 600) / 10);
  return `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${tenths % 10}`;
}

function json(value: unknown): string {
  return JSON.stringify(value) ?? 'undefined';
}

/** One line (or a few) per event, as in the text export. */
export function describeEvent(e: StoredCallEvent): string {
  switch (e.kind) {
    case 'caller_utterance':
      return `Caller: ${e.text}`;
    case 'bot_utterance':
      return e.interrupted
        ? `Bot (interrupted, heard ${formatDuration(e.heardMs)} of ${formatDuration(e.sentMs)}): ${e.text}`
        : `Bot: ${e.text}`;
    case 'dtmf':
      return `Caller pressed ${e.digit}`;
    case 'stage_change':
      return `Stage ${e.from ?? '(start)'} → ${e.to}${e.reason ? ` (${e.reason})` : ''}`;
    case 'function_call': {
      const head = `Function ${e.name}(${json(e.args)}) → ${e.status} in ${formatDuration(e.latencyMs)}`;
      if (e.status === 'ok') return `${head}: ${json(e.result)}`;
      return `${head}${e.errorCode ? ` [${e.errorCode}]` : ''}${e.error ? `: ${e.error}` : ''}`;
    }
    case 'transfer':
      return `Transferred to ${e.target}`;
    case 'gemini_close':
      return `Voice agent connection closed: ${e.code} ${e.reason} [${e.errorCode}] (${e.model})`;
    case 'reconnect':
      return `Reconnected to ${e.model} (${e.resumed ? 'session resumed' : 'new session'}, ${formatDuration(e.silenceMs)} of silence)`;
    case 'migrated':
      return `Moved from instance ${e.from} to ${e.to} (${formatDuration(e.gapMs)} without media, ${e.withHandle ? 'session resumed' : 'conversation re-seeded'})`;
    case 'error':
      return `Error ${e.code}: ${e.message}`;
    case 'note':
      return `Note: ${e.text}`;
  }
}

/**
 * A readable plain-text transcript with a header and the catalogue's words for every error.
 * `timeZone`: also show the start in the business's zone (src/dashboard/time-zones.ts).
 */
export function toTextExport(record: CallRecord, events: readonly StoredCallEvent[], options: { timeZone?: string; analysis?: CallAnalysis } = {}): string {
  const lat = latencySummary(record);
  const lines: string[] = [];
  const field = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(12)}${value}`);
  lines.push(`Call ${record.callSid}`);
  const iso = new Date(record.startedAt).toISOString();
  field('Started', options.timeZone ? `${new ZoneCalendar(options.timeZone).format(record.startedAt)} ${options.timeZone} (${iso})` : iso);
  field('From', record.from);
  field('To', record.to);
  if (record.flow) field('Flow', record.flow);
  field('Duration', formatDuration(record.durationMs));
  let outcome = OUTCOME_LABELS[record.outcome] ?? record.outcome;
  if (record.outcomeDetail?.transferTarget) outcome += ` to ${record.outcomeDetail.transferTarget}`;
  if (record.outcomeDetail?.errorCode) outcome += ` (${record.outcomeDetail.errorCode})`;
  if (record.outcomeDetail?.reason) outcome += ` — ${record.outcomeDetail.reason}`;
  field('Outcome', outcome);
  if (record.models.length > 0) field('Models', record.models.join(', '));
  field(
    'Latency',
    `first bot audio ${formatDuration(lat.firstBotAudioMs)}, turn p50 ${formatDuration(lat.p50Ms)}, p95 ${formatDuration(lat.p95Ms)} over ${lat.turns} turns`,
  );
  if (record.reconnects > 0) field('Reconnects', String(record.reconnects));
  if (record.recordingPath) field('Recording', record.recordingPath);
  if (options.analysis) lines.push(...analysisLines(options.analysis));
  lines.push('');
  for (const e of events) {
    lines.push(`[${formatOffset(e.atMs)}] ${describeEvent(e)}`);
  }
  const codes = explainCodes(record, events);
  const entries = Object.entries(codes);
  if (entries.length > 0) {
    lines.push('', 'Errors explained:');
    for (const [code, info] of entries) lines.push(`  ${code}: ${info.explanation}`, `    Fix: ${info.fix}`);
  }
  return `${lines.join('\n')}\n`;
}
