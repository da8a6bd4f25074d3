/**
 * Attack: replay a media stream's `start` with the stream token it already used, or pick a flow
 * by changing the unsigned `flow` stream parameter. Before: a token stayed valid for 5 minutes,
 * could be used again, and covered the CallSid only. Now: single use, and its MAC covers every
 * stream parameter; both are closed (1008) with CB_TWILIO_STREAM_TOKEN_INVALID logged.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import twilio from 'twilio';
import WebSocket from 'ws';
import { startEdge, loopbackHandler, AUTH_TOKEN, ACCOUNT_SID, type Edge } from '../integration/twilio-harness.js';
import { StreamTokens } from '../../src/twilio/stream-token.js';

const PUBLIC = 'https://bot.example.test';
const WSS = `${PUBLIC.replace('https', 'wss')}/twilio/media`;
const CALL_SID = 'CA' + 'a1'.repeat(16);
let edge: Edge | undefined;

afterEach(async () => {
  await edge?.close();
  edge = undefined;
});

async function webhook(e: Edge): Promise<Record<string, string>> {
  const form = { CallSid: CALL_SID, AccountSid: ACCOUNT_SID, From: '+15552223333', To: '+15550001111' };
  const res = await fetch(`${e.serverUrl}/twilio/voice`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC}/twilio/voice`, form) },
    body: new URLSearchParams(form).toString(),
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  return Object.fromEntries([...body.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

/** Opens a signed media socket, sends `start` with these parameters; resolves with the close code, or 0 if still open after `settleMs`. */
async function streamWith(e: Edge, customParameters: Record<string, string>, streamNo: number): Promise<number> {
  const ws = new WebSocket(`${e.serverUrl.replace('http', 'ws')}/twilio/media`, { headers: { 'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, WSS, {}) } });
  await once(ws, 'open');
  const streamSid = 'MZ' + String(streamNo).padStart(32, '0');
  const started = e.logs.length;
  ws.send(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid, start: { accountSid: ACCOUNT_SID, streamSid, callSid: CALL_SID, tracks: ['inbound'], customParameters, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } }));
  // The edge answers a start synchronously: it either logs "media stream started" or closes the socket.
  const closed = once(ws, 'close').then(([code]) => code as number);
  const accepted = new Promise<number>((resolve) => {
    const poll = setInterval(() => {
      if (e.logs.slice(started).some((l) => l.msg === 'media stream started' && l['streamSid'] === streamSid)) {
        clearInterval(poll);
        resolve(0);
      }
    }, 5);
    void closed.then(() => clearInterval(poll));
  });
  const code = await Promise.race([closed, accepted]);
  if (code === 0) ws.terminate();
  return code;
}

describe('security: stream tokens are single use and cover the flow', () => {
  it('a replayed start with a used token is closed with a logged code, the first was accepted', async () => {
    const { handler, record } = loopbackHandler({ parameters: { flow: 'support' } });
    edge = await startEdge({ handler, publicBaseUrl: PUBLIC });
    const params = await webhook(edge);
    assert.equal(await streamWith(edge, params, 1), 0, 'the first start is accepted');
    assert.equal(await streamWith(edge, params, 2), 1008, 'the replayed start is closed');
    assert.equal(record.streams.length, 1, 'only the first stream reached the handler');
    const refusal = edge.logs.find((l) => l.code === 'CB_TWILIO_STREAM_TOKEN_INVALID');
    assert.equal(refusal?.['reason'], 'replayed');
  });

  it('changing the flow parameter (or adding one) breaks the token', async () => {
    const { handler, record } = loopbackHandler({ parameters: { flow: 'support' } });
    edge = await startEdge({ handler, publicBaseUrl: PUBLIC });
    const params = await webhook(edge);
    assert.equal(params['flow'], 'support');
    assert.equal(await streamWith(edge, { ...params, flow: 'admin-tools' }, 1), 1008, 'another flow is refused');
    assert.equal(await streamWith(edge, { ...params, afterHours: 'skip' }, 2), 1008, 'an extra parameter is refused');
    const { flow: _dropped, ...withoutFlow } = params;
    assert.equal(await streamWith(edge, withoutFlow, 3), 1008, 'a dropped parameter is refused');
    assert.equal(record.streams.length, 0);
    assert.deepEqual(edge.logs.filter((l) => l.code === 'CB_TWILIO_STREAM_TOKEN_INVALID').map((l) => l['reason']), ['mismatch', 'mismatch', 'mismatch']);
    // The refused attempts did not use the token up: the genuine stream still gets through once.
    assert.equal(await streamWith(edge, params, 4), 0);
    assert.equal(record.streams[0]?.customParameters['flow'], 'support');
  });
});

describe('security: StreamTokens.redeem', () => {
  it('is single use; verify does not use a token up; used tokens are forgotten once expired', () => {
    let now = 1_000_000;
    const tokens = new StreamTokens({ ttlMs: 1000, now: () => now });
    const t = tokens.issue(CALL_SID, { flow: 'a' });
    assert.deepEqual(tokens.verify(t, CALL_SID, { flow: 'a' }), { ok: true });
    assert.deepEqual(tokens.redeem(t, CALL_SID, { flow: 'b' }), { ok: false, reason: 'mismatch' });
    assert.deepEqual(tokens.redeem(t, CALL_SID, { flow: 'a' }), { ok: true });
    assert.deepEqual(tokens.redeem(t, CALL_SID, { flow: 'a' }), { ok: false, reason: 'replayed' });
    assert.equal(tokens.usedCount, 1);
    now += 2000;
    assert.deepEqual(tokens.redeem(t, CALL_SID, { flow: 'a' }), { ok: false, reason: 'expired' });
    tokens.redeem(tokens.issue(CALL_SID), CALL_SID);
    assert.equal(tokens.usedCount, 1, 'the expired token was pruned, the new one kept');
  });

  it('parameter order does not matter; names and values cannot be shifted into each other', () => {
    const tokens = new StreamTokens();
    const t = tokens.issue(CALL_SID, { a: '1', b: '2' });
    assert.equal(tokens.verify(t, CALL_SID, { b: '2', a: '1' }).ok, true);
    const u = tokens.issue(CALL_SID, { a: '1.b' });
    assert.equal(tokens.verify(u, CALL_SID, { a: '1', b: '' }).ok, false);
  });
});
