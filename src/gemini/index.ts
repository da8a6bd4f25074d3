/** Gemini Live client: setup validation, frame parser, close catalogue, session. */
export { GeminiLiveSession, type GeminiLiveSessionOptions, type SessionClose, type SessionEvents, type ToolResponseResult } from './session.js';
export { buildSetup, validateLiveConfig, type BuiltSetup, type LiveSessionConfig } from './setup.js';
export { DEFAULT_MODEL, DEFAULT_FALLBACK_MODELS, MODELS, resolveModel, type ModelCapabilities, type ResolvedModel } from './models.js';
export { VOICES } from './setup-rules.js';
export { classifyClose, type ClassifiedClose, type RetryClass } from './close-codes.js';
export { parseServerFrame, parseDurationMs, sampleRateOf, type FrameData, type GeminiEvent, type GeminiEventType, type ParseResult, type ToolCallRequest } from './parse.js';
export { capResponse, type PendingCall, type ToolResponseInput, type TruncatedResponse } from './tool-calls.js';
export * from './protocol.js';
