/**
 * Standard Webhooks signing, checked with the off-the-shelf verifier receivers use (the
 * `standardwebhooks` package), the NOTIFY_SECRET format, the retry schedule and Retry-After,
 * and the payload's shape and size.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { newWebhookId, notifySecretProblem, signingKey, webhookHeaders } from '../../src/notify/sign.js';
import { JITTER, nextRetryDelayMs, retryAfterMs, RETRY_SCHEDULE_MS, MAX_RETRY_AFTER_MS } from '../../src/notify/schedule.js';
import { buildPayload, bodyOf, MAX_BODY_BYTES } from '../../src/notify/payload.js';
import { loadEnv } from '../../src/config/env.js';
import type { CallRecord } from '../../src/transcripts/types.js';
import type { CallAnalysis } from '../../src/transcripts/after-call-store.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

describe('Standard Webhooks signature', () => {
  it('is accepted by the standardwebhooks verifier, and refused when the body, id or key differ', () => {
    const key = signingKey(SECRET);
    const id = newWebhookId();
    const body = JSON.stringify({ type: 'call.completed', timestamp: new Date().toISOString(), data: { callId: 'CA1', summary: 'Grüße – “quotes”' } });
    const headers = webhookHeaders(key, id, Date.now(), body);
    const wh = new Webhook(SECRET);
    assert.deepEqual(wh.verify(body, headers), JSON.parse(body));
    assert.throws(() => wh.verify(body.replace('CA1', 'CA2'), headers));
    assert.throws(() => wh.verify(body, { ...headers, 'webhook-id': newWebhookId() }));
    assert.throws(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(body, headers));
  });

  it('signs the timestamp of the attempt: an old one is refused by the verifier, a retry re-signs', () => {
    const key = signingKey(SECRET);
    const id = newWebhookId();
    const body = '{"type":"call.completed"}';
    const stale = webhookHeaders(key, id, Date.now() - 10 * 60_000, body);
    assert.throws(() => new Webhook(SECRET).verify(body, stale), /timestamp/i);
    const fresh = webhookHeaders(key, id, Date.now(), body);
    assert.equal(fresh['webhook-id'], stale['webhook-id']);
    assert.notEqual(fresh['webhook-timestamp'], stale['webhook-timestamp']);
    new Webhook(SECRET).verify(body, fresh);
  });

  it('gives ids of the form msg_<random>, all different', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newWebhookId()));
    assert.equal(ids.size, 100);
    for (const id of ids) assert.match(id, /^msg_[A-Za-z0-9_-]{32}$/);
  });
});

describe('NOTIFY_SECRET', () => {
  it('accepts whsec_ + base64 of 24 to 64 bytes', () => {
    assert.equal(notifySecretProblem(SECRET), undefined);
    assert.equal(notifySecretProblem(`whsec_${randomBytes(24).toString('base64')}`), undefined);
    assert.equal(notifySecretProblem(`whsec_${randomBytes(64).toString('base64')}`), undefined);
  });

  it('refuses other forms with a message saying what to write', () => {
    assert.match(notifySecretProblem(randomBytes(32).toString('base64'))!, /must start with whsec_/);
    assert.match(notifySecretProblem('whsec_not base64!')!, /not base64/);
    assert.match(notifySecretProblem(`whsec_${randomBytes(8).toString('base64')}`)!, /decodes to 8 bytes/);
    assert.match(notifySecretProblem('whsec_')!, /not base64/);
  });

  it('is validated at boot, naming the variable and not echoing the value', () => {
    assert.throws(
      () => loadEnv({ NOTIFY_SECRET: 'hunter2-hunter2-hunter2' }),
      (err: Error) => /NOTIFY_SECRET: must start with whsec_/.test(err.message) && !err.message.includes('hunter2'),
    );
    assert.equal(loadEnv({ NOTIFY_SECRET: SECRET }).NOTIFY_SECRET, SECRET);
    assert.equal(loadEnv({}).NOTIFY_ALLOW_PRIVATE, false);
    assert.equal(loadEnv({ NOTIFY_ALLOW_PRIVATE: 'true' }).NOTIFY_ALLOW_PRIVATE, true);
  });
});

describe('retry schedule', () => {
  it('follows the Standard Webhooks steps (5 s … 24 h, about three days) and then gives up', () => {
    const middle = () => 0.5;
    const delays = RETRY_SCHEDULE_MS.map((_, i) => nextRetryDelayMs(i + 1, RETRY_SCHEDULE_MS, middle));
    assert.deepEqual(delays, [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000]);
    const total = delays.reduce((a, b) => a! + b!, 0)!;
    assert.ok(total > 3 * 86_400_000 && total < 3.5 * 86_400_000, `total ${total / 3_600_000} h`);
    assert.equal(nextRetryDelayMs(RETRY_SCHEDULE_MS.length + 1), undefined);
    assert.equal(nextRetryDelayMs(0), undefined);
  });

  it('jitters each step within ±15 %', () => {
    assert.equal(nextRetryDelayMs(2, RETRY_SCHEDULE_MS, () => 0), Math.round(300_000 * (1 - JITTER)));
    assert.equal(nextRetryDelayMs(2, RETRY_SCHEDULE_MS, () => 0.999999), Math.round(300_000 * (1 + JITTER * 0.999998)));
  });

  it('reads Retry-After as seconds or an HTTP date, capped at a day', () => {
    const now = Date.UTC(2026, 11, 4, 12);
    assert.equal(retryAfterMs('120', now), 120_000);
    assert.equal(retryAfterMs(new Date(now + 30_000).toUTCString(), now), 30_000);
    assert.equal(retryAfterMs(new Date(now - 30_000).toUTCString(), now), 0);
    assert.equal(retryAfterMs('999999999', now), MAX_RETRY_AFTER_MS);
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
  });
});

const RECORD: CallRecord = {
  callSid: `CA${'a'.repeat(32)}`,
  from: '+15551230001',
  to: '+15559870002',
  flow: 'dental-receptionist',
  flowVersion: 'abc123def456',
  channel: 'phone',
  models: ['m'],
  startedAt: Date.UTC(2026, 11, 4, 9, 0, 0),
  endedAt: Date.UTC(2026, 11, 4, 9, 2, 5),
  durationMs: 125_000,
  outcome: 'ended_by_bot',
  geminiCloses: [],
  reconnects: 0,
  usage: { promptTokens: 0, responseTokens: 0, totalTokens: 0 },
  latency: { turns: [] },
};

const ANALYSIS: CallAnalysis = {
  status: 'ok',
  summary: 'The caller booked a check-up for Tuesday.',
  intent: 'book a check-up',
  resolved: true,
  followUp: true,
  followUpReason: 'asked to be called back about the price',
  sentiment: 'positive',
  fields: { callback_number: '+15551230001', appointment_booked: true, reason: 'booking' },
  model: 'gemini-3.8-flash',
  promptVersion: 'p1',
  analysedAtMs: Date.UTC(2026, 11, 4, 9, 2, 9),
};

describe('payload', () => {
  it('has type, an ISO timestamp and the call, analysis and link under data (no transcript)', () => {
    const now = Date.UTC(2026, 11, 4, 9, 2, 10);
    const p = buildPayload('call.completed', RECORD, ANALYSIS, 'https://bot.example.com', now);
    assert.equal(p.type, 'call.completed');
    assert.equal(p.timestamp, '2026-12-04T09:02:10.000Z');
    assert.deepEqual(p.data, {
      callId: RECORD.callSid,
      flow: 'dental-receptionist',
      flowVersion: 'abc123def456',
      from: '+15551230001',
      to: '+15559870002',
      channel: 'phone',
      startedAt: '2026-12-04T09:00:00.000Z',
      endedAt: '2026-12-04T09:02:05.000Z',
      durationMs: 125_000,
      outcome: 'ended_by_bot',
      outcomeDetail: null,
      flag: null,
      analysis: { status: 'ok', model: 'gemini-3.8-flash', promptVersion: 'p1', error: null },
      summary: ANALYSIS.summary,
      intent: 'book a check-up',
      resolved: true,
      followUp: true,
      followUpReason: 'asked to be called back about the price',
      sentiment: 'positive',
      fields: ANALYSIS.fields,
      url: `https://bot.example.com/calls/${RECORD.callSid}`,
    });
  });

  it('says so when the analysis failed or was skipped, and keeps the declared fields null', () => {
    const failed: CallAnalysis = { ...ANALYSIS, status: 'failed', summary: '', intent: '', followUp: false, followUpReason: null, fields: { reason: null }, error: 'Gemini answered 503 three times' };
    const p = buildPayload('call.completed', { ...RECORD, followUp: { level: 'red', reasons: ['The transfer failed.'] } }, failed, 'http://127.0.0.1:8080', 0);
    assert.deepEqual(p.data.analysis, { status: 'failed', model: 'gemini-3.8-flash', promptVersion: 'p1', error: 'Gemini answered 503 three times' });
    assert.equal(p.data.summary, null);
    assert.equal(p.data.followUp, false);
    assert.deepEqual(p.data.fields, { reason: null });
    assert.deepEqual(p.data.flag, { level: 'red', reasons: ['The transfer failed.'] });
  });

  it('stays under 20 kB with huge texts, keeping ids and the link whole', () => {
    const long = 'x'.repeat(50_000);
    const fields = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field_${i}`, long]));
    const p = buildPayload('call.needs_follow_up', RECORD, { ...ANALYSIS, summary: long, followUpReason: long, fields }, 'https://bot.example.com', 0);
    const bytes = Buffer.byteLength(bodyOf(p));
    assert.ok(bytes <= MAX_BODY_BYTES, `${bytes} bytes`);
    assert.equal(p.data.callId, RECORD.callSid);
    assert.equal(p.data.url, `https://bot.example.com/calls/${RECORD.callSid}`);
    assert.ok(p.data.summary!.endsWith('…'));
    assert.equal(Object.keys(p.data.fields).length, 40);
  });
});
