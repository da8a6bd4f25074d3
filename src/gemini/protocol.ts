/**
 * Gemini Live API (BidiGenerateContent) wire types, as JSON on the WebSocket.
 *
 * Source: docs/gemini-live.md (Google's API reference, js-genai/python-genai).
 * Client messages carry exactly one of setup | clientContent | realtimeInput | toolResponse |
 * contextUpdate (the last on the families that accept it).
 * Server messages carry one of the ServerMessage fields (usageMetadata may ride along with any).
 * Client JSON is camelCase; enums are the UPPER_SNAKE strings the API spells.
 *
 * Types only: both the client (src/gemini) and the emulator (src/emulator) import this file, but
 * each parses frames with its own code, so a parser bug cannot cancel itself out in tests.
 */

// ---------------------------------------------------------------------------------------------
// Shared pieces

export type Modality = 'AUDIO' | 'TEXT';

export interface Blob {
  mimeType: string;
  /** base64 */
  data: string;
}

export interface Part {
  text?: string;
  inlineData?: Blob;
  thought?: boolean;
  functionCall?: FunctionCall;
  functionResponse?: FunctionResponse;
  executableCode?: { language?: string; code?: string };
  codeExecutionResult?: { outcome?: string; output?: string };
}

export interface Content {
  role?: 'user' | 'model';
  parts: Part[];
}

export type SchemaType = 'STRING' | 'NUMBER' | 'INTEGER' | 'BOOLEAN' | 'ARRAY' | 'OBJECT';

/** OpenAPI-subset schema used by function declarations. */
export interface Schema {
  type: SchemaType;
  description?: string;
  enum?: string[];
  format?: string;
  nullable?: boolean;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  minItems?: string;
  maxItems?: string;
  minimum?: number;
  maximum?: number;
}

export type FunctionBehavior = 'UNSPECIFIED' | 'BLOCKING' | 'NON_BLOCKING';

export interface FunctionDeclaration {
  name: string;
  description?: string;
  parameters?: Schema;
  behavior?: FunctionBehavior;
}

export interface Tool {
  functionDeclarations?: FunctionDeclaration[];
  googleSearch?: Record<string, never>;
  codeExecution?: Record<string, never>;
}

export interface FunctionCall {
  id?: string;
  name: string;
  args?: Record<string, unknown>;
}

export type FunctionResponseScheduling = 'SCHEDULING_UNSPECIFIED' | 'SILENT' | 'WHEN_IDLE' | 'INTERRUPT';

export interface FunctionResponse {
  id: string;
  name: string;
  /** `{output: …}` for results, `{error: …}` for failures. */
  response: Record<string, unknown>;
  scheduling?: FunctionResponseScheduling;
  willContinue?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Client → server

export type StartSensitivity = 'START_SENSITIVITY_UNSPECIFIED' | 'START_SENSITIVITY_HIGH' | 'START_SENSITIVITY_LOW';
export type EndSensitivity = 'END_SENSITIVITY_UNSPECIFIED' | 'END_SENSITIVITY_HIGH' | 'END_SENSITIVITY_LOW';
export type ActivityHandling = 'ACTIVITY_HANDLING_UNSPECIFIED' | 'START_OF_ACTIVITY_INTERRUPTS' | 'NO_INTERRUPTION';
export type TurnCoverage =
  | 'TURN_COVERAGE_UNSPECIFIED'
  | 'TURN_INCLUDES_ONLY_ACTIVITY'
  | 'TURN_INCLUDES_ALL_INPUT'
  | 'TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO';
export type MediaResolution = 'MEDIA_RESOLUTION_UNSPECIFIED' | 'MEDIA_RESOLUTION_LOW' | 'MEDIA_RESOLUTION_MEDIUM' | 'MEDIA_RESOLUTION_HIGH';
export type ThinkingLevel = 'MINIMAL' | 'LOW' | 'MEDIUM' | 'HIGH';

export interface SpeechConfig {
  voiceConfig?: { prebuiltVoiceConfig?: { voiceName: string } };
  languageCode?: string;
}

export interface GenerationConfig {
  responseModalities?: Modality[];
  temperature?: number;
  topP?: number;
  topK?: number;
  maxOutputTokens?: number;
  seed?: number;
  candidateCount?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  mediaResolution?: MediaResolution;
  speechConfig?: SpeechConfig;
  thinkingConfig?: { thinkingBudget?: number; includeThoughts?: boolean; thinkingLevel?: ThinkingLevel };
  enableAffectiveDialog?: boolean;
}

export interface RealtimeInputConfig {
  automaticActivityDetection?: {
    disabled?: boolean;
    startOfSpeechSensitivity?: StartSensitivity;
    endOfSpeechSensitivity?: EndSensitivity;
    prefixPaddingMs?: number;
    silenceDurationMs?: number;
  };
  activityHandling?: ActivityHandling;
  turnCoverage?: TurnCoverage;
}

export interface SessionResumptionConfig {
  /** Handle from a previous sessionResumptionUpdate; omit to start fresh with resumption enabled. */
  handle?: string;
}

export interface ContextWindowCompressionConfig {
  /** int64 as a string (proto3 JSON). */
  triggerTokens?: string;
  slidingWindow?: { targetTokens?: string };
}

export interface AudioTranscriptionConfig {
  languageCodes?: string[];
}

export interface Setup {
  /** "models/{id}" */
  model: string;
  generationConfig?: GenerationConfig;
  systemInstruction?: Content;
  tools?: Tool[];
  realtimeInputConfig?: RealtimeInputConfig;
  sessionResumption?: SessionResumptionConfig;
  contextWindowCompression?: ContextWindowCompressionConfig;
  inputAudioTranscription?: AudioTranscriptionConfig;
  outputAudioTranscription?: AudioTranscriptionConfig;
  proactivity?: { proactiveAudio?: boolean };
  historyConfig?: { initialHistoryInClientContent?: boolean };
}

export interface ClientContent {
  turns?: Content[];
  turnComplete?: boolean;
}

/** Send exactly one field per message. */
export interface RealtimeInput {
  audio?: Blob;
  video?: Blob;
  text?: string;
  activityStart?: Record<string, never>;
  activityEnd?: Record<string, never>;
  audioStreamEnd?: boolean;
  /** DEPRECATED; newer models close with 1007. Never sent by callbridge; the emulator rejects it. */
  mediaChunks?: Blob[];
}

export interface ToolResponse {
  functionResponses: FunctionResponse[];
}

/**
 * Replaces the setup's system instruction and/or tools mid-session, processed in order with the
 * other inputs; `tools` is a wrapper so that "no update" and "clear the tools" differ
 * (docs/gemini-live.md §2.5). Accepted only by the families that say so (src/gemini/families.ts).
 */
export interface ContextUpdate {
  systemInstruction?: Content;
  tools?: { tools?: Tool[] };
}

export type ClientMessage =
  | { setup: Setup }
  | { clientContent: ClientContent }
  | { realtimeInput: RealtimeInput }
  | { toolResponse: ToolResponse }
  | { contextUpdate: ContextUpdate };

// ---------------------------------------------------------------------------------------------
// Server → client

export interface Transcription {
  text?: string;
  finished?: boolean;
}

export type TurnCompleteReason =
  | 'TURN_COMPLETE_REASON_UNSPECIFIED'
  | 'MALFORMED_FUNCTION_CALL'
  | 'RESPONSE_REJECTED'
  | 'NEED_MORE_INPUT'
  | (string & {});

export interface ServerContent {
  modelTurn?: Content;
  turnComplete?: boolean;
  generationComplete?: boolean;
  interrupted?: boolean;
  inputTranscription?: Transcription;
  outputTranscription?: Transcription;
  groundingMetadata?: unknown;
  urlContextMetadata?: unknown;
  turnCompleteReason?: TurnCompleteReason;
  waitingForInput?: boolean;
}

export interface ToolCall {
  functionCalls: FunctionCall[];
}

export interface ToolCallCancellation {
  ids: string[];
}

export interface GoAway {
  /** protobuf Duration string, e.g. "50s" or "0.5s" */
  timeLeft?: string;
}

export interface SessionResumptionUpdate {
  newHandle?: string;
  resumable?: boolean;
  lastConsumedClientMessageIndex?: string;
}

export interface ModalityTokenCount {
  modality?: string;
  tokenCount?: number;
}

export interface UsageMetadata {
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  responseTokenCount?: number;
  toolUsePromptTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount?: number;
  promptTokensDetails?: ModalityTokenCount[];
  cacheTokensDetails?: ModalityTokenCount[];
  responseTokensDetails?: ModalityTokenCount[];
  toolUsePromptTokensDetails?: ModalityTokenCount[];
}

/** One server frame. Several fields may be present at once (3.x models); process all of them. */
export interface ServerMessage {
  setupComplete?: { sessionId?: string };
  serverContent?: ServerContent;
  toolCall?: ToolCall;
  toolCallCancellation?: ToolCallCancellation;
  goAway?: GoAway;
  sessionResumptionUpdate?: SessionResumptionUpdate;
  usageMetadata?: UsageMetadata;
}

// ---------------------------------------------------------------------------------------------
// Endpoint

/** Path of the Gemini API Live endpoint (v1beta); the emulator serves the same path. */
export const LIVE_PATH = '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';
export const LIVE_URL = `wss://generativelanguage.googleapis.com${LIVE_PATH}`;

/** The input rate callbridge sends, declared in every audio blob's mime type. */
export const INPUT_AUDIO_MIME = 'audio/pcm;rate=16000';
export const INPUT_SAMPLE_RATE_HZ = 16000;
export const OUTPUT_SAMPLE_RATE_HZ = 24000;
