import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { replayAnswer, type RestContent } from '../../src/emulator/cascade-replay.js';
import { scenarioFromObject } from '../../src/emulator/scenario.js';

// The dental demo's shape (scenarios/dental-receptionist.yaml): a later caller turn books with
// arguments templated from an earlier turn's function result (`{{tools.<name>…}}`).
const scenario = scenarioFromObject({
  turns: [
    { heard: 'Mornings, please.', toolCalls: [{ name: 'check_availability', args: { partOfDay: 'morning' } }], afterTool: { say: 'I have {{output.days.0.times.0}}.' } },
    {
      heard: 'The first one.',
      say: 'Booking {{tools.check_availability.output.days.0.times.0}}.',
      toolCalls: [{ name: 'book', args: { date: '{{tools.check_availability.output.days.0.date}}', time: '{{tools.check_availability.output.days.0.times.0}}', slots: '{{tools.check_availability.output.days.0.times}}' } }],
    },
    { heard: 'Bye.', say: 'Reference {{tools.book.output.reference}}, goodbye.' },
  ],
  endOfScenario: { mode: 'repeat', say: 'Anything else?' },
});

let n = 0;
const ids = () => `id-${++n}`;
const audio = (d: string) => ({ inlineData: { mimeType: 'audio/pcm;rate=16000', data: d } });
const user = (...parts: RestContent['parts']): RestContent => ({ role: 'user', parts });
const days = [{ date: '2026-12-07', times: ['09:00', '10:30'] }];

function history(): RestContent[] {
  return [
    user({ text: 'Say exactly this to the caller now: "Hello."' }),
    { role: 'model', parts: [{ text: 'Hello.' }] },
    user(audio('A')),
    { role: 'model', parts: [{ functionCall: { id: 'c1', name: 'check_availability', args: { partOfDay: 'morning' } } }] },
    user({ functionResponse: { id: 'c1', name: 'check_availability', response: { output: { days } } } }),
    { role: 'model', parts: [{ text: 'I have 09:00.' }] },
    user(audio('B')),
  ];
}

describe('replayAnswer carries function results into later turns', () => {
  it('templates a later turn\'s line and arguments from an earlier turn\'s function response', () => {
    const answer = replayAnswer(scenario, history(), ids);
    assert.equal(answer.text, 'Booking 09:00.');
    assert.equal(answer.calls.length, 1);
    assert.deepEqual(answer.calls[0]!.args, { date: '2026-12-07', time: '09:00', slots: ['09:00', '10:30'] });
  });

  it('keeps the latest response per function, wrapping a response without output/error as output', () => {
    const h = history();
    h.push(
      { role: 'model', parts: [{ text: 'Booking 09:00.' }, { functionCall: { id: 'c2', name: 'book', args: {} } }] },
      user({ functionResponse: { id: 'c2', name: 'book', response: { reference: 'BSD-1' } } }),
      { role: 'model', parts: [{ text: '' }] },
      user(audio('C')),
    );
    // A response without output/error is kept as { output: … }, as the Live emulator does.
    assert.equal(replayAnswer(scenario, h, ids).text, 'Reference BSD-1, goodbye.');
  });
});
