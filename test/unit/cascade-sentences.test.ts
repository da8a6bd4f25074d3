import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SentenceSplitter, type SentenceOptions } from '../../src/cascade/sentences.js';

/** Sentences of `text` pushed in pieces of `size` characters, then flushed (not eager unless asked). */
function split(text: string, size = text.length, options: SentenceOptions = { eager: false }): string[] {
  const s = new SentenceSplitter(options);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(...s.push(text.slice(i, i + size)));
  out.push(...s.flush());
  return out;
}

/** The same result whatever the streaming piece size. */
function splitAnyway(text: string, options: SentenceOptions = { eager: false }): string[] {
  const whole = split(text, text.length, options);
  for (const size of [1, 2, 3, 5, 7, 13]) assert.deepEqual(split(text, size, options), whole, `pieces of ${size}`);
  return whole;
}

describe('SentenceSplitter', () => {
  it('splits at . ! ? and … followed by a space, whatever the piece size', () => {
    assert.deepEqual(splitAnyway('Thank you for calling! How can I help you today? We open at nine… Tell me more.'), [
      'Thank you for calling!',
      'How can I help you today?',
      'We open at nine…',
      'Tell me more.',
    ]);
  });

  it('keeps titles, initials and No. inside the sentence', () => {
    assert.deepEqual(splitAnyway('Dr. Smith can see you on Monday. Ask for Mrs. J. Jones at St. Mary’s, room No. 5 please.'), [
      'Dr. Smith can see you on Monday.',
      'Ask for Mrs. J. Jones at St. Mary’s, room No. 5 please.',
    ]);
  });

  it('never splits decimals, times, addresses or prices', () => {
    assert.deepEqual(splitAnyway('The cleaning costs $89.50 and takes 1.5 hours. Come at 10:30 or see example.com for more.'), [
      'The cleaning costs $89.50 and takes 1.5 hours.',
      'Come at 10:30 or see example.com for more.',
    ]);
  });

  it('treats a.m. / p.m. / etc. as a sentence end only before a capital letter', () => {
    assert.deepEqual(splitAnyway('I have 9 a.m. or 3 p.m. tomorrow. The later slot is at 3 p.m. Which do you prefer?'), [
      'I have 9 a.m. or 3 p.m. tomorrow.',
      'The later slot is at 3 p.m.',
      'Which do you prefer?',
    ]);
  });

  it('does not split before a lower-case word, or after a list number at a line start', () => {
    assert.deepEqual(splitAnyway('We take approx. twenty minutes.\n1. Bring your card.\n2. Arrive early.'), [
      'We take approx. twenty minutes.',
      '1. Bring your card.',
      '2. Arrive early.',
    ]);
  });

  it('joins tiny pieces to the next one', () => {
    assert.deepEqual(splitAnyway('Sure. Okay. Let me check the calendar for you.'), ['Sure. Okay. Let me check the calendar for you.']);
    assert.deepEqual(splitAnyway('Let me check the calendar. Yes.'), ['Let me check the calendar.', 'Yes.']);
  });

  it('eager (default): ends a sentence at the end of a chunk when nothing that follows could change it', () => {
    const s = new SentenceSplitter();
    assert.deepEqual(s.push('Thank you for calling the office.'), ['Thank you for calling the office.']);
    assert.deepEqual(s.push(' How can I help you today? '), ['How can I help you today?']);
    // A title, an abbreviation, a number or an initial at the chunk's end waits for the next chunk.
    for (const [held, next, expected] of [
      ['Please ask for Dr.', ' Smith at the desk. Then', 'Please ask for Dr. Smith at the desk.'],
      ['We open at 9 a.m.', ' on weekdays. Then', 'We open at 9 a.m. on weekdays.'],
      ['The cleaning costs $89.', '50 in total. Then', 'The cleaning costs $89.50 in total.'],
      ['Our dentist is Anna B.', ' Jones, DDS. Then', 'Our dentist is Anna B. Jones, DDS.'],
    ] as const) {
      const t = new SentenceSplitter();
      assert.deepEqual(t.push(held), [], held);
      assert.deepEqual(t.push(next), [expected]);
    }
    // Whole words split like the lazy splitter when chunks end at spaces.
    const text = 'Thank you for calling! Dr. Smith can see you at 3 p.m. tomorrow. The fee is $89.50 in total. Shall I book it?';
    const words = text.match(/\S+\s*/g)!;
    const eager = new SentenceSplitter();
    const out = [...words.flatMap((w) => eager.push(w)), ...eager.flush()];
    assert.deepEqual(out, split(text));
  });

  it('lazy: emits a sentence as soon as the next word has begun, before the answer ends', () => {
    const s = new SentenceSplitter({ eager: false });
    assert.deepEqual(s.push('Let me check that for you.'), []);
    assert.deepEqual(s.push(' '), []);
    assert.deepEqual(s.push('O'), ['Let me check that for you.']);
    assert.deepEqual(s.push('ne moment'), []);
    assert.deepEqual(s.flush(), ['One moment']);
  });

  it('cuts a long run without an end at a comma, else at a space', () => {
    const long = `${'word '.repeat(20)}and then, ${'more '.repeat(30)}`;
    const out = split(long, 4, { maxChars: 120 });
    assert.ok(out.length >= 2, out.join('|'));
    assert.ok(out[0]!.endsWith('and then,'), out[0]);
    for (const piece of out) assert.ok(piece.length <= 120, piece);
    assert.equal(out.join(' '), long.trim());
  });

  it('drops everything on reset (barge-in)', () => {
    const s = new SentenceSplitter();
    s.push('First sentence here. Sec');
    s.reset();
    assert.deepEqual(s.flush(), []);
  });
});
