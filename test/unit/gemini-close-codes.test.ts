import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyClose, type RetryClass } from '../../src/gemini/close-codes.js';
import { CallbridgeError, ERRORS, type ErrorCode } from '../../src/shared/errors.js';

/** Cuts a reason to at most 123 UTF-8 bytes, as RFC 6455 close frames do. */
function truncate123(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

// [close code, reason as seen in the field (docs/gemini-live.md §7, docs/gemini-failure-modes.md),
//  expected error, retryable, retry class]
const CASES: [number, string, ErrorCode, boolean, RetryClass][] = [
  [1007, 'Request contains an invalid argument.', 'CB_GEMINI_INVALID_ARGUMENT', false, 'none'],
  [1007, 'Invalid JSON payload received. Unknown name "proactivity" at \'setup\': Cannot find field.', 'CB_GEMINI_UNKNOWN_FIELD', false, 'none'],
  [1007, 'Cannot extract voices from a non-audio request.', 'CB_GEMINI_NON_AUDIO_REQUEST', false, 'none'],
  [1007, 'realtime_input.media_chunks is deprecated. Use audio, video, or text instead.', 'CB_GEMINI_MEDIA_CHUNKS_DEPRECATED', false, 'none'],
  [
    1007,
    '* BidiGenerateContentRequest.setup.tools[0].function_declarations[3].parameters.properties[task_ids].items.enum: only allowed for STRING type',
    'CB_GEMINI_BAD_FUNCTION_SCHEMA',
    false,
    'none',
  ],
  [1007, 'API key expired. Please renew the API key.', 'CB_GEMINI_AUTH', false, 'none'],
  [1007, '[ORIGINAL ERROR] generic::failed_precondition: User location is not supported for the API use. [WHILE CALLING …]', 'CB_GEMINI_LOCATION_UNSUPPORTED', false, 'none'],
  [1007, 'Missing or malformed auth token. Please pass it in an `access_token` query parameter.', 'CB_GEMINI_AUTH', false, 'none'],
  [1008, 'models/gemini-2.0-flash-exp is not found for API version v1alpha, or is not supported for bidiGenerateContent. Call ListModels to see the list of available models', 'CB_GEMINI_MODEL_NOT_FOUND', false, 'none'],
  [1008, 'Publisher Model `projects/my-project/locations/us-central1/publishers/google/models/gemini-live-2.5-flash-preview-native-audio-09-2025` was not found', 'CB_GEMINI_MODEL_NOT_FOUND', false, 'none'],
  [1008, 'Requested entity was not found.', 'CB_GEMINI_ENTITY_NOT_FOUND', true, 'transient'],
  [1008, 'Operation is not implemented, or supported, or enabled.', 'CB_GEMINI_NOT_IMPLEMENTED', true, 'transient'],
  [1008, 'BidiGenerateContent session not found', 'CB_GEMINI_SESSION_NOT_FOUND', true, 'fresh-session'],
  [
    1008,
    'Connection aborted because the client failed to close the connection after receiving a GoAway signal once the session duration expired',
    'CB_GEMINI_GOAWAY_IGNORED',
    true,
    'transient',
  ],
  [1008, 'The operation was aborted.', 'CB_GEMINI_OPERATION_ABORTED', true, 'transient'],
  [1008, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", 'CB_GEMINI_AUTH', false, 'none'],
  [1008, 'Something new the service does not like.', 'CB_GEMINI_POLICY', false, 'none'],
  [1011, 'Internal error encountered.', 'CB_GEMINI_INTERNAL', true, 'transient'],
  [1011, 'Internal error occurred.', 'CB_GEMINI_INTERNAL', true, 'transient'],
  [1011, 'The service is currently unavailable.', 'CB_GEMINI_UNAVAILABLE', true, 'transient'],
  [1011, 'Deadline expired before operation could complete.', 'CB_GEMINI_DEADLINE', true, 'transient'],
  [
    1011,
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
    'CB_GEMINI_QUOTA',
    true,
    'quota',
  ],
  [
    1011,
    "Quota exceeded for quota metric 'Bidi generate content active sessions' and limit 'Bidi generate content active sessions per minute per project'",
    'CB_GEMINI_QUOTA',
    true,
    'quota',
  ],
  [1011, 'Some other backend failure.', 'CB_GEMINI_SERVER_ERROR', true, 'transient'],
  [1006, '', 'CB_GEMINI_ABNORMAL_CLOSE', true, 'transient'],
  [1001, 'going away', 'CB_GEMINI_CLOSED', true, 'transient'],
  [1000, '', 'CB_GEMINI_CLOSED', true, 'transient'],
  [4000, 'custom', 'CB_GEMINI_CLOSED', true, 'transient'],
];

describe('classifyClose', () => {
  for (const [code, reason, expected, retryable, retryClass] of CASES) {
    it(`${code} "${reason.slice(0, 50)}" → ${expected}`, () => {
      const c = classifyClose(code, reason);
      assert.equal(c.error.code, expected);
      assert.equal(c.retryable, retryable);
      assert.equal(c.retryClass, retryClass);
      assert.equal(c.code, code);
      assert.equal(c.reason, reason);
      assert.ok(c.error instanceof CallbridgeError);
      assert.equal(c.meaning, ERRORS[expected].explanation);
      assert.equal(c.fix, ERRORS[expected].fix);
      assert.match(c.error.message, new RegExp(String(code)));
    });
  }

  it('still matches reasons truncated to 123 bytes', () => {
    const long = CASES.filter(([, reason]) => Buffer.byteLength(reason) > 123);
    assert.ok(long.length >= 4, 'the table has long reasons to cut');
    for (const [code, reason, expected] of long) {
      const cut = truncate123(reason);
      assert.ok(Buffer.byteLength(cut) <= 123 && cut.length < reason.length);
      assert.equal(classifyClose(code, cut).error.code, expected, cut);
    }
  });

  it('matches a model-not-found reason cut before "is not found"', () => {
    const cut = truncate123(`models/${'gemini-2.5-flash-native-audio-preview-12-2025-'.repeat(3)} is not found for API version v1beta`);
    assert.equal(classifyClose(1008, cut).error.code, 'CB_GEMINI_MODEL_NOT_FOUND');
  });

  it('accepts the reason as a Buffer (as ws gives it) and trims it', () => {
    assert.equal(classifyClose(1011, Buffer.from(' Internal error encountered. ')).error.code, 'CB_GEMINI_INTERNAL');
  });

  it('does not apply a code-specific pattern to another code', () => {
    assert.equal(classifyClose(1011, 'The operation was aborted.').error.code, 'CB_GEMINI_SERVER_ERROR');
    assert.equal(classifyClose(1007, 'Internal error encountered.').error.code, 'CB_GEMINI_INVALID_ARGUMENT');
  });

  it('keeps code, reason and retry class in the error detail', () => {
    const c = classifyClose(1008, 'BidiGenerateContent session not found');
    assert.deepEqual(c.error.detail, { closeCode: 1008, closeReason: 'BidiGenerateContent session not found', retryClass: 'fresh-session' });
  });
});
