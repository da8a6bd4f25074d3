import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSetup, validateLiveConfig, type LiveSessionConfig } from '../../src/gemini/setup.js';
import { DEFAULT_FALLBACK_MODELS, DEFAULT_MODEL, resolveModel } from '../../src/gemini/models.js';
import { CallbridgeError } from '../../src/shared/errors.js';

/** Asserts the config is refused and one problem names `field` (and matches `also` when given). */
function refuses(config: unknown, field: string, also?: RegExp): string {
  const problems = validateLiveConfig(config as LiveSessionConfig);
  const hit = problems.find((p) => p.includes(field) && (!also || also.test(p)));
  assert.ok(hit, `expected a problem naming ${field}${also ? ` matching ${also}` : ''}, got: ${JSON.stringify(problems)}`);
  return hit;
}

describe('buildSetup: a valid config', () => {
  it('produces the exact expected setup JSON', () => {
    const built = buildSetup({
      model: 'gemini-2.5-flash-native-audio-preview-12-2025',
      systemInstruction: 'You are the front desk of a dental clinic.',
      voiceName: 'Kore',
      languageCode: 'en-US',
      temperature: 0.7,
      thinking: { budget: 0 },
      affectiveDialog: true,
      proactiveAudio: true,
      tools: [
        {
          name: 'book_slot',
          description: 'Books an appointment.',
          parameters: { type: 'OBJECT', properties: { day: { type: 'STRING', enum: ['mon', 'tue'] }, people: { type: 'INTEGER' } }, required: ['day'] },
          behavior: 'NON_BLOCKING',
        },
        { name: 'hang_up' },
      ],
      realtimeInputConfig: {
        automaticActivityDetection: { startOfSpeechSensitivity: 'START_SENSITIVITY_LOW', endOfSpeechSensitivity: 'END_SENSITIVITY_HIGH', prefixPaddingMs: 20, silenceDurationMs: 500 },
        activityHandling: 'START_OF_ACTIVITY_INTERRUPTS',
      },
      sessionResumption: { handle: 'prev-handle' },
      contextWindowCompression: { triggerTokens: 25600, targetTokens: '12800' },
    });
    assert.deepEqual(JSON.parse(JSON.stringify({ setup: built.setup })), {
      setup: {
        model: 'models/gemini-2.5-flash-native-audio-preview-12-2025',
        generationConfig: {
          responseModalities: ['AUDIO'],
          temperature: 0.7,
          speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Kore' } }, languageCode: 'en-US' },
          thinkingConfig: { thinkingBudget: 0 },
          enableAffectiveDialog: true,
        },
        systemInstruction: { parts: [{ text: 'You are the front desk of a dental clinic.' }] },
        tools: [
          {
            functionDeclarations: [
              {
                name: 'book_slot',
                description: 'Books an appointment.',
                parameters: { type: 'OBJECT', properties: { day: { type: 'STRING', enum: ['mon', 'tue'] }, people: { type: 'INTEGER' } }, required: ['day'] },
                behavior: 'NON_BLOCKING',
              },
              { name: 'hang_up', behavior: 'BLOCKING' },
            ],
          },
        ],
        realtimeInputConfig: {
          activityHandling: 'START_OF_ACTIVITY_INTERRUPTS',
          automaticActivityDetection: { startOfSpeechSensitivity: 'START_SENSITIVITY_LOW', endOfSpeechSensitivity: 'END_SENSITIVITY_HIGH', prefixPaddingMs: 20, silenceDurationMs: 500 },
        },
        sessionResumption: { handle: 'prev-handle' },
        contextWindowCompression: { triggerTokens: '25600', slidingWindow: { targetTokens: '12800' } },
        inputAudioTranscription: {},
        outputAudioTranscription: {},
        proactivity: { proactiveAudio: true },
      },
    });
    assert.equal(built.blockingFunctions.get('book_slot'), false);
    assert.equal(built.blockingFunctions.get('hang_up'), true, 'UNSPECIFIED is blocking on 2.5');
    assert.equal(built.automaticActivityDetection, true);
  });

  it('applies the defaults: default model, AUDIO, transcription both ways, resumption, sliding window', () => {
    assert.deepEqual(buildSetup({}).setup, {
      model: `models/${DEFAULT_MODEL}`,
      generationConfig: { responseModalities: ['AUDIO'] },
      sessionResumption: {},
      contextWindowCompression: { slidingWindow: {} },
      inputAudioTranscription: {},
      outputAudioTranscription: {},
    });
  });

  it('turns the defaults off on request', () => {
    const { setup } = buildSetup({ inputTranscription: false, outputTranscription: false, sessionResumption: { enabled: false }, contextWindowCompression: false });
    assert.deepEqual(setup, { model: `models/${DEFAULT_MODEL}`, generationConfig: { responseModalities: ['AUDIO'] } });
  });

  it('exports gemini-3.8-live as the default, a 2.5 native-audio model as the fallback, both of known families', () => {
    assert.equal(DEFAULT_MODEL, 'gemini-3.8-live');
    assert.deepEqual(DEFAULT_FALLBACK_MODELS, ['gemini-2.5-flash-native-audio-preview-09-2025']);
    for (const m of [DEFAULT_MODEL, ...DEFAULT_FALLBACK_MODELS]) assert.ok(resolveModel(m).ok && (resolveModel(m) as { capabilities?: unknown }).capabilities);
  });

  it('reports manual activity detection and the per-model default behaviour', () => {
    const manual = buildSetup({ realtimeInputConfig: { automaticActivityDetection: { disabled: true } } });
    assert.equal(manual.automaticActivityDetection, false);
    const m38 = buildSetup({ model: 'gemini-3.8-live', tools: [{ name: 'lookup' }, { name: 'pay', behavior: 'BLOCKING' }] });
    assert.equal(m38.blockingFunctions.get('lookup'), false, 'NON_BLOCKING is the default on 3.8');
    assert.equal(m38.blockingFunctions.get('pay'), true);
  });
});

describe('buildSetup: refusals', () => {
  it('throws CB_GEMINI_SETUP_INVALID with every problem at once', () => {
    const config = { model: 'gpt-4o', voiceName: 'Bob', temperature: 5, responseModalities: ['AUDIO', 'TEXT'] } as unknown as LiveSessionConfig;
    assert.throws(
      () => buildSetup(config),
      (err: unknown) => {
        assert.ok(err instanceof CallbridgeError);
        assert.equal(err.code, 'CB_GEMINI_SETUP_INVALID');
        const problems = err.detail?.['problems'] as string[];
        assert.equal(problems.length, 4, JSON.stringify(problems));
        for (const field of ['model', 'voiceName', 'temperature', 'responseModalities']) assert.match(err.message, new RegExp(field));
        return true;
      },
    );
  });

  it('responseModalities: AUDIO+TEXT refused, pointing at output transcription', () => {
    refuses({ responseModalities: ['AUDIO', 'TEXT'] }, 'responseModalities', /one response modality.*output transcription/);
  });

  it('responseModalities: none, lower case, or TEXT on a native-audio model', () => {
    refuses({ responseModalities: [] }, 'responseModalities', /exactly one/);
    refuses({ responseModalities: ['audio'] }, 'responseModalities[0]', /AUDIO, TEXT/);
    refuses({ responseModalities: ['TEXT'] }, 'responseModalities', /native-audio.*Cannot extract voices/);
  });

  it('accepts TEXT and unknown settings on an unknown-but-plausible model (no capability assumptions)', () => {
    const built = buildSetup({ model: 'models/gemini-9.9-flash-live', responseModalities: ['TEXT'], thinking: { level: 'LOW' }, affectiveDialog: true });
    assert.equal(built.setup.model, 'models/gemini-9.9-flash-live');
    assert.equal(built.capabilities, undefined);
  });

  it('model: normalised to models/… and refused when wrong', () => {
    assert.equal(buildSetup({ model: 'models/gemini-3.1-flash-live-preview' }).setup.model, 'models/gemini-3.1-flash-live-preview');
    refuses({ model: 'gemini-../secret' }, 'model', /"\.\."/);
    refuses({ model: 'gemini-x?key=1' }, 'model', /"\?"/);
    refuses({ model: 'gemini-x&y' }, 'model', /"&"/);
    refuses({ model: 'gemini-live-2.5-flash-native-audio' }, 'model', /Vertex/);
    refuses({ model: 'projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash' }, 'model', /Vertex/);
    refuses({ model: 'gemini-2.0-flash-live-001' }, 'model', /shut down/);
    refuses({ model: 'gpt-4o' }, 'model', /not a Gemini model id/);
    refuses({ model: '' }, 'model', /empty/);
    refuses({ model: 42 }, 'model', /string/);
  });

  it('Vertex-only fields: sessionResumption.transparent, explicitVadSignal', () => {
    refuses({ sessionResumption: { transparent: true } }, 'sessionResumption.transparent', /Vertex/);
    refuses({ explicitVadSignal: true }, 'explicitVadSignal', /Vertex/);
  });

  it('unknown fields are refused by name', () => {
    refuses({ voice: 'Puck' }, 'voice', /not a known field/);
    refuses({ realtimeInputConfig: { automaticActivityDetection: { silenceMs: 3 } } }, 'realtimeInputConfig.automaticActivityDetection.silenceMs');
  });

  it('enum spellings are checked', () => {
    refuses({ realtimeInputConfig: { automaticActivityDetection: { startOfSpeechSensitivity: 'LOW' } } }, 'startOfSpeechSensitivity', /START_SENSITIVITY_LOW/);
    refuses({ realtimeInputConfig: { automaticActivityDetection: { endOfSpeechSensitivity: 'end_sensitivity_low' } } }, 'endOfSpeechSensitivity');
    refuses({ realtimeInputConfig: { activityHandling: 'INTERRUPT' } }, 'activityHandling');
    refuses({ realtimeInputConfig: { turnCoverage: 'ALL' } }, 'turnCoverage');
    refuses({ model: 'gemini-3.1-flash-live-preview', thinking: { level: 'low' } }, 'thinking.level', /MINIMAL, LOW/);
    refuses({ tools: [{ name: 'a', behavior: 'ASYNC' }] }, 'tools[0].behavior');
    refuses({ tools: [{ name: 'a', parameters: { type: 'object' } }] }, 'tools[0].parameters.type');
  });

  it('voice names are checked against the known list, with a case hint', () => {
    refuses({ voiceName: 'Bob' }, 'voiceName', /not a known voice/);
    refuses({ voiceName: 'puck' }, 'voiceName', /did you mean "Puck"/);
    assert.deepEqual(validateLiveConfig({ voiceName: 'Zubenelgenubi' }), []);
  });

  it('function declarations: names, duplicates, enum only on STRING, unknown schema keys, items', () => {
    refuses({ tools: [{ name: '1book' }] }, 'tools[0].name');
    refuses({ tools: [{ name: 'a'.repeat(65) }] }, 'tools[0].name');
    refuses({ tools: [{ name: 'book slot' }] }, 'tools[0].name');
    refuses({ tools: [{ name: 'x' }, { name: 'x' }] }, 'tools[1].name', /twice/);
    refuses(
      { tools: [{ name: 'x', parameters: { type: 'OBJECT', properties: { ids: { type: 'ARRAY', items: { type: 'INTEGER', enum: ['1'] } } } } }] },
      'tools[0].parameters.properties.ids.items.enum',
      /only allowed on STRING/,
    );
    refuses({ tools: [{ name: 'x', parameters: { type: 'OBJECT', additionalProperties: false } }] }, 'tools[0].parameters.additionalProperties');
    refuses({ tools: [{ name: 'x', parameters: { type: 'OBJECT', properties: { a: { type: 'ARRAY' } } } }] }, 'properties.a.items');
    refuses({ tools: [{ name: 'x', parameters: { type: 'OBJECT', properties: {}, required: ['a'] } }] }, 'tools[0].parameters.required', /"a"/);
    refuses({ tools: [{ name: 'x', handler: () => 1 }] }, 'tools[0].handler');
  });

  it('per-model capabilities: thinking style', () => {
    refuses({ model: 'gemini-2.5-flash-native-audio-preview-12-2025', thinking: { level: 'LOW' } }, 'thinking.level', /uses thinking.budget/);
    refuses({ thinking: { budget: 0 } }, 'thinking', /no thinking configuration/);
    refuses({ model: 'gemini-3.8-live-extended-thinking', thinking: { level: 'MINIMAL' } }, 'thinking.level', /LOW, MEDIUM, HIGH/);
    refuses({ model: 'gemini-3.1-flash-live-preview', thinking: { budget: 0 } }, 'thinking.budget', /thinking.level/);
    refuses({ model: 'gemini-3.8-live', thinking: { budget: 0 } }, 'thinking', /no thinking configuration/);
    refuses({ model: 'gemini-2.5-flash-native-audio-preview-12-2025', thinking: { budget: -2 } }, 'thinking.budget', /integer/);
    assert.deepEqual(buildSetup({ model: 'gemini-3.1-flash-live-preview', thinking: { level: 'MINIMAL' } }).setup.generationConfig?.thinkingConfig, { thinkingLevel: 'MINIMAL' });
  });

  it('per-model capabilities: affective dialog, proactivity, NON_BLOCKING', () => {
    refuses({ model: 'gemini-3.1-flash-live-preview', affectiveDialog: true }, 'affectiveDialog', /2\.5 native-audio/);
    refuses({ model: 'gemini-3.1-flash-live-preview', proactiveAudio: true }, 'proactiveAudio', /not supported/);
    refuses({ model: 'gemini-3.8-live', proactiveAudio: false }, 'proactiveAudio', /always/);
    refuses({ model: 'gemini-3.1-flash-live-preview', tools: [{ name: 'x', behavior: 'NON_BLOCKING' }] }, 'tools[0].behavior', /synchronous/);
  });

  it('numbers and other fields', () => {
    refuses({ temperature: 2.5 }, 'temperature');
    refuses({ languageCode: 'English' }, 'languageCode');
    refuses({ sessionResumption: { handle: '' } }, 'sessionResumption.handle');
    refuses({ sessionResumption: { enabled: false, handle: 'h' } }, 'sessionResumption.handle', /enabled is false/);
    refuses({ contextWindowCompression: { triggerTokens: -5 } }, 'contextWindowCompression.triggerTokens');
    refuses({ contextWindowCompression: { triggerTokens: 100, targetTokens: 200 } }, 'contextWindowCompression.targetTokens', /below/);
    refuses({ realtimeInputConfig: { automaticActivityDetection: { silenceDurationMs: 1.5 } } }, 'silenceDurationMs');
    refuses({ systemInstruction: { parts: [] } }, 'systemInstruction');
    refuses({ inputTranscription: 'yes' }, 'inputTranscription');
  });
});
