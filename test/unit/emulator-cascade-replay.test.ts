import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { replayAnswer, type RestContent } from '../../src/emulator/cascade-replay.js';
import { scenarioFromObject } from '../../src/emulator/scenario.js';

const scenario = scenarioFromObject({
  greeting: 'Hello, dental office.',
  turns: [
    { heard: 'Book a cleaning.', say: 'Checking.', toolCalls: [{ name: 'check', args: { service: 'cleaning' } }], afterTool: { say: 'Booked for {{output.day}}.' } },
    { match: 'pressed ([0-9])', repeatable: true, say: 'You pressed {{match.1}}.' },
    { heard: 'Transfer me.', toolCalls: [{ name: 'transfer_call', id: 'fixed-id', args: {} }] },
  ],
  endOfScenario: { mode: 'repeat', say: 'Anything else?' },
});

let n = 0;
const ids = () => `id-${++n}`;
const audio = (d: string) => ({ inlineData: { mimeType: 'audio/pcm;rate=16000', data: d } });
const user = (...parts: RestContent['parts']): RestContent => ({ role: 'user', parts });
const model = (text: string): RestContent => ({ role: 'model', parts: [{ text }] });

describe('replayAnswer (the emulated text model)', () => {
  it('answers a verbatim greeting instruction word for word, and any other first text with the greeting', () => {
    assert.equal(replayAnswer(scenario, [user({ text: 'Say exactly this to the caller now: "Welcome to the clinic."' })], ids).text, 'Welcome to the clinic.');
    assert.equal(replayAnswer(scenario, [user({ text: 'Start the call.' })], ids).text, 'Hello, dental office.');
  });

  it('takes key presses as match turns with their groups, between caller turns', () => {
    const history = [user({ text: 'Start.' }), model('Hello, dental office.'), user({ text: 'The caller pressed 7' })];
    assert.equal(replayAnswer(scenario, history, ids).text, 'You pressed 7.');
  });

  it('answers a caller turn after cancelled function responses in the same user turn, and reports what was heard', () => {
    const history = [
      user({ text: 'Start.' }),
      model('Hello, dental office.'),
      user(audio('AAA')),
      { role: 'model', parts: [{ text: 'Checking.' }, { functionCall: { id: 'c1', name: 'check', args: {} } }] },
      user({ functionResponse: { id: 'c1', name: 'check', response: { error: 'cancelled: the caller interrupted' } } }, audio('BBB')),
    ];
    const answer = replayAnswer(scenario, history, ids);
    assert.equal(answer.text, '');
    assert.deepEqual(answer.calls, [{ id: 'fixed-id', name: 'transfer_call', args: {} }]);
    assert.deepEqual(answer.heard, [{ audio: 'AAA', heard: 'Book a cleaning.' }, { audio: 'BBB', heard: 'Transfer me.' }]);
  });

  it('templates afterTool from the function response, and repeats the end-of-scenario line after the last turn', () => {
    const history: RestContent[] = [user({ text: 'Start.' }), model('Hello.'), user(audio('A'))];
    const first = replayAnswer(scenario, history, ids);
    assert.equal(first.calls[0]!.name, 'check');
    assert.match(first.calls[0]!.id, /^id-\d+$/);
    history.push({ role: 'model', parts: [{ functionCall: first.calls[0]! }] }, user({ functionResponse: { id: first.calls[0]!.id, name: 'check', response: { output: { day: 'Monday' } } } }));
    assert.equal(replayAnswer(scenario, history, ids).text, 'Booked for Monday.');
    history.push(model('Booked for Monday.'), user({ text: '(The caller said:) Transfer me.' }), model(''), user(audio('C')));
    assert.equal(replayAnswer(scenario, history, ids).text, 'Anything else?');
  });
});
