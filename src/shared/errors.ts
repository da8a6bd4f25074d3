/**
 * The error catalogue: every error callbridge reports has a stable code here, a plain-words
 * explanation (shown in logs and in the call review UI), the likely fix, and whether retrying can
 * help. docs/ERRORS.md is generated from this file (`npm run docs:errors`) and a test keeps the two
 * in step.
 *
 * Add a code by adding an entry in its section; never rename or reuse a code.
 */

import { GEMINI_CLOSE_ERRORS } from './errors-gemini-closes.js';

export interface ErrorInfo {
  /** What happened, in words an operator understands. */
  explanation: string;
  /** What usually fixes it. */
  fix: string;
  /** Whether trying again (with backoff) can succeed. */
  retryable: boolean;
}

function catalogue<const T extends Record<string, ErrorInfo>>(entries: T): Readonly<T> {
  return Object.freeze(entries);
}

export const ERRORS = catalogue({
  // --- configuration --------------------------------------------------------------------------
  CB_CONFIG_INVALID: {
    explanation: 'The server configuration (environment variables) is invalid.',
    fix: 'Correct the variables named in the message; see .env.example.',
    retryable: false,
  },
  CB_FLOW_INVALID: {
    explanation: 'A flow file is invalid.',
    fix: 'Correct the file, line and field named in the message; `npm run flows:check` checks without starting.',
    retryable: false,
  },

  // --- Gemini Live: before connecting -----------------------------------------------------------
  CB_GEMINI_SETUP_INVALID: {
    explanation: 'The Gemini Live setup would be rejected by the service, so it was not sent.',
    fix: 'Correct the setup field named in the message (model, modality, voice, enum spelling).',
    retryable: false,
  },

  // --- Gemini Live: connection and protocol -----------------------------------------------------
  CB_GEMINI_HANDSHAKE_FAILED: {
    explanation: 'The Gemini Live WebSocket could not be opened (HTTP error or network failure before the upgrade).',
    fix: 'Check GEMINI_LIVE_URL, network egress and the API key; a 4xx status is a request problem, 5xx/timeouts are transient.',
    retryable: true,
  },
  CB_GEMINI_SETUP_TIMEOUT: {
    explanation: 'Gemini Live did not answer the setup message in time.',
    fix: 'Usually transient; retry. If persistent, check the network path and the service status.',
    retryable: true,
  },
  CB_GEMINI_MALFORMED_MESSAGE: {
    explanation: 'Gemini Live sent a frame that is not a valid JSON server message; it was ignored.',
    fix: 'Nothing to do if rare; if frequent, report it with the logged frame prefix.',
    retryable: true,
  },
  CB_GEMINI_TOOL_RESPONSE_INVALID: {
    explanation: 'A tool response was refused before sending: unknown or already-answered call id, or a response that is not a JSON object.',
    fix: 'Answer each toolCall id exactly once with {output: …} or {error: …}.',
    retryable: false,
  },
  CB_GEMINI_SEND_REFUSED: {
    explanation: 'A message to Gemini Live was refused before sending: the session is not open, or the setup does not allow it (activityStart/End need automatic VAD disabled; audioStreamEnd needs it enabled).',
    fix: 'A callbridge bug if persistent: check the session state and realtimeInputConfig before sending.',
    retryable: false,
  },

  // --- Gemini Live: close codes (src/shared/errors-gemini-closes.ts) -------------------------
  ...GEMINI_CLOSE_ERRORS,

  // --- Twilio -----------------------------------------------------------------------------------
  CB_TWILIO_SIGNATURE_INVALID: {
    explanation: 'A request claiming to be from Twilio had a missing or wrong X-Twilio-Signature.',
    fix: 'If it is really Twilio: PUBLIC_BASE_URL must be exactly the URL configured in Twilio, and TWILIO_AUTH_TOKEN the account’s token.',
    retryable: false,
  },
  CB_TWILIO_STREAM_TOKEN_INVALID: {
    explanation: 'A media stream presented a missing or wrong per-call token in its start message.',
    fix: 'Only streams opened by callbridge’s own TwiML are accepted; a mismatch means a forged or replayed stream.',
    retryable: false,
  },
  CB_TWILIO_NO_START: {
    explanation: 'A media stream connected but sent no start message in time.',
    fix: 'Usually a client that is not Twilio; nothing to do if rare.',
    retryable: false,
  },
  CB_TWILIO_STREAM_REFUSED: {
    explanation: 'A media stream with a valid token was refused: its call already has a stream or has ended, or callbridge is shutting down.',
    fix: 'A second stream for one call means a duplicated <Stream> or a replayed connection; during a shutdown, Twilio should retry elsewhere (FALLBACK_NUMBER).',
    retryable: false,
  },
  CB_TWILIO_MALFORMED_MESSAGE: {
    explanation: 'Twilio sent a media-stream message callbridge could not parse; it was ignored.',
    fix: 'Nothing to do if rare; frequent ones mean a proxy is mangling the stream.',
    retryable: true,
  },
  CB_TWILIO_UNEXPECTED_MESSAGE: {
    explanation: 'A media-stream message arrived out of order (media before start, a second start, a wrong streamSid); it was ignored.',
    fix: 'Nothing to do if rare.',
    retryable: true,
  },
  CB_TWILIO_SID_INVALID: {
    explanation: 'A webhook or media stream carried a CallSid, AccountSid or StreamSid that is not a prefix and 32 hex digits.',
    fix: 'Twilio never sends these; the request was forged or corrupted and was refused (400, or the stream closed).',
    retryable: false,
  },
  CB_TWILIO_CALL_ENDED: {
    explanation: 'A voice webhook arrived for a CallSid whose call record is already final (a replayed webhook).',
    fix: 'It was answered with a hang-up; the stored record and recording were left untouched.',
    retryable: false,
  },
  CB_RECORDING_EXISTS: {
    explanation: 'A call recording file already existed for this CallSid, so it was not opened again.',
    fix: 'The call went on without recording; the existing file is untouched. A replayed or duplicated call is the usual cause.',
    retryable: false,
  },
  CB_TWILIO_STREAM_ERROR: {
    explanation: 'Twilio reported a stream error in its status callback.',
    fix: 'Read the logged StreamError; handshake errors (31920…) mean Twilio could not reach the media URL.',
    retryable: false,
  },
  CB_TWILIO_REST_FAILED: {
    explanation: 'A call-control request to Twilio’s REST API failed.',
    fix: 'Check TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN and that the call is still in progress.',
    retryable: true,
  },

  // --- the call ---------------------------------------------------------------------------------
  CB_CALL_GEMINI_UNAVAILABLE: {
    explanation: 'The voice agent could not be reached for this call after all retries and fallback models; the caller heard the apology.',
    fix: 'See the Gemini close codes recorded for the call; check the API key, quota and model list.',
    retryable: true,
  },
  CB_CALL_NO_STREAM: {
    explanation: 'Twilio requested the voice webhook but no media stream followed in time; the pre-opened Gemini session was closed.',
    fix: 'Check that Twilio can reach PUBLIC_BASE_URL over wss (port 443) and the stream status callback for errors.',
    retryable: false,
  },
  CB_CALL_MAX_DURATION: {
    explanation: 'The call reached the flow’s maximum duration and was ended.',
    fix: 'Raise maxCallDurationS in the flow if calls legitimately run longer.',
    retryable: false,
  },
  CB_CALL_SHUTDOWN: {
    explanation: 'The server was shutting down; the call was ended or redirected.',
    fix: 'None; expected during deploys.',
    retryable: false,
  },
  CB_CALL_AT_CAPACITY: {
    explanation: 'A new call arrived while MAX_CALLS calls were running or MAX_PENDING_CALLS were waiting for their media; it was answered busy (or dialled to FALLBACK_NUMBER) and no agent session was opened.',
    fix: 'Add instances behind the load balancer (/readyz says at_capacity while full), or raise the limits if the host has headroom (see the README Performance section).',
    retryable: true,
  },
  CB_PHONE_BAD_FRAME: {
    explanation: 'The browser test phone sent a WebSocket frame that is not one of its messages (wrong type, malformed, too large, or audio faster than real time); that socket was closed (code 4400), nothing else.',
    fix: 'A page from another version of callbridge, or a hand-written client: see docs/browser-phone.md for the messages.',
    retryable: false,
  },
  CB_PHONE_REFUSED: {
    explanation: 'A browser test phone connection was refused before it opened: not signed in (401), from another origin (403), a second call from the same session (409), or bad parameters (400/404).',
    fix: 'Sign in at /calls/login, open /phone on this server’s own address, and hang up the other call first.',
    retryable: true,
  },

  // --- business functions -----------------------------------------------------------------------
  CB_TOOL_UNKNOWN: {
    explanation: 'The model called a function that does not exist.',
    fix: 'Nothing at run time (the model was told); check the flow’s function list.',
    retryable: false,
  },
  CB_TOOL_NOT_ALLOWED: {
    explanation: 'The model called a function not allowed at the current stage; it was told what it may do now.',
    fix: 'If the call was right, allow the function at that stage in the flow.',
    retryable: false,
  },
  CB_TOOL_INVALID_ARGS: {
    explanation: 'The model called a function with arguments that do not match its schema; it was told what is wrong.',
    fix: 'Usually self-corrects; if persistent, improve the function description.',
    retryable: false,
  },
  CB_TOOL_TIMEOUT: {
    explanation: 'A function did not finish within its timeout; the model was told it failed.',
    fix: 'Speed up the backend or raise the function’s timeoutMs.',
    retryable: true,
  },
  CB_TOOL_FAILED: {
    explanation: 'A function failed (threw or its endpoint returned an error); the model was told it failed.',
    fix: 'See the logged error of the function.',
    retryable: true,
  },
  CB_TOOL_CANCELLED: {
    explanation: 'A function call was cancelled by Gemini (the caller interrupted).',
    fix: 'None; expected.',
    retryable: false,
  },

  // --- cascade pipeline: text model and speech (docs/cascade.md) ----------------------------------
  CB_CASCADE_MODEL_UNAVAILABLE: {
    explanation: 'The cascade’s text model could not answer for now (429 quota, 5xx, timeout or network).',
    fix: 'Usually passes; for a lasting 429 check the quota of the flow’s `model:`.',
    retryable: true,
  },
  CB_CASCADE_MODEL_REJECTED: {
    explanation: 'Gemini refused the cascade’s text-model request (400 bad request, 403 key, 404 unknown model); retrying cannot help.',
    fix: 'Check GEMINI_API_KEY, the flow’s `model:` and its function declarations named in the message.',
    retryable: false,
  },
  CB_CASCADE_MODEL_BAD_STREAM: {
    explanation: 'The text model’s answer stream was broken (a malformed event, an error inside the stream, cut off, or blocked).',
    fix: 'Usually transient; if it repeats, the message names the event or the block reason.',
    retryable: true,
  },
  CB_CASCADE_TTS_UNAVAILABLE: {
    explanation: 'Text-to-speech could not render a sentence for now (429, 5xx, timeout or network).',
    fix: 'Usually passes; check the TTS quota and TTS_BASE_URL.',
    retryable: true,
  },
  CB_CASCADE_TTS_REJECTED: {
    explanation: 'Text-to-speech refused a sentence (400 bad voice or text, 403 key or API not enabled) or answered something that is not audio.',
    fix: 'Check the flow’s `tts:` voice, the API key and that the Text-to-Speech API is enabled.',
    retryable: false,
  },

  // --- transcripts ------------------------------------------------------------------------------
  CB_STORE_WRITE_FAILED: {
    explanation: 'Writing call records to the store failed; the batch is kept and retried.',
    fix: 'Check disk space and permissions of DATA_DIR.',
    retryable: true,
  },
  CB_SCALE_DB_FAILED: {
    explanation: 'The state several instances share in the database (instance registry, used stream tokens, which instance runs a call) could not be read or written; this instance carries on alone until it works again (docs/scale-out.md).',
    fix: 'Check that DATABASE_URL (or the shared DATA_DIR) is reachable from every instance.',
    retryable: true,
  },
  CB_MIGRATION_FAILED: {
    explanation: 'With MIGRATE_ON_DRAIN=true a live call could not be moved to another instance on shutdown (no ready instance, the database or the Twilio call update failed); it stays here and drains as before, or ends if its agent was already handed over (docs/scale-out.md, "Live migration").',
    fix: 'Check that another instance is ready (GET /readyz), STREAM_TOKEN_SECRET is the same on every instance, and the Twilio REST credentials work.',
    retryable: true,
  },

  // --- post-call analysis (docs/after-call.md) --------------------------------------------------
  CB_ANALYSIS_UNAVAILABLE: {
    explanation: 'The post-call analysis request failed for now (429 quota, 5xx, timeout or network); it is retried with backoff from the job queue.',
    fix: 'None if it passes; for a lasting 429 check the quota of ANALYSIS_MODEL. After the last retry the analysis is stored as failed and `npm run calls -- analyse <id>` runs it again.',
    retryable: true,
  },
  CB_ANALYSIS_REJECTED: {
    explanation: 'Gemini refused the post-call analysis request (400 bad request or schema, 403 key or billing, 404 unknown ANALYSIS_MODEL); it is not retried.',
    fix: 'Check GEMINI_API_KEY, ANALYSIS_MODEL and the flow’s analysis fields named in the message, then `npm run calls -- analyse <id>`.',
    retryable: false,
  },
  CB_ANALYSIS_INVALID_ANSWER: {
    explanation: 'The analysis answer was not the JSON the schema asks for (twice), or was cut short or blocked; stored as failed.',
    fix: 'Usually transient: `npm run calls -- analyse <id>`. If it repeats, simplify the flow’s analysis fields.',
    retryable: true,
  },

  // --- notifications (docs/after-call.md) -------------------------------------------------------
  CB_NOTIFY_ATTEMPT_FAILED: {
    explanation: 'A notification attempt failed (no 2xx reply, a redirect, a timeout or a connection error); it is tried again on the retry schedule with the same webhook-id.',
    fix: 'Check the receiver named in the log; the call page lists every attempt with its status and reply.',
    retryable: true,
  },
  CB_NOTIFY_REFUSED: {
    explanation: 'A notification was not sent: its webhook resolves to a loopback, private or link-local address, or is http:// in production.',
    fix: 'Use a public https:// webhook, or set NOTIFY_ALLOW_PRIVATE=true when the receiver is on your own network; then press Resend.',
    retryable: false,
  },
  CB_NOTIFY_FAILED: {
    explanation: 'A notification was given up: the receiver answered 410 Gone, every retry failed (about three days), or it could not be signed (NOTIFY_SECRET unset).',
    fix: 'Fix the receiver or NOTIFY_SECRET, then press Resend on the call page (same webhook-id, same body).',
    retryable: false,
  },
});

export type ErrorCode = keyof typeof ERRORS;

/** An error with a catalogue code. `detail` is extra context for logs (never secrets). */
export class CallbridgeError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly detail: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; detail?: Record<string, unknown> }) {
    super(message ?? ERRORS[code].explanation, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CallbridgeError';
    this.code = code;
    this.retryable = ERRORS[code].retryable;
    this.detail = options?.detail;
  }

  get explanation(): string {
    return ERRORS[this.code].explanation;
  }

  get fix(): string {
    return ERRORS[this.code].fix;
  }
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERRORS, value);
}
