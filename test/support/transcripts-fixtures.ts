/**
 * A realistic call for tests and demos: a restaurant booking with a barge-in, a tool timeout, a
 * Gemini 1011 close and resumption, a booking, a stage change, a DTMF press and a bot goodbye.
 *
 *   const { record, events } = seedDemoCall(writer, { callSid: 'CA…', startedAt });
 *   await writer.flush();
 */
import type { CallLog, TranscriptWriter } from '../../src/transcripts/writer.js';
import type { CallEvent, CallEventBody, CallRecord } from '../../src/transcripts/types.js';

export const DEMO_MODEL = 'gemini-2.5-flash-native-audio-preview-09-2025';

/** A plausible Twilio CallSid: "CA" + 32 hex digits derived from n. */
export function demoCallSid(n: number): string {
  return `CA${n.toString(16).padStart(32, '0')}`;
}

export function demoRecord(overrides: Partial<CallRecord> = {}): CallRecord {
  const startedAt = overrides.startedAt ?? Date.UTC(2025, 5, 10, 18, 4, 12);
  return {
    callSid: demoCallSid(1),
    streamSid: 'MZ00000000000000000000000000000001',
    accountSid: 'AC00000000000000000000000000000001',
    from: '+447700900123',
    to: '+442079460958',
    flow: 'bookings',
    models: [DEMO_MODEL],
    startedAt,
    answeredAt: startedAt + 150,
    outcome: 'in_progress',
    geminiCloses: [],
    reconnects: 0,
    usage: { promptTokens: 0, responseTokens: 0, totalTokens: 0 },
    latency: { turns: [] },
    ...overrides,
  };
}

/** The demo conversation: [atMs, event body]. */
export const DEMO_EVENTS: readonly (readonly [number, CallEventBody])[] = [
  [310, { kind: 'stage_change', to: 'greeting', reason: 'call answered' }],
  [920, { kind: 'bot_utterance', text: 'Hello, thanks for calling Trattoria Bella. How can I help you today?', heardMs: 3400, sentMs: 3400, interrupted: false }],
  [4810, { kind: 'caller_utterance', text: "Hi, I'd like to book a table for four people on Friday evening, around half past seven." }],
  [5020, { kind: 'stage_change', from: 'greeting', to: 'booking', reason: 'caller wants to book' }],
  [
    5400,
    {
      kind: 'function_call',
      id: 'fc-1',
      name: 'check_availability',
      args: { date: '2025-06-13', time: '19:30', partySize: 4 },
      status: 'ok',
      result: { available: true, slots: ['19:00', '19:30', '20:15'] },
      latencyMs: 240,
    },
  ],
  [6120, { kind: 'bot_utterance', text: 'Good news, we have a table for four at 7:30 on Friday. Shall I book it under your name?', heardMs: 1200, sentMs: 3400, interrupted: true }],
  [7350, { kind: 'caller_utterance', text: "Actually, could we make it eight o'clock instead?" }],
  [
    8100,
    {
      kind: 'function_call',
      id: 'fc-2',
      name: 'check_availability',
      args: { date: '2025-06-13', time: '20:00', partySize: 4 },
      status: 'timeout',
      error: 'no answer from the booking system within 5000 ms',
      errorCode: 'CB_TOOL_TIMEOUT',
      latencyMs: 5000,
    },
  ],
  [13200, { kind: 'gemini_close', code: 1011, reason: 'Internal error encountered.', errorCode: 'CB_GEMINI_INTERNAL', model: DEMO_MODEL }],
  [14050, { kind: 'reconnect', model: DEMO_MODEL, resumed: true, silenceMs: 850 }],
  [14600, { kind: 'bot_utterance', text: "Sorry for the wait. Eight o'clock is taken, but I can offer 8:15. Would that work?", heardMs: 4100, sentMs: 4100, interrupted: false }],
  [19300, { kind: 'caller_utterance', text: "Yes, 8:15 is perfect. It's Maria Rossi, and my number is 07700 900123." }],
  [
    20100,
    {
      kind: 'function_call',
      id: 'fc-3',
      name: 'create_booking',
      args: { name: 'Maria Rossi', date: '2025-06-13', time: '20:15', partySize: 4, phone: '07700 900123' },
      status: 'ok',
      result: { bookingRef: 'TB-4821', confirmed: true },
      latencyMs: 310,
    },
  ],
  [20500, { kind: 'stage_change', from: 'booking', to: 'wrap_up', reason: 'booking confirmed' }],
  [20700, { kind: 'bot_utterance', text: "You're all set, Maria: a table for four on Friday at 8:15, reference TB 4821. If you'd like a text confirmation, press 1.", heardMs: 6900, sentMs: 6900, interrupted: false }],
  [28400, { kind: 'dtmf', digit: '1' }],
  [28450, { kind: 'note', text: 'SMS confirmation requested' }],
  [29100, { kind: 'caller_utterance', text: "No, that's everything. Thank you so much!" }],
  [30300, { kind: 'bot_utterance', text: 'Thank you for calling Trattoria Bella. See you on Friday, goodbye!', heardMs: 2900, sentMs: 2900, interrupted: false }],
];

export interface SeedOptions extends Partial<CallRecord> {
  /** Redact stored text for this call. */
  redact?: boolean;
  /** Leave the call open (no close()). */
  open?: boolean;
}

export interface SeededCall {
  log: CallLog;
  /** The record as the writer will store it (after close). */
  record: CallRecord;
  /** The events as enqueued (before any redaction), in order. */
  events: CallEvent[];
}

/** Enqueues the demo call on `writer` (await writer.flush() to have it stored). */
export function seedDemoCall(writer: TranscriptWriter, overrides: SeedOptions = {}): SeededCall {
  const { redact, open, ...recordOverrides } = overrides;
  const initial = demoRecord(recordOverrides);
  const log = writer.openCall(initial, redact === undefined ? {} : { redact });
  const events: CallEvent[] = [];
  for (const [atMs, body] of DEMO_EVENTS) {
    log.event(body, atMs);
    events.push({ ...body, atMs });
  }
  log.update({
    geminiCloses: [{ atMs: 13200, code: 1011, reason: 'Internal error encountered.', errorCode: 'CB_GEMINI_INTERNAL', model: DEMO_MODEL }],
    reconnects: 1,
    usage: { promptTokens: 4120, responseTokens: 1630, totalTokens: 5750 },
    latency: {
      firstBotAudioMs: 770,
      turns: [
        { callerStopMs: 4700, firstBotAudioMs: 5320, latencyMs: 620 },
        { callerStopMs: 7200, firstBotAudioMs: 14600, latencyMs: 7400 },
        { callerStopMs: 19100, firstBotAudioMs: 19780, latencyMs: 680 },
        { callerStopMs: 28900, firstBotAudioMs: 29450, latencyMs: 550 },
      ],
    },
  });
  if (!open) {
    log.close({
      endedAt: initial.startedAt + 33_500,
      durationMs: 33_500,
      outcome: 'ended_by_bot',
      outcomeDetail: { reason: 'goodbye after booking' },
      ...recordOverrides,
    });
  }
  return { log, record: { ...log.record }, events };
}
