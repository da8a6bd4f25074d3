/**
 * The voices and language codes a flow may name (`voice:`, `language:`), checked when flows load
 * so a misspelt name is refused by `flows:check` and at boot instead of failing every call. The
 * lists and their sources are in docs/gemini-voices.md; the voices are the Gemini client's own
 * table (src/gemini/setup-rules.ts), so the flow check and the setup check cannot disagree.
 */
import { VOICES } from '../gemini/setup-rules.js';
import { suggest } from './issues.js';

export { VOICES };

/** Gemini Live's 24 supported languages (BCP-47), docs/gemini-voices.md. */
export const LANGUAGES: readonly string[] = [
  'ar-EG', 'bn-BD', 'de-DE', 'en-IN', 'en-US', 'es-US', 'fr-FR', 'hi-IN', 'id-ID', 'it-IT', 'ja-JP', 'ko-KR',
  'mr-IN', 'nl-NL', 'pl-PL', 'pt-BR', 'ro-RO', 'ru-RU', 'ta-IN', 'te-IN', 'th-TH', 'tr-TR', 'uk-UA', 'vi-VN',
];

/** Why `voice` is not a Gemini Live voice, or undefined when it is one. */
export function voiceProblem(voice: string): string | undefined {
  if (VOICES.includes(voice)) return undefined;
  return `"${voice}" is not a Gemini Live voice${suggest(voice, VOICES)}; the voices are: ${VOICES.join(', ')} (see docs/gemini-voices.md)`;
}

/** Why `language` is not a supported language code, or undefined when it is one. */
export function languageProblem(language: string): string | undefined {
  if (LANGUAGES.includes(language)) return undefined;
  return `"${language}" is not a language code Gemini Live supports${suggest(language, LANGUAGES)}; use one of: ${LANGUAGES.join(', ')} (see docs/gemini-voices.md)`;
}
