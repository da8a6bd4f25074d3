/** The Twilio side of callbridge: wire protocol, TwiML, signatures, media streams, call control. */
export type * from './protocol.js';
export { TWILIO_MEDIA_SAMPLE_RATE_HZ, MULAW_BYTES_PER_MS, SIGNATURE_HEADER, STREAM_TOKEN_PARAMETER, TWILIO_PATHS } from './protocol.js';
export { parseTwilioFrame, parseTwilioText, isBase64, type ParseResult } from './parse.js';
export {
  streamTwiml,
  sayHangupTwiml,
  hangupTwiml,
  dialTwiml,
  fallbackTwiml,
  isDialTarget,
  MAX_PARAMETER_CHARS,
  type StreamTwimlOptions,
  type SayOptions,
  type DialOptions,
  type FallbackTarget,
} from './twiml.js';
export {
  normalizePublicBaseUrl,
  publicRequestUrl,
  mediaStreamUrl,
  verifyWebhookSignature,
  verifyUpgradeSignature,
  type FormParams,
} from './signature.js';
export { StreamTokens, type StreamTokenOptions, type StreamParameters, type TokenCheck } from './stream-token.js';
export { isCallSid, isAccountSid, isStreamSid, isAnyCallSid, CALL_SID, ACCOUNT_SID, STREAM_SID, BROWSER_CALL_SID } from './sids.js';
export {
  TwilioMediaStream,
  type MediaEvent,
  type MediaSocket,
  type StreamEndReason,
  type TwilioMediaStreamEvents,
  type TwilioMediaStreamOptions,
} from './media-stream.js';
export { TwilioCallControl, RebasedRequestClient, type CallControlOptions, type CallState } from './rest.js';
export type { CallHandler, CallDecision, IncomingCall } from './handler.js';
