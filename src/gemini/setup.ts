/**
 * LiveSessionConfig → the `setup` message, validated before connecting so that a config the
 * service would close with 1007/1008 fails at boot with a sentence naming the field.
 * Wire shape: docs/gemini-live.md §2.1 (camelCase, UPPER_SNAKE enums, int64 as strings, generation
 * fields under generationConfig, the rest directly under setup).
 */
import type { FunctionDeclaration, Modality, RealtimeInputConfig, Setup, ThinkingLevel } from './protocol.js';
import { CallbridgeError } from '../shared/errors.js';
import { DEFAULT_MODEL, resolveModel, type ModelCapabilities } from './models.js';
import { ENUMS, checkEnum, checkInt, checkKeys, checkTools, checkVoice, isObject, tokenCount, type Obj } from './setup-rules.js';

export interface LiveSessionConfig {
  /** Gemini API model id, with or without `models/`; default DEFAULT_MODEL. */
  model?: string;
  systemInstruction?: string;
  /** Prebuilt voice, e.g. "Puck" (see VOICES). */
  voiceName?: string;
  /** BCP-47, e.g. "en-US" (native-audio models mostly pick the language themselves). */
  languageCode?: string;
  tools?: FunctionDeclaration[];
  /** 0 to 2. */
  temperature?: number;
  /** 2.5 models: budget (0 off, -1 automatic); 3.1: level; 3.8: leave unset. */
  thinking?: { budget?: number; level?: ThinkingLevel; includeThoughts?: boolean };
  /** 2.5 native audio only. */
  affectiveDialog?: boolean;
  proactiveAudio?: boolean;
  /** Transcribe the caller; default true. */
  inputTranscription?: boolean;
  /** Transcribe the model's speech (the text side of an AUDIO session); default true. */
  outputTranscription?: boolean;
  /** Default enabled; pass the latest handle to resume. */
  sessionResumption?: { enabled?: boolean; handle?: string };
  /** Default on, sliding window with the service defaults; `false` turns it off (15-minute session cap). */
  contextWindowCompression?: false | { triggerTokens?: number | string; targetTokens?: number | string };
  /** Voice activity detection and barge-in; `automaticActivityDetection.disabled` enables activityStart/End. */
  realtimeInputConfig?: RealtimeInputConfig;
  /** Exactly one; default ["AUDIO"]. */
  responseModalities?: Modality[];
}

export interface BuiltSetup {
  setup: Setup;
  modelId: string;
  /** Undefined for an unknown-but-plausible model id (no capability assumptions). */
  capabilities: ModelCapabilities | undefined;
  /** Declared function name → whether a call blocks the model until answered (caller audio is held then). */
  blockingFunctions: ReadonlyMap<string, boolean>;
  /** False when realtimeInputConfig.automaticActivityDetection.disabled is true. */
  automaticActivityDetection: boolean;
}

const CONFIG_KEYS = [
  'model', 'systemInstruction', 'voiceName', 'languageCode', 'tools', 'temperature', 'thinking', 'affectiveDialog',
  'proactiveAudio', 'inputTranscription', 'outputTranscription', 'sessionResumption', 'contextWindowCompression',
  'realtimeInputConfig', 'responseModalities',
];
const LANGUAGE_CODE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

/** Builds the setup message; throws CB_GEMINI_SETUP_INVALID listing every problem at once. */
export function buildSetup(config: LiveSessionConfig = {}): BuiltSetup {
  const problems: string[] = [];
  const built = build(config as unknown as Obj, problems);
  if (problems.length > 0 || !built) {
    throw new CallbridgeError('CB_GEMINI_SETUP_INVALID', `invalid Gemini Live setup:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { detail: { problems } });
  }
  return built;
}

/** The problems buildSetup would report (empty when the config is valid). */
export function validateLiveConfig(config: LiveSessionConfig): string[] {
  const problems: string[] = [];
  build(config as unknown as Obj, problems);
  return problems;
}

function build(c: Obj, problems: string[]): BuiltSetup | undefined {
  if (!isObject(c)) {
    problems.push('config: must be an object.');
    return undefined;
  }
  checkKeys(c, CONFIG_KEYS, '', problems);

  const model = resolveModel(typeof c['model'] === 'string' ? c['model'] : c['model'] === undefined ? DEFAULT_MODEL : '');
  if (!model.ok) problems.push(c['model'] === undefined || typeof c['model'] === 'string' ? model.problem : 'model: must be a string.');
  const caps = model.ok ? model.capabilities : undefined;
  const modelId = model.ok ? model.id : String(c['model']);

  const modalities = c['responseModalities'] ?? ['AUDIO'];
  checkModalities(modalities, caps, modelId, problems);

  const generationConfig: NonNullable<Setup['generationConfig']> = { responseModalities: Array.isArray(modalities) ? (modalities as Modality[]) : ['AUDIO'] };

  const temperature = c['temperature'];
  if (temperature !== undefined) {
    if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0 || temperature > 2) problems.push(`temperature: must be a number from 0 to 2, got ${JSON.stringify(temperature)}.`);
    else generationConfig.temperature = temperature;
  }

  const speechConfig = speech(c, problems);
  if (speechConfig) generationConfig.speechConfig = speechConfig;

  const thinking = thinkingConfig(c['thinking'], caps, modelId, problems);
  if (thinking) generationConfig.thinkingConfig = thinking;

  const affective = c['affectiveDialog'];
  if (affective !== undefined && typeof affective !== 'boolean') problems.push('affectiveDialog: must be true or false.');
  if (affective === true && caps && !caps.affectiveDialog) problems.push(`affectiveDialog: not supported by ${modelId} (${caps.label} has no affective dialog; 2.5 native-audio models only).`);
  if (affective === true) generationConfig.enableAffectiveDialog = true;

  const setup: Setup = { model: model.ok ? model.name : '', generationConfig };

  const system = c['systemInstruction'];
  if (system !== undefined && typeof system !== 'string') problems.push('systemInstruction: must be a string.');
  else if (typeof system === 'string' && system.trim() !== '') setup.systemInstruction = { parts: [{ text: system }] };

  const blockingFunctions = checkTools(c['tools'], caps, modelId, problems);
  if (Array.isArray(c['tools']) && c['tools'].length > 0) setup.tools = [{ functionDeclarations: (c['tools'] as unknown[]).map((d) => declaration(d, caps)) }];

  const rtc = realtimeInputConfig(c['realtimeInputConfig'], problems);
  if (rtc) setup.realtimeInputConfig = rtc;

  sessionOptions(c, setup, caps, modelId, problems);
  // §2.2: on a family whose clientContent only seeds history, the setup must say history comes that way.
  if (caps?.historyConfig) setup.historyConfig = { initialHistoryInClientContent: true };

  if (!model.ok) return undefined;
  const automatic = rtc?.automaticActivityDetection?.disabled !== true;
  return { setup, modelId, capabilities: caps, blockingFunctions, automaticActivityDetection: automatic };
}

/** Exactly one response modality, and TEXT never on a native-audio model. */
function checkModalities(modalities: unknown, caps: ModelCapabilities | undefined, modelId: string, problems: string[]): void {
  if (!Array.isArray(modalities) || modalities.length !== 1) {
    problems.push(
      Array.isArray(modalities) && modalities.length > 1
        ? 'responseModalities: only one response modality per session (AUDIO and TEXT together close with 1007); use ["AUDIO"] — the text comes from output transcription.'
        : 'responseModalities: must list exactly one of AUDIO, TEXT.',
    );
  } else {
    checkEnum(modalities[0], ENUMS.modality, 'responseModalities[0]', problems);
    if (modalities[0] === 'TEXT' && caps?.nativeAudio) {
      problems.push(`responseModalities: TEXT is not supported by native-audio model ${modelId} (the service closes with 1007 "Cannot extract voices from a non-audio request."); use ["AUDIO"] and read the text from output transcription.`);
    }
  }
}

/** Voice and language, as the speech config (undefined when neither is set). */
function speech(c: Obj, problems: string[]): NonNullable<Setup['generationConfig']>['speechConfig'] {
  checkVoice(c['voiceName'], problems);
  const language = c['languageCode'];
  if (language !== undefined && (typeof language !== 'string' || !LANGUAGE_CODE.test(language))) problems.push(`languageCode: ${JSON.stringify(language)} is not a BCP-47 code such as "en-US".`);
  if (c['voiceName'] !== undefined || language !== undefined) {
    return {
      ...(typeof c['voiceName'] === 'string' ? { voiceConfig: { prebuiltVoiceConfig: { voiceName: c['voiceName'] } } } : {}),
      ...(typeof language === 'string' ? { languageCode: language } : {}),
    };
  }
  return undefined;
}

/** Resumption, context-window compression, transcription and proactive audio. */
function sessionOptions(c: Obj, setup: Setup, caps: ModelCapabilities | undefined, modelId: string, problems: string[]): void {
  const resumption = c['sessionResumption'] ?? {};
  if (!isObject(resumption)) problems.push('sessionResumption: must be an object such as { enabled: true, handle }.');
  else {
    checkKeys(resumption, ['enabled', 'handle'], 'sessionResumption', problems);
    const { enabled, handle } = resumption;
    if (enabled !== undefined && typeof enabled !== 'boolean') problems.push('sessionResumption.enabled: must be true or false.');
    if (handle !== undefined && (typeof handle !== 'string' || handle === '')) problems.push('sessionResumption.handle: must be a non-empty string (the latest newHandle).');
    if (enabled === false && handle !== undefined) problems.push('sessionResumption.handle: given while sessionResumption.enabled is false.');
    if (enabled !== false) setup.sessionResumption = typeof handle === 'string' && handle !== '' ? { handle } : {};
  }

  const cwc = c['contextWindowCompression'] ?? {};
  if (cwc !== false) {
    if (!isObject(cwc)) problems.push('contextWindowCompression: must be false or { triggerTokens?, targetTokens? }.');
    else {
      checkKeys(cwc, ['triggerTokens', 'targetTokens'], 'contextWindowCompression', problems);
      const trigger = tokenCount(cwc['triggerTokens'], 'contextWindowCompression.triggerTokens', problems);
      const target = tokenCount(cwc['targetTokens'], 'contextWindowCompression.targetTokens', problems);
      if (trigger && target && BigInt(target) >= BigInt(trigger)) problems.push('contextWindowCompression.targetTokens: must be below triggerTokens.');
      setup.contextWindowCompression = { ...(trigger ? { triggerTokens: trigger } : {}), slidingWindow: target ? { targetTokens: target } : {} };
    }
  }

  for (const key of ['inputTranscription', 'outputTranscription'] as const) {
    const on = c[key] ?? true;
    if (typeof on !== 'boolean') problems.push(`${key}: must be true or false.`);
    else if (on) setup[key === 'inputTranscription' ? 'inputAudioTranscription' : 'outputAudioTranscription'] = {};
  }

  const proactive = c['proactiveAudio'];
  if (proactive !== undefined && typeof proactive !== 'boolean') problems.push('proactiveAudio: must be true or false.');
  if (proactive === true && caps?.proactiveAudio === 'no') problems.push(`proactiveAudio: not supported by ${modelId}.`);
  if (proactive === false && caps?.proactiveAudio === 'always') problems.push(`proactiveAudio: ${modelId} always uses proactive audio and refuses proactiveAudio: false; leave it unset.`);
  if (proactive === true && caps?.proactiveAudio !== 'always') setup.proactivity = { proactiveAudio: true };
}

type ThinkingConfig = NonNullable<NonNullable<Setup['generationConfig']>['thinkingConfig']>;

function thinkingConfig(t: unknown, caps: ModelCapabilities | undefined, modelId: string, problems: string[]): ThinkingConfig | undefined {
  if (t === undefined) return undefined;
  if (!isObject(t)) return void problems.push('thinking: must be an object such as { budget: 0 }.');
  checkKeys(t, ['budget', 'level', 'includeThoughts'], 'thinking', problems);
  const { budget, level, includeThoughts } = t;
  checkInt(budget, 'thinking.budget', -1, 1_000_000, problems);
  checkEnum(level, ENUMS.thinkingLevel, 'thinking.level', problems);
  if (includeThoughts !== undefined && typeof includeThoughts !== 'boolean') problems.push('thinking.includeThoughts: must be true or false.');
  if (budget !== undefined && level !== undefined) problems.push('thinking: set budget or level, not both.');
  const shape = caps?.thinking;
  if (shape?.shape === 'none') problems.push(`thinking: ${modelId} takes no thinking configuration (the service refuses one); leave it unset.`);
  if (shape?.shape === 'budget' && level !== undefined) problems.push(`thinking.level: ${modelId} uses thinking.budget (thinkingBudget), not levels.`);
  if (shape?.shape === 'level' && budget !== undefined) problems.push(`thinking.budget: ${modelId} uses thinking.level (thinkingLevel), not a budget.`);
  if (shape?.shape === 'level' && typeof level === 'string' && !shape.levels.includes(level as ThinkingLevel)) problems.push(`thinking.level: ${modelId} takes ${shape.levels.join(', ')}.`);
  const out: ThinkingConfig = {};
  if (typeof budget === 'number') out.thinkingBudget = budget;
  if (typeof level === 'string') out.thinkingLevel = level as ThinkingLevel;
  if (typeof includeThoughts === 'boolean') out.includeThoughts = includeThoughts;
  return Object.keys(out).length > 0 ? out : undefined;
}

function realtimeInputConfig(r: unknown, problems: string[]): RealtimeInputConfig | undefined {
  if (r === undefined) return undefined;
  if (!isObject(r)) return void problems.push('realtimeInputConfig: must be an object.');
  checkKeys(r, ['automaticActivityDetection', 'activityHandling', 'turnCoverage'], 'realtimeInputConfig', problems);
  checkEnum(r['activityHandling'], ENUMS.activityHandling, 'realtimeInputConfig.activityHandling', problems);
  checkEnum(r['turnCoverage'], ENUMS.turnCoverage, 'realtimeInputConfig.turnCoverage', problems);
  const aad = r['automaticActivityDetection'];
  if (aad !== undefined) {
    const path = 'realtimeInputConfig.automaticActivityDetection';
    if (!isObject(aad)) problems.push(`${path}: must be an object.`);
    else {
      checkKeys(aad, ['disabled', 'startOfSpeechSensitivity', 'endOfSpeechSensitivity', 'prefixPaddingMs', 'silenceDurationMs'], path, problems);
      if (aad['disabled'] !== undefined && typeof aad['disabled'] !== 'boolean') problems.push(`${path}.disabled: must be true or false.`);
      checkEnum(aad['startOfSpeechSensitivity'], ENUMS.startOfSpeechSensitivity, `${path}.startOfSpeechSensitivity`, problems);
      checkEnum(aad['endOfSpeechSensitivity'], ENUMS.endOfSpeechSensitivity, `${path}.endOfSpeechSensitivity`, problems);
      checkInt(aad['prefixPaddingMs'], `${path}.prefixPaddingMs`, 0, 2 ** 31 - 1, problems);
      checkInt(aad['silenceDurationMs'], `${path}.silenceDurationMs`, 0, 2 ** 31 - 1, problems);
    }
  }
  // Copy only the known fields (unknown ones are already reported above).
  const out: RealtimeInputConfig = pick(r, ['activityHandling', 'turnCoverage']);
  if (isObject(aad)) out.automaticActivityDetection = pick(aad, ['disabled', 'startOfSpeechSensitivity', 'endOfSpeechSensitivity', 'prefixPaddingMs', 'silenceDurationMs']);
  return out;
}

function pick<T>(obj: Obj, keys: readonly string[]): T {
  const out: Obj = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out as T;
}

/**
 * The wire declaration: only the known fields, so stray properties (e.g. a handler) never go out,
 * and always an explicit `behavior` (the family's default when none is given; §2.4).
 */
function declaration(d: unknown, caps: ModelCapabilities | undefined): FunctionDeclaration {
  if (!isObject(d)) return {} as FunctionDeclaration;
  const out = pick<FunctionDeclaration>(d, ['name', 'description', 'parameters', 'behavior']);
  if (out.behavior === undefined || out.behavior === 'UNSPECIFIED') out.behavior = caps?.functions.default ?? 'BLOCKING';
  return out;
}
