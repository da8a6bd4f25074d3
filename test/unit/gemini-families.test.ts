/**
 * The family table's effects, one row per family: the setup a flow's call gets (literal JSON),
 * declarations shaped to the behaviours the family accepts, responses with or without
 * `scheduling`, and the stage-change mechanism. docs/gemini-live.md §2.1, §2.2, §2.4, §2.5, §6.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSetup } from '../../src/gemini/setup.js';
import { FAMILIES, behaviorOn, familyOf, instructionChannel, knownModels } from '../../src/gemini/families.js';
import { DEFAULT_FALLBACK_MODELS, DEFAULT_MODEL, MODELS } from '../../src/gemini/models.js';
import { PendingToolCalls } from '../../src/gemini/tool-calls.js';
import { shapeTools } from '../../src/call/adapters/gemini-session.js';
import type { FunctionDeclaration } from '../../src/gemini/protocol.js';

/** A flow's declarations as callbridge makes them: every one with an explicit behaviour. */
const TOOLS: FunctionDeclaration[] = [
  { name: 'lookup', description: 'Looks a booking up.', behavior: 'BLOCKING' },
  { name: 'log_callback', description: 'Notes a callback request.', behavior: 'NON_BLOCKING' },
];

const BASE = {
  generationConfig: { responseModalities: ['AUDIO'] },
  systemInstruction: { parts: [{ text: 'You are the front desk.' }] },
  sessionResumption: {},
  contextWindowCompression: { slidingWindow: {} },
  inputAudioTranscription: {},
  outputAudioTranscription: {},
};

const ROWS = [
  { model: 'gemini-3.8-live', behaviors: ['BLOCKING', 'NON_BLOCKING'], extra: {}, channel: 'contextUpdate', scheduling: 'SILENT' },
  { model: 'gemini-3.8-live-extended-thinking', behaviors: ['NON_BLOCKING', 'NON_BLOCKING'], extra: {}, channel: 'contextUpdate', scheduling: 'SILENT' },
  { model: 'gemini-3.1-flash-live-preview', behaviors: ['BLOCKING', 'BLOCKING'], extra: { historyConfig: { initialHistoryInClientContent: true } }, channel: 'realtimeText', scheduling: undefined },
  { model: 'gemini-2.5-flash-native-audio-preview-12-2025', behaviors: ['BLOCKING', 'NON_BLOCKING'], extra: {}, channel: 'clientContent', scheduling: 'SILENT' },
  { model: 'gemini-2.5-flash-native-audio-preview-09-2025', behaviors: ['BLOCKING', 'NON_BLOCKING'], extra: {}, channel: 'clientContent', scheduling: 'SILENT' },
] as const;

describe('model families: one table, read everywhere', () => {
  it('every model id belongs to exactly one family; the default is 3.8 Live (stable), the fallback a 2.5 native-audio model', () => {
    const ids = knownModels();
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(familyOf(DEFAULT_MODEL)?.id, 'gemini-3.8-live');
    assert.equal(familyOf(DEFAULT_MODEL)?.status, 'stable');
    assert.deepEqual(DEFAULT_FALLBACK_MODELS.map((m) => familyOf(m)?.id), ['gemini-2.5-native-audio']);
    assert.equal(familyOf('models/gemini-3.8-live'), familyOf('gemini-3.8-live'));
    assert.equal(familyOf('gemini-9-live'), undefined);
    assert.equal(MODELS['gemini-3.1-flash-live-preview']?.id, 'gemini-3.1-flash-live');
    for (const f of FAMILIES) {
      assert.ok(f.functions.behaviors.includes(f.functions.default), `${f.id}: its default behaviour is one it accepts`);
      assert.equal(f.status === 'stable', f.useInstead === undefined, `${f.id}: only preview families name a replacement`);
    }
  });

  for (const row of ROWS) {
    it(`${row.model}: setup, declarations, responses and the stage-change mechanism`, () => {
      const family = familyOf(row.model)!;
      const tools = shapeTools(TOOLS, row.model);
      const built = buildSetup({ model: row.model, systemInstruction: 'You are the front desk.', tools });
      assert.deepEqual(JSON.parse(JSON.stringify(built.setup)), {
        model: `models/${row.model}`,
        ...BASE,
        tools: [{ functionDeclarations: [
          { name: 'lookup', description: 'Looks a booking up.', behavior: row.behaviors[0] },
          { name: 'log_callback', description: 'Notes a callback request.', behavior: row.behaviors[1] },
        ] }],
        ...row.extra,
      });
      // Responses: scheduling only for a NON_BLOCKING call, only where the family has it.
      const calls = new PendingToolCalls((name) => built.blockingFunctions.get(name) ?? true, family.functions.scheduling);
      calls.add([{ id: 'a', name: 'lookup', args: {} }, { id: 'b', name: 'log_callback', args: {} }]);
      const sent = JSON.parse(calls.prepare([{ id: 'a', response: { output: 1 }, scheduling: 'SILENT' }, { id: 'b', response: { output: 2 }, scheduling: 'SILENT' }], 4096).json);
      const scheduling = sent.toolResponse.functionResponses.map((r: { scheduling?: string }) => r.scheduling);
      assert.deepEqual(scheduling, [row.behaviors[0] === 'NON_BLOCKING' ? row.scheduling : undefined, row.behaviors[1] === 'NON_BLOCKING' ? row.scheduling : undefined]);
      assert.equal(instructionChannel(family), row.channel);
    });
  }

  it('a family refuses, at setup, what the service would close: thinking on 3.8, proactiveAudio false on 3.8, NON_BLOCKING on 3.1, BLOCKING on 3.8 ET', () => {
    const problems = (config: Parameters<typeof buildSetup>[0]) => {
      try {
        buildSetup(config);
        return [];
      } catch (err) {
        return (err as { detail: { problems: string[] } }).detail.problems;
      }
    };
    assert.match(problems({ model: 'gemini-3.8-live', thinking: { level: 'LOW' } }).join(), /no thinking configuration/);
    assert.match(problems({ model: 'gemini-3.8-live', proactiveAudio: false }).join(), /always uses proactive audio/);
    assert.match(problems({ model: 'gemini-3.8-live', affectiveDialog: true }).join(), /no affective dialog/);
    assert.match(problems({ model: 'gemini-3.1-flash-live-preview', tools: [{ name: 'x', behavior: 'NON_BLOCKING' }] }).join(), /synchronous/);
    assert.match(problems({ model: 'gemini-3.8-live-extended-thinking', tools: [{ name: 'x', behavior: 'BLOCKING' }] }).join(), /asynchronous/);
    assert.deepEqual(problems({ model: 'gemini-3.8-live-extended-thinking', thinking: { level: 'HIGH' } }), []);
  });

  it('behaviorOn keeps what the family accepts and otherwise gives its only behaviour; an unknown model keeps the wish', () => {
    assert.equal(behaviorOn(familyOf('gemini-3.8-live'), 'BLOCKING'), 'BLOCKING');
    assert.equal(behaviorOn(familyOf('gemini-3.1-flash-live-preview'), 'NON_BLOCKING'), 'BLOCKING');
    assert.equal(behaviorOn(familyOf('gemini-3.8-live-extended-thinking'), 'BLOCKING'), 'NON_BLOCKING');
    assert.equal(behaviorOn(undefined, 'NON_BLOCKING'), 'NON_BLOCKING');
    assert.deepEqual(shapeTools([{ name: 'x' }], 'gemini-3.8-live'), [{ name: 'x', behavior: 'NON_BLOCKING' }], 'no behaviour: the family default, written out');
  });
});
