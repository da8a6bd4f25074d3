/**
 * THE table of Gemini Live model families: what each accepts at setup, how its functions behave,
 * what may be sent mid-session, its limits. Every family-dependent decision of the client (the
 * setup builder, declaration and response shaping, the stage-change mechanism, flows:check)
 * reads these flags; no code tests model-name strings. Facts and their sources:
 * docs/gemini-live.md §2.1 (setup fields), §2.2 (clientContent mid-session), §2.5 (contextUpdate),
 * §2.4 (function behaviour and scheduling), §5 (limits), §6 (models). Immutable data only.
 *
 * The emulator (src/emulator) keeps its own catalogue on purpose: it is the independent check.
 */
import type { FunctionBehavior, FunctionResponseScheduling, ThinkingLevel } from './protocol.js';

export type FamilyId = 'gemini-2.5-native-audio' | 'gemini-3.1-flash-live' | 'gemini-3.8-live' | 'gemini-3.8-live-extended-thinking';
export type SyncBehavior = Exclude<FunctionBehavior, 'UNSPECIFIED'>;

export interface ModelFamily {
  id: FamilyId;
  /** For people: "Gemini 3.8 Live". */
  label: string;
  /** 'stable' | 'preview' | 'legacy-preview' (§6). */
  status: 'stable' | 'preview' | 'legacy-preview';
  /** The model ids of the family (first = the one to name in advice). */
  models: readonly string[];
  /** What flows:check suggests instead of a preview or legacy model; undefined for stable models. */
  useInstead: string | undefined;
  /** Response modalities (one per session, §6). */
  modalities: readonly ['AUDIO'];
  /** Native-audio models generate speech directly; TEXT output is refused. */
  nativeAudio: true;
  functions: {
    /** Function behaviours the family accepts in a declaration (§2.4). */
    behaviors: readonly SyncBehavior[];
    /** What a declaration without `behavior` means on this family. */
    default: SyncBehavior;
    /** NON_BLOCKING responses carry `scheduling` (§2.4). */
    scheduling: readonly FunctionResponseScheduling[];
    /** 3.8: a BLOCKING call is cancelled when new input arrives while it runs (§2.4). */
    blockingCancelledByInput: boolean;
    /** 3.8: an INTERRUPT response while the caller talks waits until they finish (§2.4). */
    interruptWaitsForCaller: boolean;
  };
  /** 'optional': proactivity.proactiveAudio may be set; 'always': on, `false` is refused; 'no': refused. */
  proactiveAudio: 'optional' | 'always' | 'no';
  affectiveDialog: boolean;
  /** thinkingConfig shape: thinkingBudget (2.5), thinkingLevel with the allowed levels (3.1, 3.8 ET), or none (3.8). */
  thinking: { shape: 'budget' } | { shape: 'level'; levels: readonly ThinkingLevel[] } | { shape: 'none' };
  midSession: {
    /** 'any': clientContent turns at any time; 'initial-history': only to seed history before the first model turn (§2.2). */
    clientContent: 'any' | 'initial-history';
    /** Whether a top-level `contextUpdate` (system instruction / tools) is accepted (§2.5). */
    contextUpdate: boolean;
  };
  /** Setup must carry historyConfig.initialHistoryInClientContent to seed history with clientContent (§2.1, §2.2). */
  historyConfig: boolean;
  /** §5. The connection ends after about this long; goAway comes first. */
  limits: { connectionMs: number; audioSessionMs: number; resumptionHandleMs: number };
  /** Input and output audio transcription are available (§2.1). */
  transcription: { input: boolean; output: boolean };
}

const MIN = 60_000;
/** §5: connection ~10 min, audio-only session 15 min without compression, handle valid 2 h (the same on every family as far as documented). */
const LIMITS = Object.freeze({ connectionMs: 10 * MIN, audioSessionMs: 15 * MIN, resumptionHandleMs: 120 * MIN });
const TRANSCRIPTION = Object.freeze({ input: true, output: true });
const ALL_SCHEDULING: readonly FunctionResponseScheduling[] = ['WHEN_IDLE', 'INTERRUPT', 'SILENT'];

const family = (f: ModelFamily): ModelFamily => Object.freeze(f);

export const FAMILIES: readonly ModelFamily[] = Object.freeze([
  family({
    id: 'gemini-3.8-live',
    label: 'Gemini 3.8 Live',
    status: 'stable',
    models: ['gemini-3.8-live'],
    useInstead: undefined,
    modalities: ['AUDIO'],
    nativeAudio: true,
    functions: { behaviors: ['BLOCKING', 'NON_BLOCKING'], default: 'NON_BLOCKING', scheduling: ALL_SCHEDULING, blockingCancelledByInput: true, interruptWaitsForCaller: true },
    proactiveAudio: 'always',
    affectiveDialog: false,
    thinking: { shape: 'none' },
    midSession: { clientContent: 'any', contextUpdate: true },
    historyConfig: false,
    limits: LIMITS,
    transcription: TRANSCRIPTION,
  }),
  family({
    id: 'gemini-3.8-live-extended-thinking',
    label: 'Gemini 3.8 Live Extended Thinking',
    status: 'stable',
    models: ['gemini-3.8-live-extended-thinking'],
    useInstead: undefined,
    modalities: ['AUDIO'],
    nativeAudio: true,
    // "Function calling: Supported (Async only)" on its model page (§6).
    functions: { behaviors: ['NON_BLOCKING'], default: 'NON_BLOCKING', scheduling: ALL_SCHEDULING, blockingCancelledByInput: true, interruptWaitsForCaller: true },
    proactiveAudio: 'always',
    affectiveDialog: false,
    thinking: { shape: 'level', levels: ['LOW', 'MEDIUM', 'HIGH'] },
    midSession: { clientContent: 'any', contextUpdate: true },
    historyConfig: false,
    limits: LIMITS,
    transcription: TRANSCRIPTION,
  }),
  family({
    id: 'gemini-3.1-flash-live',
    label: 'Gemini 3.1 Flash Live (preview)',
    status: 'legacy-preview',
    models: ['gemini-3.1-flash-live-preview'],
    useInstead: 'gemini-3.8-live',
    modalities: ['AUDIO'],
    nativeAudio: true,
    functions: { behaviors: ['BLOCKING'], default: 'BLOCKING', scheduling: [], blockingCancelledByInput: false, interruptWaitsForCaller: false },
    proactiveAudio: 'no',
    affectiveDialog: false,
    thinking: { shape: 'level', levels: ['MINIMAL', 'LOW', 'MEDIUM', 'HIGH'] },
    midSession: { clientContent: 'initial-history', contextUpdate: false },
    historyConfig: true,
    limits: LIMITS,
    transcription: TRANSCRIPTION,
  }),
  family({
    id: 'gemini-2.5-native-audio',
    label: 'Gemini 2.5 Flash native audio (preview)',
    status: 'preview',
    models: ['gemini-2.5-flash-native-audio-preview-12-2025', 'gemini-2.5-flash-native-audio-preview-09-2025', 'gemini-2.5-flash-native-audio-latest'],
    useInstead: 'gemini-3.8-live',
    modalities: ['AUDIO'],
    nativeAudio: true,
    functions: { behaviors: ['BLOCKING', 'NON_BLOCKING'], default: 'BLOCKING', scheduling: ALL_SCHEDULING, blockingCancelledByInput: false, interruptWaitsForCaller: false },
    proactiveAudio: 'optional',
    affectiveDialog: true,
    thinking: { shape: 'budget' },
    midSession: { clientContent: 'any', contextUpdate: false },
    historyConfig: false,
    limits: LIMITS,
    transcription: TRANSCRIPTION,
  }),
]);

const BY_MODEL: ReadonlyMap<string, ModelFamily> = new Map(FAMILIES.flatMap((f) => f.models.map((m) => [m, f] as const)));

/** The family of a model id (with or without `models/`); undefined for an id no family lists. */
export function familyOf(model: string): ModelFamily | undefined {
  const id = model.trim();
  return BY_MODEL.get(id.startsWith('models/') ? id.slice('models/'.length) : id);
}

/** Every model id some family lists. */
export function knownModels(): string[] {
  return FAMILIES.flatMap((f) => [...f.models]);
}

/**
 * The behaviour a function gets on `family`: the wanted one when the family accepts it, else the
 * only one it accepts (3.1 takes BLOCKING only, 3.8 Extended Thinking NON_BLOCKING only). No
 * family: the wanted behaviour unchanged.
 */
export function behaviorOn(family: ModelFamily | undefined, wanted: SyncBehavior): SyncBehavior {
  if (!family || family.functions.behaviors.includes(wanted)) return wanted;
  return family.functions.behaviors[0]!;
}

/** Which mid-session message carries new stage instructions on `family` (docs/gemini-live.md §2.2, §2.5). */
export function instructionChannel(family: Pick<ModelFamily, 'midSession'> | undefined): 'contextUpdate' | 'clientContent' | 'realtimeText' {
  if (!family) return 'clientContent';
  if (family.midSession.contextUpdate) return 'contextUpdate';
  return family.midSession.clientContent === 'any' ? 'clientContent' : 'realtimeText';
}
