/**
 * The follow-up rules (src/call/follow-up.ts) as a table: how a call ended and what happened in
 * it → no flag, amber or red, with the reasons a business reads in /calls.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { followUpFor, FollowUpWatch, type FollowUpInput } from '../../src/call/follow-up.js';
import type { CallEventBody } from '../../src/transcripts/types.js';

const fn = (name: string, status: Extract<CallEventBody, { kind: 'function_call' }>['status'], extra: Partial<Extract<CallEventBody, { kind: 'function_call' }>> = {}): CallEventBody => ({
  kind: 'function_call', id: `id-${name}`, name, args: {}, status, latencyMs: 5, ...extra,
});
const said = (text: string): CallEventBody => ({ kind: 'caller_utterance', text });

interface Row {
  name: string;
  input: FollowUpInput;
  level: 'amber' | 'red' | undefined;
  /** Each must appear (as a substring) in the reason at the same index. */
  reasons?: string[];
}

const ROWS: Row[] = [
  { name: 'a plain completed call', input: { outcome: 'completed', events: [said('hello'), fn('check_calendar', 'ok')] }, level: undefined },
  { name: 'the bot ended the call', input: { outcome: 'ended_by_bot', outcomeDetail: { reason: 'appointment booked' }, events: [] }, level: undefined },
  { name: 'the caller hung up', input: { outcome: 'caller_hung_up', events: [] }, level: undefined },
  {
    name: 'a successful transfer',
    input: { outcome: 'transferred', outcomeDetail: { transferTarget: 'front-desk (+15550100300)' }, events: [{ kind: 'transfer', target: 'front-desk (+15550100300)' }] },
    level: undefined,
  },
  { name: 'a cancelled function (the agent withdrew it)', input: { outcome: 'completed', events: [fn('lookup', 'cancelled')] }, level: undefined },
  {
    name: 'a function that failed',
    input: { outcome: 'ended_by_bot', events: [fn('book_appointment', 'error', { error: 'the calendar is down' })] },
    level: 'amber',
    reasons: ['The function book_appointment failed: the calendar is down.'],
  },
  { name: 'a function that timed out', input: { outcome: 'completed', events: [fn('lookup_order', 'timeout')] }, level: 'amber', reasons: ['lookup_order timed out'] },
  { name: 'a function refused', input: { outcome: 'completed', events: [fn('lookup_order', 'rejected', { error: 'bad order number' })] }, level: 'amber', reasons: ['lookup_order was refused'] },
  {
    name: 'the same failure twice is one reason',
    input: { outcome: 'completed', events: [fn('lookup', 'error', { error: 'x' }), fn('lookup', 'error', { error: 'x' })] },
    level: 'amber',
    reasons: ['The function lookup failed: x.'],
  },
  {
    name: 'closed hours, message only',
    input: { outcome: 'completed', outcomeDetail: { reason: 'outside business hours' }, events: [] },
    level: 'amber',
    reasons: ['closed-hours message.'],
  },
  {
    name: 'closed hours with a transfer',
    input: { outcome: 'transferred', outcomeDetail: { reason: 'outside business hours', transferTarget: 'on-call (+15550100999)' }, events: [] },
    level: 'amber',
    reasons: ['closed-hours message and was transferred to on-call (+15550100999).'],
  },
  {
    name: 'the time limit',
    input: { outcome: 'ended_by_bot', events: [{ kind: 'error', code: 'CB_CALL_MAX_DURATION', message: 'the call reached 60 s' }] },
    level: 'amber',
    reasons: ['time limit'],
  },
  {
    name: 'the apology, then hang-up',
    input: { outcome: 'failed', outcomeDetail: { reason: 'voice agent unavailable', errorCode: 'CB_CALL_GEMINI_UNAVAILABLE' }, events: [] },
    level: 'red',
    reasons: ['The voice agent became unavailable (CB_CALL_GEMINI_UNAVAILABLE): the caller heard the apology.'],
  },
  {
    name: 'the apology, then a transfer',
    input: { outcome: 'transferred', outcomeDetail: { reason: 'voice agent unavailable', transferTarget: 'front-desk (+15550100300)' }, events: [] },
    level: 'red',
    reasons: ['apology, then was transferred to front-desk (+15550100300)'],
  },
  {
    name: 'a failed call',
    input: { outcome: 'failed', outcomeDetail: { errorCode: 'CB_CALL_NO_STREAM', reason: 'no media stream followed the webhook' }, events: [] },
    level: 'red',
    reasons: ['The call failed (CB_CALL_NO_STREAM): no media stream followed the webhook.'],
  },
  {
    name: 'a transfer that failed at Twilio',
    input: {
      outcome: 'ended_by_bot',
      events: [{ kind: 'transfer', target: 'front-desk (+15550100300)' }, said('hello?'), { kind: 'error', code: 'CB_TWILIO_REST_FAILED', message: 'Twilio answered 404' }],
    },
    level: 'red',
    reasons: ['The transfer to front-desk (+15550100300) failed: Twilio answered 404.'],
  },
  {
    name: 'a flow transfer impossible on this line',
    input: { outcome: 'completed', events: [{ kind: 'error', code: 'CB_TWILIO_REST_FAILED', message: 'cannot transfer to front-desk: this line cannot transfer calls' }] },
    level: 'red',
    reasons: ['A transfer could not happen: cannot transfer to front-desk'],
  },
  {
    name: 'transfer_call refused because the line cannot transfer',
    input: { outcome: 'completed', events: [fn('transfer_call', 'error', { args: { target: 'front-desk' }, error: 'Transfers are not available on this line right now' })] },
    level: 'red',
    reasons: ['tried to transfer the caller to front-desk, but the transfer failed: Transfers are not available'],
  },
  {
    name: 'red and amber together: red first, level red',
    input: {
      outcome: 'failed',
      outcomeDetail: { reason: 'voice agent unavailable' },
      events: [fn('book', 'timeout'), { kind: 'error', code: 'CB_CALL_GEMINI_UNAVAILABLE', message: 'gone' }],
    },
    level: 'red',
    reasons: ['The voice agent became unavailable', 'The function book timed out.'],
  },
  {
    name: 'an error after a successful transfer is not a transfer failure when it is call-level',
    input: { outcome: 'transferred', events: [{ kind: 'transfer', target: 'desk (+15550100300)' }, { kind: 'error', code: 'CB_CALL_SHUTDOWN', message: 'server shutting down' }] },
    level: undefined,
  },
];

describe('follow-up rules', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const f = followUpFor(row.input);
      assert.equal(f?.level, row.level, JSON.stringify(f));
      if (row.reasons) {
        assert.equal(f!.reasons.length, row.reasons.length, JSON.stringify(f!.reasons));
        row.reasons.forEach((r, i) => assert.ok(f!.reasons[i]!.includes(r), `reason ${i}: ${f!.reasons[i]} should contain ${r}`));
      }
    });
  }
});

describe('FollowUpWatch', () => {
  it('keeps only the events that matter and gives the patch at the end', () => {
    const watch = new FollowUpWatch();
    watch.observe(said('I want to book'));
    watch.observe({ kind: 'bot_utterance', text: 'Sure', heardMs: 100, sentMs: 100, interrupted: false });
    watch.observe(fn('book_appointment', 'error', { error: 'no slot' }));
    assert.deepEqual(watch.patch('ended_by_bot', {}), { followUp: { level: 'amber', reasons: ['The function book_appointment failed: no slot.'] } });
    assert.deepEqual(new FollowUpWatch().patch('completed', {}), {});
  });
});
