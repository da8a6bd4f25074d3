/**
 * The field tree of the client messages the Live API accepts (BidiGenerateContentClientMessage,
 * Gemini API v1beta), used by validate.ts to reject unknown names and wrong value types the way the
 * server's proto3-JSON parser does. Field names are the camelCase JSON names; the parser also
 * accepts each field's snake_case proto name (docs/gemini-live.md §2.0). An immutable table.
 *
 * Sources: protocol.ts, docs/gemini-live.md §2, js-genai's Gemini-API converters. Fields that exist
 * in the proto but are documented as unsupported in Live are `unsupported` (1007 invalid argument),
 * not unknown.
 */

export type FieldNode =
  | { t: 'msg'; type: string; fields: Record<string, FieldNode> }
  | { t: 'list'; of: FieldNode }
  | { t: 'map'; of: FieldNode }
  /** google.protobuf.Struct / Value: any JSON, not inspected. */
  | { t: 'any' }
  | { t: 'string' }
  | { t: 'bool' }
  | { t: 'int32' }
  /** int64: a JSON string of digits or an integer number. */
  | { t: 'int64' }
  | { t: 'float' }
  /** base64 (standard or URL-safe alphabet). */
  | { t: 'bytes' }
  | { t: 'enum'; type: string; values: readonly string[] }
  | { t: 'unsupported' };

const PKG = 'google.ai.generativelanguage.v1beta';
const str: FieldNode = { t: 'string' };
const bool: FieldNode = { t: 'bool' };
const int32: FieldNode = { t: 'int32' };
const int64: FieldNode = { t: 'int64' };
const float: FieldNode = { t: 'float' };
const bytes: FieldNode = { t: 'bytes' };
const any: FieldNode = { t: 'any' };
const unsupported: FieldNode = { t: 'unsupported' };
const list = (of: FieldNode): FieldNode => ({ t: 'list', of });
const msg = (type: string, fields: Record<string, FieldNode>): FieldNode & { t: 'msg' } => ({
  t: 'msg',
  type: `type.googleapis.com/${PKG}.${type}`,
  fields,
});
const enumOf = (type: string, values: readonly string[]): FieldNode => ({
  t: 'enum',
  type: `type.googleapis.com/${PKG}.${type}`,
  values,
});
const empty = (type: string) => msg(type, {});

const blob = msg('Blob', { mimeType: str, data: bytes });

const functionCall = msg('FunctionCall', { id: str, name: str, args: any });
const functionResponse = msg('FunctionResponse', {
  id: str,
  name: str,
  response: any,
  parts: list(any),
  willContinue: bool,
  scheduling: enumOf('FunctionResponse.Scheduling', ['SCHEDULING_UNSPECIFIED', 'SILENT', 'WHEN_IDLE', 'INTERRUPT']),
});

const part = msg('Part', {
  text: str,
  inlineData: blob,
  fileData: msg('FileData', { mimeType: str, fileUri: str }),
  functionCall,
  functionResponse,
  executableCode: msg('ExecutableCode', { language: str, code: str }),
  codeExecutionResult: msg('CodeExecutionResult', { outcome: str, output: str }),
  thought: bool,
  thoughtSignature: bytes,
  videoMetadata: any,
});
const content = msg('Content', { role: str, parts: list(part) });

/** OpenAPI-subset Schema; recursive, so its self-references are filled in below. */
const schema = msg('Schema', {
  type: enumOf('Type', ['TYPE_UNSPECIFIED', 'STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL']),
  format: str,
  title: str,
  description: str,
  nullable: bool,
  enum: list(str),
  maxItems: int64,
  minItems: int64,
  required: list(str),
  minProperties: int64,
  maxProperties: int64,
  minLength: int64,
  maxLength: int64,
  pattern: str,
  example: any,
  default: any,
  propertyOrdering: list(str),
  minimum: float,
  maximum: float,
});
schema.fields.items = schema;
schema.fields.properties = { t: 'map', of: schema };
schema.fields.anyOf = list(schema);

const functionDeclaration = msg('FunctionDeclaration', {
  name: str,
  description: str,
  parameters: schema,
  parametersJsonSchema: any,
  response: schema,
  responseJsonSchema: any,
  behavior: enumOf('FunctionDeclaration.Behavior', ['UNSPECIFIED', 'BLOCKING', 'NON_BLOCKING']),
});

const tool = msg('Tool', {
  functionDeclarations: list(functionDeclaration),
  googleSearch: any,
  googleSearchRetrieval: any,
  codeExecution: any,
  urlContext: any,
});

const sensitivityStart = enumOf('StartSensitivity', ['START_SENSITIVITY_UNSPECIFIED', 'START_SENSITIVITY_HIGH', 'START_SENSITIVITY_LOW']);
const sensitivityEnd = enumOf('EndSensitivity', ['END_SENSITIVITY_UNSPECIFIED', 'END_SENSITIVITY_HIGH', 'END_SENSITIVITY_LOW']);

const transcriptionConfig = msg('AudioTranscriptionConfig', {
  languageCodes: list(str),
  customVocabulary: list(str),
  adaptationPhrases: list(str),
  languageAuto: any,
  languageHints: any,
  wordTimestamp: bool,
  diarization: bool,
  mode: str,
});

const generationConfig = msg('GenerationConfig', {
  candidateCount: int32,
  maxOutputTokens: int32,
  temperature: float,
  topP: float,
  topK: int32,
  seed: int32,
  presencePenalty: float,
  frequencyPenalty: float,
  responseModalities: list(enumOf('GenerationConfig.Modality', ['MODALITY_UNSPECIFIED', 'TEXT', 'IMAGE', 'AUDIO'])),
  mediaResolution: enumOf('GenerationConfig.MediaResolution', [
    'MEDIA_RESOLUTION_UNSPECIFIED',
    'MEDIA_RESOLUTION_LOW',
    'MEDIA_RESOLUTION_MEDIUM',
    'MEDIA_RESOLUTION_HIGH',
  ]),
  speechConfig: msg('SpeechConfig', {
    voiceConfig: msg('VoiceConfig', { prebuiltVoiceConfig: msg('PrebuiltVoiceConfig', { voiceName: str }) }),
    languageCode: str,
    multiSpeakerVoiceConfig: unsupported,
  }),
  thinkingConfig: msg('ThinkingConfig', {
    thinkingBudget: int32,
    includeThoughts: bool,
    thinkingLevel: enumOf('ThinkingConfig.ThinkingLevel', ['THINKING_LEVEL_UNSPECIFIED', 'MINIMAL', 'LOW', 'MEDIUM', 'HIGH']),
  }),
  enableAffectiveDialog: bool,
  // In GenerationConfig but documented as not supported by Live (docs/gemini-live.md §2.1).
  responseLogprobs: unsupported,
  responseMimeType: unsupported,
  logprobs: unsupported,
  responseSchema: unsupported,
  stopSequences: unsupported,
  routingConfig: unsupported,
  audioTimestamp: unsupported,
});

export const SETUP = msg('BidiGenerateContentSetup', {
  model: str,
  generationConfig,
  systemInstruction: content,
  tools: list(tool),
  realtimeInputConfig: msg('RealtimeInputConfig', {
    automaticActivityDetection: msg('RealtimeInputConfig.AutomaticActivityDetection', {
      disabled: bool,
      startOfSpeechSensitivity: sensitivityStart,
      endOfSpeechSensitivity: sensitivityEnd,
      prefixPaddingMs: int32,
      silenceDurationMs: int32,
    }),
    activityHandling: enumOf('RealtimeInputConfig.ActivityHandling', [
      'ACTIVITY_HANDLING_UNSPECIFIED',
      'START_OF_ACTIVITY_INTERRUPTS',
      'NO_INTERRUPTION',
    ]),
    turnCoverage: enumOf('RealtimeInputConfig.TurnCoverage', [
      'TURN_COVERAGE_UNSPECIFIED',
      'TURN_INCLUDES_ONLY_ACTIVITY',
      'TURN_INCLUDES_ALL_INPUT',
      'TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO',
    ]),
  }),
  sessionResumption: msg('SessionResumptionConfig', { handle: str }),
  contextWindowCompression: msg('ContextWindowCompressionConfig', {
    triggerTokens: int64,
    slidingWindow: msg('ContextWindowCompressionConfig.SlidingWindow', { targetTokens: int64 }),
  }),
  inputAudioTranscription: transcriptionConfig,
  outputAudioTranscription: transcriptionConfig,
  proactivity: msg('ProactivityConfig', { proactiveAudio: bool }),
  historyConfig: msg('HistoryConfig', { initialHistoryInClientContent: bool }),
  safetySettings: list(msg('SafetySetting', { category: str, threshold: str })),
});

export const CLIENT_CONTENT = msg('BidiGenerateContentClientContent', { turns: list(content), turnComplete: bool });

export const REALTIME_INPUT = msg('BidiGenerateContentRealtimeInput', {
  mediaChunks: list(blob),
  audio: blob,
  video: blob,
  text: str,
  activityStart: empty('BidiGenerateContentRealtimeInput.ActivityStart'),
  activityEnd: empty('BidiGenerateContentRealtimeInput.ActivityEnd'),
  audioStreamEnd: bool,
});

export const TOOL_RESPONSE = msg('BidiGenerateContentToolResponse', { functionResponses: list(functionResponse) });

/**
 * docs/gemini-live.md §2.5: a new system instruction and/or tool list mid-session. `tools` is a
 * wrapper message holding the list, so an empty list (clear all tools) differs from no update.
 * Whether a model accepts the message is a family rule (validate-family.ts).
 */
export const CONTEXT_UPDATE = msg('BidiGenerateContentContextUpdate', {
  systemInstruction: content,
  tools: msg('BidiGenerateContentContextUpdate.Tools', { tools: list(tool) }),
});

/** The top-level message: a oneof named `message_type`. */
export const CLIENT_MESSAGE = msg('BidiGenerateContentClientMessage', {
  setup: SETUP,
  clientContent: CLIENT_CONTENT,
  realtimeInput: REALTIME_INPUT,
  toolResponse: TOOL_RESPONSE,
  contextUpdate: CONTEXT_UPDATE,
});

/** snake_case proto name → camelCase JSON name ("turn_complete" → "turnComplete"). */
export function snakeToCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

const snakeNames = new Map<string, string>();

/**
 * camelCase JSON name → snake_case proto name, as the server spells paths in its errors.
 * Memoized (validate.ts asks for every field of every message; the names are the schema's, a
 * bounded set, and the cache stops growing at 512 names whoever the caller).
 */
export function camelToSnake(name: string): string {
  let snake = snakeNames.get(name);
  if (snake === undefined) {
    snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (snakeNames.size < 512) snakeNames.set(name, snake);
  }
  return snake;
}
