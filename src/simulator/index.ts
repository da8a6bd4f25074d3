/**
 * The caller simulator: behaves like Twilio towards callbridge (signed webhook, TwiML, signed
 * media stream, real-time playback with marks and clear), so calls run and are tested offline.
 */
export {
  placeCall,
  startCall,
  rewriteToServer,
  randomSid,
  SimulatedCall,
  SimulatedCallRegistry,
  type PlaceCallOptions,
  type CallResult,
  type CallOutcome,
  type CallEndedBy,
} from './call.js';
export { describeStep, prepareScript, CALLER_SAMPLE_RATE_HZ, type ScriptStep, type Synthesize, type PreparedStep } from './script.js';
export { formatTimeline, type TimelineEvent, type TimelineKind } from './timeline.js';
export { readTwiml, describeVerb, isTerminal, type TwimlVerb, type StreamNoun, type DialTarget } from './twiml-reader.js';
export { FakeTwilioApi, type FakeTwilioApiOptions, type RecordedRequest } from './fake-twilio-api.js';
export { twilioSignature } from './signing.js';
export { CallClock } from './clock.js';
export type { PlaybackOptions } from './playback.js';
export type { SessionCounts, StreamEnd, StreamEndedBy } from './stream-session.js';
