/**
 * Live model ids: the default, the fallbacks, ids refused outright, and the normalisation to
 * `models/{id}`. What each model accepts is its family's (./families.ts; docs/gemini-live.md §6).
 */
import { familyOf, knownModels, type ModelFamily } from './families.js';

/**
 * Default model: gemini-3.8-live, the generally available Live model (stable since September 2026;
 * docs/gemini-live.md §6). Its family's flags (src/gemini/families.ts) shape the setup: no thinking
 * config, explicit function behaviour, proactive audio always on.
 */
export const DEFAULT_MODEL = 'gemini-3.8-live';

/**
 * Fallback: a 2.5 native-audio model, another family with its own serving path. preview-09-2025:
 * a field report (docs/gemini-failure-modes.md, seed 002) measured 1011 "Internal error
 * encountered." on 80-90% of turns on preview-12-2025 and its -latest alias while 09-2025 was clean.
 */
export const DEFAULT_FALLBACK_MODELS: readonly string[] = ['gemini-2.5-flash-native-audio-preview-09-2025'];

/** A model's capabilities are its family's flags (src/gemini/families.ts). */
export type ModelCapabilities = ModelFamily;

/** Model id → family, for every id a family lists. */
export const MODELS: Readonly<Record<string, ModelFamily>> = Object.freeze(Object.fromEntries(knownModels().map((m) => [m, familyOf(m)!])));

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
  return { ok: true, id, name: `models/${id}`, capabilities: familyOf(id) };
}
