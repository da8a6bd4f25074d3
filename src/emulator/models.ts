/**
 * Which model ids the emulator serves and how each behaves (docs/gemini-live.md §6). Ids are
 * without the `models/` prefix. Anything not listed (retired half-cascade models, Vertex-only
 * `gemini-live-*` names, typos) is answered with 1008 "models/X is not found…", like the real
 * service.
 */

export interface ModelSpec {
  /** Native-audio models refuse TEXT output. */
  nativeAudio: boolean;
  /**
   * '2.5' or '3': decides family-specific behaviour: the close after an ignored goAway
   * (2.5: 1011 "Deadline expired…", 3.x: 1008 "Connection aborted…") and TEXT on a native model
   * (2.5: 1007 "Cannot extract voices…", 3.x: 1011 "Internal error encountered.").
   */
  family: '2.5' | '3';
  /**
   * An echo "model": every chunk of caller audio is sent straight back as model audio (16 kHz →
   * 24 kHz), with no voice detection, scenario or turns. The load benchmark times round trips of
   * a chirp through the bridge with it (one clock in the caller simulator, pipecat's
   * transport_latency method); the bridge's share is the round trip minus this model's (≈0).
   */
  echo?: boolean;
}

export const DEFAULT_MODELS: Readonly<Record<string, ModelSpec>> = Object.freeze({
  'gemini-2.5-flash-native-audio-preview-09-2025': { nativeAudio: true, family: '2.5' },
  'gemini-2.5-flash-native-audio-preview-12-2025': { nativeAudio: true, family: '2.5' },
  'gemini-2.5-flash-native-audio-latest': { nativeAudio: true, family: '2.5' },
  'gemini-3.1-flash-live-preview': { nativeAudio: true, family: '3' },
  'gemini-3.8-live': { nativeAudio: true, family: '3' },
  'gemini-emulator-echo': { nativeAudio: true, family: '2.5', echo: true },
});

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
