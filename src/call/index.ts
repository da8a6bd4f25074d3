/**
 * The call package's public entry: what the server (src/app.ts) and the web routes use. Anything
 * else in src/call/ is internal.
 */
export { CallManager, type CallManagerOptions, type CallsStatus, type Admission, type IncomingCall } from './manager.js';
export type { CallOwnershipPort, TakenOver } from './ownership.js';
export type { Call } from './call.js';
export { TwilioCalls, type TwilioAdapterOptions } from './adapters/twilio.js';
export { BrowserPhone, BrowserLeg, LINE_QUALITIES, PHONE_CLOSE, MAX_AUDIO_FRAME_MS, MAX_TEXT_FRAME_BYTES, type LineQuality, type PhoneSocket, type BrowserPhoneOptions, type BrowserCall } from './adapters/browser.js';
export { geminiConnect, DEFAULT_MODEL, DEFAULT_FALLBACK_MODELS, type GeminiEndpoint } from './adapters/gemini-session.js';
export { cascadeConnect, cascadeConnectFor, DEFAULT_CASCADE_MODEL, DEFAULT_CASCADE_VOICE, type CascadeEndpoint } from './adapters/cascade-session.js';
export { DEFAULT_RETRY, type RetryPolicy } from './link/link.js';
export { loadPromptFile, builtInPromptPath, type Prompt } from './prompts.js';
export type { CallerTransport, LiveSession, LiveConnect, Clock } from './ports.js';
