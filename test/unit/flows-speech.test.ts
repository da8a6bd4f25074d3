/**
 * A flow's `voice:` and `language:` are checked when flows load (so `flows:check` and boot refuse
 * a misspelt one, with file:line and the valid names), instead of every call failing at setup.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem, loadFlowSources } from '../../src/flows/index.js';
import { LANGUAGES, VOICES, languageProblem, voiceProblem } from '../../src/flows/speech.js';
import { VOICES as GEMINI_VOICES } from '../../src/gemini/index.js';
import { ToolRegistry } from '../../src/tools/index.js';

const registry = ToolRegistry.create([]);

function flow(lines: { voice?: string; language?: string }): { file: string; text: string } {
  return {
    file: 'flows/speech.yaml',
    text: [
      'name: speech-line',
      'default: true',
      'persona: You answer the phone.',
      'greeting: Hello.',
      ...(lines.voice !== undefined ? [`voice: ${lines.voice}`] : []),
      ...(lines.language !== undefined ? [`language: ${lines.language}`] : []),
      'stages:',
      '  - name: main',
      '    instructions: Help.',
    ].join('\n'),
  };
}

function problems(lines: { voice?: string; language?: string }): string[] {
  const result = loadFlowSources([flow(lines)], { registry, env: {} });
  return result.ok ? [] : result.errors.map(formatProblem);
}

describe('voice and language of a flow', () => {
  it('accepts every documented voice and language', () => {
    for (const voice of VOICES) assert.deepEqual(problems({ voice }), [], voice);
    for (const language of LANGUAGES) assert.deepEqual(problems({ language }), [], language);
    assert.deepEqual(problems({ voice: 'Kore', language: 'en-US' }), []);
  });

  it('refuses a misspelt voice at its line, suggests the right one and lists the voices', () => {
    const [p, ...rest] = problems({ voice: 'puck', language: 'en-US' });
    assert.equal(rest.length, 0);
    assert.match(p!, /^flows\/speech\.yaml:5 voice — "puck" is not a Gemini Live voice \(did you mean "Puck"\?\); the voices are: Zephyr, Puck, /);
    assert.match(p!, /Sulafat \(see docs\/gemini-voices\.md\)$/);
  });

  it('refuses an unknown language code at its line, with a suggestion for the wrong case', () => {
    const [p, ...rest] = problems({ voice: 'Kore', language: 'en-us' });
    assert.equal(rest.length, 0);
    assert.match(p!, /^flows\/speech\.yaml:6 language — "en-us" is not a language code Gemini Live supports \(did you mean "en-US"\?\); use one of: ar-EG, /);
    assert.match(problems({ language: 'xx-YY' })[0]!, /:5 language — "xx-YY" is not a language code/);
  });

  it('reports a bad voice and a bad language together', () => {
    const all = problems({ voice: 'Robot', language: 'klingon' });
    assert.equal(all.length, 2, all.join('\n'));
    assert.match(all[0]!, /:5 voice — "Robot"/);
    assert.match(all[1]!, /:6 language — "klingon"/);
  });

  it('the flow check and the Gemini setup check use the same voices', () => {
    assert.deepEqual(VOICES, GEMINI_VOICES);
    assert.equal(VOICES.length, 30);
    assert.equal(LANGUAGES.length, 24);
    assert.equal(voiceProblem('Kore'), undefined);
    assert.equal(languageProblem('fr-FR'), undefined);
  });
});
