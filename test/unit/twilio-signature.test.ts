import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import twilio from 'twilio';
import {
  normalizePublicBaseUrl,
  publicRequestUrl,
  verifyUpgradeSignature,
  verifyWebhookSignature,
} from '../../src/twilio/signature.js';
import { StreamTokens } from '../../src/twilio/stream-token.js';

const TOKEN = '12345678901234567890123456789012';

/** The documented algorithm (docs/twilio-media-streams.md §4.1), written out independently. */
function documentedSignature(url: string, params: Record<string, string>): string {
  const data = Object.keys(params).sort().reduce((acc, k) => acc + k + params[k], url);
  return createHmac('sha1', TOKEN).update(data).digest('base64');
}

describe('webhook signatures', () => {
  const url = 'https://bot.example.com/twilio/voice?tenant=acme';
  const params = { CallSid: 'CA123', From: '+15552223333', To: '+15550001111', AccountSid: 'AC1' };

  it('accepts a signature made by twilio-node and by the documented algorithm', () => {
    const sig = twilio.getExpectedTwilioSignature(TOKEN, url, params);
    assert.equal(sig, documentedSignature(url, params));
    assert.ok(verifyWebhookSignature(TOKEN, sig, url, params), 'verifyWebhookSignature(TOKEN, sig, url, params)');
  });

  it('refuses a missing, wrong or replayed-elsewhere signature', () => {
    const sig = documentedSignature(url, params);
    assert.ok(!verifyWebhookSignature(TOKEN, undefined, url, params), '!verifyWebhookSignature(TOKEN, undefined, url, params)');
    assert.ok(!verifyWebhookSignature(TOKEN, '', url, params), '!verifyWebhookSignature(TOKEN, \'\', url, params)');
    assert.ok(!verifyWebhookSignature(TOKEN, ['a', 'b'], url, params), '!verifyWebhookSignature(TOKEN, [\'a\', \'b\'], url, params)');
    assert.ok(!verifyWebhookSignature(TOKEN, sig, url, { ...params, To: '+15550009999' }), '!verifyWebhookSignature(TOKEN, sig, url, { ...params, To: \'+15550009999\' })');
    assert.ok(!verifyWebhookSignature(TOKEN, sig, 'https://bot.example.com/twilio/voice', params), '!verifyWebhookSignature(TOKEN, sig, \'https://bot.example.com/twilio/voice\', params)');
    assert.ok(!verifyWebhookSignature('another-token-another-token-0000', sig, url, params), '!verifyWebhookSignature(\'another-token-another-token-0000\', sig, url, params)');
  });

  it('the public URL comes from the configured base, never the request', () => {
    assert.equal(publicRequestUrl('https://bot.example.com', '/twilio/voice?x=1'), 'https://bot.example.com/twilio/voice?x=1');
    assert.equal(normalizePublicBaseUrl('https://bot.example.com/'), 'https://bot.example.com');
    assert.throws(() => normalizePublicBaseUrl('bot.example.com'), /absolute/);
    assert.throws(() => normalizePublicBaseUrl('ftp://bot.example.com'), /http/);
    assert.throws(() => normalizePublicBaseUrl('https://bot.example.com/?a=1'), /query/);
  });
});

describe('upgrade signatures (wss URL, empty params)', () => {
  const wss = 'wss://bot.example.com/twilio/media';
  it('accepts the signature of the wss URL as written in the TwiML', () => {
    const sig = documentedSignature(wss, {});
    assert.ok(verifyUpgradeSignature(TOKEN, sig, wss, '/twilio/media'), 'verifyUpgradeSignature(TOKEN, sig, wss, \'/twilio/media\')');
  });
  it('refuses the https form, a query string, or no signature', () => {
    const httpsSig = documentedSignature('https://bot.example.com/twilio/media', {});
    assert.ok(!verifyUpgradeSignature(TOKEN, httpsSig, wss, '/twilio/media'), '!verifyUpgradeSignature(TOKEN, httpsSig, wss, \'/twilio/media\')');
    const sig = documentedSignature(wss, {});
    assert.ok(!verifyUpgradeSignature(TOKEN, sig, wss, '/twilio/media?x=1'), '!verifyUpgradeSignature(TOKEN, sig, wss, \'/twilio/media?x=1\')');
    assert.ok(!verifyUpgradeSignature(TOKEN, undefined, wss, '/twilio/media'), '!verifyUpgradeSignature(TOKEN, undefined, wss, \'/twilio/media\')');
  });
});

describe('per-call stream tokens', () => {
  it('verifies for its CallSid only', () => {
    const tokens = new StreamTokens();
    const t = tokens.issue('CA1');
    assert.deepEqual(tokens.verify(t, 'CA1'), { ok: true });
    assert.deepEqual(tokens.verify(t, 'CA2'), { ok: false, reason: 'mismatch' });
  });

  it('is bound to the secret: another process (another random secret) refuses it; a shared secret accepts', () => {
    const t = new StreamTokens().issue('CA1');
    assert.deepEqual(new StreamTokens().verify(t, 'CA1'), { ok: false, reason: 'mismatch' });
    const secret = 'shared-secret-shared-secret-0123';
    assert.deepEqual(new StreamTokens({ secret }).verify(new StreamTokens({ secret }).issue('CA1'), 'CA1'), { ok: true });
  });

  it('expires', () => {
    let now = 1_000_000;
    const tokens = new StreamTokens({ ttlMs: 1000, now: () => now });
    const t = tokens.issue('CA1');
    now += 999;
    assert.equal(tokens.verify(t, 'CA1').ok, true);
    now += 2;
    assert.deepEqual(tokens.verify(t, 'CA1'), { ok: false, reason: 'expired' });
  });

  it('a forged expiry breaks the MAC; malformed and missing tokens are named', () => {
    let now = 0;
    const tokens = new StreamTokens({ ttlMs: 1000, now: () => now });
    const [v, , mac] = tokens.issue('CA1').split('.');
    now = 5000;
    assert.deepEqual(tokens.verify(`${v}.${(99999).toString(36)}.${mac}`, 'CA1'), { ok: false, reason: 'mismatch' });
    assert.deepEqual(tokens.verify(undefined, 'CA1'), { ok: false, reason: 'missing' });
    assert.deepEqual(tokens.verify('', 'CA1'), { ok: false, reason: 'missing' });
    assert.deepEqual(tokens.verify('v1.zz', 'CA1'), { ok: false, reason: 'malformed' });
    assert.deepEqual(tokens.verify('v2.1.' + 'a'.repeat(43), 'CA1'), { ok: false, reason: 'malformed' });
    assert.throws(() => new StreamTokens({ secret: 'short' }), /16 bytes/);
  });
});
