/**
 * Close code + reason → a typed CallbridgeError with meaning, fix and retry class.
 * Patterns: docs/gemini-live.md §7 and the field reports summarized in docs/gemini-failure-modes.md.
 *
 * RFC 6455 caps close reasons at 123 bytes, so long reasons arrive cut: every pattern is a prefix
 * or a phrase that sits early in the reason. Rules are tried in order; the first match wins, then
 * the per-code default applies.
 */
import { CallbridgeError, ERRORS, type ErrorCode } from '../shared/errors.js';

/**
 * How to retry: 'none' (fix the request first), 'transient' (backoff, resume with the latest
 * handle), 'quota' (long backoff), 'fresh-session' (the handle is stale: retry without it).
 */
export type RetryClass = 'none' | 'transient' | 'quota' | 'fresh-session';

export interface ClassifiedClose {
  error: CallbridgeError;
  code: number;
  reason: string;
  meaning: string;
  fix: string;
  retryable: boolean;
  retryClass: RetryClass;
}

interface Rule {
  /** Close code the rule applies to; undefined = any code (for unmistakable phrases). */
  code?: number;
  /** Reason starts with one of these. */
  prefix?: readonly string[];
  /** Reason contains one of these (phrases that sit early enough to survive truncation). */
  contains?: readonly string[];
  error: ErrorCode;
  retryClass?: RetryClass;
}

const RULES: readonly Rule[] = [
  // Unmistakable phrases, whatever the code.
  { prefix: ['API key expired', 'API key not valid', 'Method doesn\'t allow unregistered callers', 'Missing or malformed auth token'], error: 'CB_GEMINI_AUTH' },
  { contains: ['location is not supported'], error: 'CB_GEMINI_LOCATION_UNSUPPORTED' },
  { prefix: ['You exceeded your current quota', 'Quota exceeded for quota metric'], contains: ['RESOURCE_EXHAUSTED'], error: 'CB_GEMINI_QUOTA', retryClass: 'quota' },
  { prefix: ['BidiGenerateContent session not found'], error: 'CB_GEMINI_SESSION_NOT_FOUND', retryClass: 'fresh-session' },

  // 1007 invalid argument family.
  { code: 1007, prefix: ['Invalid JSON payload received. Unknown name'], error: 'CB_GEMINI_UNKNOWN_FIELD' },
  { code: 1007, prefix: ['Cannot extract voices from a non-audio request'], error: 'CB_GEMINI_NON_AUDIO_REQUEST' },
  { code: 1007, prefix: ['realtime_input.media_chunks is deprecated'], error: 'CB_GEMINI_MEDIA_CHUNKS_DEPRECATED' },
  { code: 1007, prefix: ['* BidiGenerateContentRequest.setup.tools'], contains: ['BidiGenerateContentRequest.setup.tools['], error: 'CB_GEMINI_BAD_FUNCTION_SCHEMA' },

  // 1008 policy family. A reason that starts with a model name is about the model.
  { code: 1008, prefix: ['Publisher Model', 'models/'], contains: ['is not found for API version', 'is not supported for bidiGenerateContent'], error: 'CB_GEMINI_MODEL_NOT_FOUND' },
  { code: 1008, prefix: ['Requested entity was not found'], error: 'CB_GEMINI_ENTITY_NOT_FOUND' },
  { code: 1008, prefix: ['Operation is not implemented, or supported, or enabled'], error: 'CB_GEMINI_NOT_IMPLEMENTED' },
  { code: 1008, prefix: ['Connection aborted because the client failed to close'], error: 'CB_GEMINI_GOAWAY_IGNORED' },
  { code: 1008, prefix: ['The operation was aborted'], error: 'CB_GEMINI_OPERATION_ABORTED' },

  // 1011 server family.
  { code: 1011, prefix: ['Internal error encountered', 'Internal error occurred'], error: 'CB_GEMINI_INTERNAL' },
  { code: 1011, prefix: ['The service is currently unavailable'], error: 'CB_GEMINI_UNAVAILABLE' },
  { code: 1011, prefix: ['Deadline expired'], error: 'CB_GEMINI_DEADLINE' },
];

const DEFAULTS: Readonly<Record<number, ErrorCode>> = {
  1006: 'CB_GEMINI_ABNORMAL_CLOSE',
  1007: 'CB_GEMINI_INVALID_ARGUMENT',
  1008: 'CB_GEMINI_POLICY',
  1011: 'CB_GEMINI_SERVER_ERROR',
};

function matches(rule: Rule, code: number, reason: string): boolean {
  if (rule.code !== undefined && rule.code !== code) return false;
  return (rule.prefix?.some((p) => reason.startsWith(p)) ?? false) || (rule.contains?.some((p) => reason.includes(p)) ?? false);
}

/** Classifies a close the server initiated (a close that follows our own close() is not an error). */
export function classifyClose(code: number, reasonInput: string | Buffer = ''): ClassifiedClose {
  const reason = (typeof reasonInput === 'string' ? reasonInput : reasonInput.toString('utf8')).trim();
  const rule = RULES.find((r) => matches(r, code, reason));
  const errorCode: ErrorCode = rule?.error ?? DEFAULTS[code] ?? 'CB_GEMINI_CLOSED';
  const info = ERRORS[errorCode];
  const retryClass: RetryClass = !info.retryable ? 'none' : (rule?.retryClass ?? 'transient');
  const message = `Gemini Live closed: ${code}${reason ? ` "${reason}"` : ''} — ${info.explanation}`;
  return {
    error: new CallbridgeError(errorCode, message, { detail: { closeCode: code, closeReason: reason, retryClass } }),
    code,
    reason,
    meaning: info.explanation,
    fix: info.fix,
    retryable: info.retryable,
    retryClass,
  };
}
