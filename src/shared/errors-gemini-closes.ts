/**
 * The Gemini Live close codes' part of the error catalogue (src/shared/errors.ts spreads it in
 * place, so docs/ERRORS.md keeps its order). Kept apart only for the file-size limit.
 */
import type { ErrorInfo } from './errors.js';

export const GEMINI_CLOSE_ERRORS = {
  // --- Gemini Live: close codes (see src/gemini/close-codes.ts for the mapping) ------------------
  CB_GEMINI_INVALID_ARGUMENT: {
    explanation: 'Gemini closed the session (1007): the request contains an invalid argument.',
    fix: 'A setup or message field is wrong: two response modalities, TEXT on a native-audio model, a bad tool schema or an unsupported field. Check the setup against the model.',
    retryable: false,
  },
  CB_GEMINI_UNKNOWN_FIELD: {
    explanation: 'Gemini closed the session (1007): a field name it does not know was sent.',
    fix: 'Remove or respell the field named in the reason; some features exist only on v1alpha.',
    retryable: false,
  },
  CB_GEMINI_NON_AUDIO_REQUEST: {
    explanation: 'Gemini closed the session (1007): a native-audio model was asked for TEXT output.',
    fix: 'Use responseModalities ["AUDIO"] and read text from outputAudioTranscription.',
    retryable: false,
  },
  CB_GEMINI_MEDIA_CHUNKS_DEPRECATED: {
    explanation: 'Gemini closed the session (1007): realtimeInput.mediaChunks is deprecated and this model rejects it.',
    fix: 'Send realtimeInput.audio with mimeType "audio/pcm;rate=16000".',
    retryable: false,
  },
  CB_GEMINI_BAD_FUNCTION_SCHEMA: {
    explanation: 'Gemini closed the session (1007): a function declaration schema is invalid.',
    fix: 'Fix the function parameters named in the reason (e.g. enum is only allowed on STRING).',
    retryable: false,
  },
  CB_GEMINI_AUTH: {
    explanation: 'Gemini refused the API key (missing, invalid or expired).',
    fix: 'Set a valid GEMINI_API_KEY.',
    retryable: false,
  },
  CB_GEMINI_LOCATION_UNSUPPORTED: {
    explanation: 'Gemini refused the request because the server’s location is not supported.',
    fix: 'Run callbridge in a region where the Gemini API is available.',
    retryable: false,
  },
  CB_GEMINI_MODEL_NOT_FOUND: {
    explanation: 'Gemini closed the session (1008): the model does not exist for this API or does not support Live.',
    fix: 'Use a Gemini API Live model id (gemini-live-* names are Vertex-only); see the model list in the README.',
    retryable: false,
  },
  CB_GEMINI_POLICY: {
    explanation: 'Gemini closed the session (1008, policy violation) for a reason callbridge does not recognise.',
    fix: 'Read the logged reason; it is usually a request the model or account does not allow.',
    retryable: false,
  },
  CB_GEMINI_ENTITY_NOT_FOUND: {
    explanation: 'Gemini closed the session (1008 "Requested entity was not found"), typically right after a tool response.',
    fix: 'Known service fault on some native-audio models; callbridge resumes the session and re-sends the tool result.',
    retryable: true,
  },
  CB_GEMINI_NOT_IMPLEMENTED: {
    explanation: 'Gemini closed the session (1008 "Operation is not implemented, or supported, or enabled"), intermittently seen with tool calls.',
    fix: 'Service-side and model-dependent; callbridge resumes. If persistent, fall back to another model.',
    retryable: true,
  },
  CB_GEMINI_OPERATION_ABORTED: {
    explanation: 'Gemini closed the session (1008 "The operation was aborted").',
    fix: 'Linked to sending audio while a blocking tool call is unanswered; callbridge holds audio back then and resumes.',
    retryable: true,
  },
  CB_GEMINI_SESSION_NOT_FOUND: {
    explanation: 'Gemini could not resume the session: the resumption handle is stale or unknown (1008).',
    fix: 'Start a fresh session without the handle and re-seed the conversation (callbridge does this).',
    retryable: true,
  },
  CB_GEMINI_GOAWAY_IGNORED: {
    explanation: 'Gemini closed the connection because it was not closed after a goAway (1008).',
    fix: 'Reconnect with the resumption handle before the goAway deadline (callbridge does this).',
    retryable: true,
  },
  CB_GEMINI_INTERNAL: {
    explanation: 'Gemini closed the session with an internal error (1011).',
    fix: 'Transient service fault; retry with the resumption handle, fall back to another model if it persists.',
    retryable: true,
  },
  CB_GEMINI_UNAVAILABLE: {
    explanation: 'Gemini reported the service as unavailable (1011).',
    fix: 'Transient outage; retry with backoff.',
    retryable: true,
  },
  CB_GEMINI_DEADLINE: {
    explanation: 'Gemini closed the connection: deadline expired (1011), usually the connection’s end of life after a goAway.',
    fix: 'Resume with the latest handle.',
    retryable: true,
  },
  CB_GEMINI_QUOTA: {
    explanation: 'Gemini refused the session: quota exceeded (1011), often the concurrent-session cap.',
    fix: 'Back off (long); close stale sessions; raise the project’s quota tier.',
    retryable: true,
  },
  CB_GEMINI_SERVER_ERROR: {
    explanation: 'Gemini closed the session with a server error (1011) callbridge does not recognise.',
    fix: 'Retry with backoff; report the logged reason if it persists.',
    retryable: true,
  },
  CB_GEMINI_ABNORMAL_CLOSE: {
    explanation: 'The Gemini connection dropped without a close frame (1006): network cut, proxy idle reap or crash.',
    fix: 'Transient; reconnect with the resumption handle.',
    retryable: true,
  },
  CB_GEMINI_STALLED: {
    explanation: 'Gemini started a reply but sent nothing in time; callbridge replaced the session rather than leave the caller in silence.',
    fix: 'Transient service fault (the 1011-before-content failure mode, docs/gemini-failure-modes.md: a 1011 close usually follows). If it happens on healthy turns, raise GEMINI_STALL_TIMEOUT_MS.',
    retryable: true,
  },
  CB_GEMINI_CLOSED: {
    explanation: 'Gemini closed the session with an unexpected close code.',
    fix: 'Read the logged code and reason; retrying once is reasonable.',
    retryable: true,
  },
} as const satisfies Record<string, ErrorInfo>;
