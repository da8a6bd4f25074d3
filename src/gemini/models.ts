/**
 * Live model ids and what each one accepts. Facts from docs/gemini-live.md §6 (and §2.1/§2.4
 * for thinking and function behaviour). Immutable tables only.
 */
import type { Modality } from './protocol.js';

/**
 * Default model: the newest Gemini-API native-audio 2.5 preview (released 2025-12-12), which has
 * affective dialog, proactive audio, NON_BLOCKING functions and thinkingBudget
 * (docs/gemini-live.md §6). gemini-3.1-flash-live-preview is a "legacy preview" with synchronous
 * functions only, and gemini-3.8-live is very new ("verify before relying on it").
 */
export const DEFAULT_MODEL = 'gemini-2.5-flash-native-audio-preview-12-2025';

/**
 * Fallback: a field report (docs/gemini-failure-modes.md, seed 002) measured 1011 "Internal error
 * encountered." on 80-90% of turns on preview-12-2025 and its -latest alias while the same setup on
 * preview-09-2025 was 100% clean; 09-2025 takes the same setup (native audio, AUDIO only,
 * thinkingBudget).
 */
export const DEFAULT_FALLBACK_MODELS: readonly string[] = ['gemini-2.5-flash-native-audio-preview-09-2025'];

export interface ModelCapabilities {
  /** Response modalities the model accepts (one per session). */
  modalities: readonly Modality[];
  /** Native-audio models generate speech directly; TEXT output is refused by the service. */
  nativeAudio: boolean;
  /** 'budget': thinkingConfig.thinkingBudget (2.5); 'level': thinkingLevel (3.1); 'none': omit thinkingConfig (3.8). */
  thinking: 'budget' | 'level' | 'none';
  affectiveDialog: boolean;
  /** 'optional': proactivity.proactiveAudio may be set; 'always': on and cannot be turned off; 'no': unsupported. */
  proactiveAudio: 'optional' | 'always' | 'no';
  /** Whether functions may be declared NON_BLOCKING (asynchronous). */
  nonBlockingFunctions: boolean;
  /** What a declaration without `behavior` (or UNSPECIFIED) means on this model. */
  defaultBehavior: 'BLOCKING' | 'NON_BLOCKING';
}

const caps = (c: ModelCapabilities): ModelCapabilities => Object.freeze(c);

const NATIVE_25 = caps({
  modalities: ['AUDIO'],
  nativeAudio: true,
  thinking: 'budget',
  affectiveDialog: true,
  proactiveAudio: 'optional',
  nonBlockingFunctions: true,
  defaultBehavior: 'BLOCKING',
});

export const MODELS: Readonly<Record<string, ModelCapabilities>> = Object.freeze({
  'gemini-2.5-flash-native-audio-preview-12-2025': NATIVE_25,
  'gemini-2.5-flash-native-audio-preview-09-2025': NATIVE_25,
  // Alias; its target is UNCONFIRMED (docs/gemini-live.md §6), it behaves as the 2.5 native-audio family.
  'gemini-2.5-flash-native-audio-latest': NATIVE_25,
  // TEXT closes with 1011; synchronous functions only; no proactive audio / affective dialog.
  'gemini-3.1-flash-live-preview': caps({
    modalities: ['AUDIO'],
    nativeAudio: true,
    thinking: 'level',
    affectiveDialog: false,
    proactiveAudio: 'no',
    nonBlockingFunctions: false,
    defaultBehavior: 'BLOCKING',
  }),
  // Omit thinkingConfig; NON_BLOCKING is the default; proactive audio always on.
  'gemini-3.8-live': caps({
    modalities: ['AUDIO'],
    nativeAudio: true,
    thinking: 'none',
    affectiveDialog: false,
    proactiveAudio: 'always',
    nonBlockingFunctions: true,
    defaultBehavior: 'NON_BLOCKING',
  }),
});

/** Ids that look plausible but must not be used, with the reason. */
const REFUSED: Readonly<Record<string, string>> = Object.freeze({
  'gemini-2.0-flash-live-001': 'was shut down on 2025-12-09',
  'gemini-live-2.5-flash-preview': 'was shut down on 2025-12-09',
  'gemini-2.5-flash-native-audio-preview-04-2025': 'is not a real model id (it comes from a field report)',
});

export type ResolvedModel =
  | {
      ok: true;
      /** Bare id, e.g. gemini-2.5-flash-native-audio-preview-12-2025. */
      id: string;
      /** Wire form for setup.model: models/{id}. */
      name: string;
      /** Undefined for an unknown-but-plausible id: no capability assumptions are made. */
      capabilities: ModelCapabilities | undefined;
    }
  | { ok: false; problem: string };

const PLAUSIBLE = /^gemini-[a-z0-9][a-z0-9.-]*$/;

/** Normalises a model id to `models/{id}`, refusing ids the Gemini API Live endpoint cannot serve. */
export function resolveModel(input: string): ResolvedModel {
  const raw = input.trim();
  const fail = (why: string): ResolvedModel => ({ ok: false, problem: `model: "${raw.slice(0, 100)}" ${why}` });
  if (raw === '') return fail('is empty');
  if (raw.includes('..') || raw.includes('?') || raw.includes('&')) return fail('must not contain "..", "?" or "&"');
  if (raw.startsWith('projects/') || raw.startsWith('publishers/')) {
    return fail('is a Vertex AI resource name; the Gemini API takes a model id such as ' + DEFAULT_MODEL);
  }
  const id = raw.startsWith('models/') ? raw.slice('models/'.length) : raw;
  if (id.startsWith('gemini-live-')) {
    const why = REFUSED[id];
    return fail(why ? why : 'is a Vertex AI model name (gemini-live-*); on the Gemini API it closes with 1008. Use e.g. ' + DEFAULT_MODEL);
  }
  const refused = REFUSED[id];
  if (refused) return fail(`${refused}; use e.g. ${DEFAULT_MODEL}`);
  if (!PLAUSIBLE.test(id)) return fail('is not a Gemini model id (expected gemini-…, lower case, optionally prefixed by models/)');
  return { ok: true, id, name: `models/${id}`, capabilities: MODELS[id] };
}
