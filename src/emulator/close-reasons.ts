/**
 * Close codes and reason texts the real Live API uses (docs/gemini-live.md §5-§7). Texts are
 * verbatim where that doc quotes them; the few it does not pin down are marked APPROXIMATE. Every
 * reason goes through {@link truncateReason}: RFC 6455 caps a close reason at 123 bytes and the
 * real server truncates longer texts the same way.
 */

export const CLOSE_INVALID_ARGUMENT = 1007;
export const CLOSE_POLICY = 1008;
export const CLOSE_INTERNAL = 1011;

export interface CloseSpec {
  code: number;
  reason: string;
  /** Which emulator rule fired (kept in the session record, never sent). */
  why?: string;
}

export const REASONS = Object.freeze({
  invalidArgument: 'Request contains an invalid argument.',
  nonAudio: 'Cannot extract voices from a non-audio request.',
  mediaChunks: 'realtime_input.media_chunks is deprecated. Use audio, video, or text instead.',
  unregistered:
    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
  entityNotFound: 'Requested entity was not found.',
  notImplemented: 'Operation is not implemented, or supported, or enabled.',
  operationAborted: 'The operation was aborted.',
  sessionNotFound: 'BidiGenerateContent session not found',
  internal: 'Internal error encountered.',
  deadline: 'Deadline expired before operation could complete.',
  goAwayIgnored:
    'Connection aborted because the client failed to close the connection after receiving a GoAway signal once the session duration expired',
  quota:
    "Quota exceeded for quota metric 'Bidi generate content active sessions' and limit 'Bidi generate content active sessions per project' of service 'generativelanguage.googleapis.com' for consumer 'project_number:0'.",
  // APPROXIMATE: the reference names the symptom (manual activity signals with automatic VAD on) but
  // quotes no text; this is the wording the emulator uses.
  explicitActivity: 'Explicit activity control is not supported when automatic activity detection is enabled.',
});

// docs/gemini-live.md §5: the close when an audio-only session without context-window compression
// reaches its length limit is not quoted anywhere; APPROXIMATE: the deadline text 2.5 uses at the
// end of a connection.
export const SESSION_LIMIT_CLOSE: CloseSpec = Object.freeze({ code: CLOSE_INTERNAL, reason: REASONS.deadline, why: 'session length limit (no context-window compression)' });

/** 1008 for an unknown model, or a Vertex-only `gemini-live-*` name, on the Gemini API. */
export function modelNotFound(model: string, apiVersion: string): CloseSpec {
  return {
    code: CLOSE_POLICY,
    reason: truncateReason(
      `${model} is not found for API version ${apiVersion}, or is not supported for bidiGenerateContent. ` +
        'Call ListModels to see the list of available models and their supported methods.',
    ),
  };
}

/** Proto3-JSON parse error for a field name the server does not know (verbatim pattern, js-genai#696). */
export function unknownFieldReason(name: string, path: string): string {
  return path === ''
    ? `Invalid JSON payload received. Unknown name "${name}": Cannot find field.`
    : `Invalid JSON payload received. Unknown name "${name}" at '${path}': Cannot find field.`;
}

/**
 * Proto3-JSON parse error for a value of the wrong type. APPROXIMATE: the standard Google JSON
 * transcoding wording; not quoted for this endpoint in the reference.
 */
export function invalidValueReason(path: string, typeName: string, value: unknown): string {
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  return `Invalid JSON payload received. Invalid value at '${path}' (${typeName}), ${shown}`;
}

/** Cuts `reason` to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function truncateReason(reason: string, maxBytes = 123): string {
  const bytes = Buffer.from(reason, 'utf8');
  if (bytes.length <= maxBytes) return reason;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** A close with its reason truncated. */
export function close(code: number, reason: string): CloseSpec {
  return { code, reason: truncateReason(reason) };
}
