/**
 * Which model ids the emulator serves, and each Live model family's rules as Google's model pages
 * describe them (docs/gemini-live.md §2.1, §2.4, §5, §6). Ids are without the `models/` prefix.
 * Anything not listed (retired half-cascade models, Vertex-only `gemini-live-*` names, typos) is
 * answered with 1008 "models/X is not found…", like the real service.
 *
 * This table is the emulator's own reading of the documentation, written independently of the
 * client's model table (src/gemini): a wrong assumption on one side must show as a failing test,
 * not cancel itself out. validate-family.ts enforces the setup rules, background-calls.ts the
 * function-calling ones, lifetimes.ts the limits.
 */

export type FamilyId = '2.5' | '3.1' | '3.8' | '3.8-thinking';
export type FunctionBehavior = 'BLOCKING' | 'NON_BLOCKING';
export type ThinkingLevel = 'MINIMAL' | 'LOW' | 'MEDIUM' | 'HIGH';

export interface FamilyRules {
  readonly id: FamilyId;
  /** `behavior` values a declaration may carry (UNSPECIFIED always means the default). §2.4 */
  readonly behaviors: readonly FunctionBehavior[];
  /** What UNSPECIFIED / absent `behavior` means. §2.4 */
  readonly defaultBehavior: FunctionBehavior;
  /** FunctionResponse.scheduling is honoured for NON_BLOCKING calls (ignored otherwise). §2.4 */
  readonly scheduling: boolean;
  /**
   * New caller input cancels open NON_BLOCKING calls (toolCallCancellation). 2.5: yes — the API
   * ties cancellation to the caller interrupting the model's turn, and nothing says an async call
   * outlives it (UNCONFIRMED); 3.8: no — only BLOCKING calls are cancelled by new input. §2.4
   */
  readonly nonBlockingCancelledByInput: boolean;
  /**
   * `INTERRUPT` while the caller is speaking: 3.8 waits for the caller to finish before speaking
   * the result; 2.5 cuts in at once. §2.4
   */
  readonly interruptWaitsForCaller: boolean;
  /** Which thinkingConfig shape the family takes: a token budget, a level, or none at all. §2.1 */
  readonly thinking: 'budget' | 'level' | 'none';
  /** Levels accepted when `thinking` is 'level'. */
  readonly thinkingLevels: readonly ThinkingLevel[];
  /**
   * proactivity.proactiveAudio: 'optional' (2.5), 'unsupported' (3.1: enabling it is refused),
   * 'always-on' (3.8: `false` is refused, `true` is a no-op). §6
   */
  readonly proactiveAudio: 'optional' | 'unsupported' | 'always-on';
  /** enableAffectiveDialog: 'optional' (2.5), 'unsupported' (3.1: `true` refused), 'removed' (3.8: any value refused). §6 */
  readonly affectiveDialog: 'optional' | 'unsupported' | 'removed';
  /** The top-level `contextUpdate` message (new system instruction / tools mid-session). §2.5 */
  readonly contextUpdate: boolean;
  /**
   * clientContent: 'any' time (2.5, 3.8), or 'initial-history' (3.1, the strict reading of its page
   * that third-party clients hit): only with historyConfig.initialHistoryInClientContent and only
   * before the model's first turn; later text goes as realtimeInput.text. §2.2
   */
  readonly clientContent: 'any' | 'initial-history';
  /** TEXT output on this native-audio family: 2.5 closes 1007 "Cannot extract voices…", 3.x 1011. §6 */
  readonly textModalityClose: 'non-audio-1007' | 'internal-1011';
  /** The close when the client ignores goAway: 2.5 1011 "Deadline expired…", 3.x 1008 "Connection aborted…". §5 */
  readonly goAwayIgnoredClose: 'deadline-1011' | 'goaway-1008';
  /** 3.x may put audio and its transcription in one serverContent. §3 */
  readonly combinedServerContent: boolean;
  /** Connection lifetime; goAway comes `goAwayNoticeMs` before its end. §5 */
  readonly connectionMs: number;
  readonly goAwayNoticeMs: number;
  /** Audio-only session length without contextWindowCompression (unlimited with it). §5 */
  readonly sessionMsWithoutCompression: number;
}

const MINUTE = 60_000;
const LIMITS = { connectionMs: 10 * MINUTE, goAwayNoticeMs: MINUTE, sessionMsWithoutCompression: 15 * MINUTE } as const;

/** 3.8 Live; 3.8 Live Extended Thinking differs only where it says so below. */
const LIVE_38: FamilyRules = {
  id: '3.8',
  behaviors: ['BLOCKING', 'NON_BLOCKING'],
  defaultBehavior: 'NON_BLOCKING',
  scheduling: true,
  nonBlockingCancelledByInput: false,
  interruptWaitsForCaller: true,
  thinking: 'none',
  thinkingLevels: [],
  proactiveAudio: 'always-on',
  affectiveDialog: 'removed',
  contextUpdate: true,
  clientContent: 'any',
  textModalityClose: 'internal-1011',
  goAwayIgnoredClose: 'goaway-1008',
  combinedServerContent: true,
  ...LIMITS,
};

export const FAMILIES: Readonly<Record<FamilyId, FamilyRules>> = Object.freeze({
  '2.5': {
    id: '2.5',
    behaviors: ['BLOCKING', 'NON_BLOCKING'],
    defaultBehavior: 'BLOCKING',
    scheduling: true,
    nonBlockingCancelledByInput: true,
    interruptWaitsForCaller: false,
    thinking: 'budget',
    thinkingLevels: [],
    proactiveAudio: 'optional',
    affectiveDialog: 'optional',
    contextUpdate: false,
    clientContent: 'any',
    textModalityClose: 'non-audio-1007',
    goAwayIgnoredClose: 'deadline-1011',
    combinedServerContent: false,
    ...LIMITS,
  },
  '3.1': {
    id: '3.1',
    behaviors: ['BLOCKING'],
    defaultBehavior: 'BLOCKING',
    scheduling: false,
    nonBlockingCancelledByInput: false,
    interruptWaitsForCaller: false,
    thinking: 'level',
    thinkingLevels: ['MINIMAL', 'LOW', 'MEDIUM', 'HIGH'],
    proactiveAudio: 'unsupported',
    affectiveDialog: 'unsupported',
    contextUpdate: false,
    clientContent: 'initial-history',
    textModalityClose: 'internal-1011',
    goAwayIgnoredClose: 'goaway-1008',
    combinedServerContent: true,
    ...LIMITS,
  },
  '3.8': LIVE_38,
  '3.8-thinking': {
    ...LIVE_38,
    id: '3.8-thinking',
    behaviors: ['NON_BLOCKING'],
    defaultBehavior: 'NON_BLOCKING',
    thinking: 'level',
    thinkingLevels: ['LOW', 'MEDIUM', 'HIGH'],
  },
} satisfies Record<FamilyId, FamilyRules>);

export interface ModelSpec {
  /** Native-audio models refuse TEXT output (how: FamilyRules.textModalityClose). */
  nativeAudio: boolean;
  /** The family whose rules apply (FAMILIES). */
  family: FamilyId;
  /**
   * An echo "model": every chunk of caller audio is sent straight back as model audio (16 kHz →
   * 24 kHz), with no voice detection, scenario or turns. The load benchmark times round trips of
   * a chirp through the bridge with it (one clock in the caller simulator, pipecat's
   * transport_latency method); the bridge's share is the round trip minus this model's (≈0).
   * No connection or session limits apply to it.
   */
  echo?: boolean;
}

export const DEFAULT_MODELS: Readonly<Record<string, ModelSpec>> = Object.freeze({
  'gemini-2.5-flash-native-audio-preview-09-2025': { nativeAudio: true, family: '2.5' },
  'gemini-2.5-flash-native-audio-preview-12-2025': { nativeAudio: true, family: '2.5' },
  'gemini-2.5-flash-native-audio-latest': { nativeAudio: true, family: '2.5' },
  'gemini-3.1-flash-live-preview': { nativeAudio: true, family: '3.1' },
  'gemini-3.8-live': { nativeAudio: true, family: '3.8' },
  'gemini-3.8-live-extended-thinking': { nativeAudio: true, family: '3.8-thinking' },
  'gemini-emulator-echo': { nativeAudio: true, family: '2.5', echo: true },
});

/** The rules of a model's family. */
export function rulesOf(spec: ModelSpec): FamilyRules {
  return FAMILIES[spec.family];
}

/** Strips a leading `models/`; other resource forms are returned unchanged. */
export function modelId(resourceName: string): string {
  return resourceName.startsWith('models/') ? resourceName.slice('models/'.length) : resourceName;
}

/** Looks a setup `model` up: only `models/{id}` of a served id is found. */
export function findModel(catalogue: Readonly<Record<string, ModelSpec>>, resourceName: string): ModelSpec | undefined {
  if (!resourceName.startsWith('models/')) return undefined;
  const id = modelId(resourceName);
  return Object.hasOwn(catalogue, id) ? catalogue[id] : undefined;
}
