import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redactEvent, redactText, redactValue } from '../../src/transcripts/redact.js';

describe('redaction of stored text', () => {
  const cases: [string, string][] = [
    // Card numbers, however they are written.
    ['My card number is 4111 1111 1111 1111, expiry 12/27.', 'My card number is •••• •••• •••• ••••, expiry 12/27.'],
    ['It is 4111-1111-1111-1111.', 'It is ••••-••••-••••-••••.'],
    ['card 4111111111111111 cvv 123', 'card •••••••••••••••• cvv 123'],
    ['four one one one, sorry: 4 1 1 1 1 1 1 1', 'four one one one, sorry: • • • • • • • •'],
    // Phone numbers.
    ['You can reach me on 07700 900123 after six.', 'You can reach me on ••••• •••••• after six.'],
    ['Call +44 (0)20 7946-0958 please', 'Call +•• (•)•• ••••-•••• please'],
    ['My cell is 555.123.4567.', 'My cell is •••.•••.••••.'],
    ['my number is oh seven seven double oh nine double oh one two three', 'my number is • • • • • • • • • • •'],
    // Account and booking numbers of 5+ digits.
    ['Order number 58213, please.', 'Order number •••••, please.'],
    // Short numbers stay readable.
    ['A table for 2 people at 9:30 tomorrow, or 19:45 on Friday.', 'A table for 2 people at 9:30 tomorrow, or 19:45 on Friday.'],
    ['We are open 24/7 and it costs £250.00, or 1,250 for ten.', 'We are open 24/7 and it costs £250.00, or 1,250 for ten.'],
    ['Room 12, 3 nights, 2 adults and 1 child, checking in 2025-06-13.', 'Room 12, 3 nights, 2 adults and 1 child, checking in 2025-06-13.'],
    ['See you at 7 30 on 13.06.2025, reference TB 4821.', 'See you at 7 30 on 13.06.2025, reference TB 4821.'],
    ['one two three, and four', 'one two three, and four'],
    ['It was 250.00.', 'It was 250.00.'],
  ];
  for (const [input, expected] of cases) {
    it(`"${input}"`, () => assert.equal(redactText(input), expected));
  }

  it('redacts strings and long integers inside tool arguments and results', () => {
    assert.deepEqual(redactValue({ phone: '07700 900123', card: 4111111111111111, party: 4, tags: ['vip', '123456'], ok: true, none: null }), {
      phone: '••••• ••••••', card: '••••••••••••••••', party: 4, tags: ['vip', '••••••'], ok: true, none: null,
    });
  });

  it('masks DTMF digits but keeps * and #, leaves other event kinds alone', () => {
    assert.deepEqual(redactEvent({ kind: 'dtmf', digit: '7' }), { kind: 'dtmf', digit: '•' });
    assert.deepEqual(redactEvent({ kind: 'dtmf', digit: '#' }), { kind: 'dtmf', digit: '#' });
    const stage = { kind: 'stage_change', from: 'a', to: 'b', reason: 'pressed 12345' } as const;
    assert.equal(redactEvent(stage), stage);
    assert.deepEqual(redactEvent({ kind: 'error', code: 'CB_TOOL_FAILED', message: 'card 4111111111111111 declined' }), {
      kind: 'error', code: 'CB_TOOL_FAILED', message: 'card •••••••••••••••• declined',
    });
  });
});
