import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERRORS } from '../../src/shared/errors.js';
import { explainCodes, formatDuration, formatOffset, latencySummary, percentile, toJsonExport, toTextExport } from '../../src/transcripts/format.js';
import type { StoredCallEvent } from '../../src/transcripts/store.js';
import { DEMO_EVENTS, demoRecord } from '../support/transcripts-fixtures.js';

const record = demoRecord({
  outcome: 'ended_by_bot',
  durationMs: 33_500,
  latency: {
    firstBotAudioMs: 770,
    turns: [620, 7400, 680, 550].map((latencyMs, i) => ({ callerStopMs: i * 1000, firstBotAudioMs: i * 1000 + latencyMs, latencyMs })),
  },
});
const events: StoredCallEvent[] = DEMO_EVENTS.map(([atMs, body], i) => ({ ...body, atMs, seq: i + 1 }));

describe('call exports', () => {
  it('computes nearest-rank percentiles and the latency summary', () => {
    assert.equal(percentile([], 50), undefined);
    assert.equal(percentile([5], 95), 5);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 5);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 10);
    assert.deepEqual(latencySummary(record), { turns: 4, firstBotAudioMs: 770, p50Ms: 620, p95Ms: 7400, maxMs: 7400 });
  });

  it('formats durations and offsets', () => {
    assert.equal(formatDuration(640), '640 ms');
    assert.equal(formatDuration(4200), '4.2 s');
    assert.equal(formatDuration(83_400), '1m 23s');
    assert.equal(formatDuration(undefined), '—');
    assert.equal(formatOffset(83_400), '01:23.4');
  });

  it('writes a readable text transcript with every kind of event and the errors explained', () => {
    const text = toTextExport(record, events);
    const expectedLines = [
      `Call ${record.callSid}`,
      'Outcome:    Ended by bot',
      'Latency:    first bot audio 770 ms, turn p50 620 ms, p95 7.4 s over 4 turns',
      '[00:00.9] Bot: Hello, thanks for calling Trattoria Bella. How can I help you today?',
      "[00:04.8] Caller: Hi, I'd like to book a table for four people on Friday evening, around half past seven.",
      '[00:05.0] Stage greeting → booking (caller wants to book)',
      '[00:05.4] Function check_availability({"date":"2025-06-13","time":"19:30","partySize":4}) → ok in 240 ms: {"available":true,"slots":["19:00","19:30","20:15"]}',
      '[00:06.1] Bot (interrupted, heard 1.2 s of 3.4 s): Good news, we have a table for four at 7:30 on Friday. Shall I book it under your name?',
      '[00:08.1] Function check_availability({"date":"2025-06-13","time":"20:00","partySize":4}) → timeout in 5.0 s [CB_TOOL_TIMEOUT]: no answer from the booking system within 5000 ms',
      '[00:13.2] Voice agent connection closed: 1011 Internal error encountered. [CB_GEMINI_INTERNAL] (gemini-2.5-flash-native-audio-preview-09-2025)',
      '[00:14.1] Reconnected to gemini-2.5-flash-native-audio-preview-09-2025 (session resumed, 850 ms of silence)',
      '[00:28.4] Caller pressed 1',
      '[00:28.5] Note: SMS confirmation requested',
      `  CB_GEMINI_INTERNAL: ${ERRORS.CB_GEMINI_INTERNAL.explanation}`,
      `    Fix: ${ERRORS.CB_TOOL_TIMEOUT.fix}`,
    ];
    const lines = text.split('\n');
    for (const line of expectedLines) assert.ok(lines.includes(line), `missing line: ${line}\n---\n${text}`);
  });

  it('exports JSON with the record, latency and every event', () => {
    const out = toJsonExport(record, events, Date.UTC(2025, 6, 1));
    assert.equal(out.format, 'callbridge.call');
    assert.equal(out.version, 1);
    assert.equal(out.exportedAt, '2025-07-01T00:00:00.000Z');
    assert.deepEqual(out.call, record);
    assert.equal(out.events.length, DEMO_EVENTS.length);
    assert.deepEqual(JSON.parse(JSON.stringify(out)).events[4], events[4]);
  });

  it('explains only the catalogue codes the call used', () => {
    assert.deepEqual(Object.keys(explainCodes(record, events)), ['CB_GEMINI_INTERNAL', 'CB_TOOL_TIMEOUT']);
  });
});
