/**
 * The Twilio edge with several instances (docs/scale-out.md, "Several instances"): INSTANCE_URL
 * puts this instance's own wss URL in the TwiML, an upgrade signed for it or for the public URL is
 * accepted (one signed for another instance's URL is not), and a stream token redeemed on one
 * instance is refused on another sharing the secret and the ledger.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import twilio from 'twilio';
import WebSocket from 'ws';
import { startEdge, loopbackHandler, AUTH_TOKEN, ACCOUNT_SID, type Edge } from './twilio-harness.js';
import type { UsedTokenLedger } from '../../src/twilio/stream-token.js';

const PUBLIC = 'https://bot.example.test';
const INSTANCE = 'https://a.internal.example.test';
const wss = (base: string): string => `${base.replace('https', 'wss')}/twilio/media`;
const SECRET = 'edge-instances-test-secret-0123456789abcdef';
const edges: Edge[] = [];

afterEach(async () => {
  for (const e of edges.splice(0)) await e.close();
});

async function webhook(e: Edge, callSid: string): Promise<string> {
  const params = { CallSid: callSid, AccountSid: ACCOUNT_SID, From: '+15552223333', To: '+15550001111' };
  const res = await fetch(e.serverUrl + '/twilio/voice', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC + '/twilio/voice', params) },
    body: new URLSearchParams(params).toString(),
  });
  return res.text();
}

function connect(e: Edge, signedFor: string): Promise<WebSocket | number> {
  const ws = new WebSocket(e.serverUrl.replace('http', 'ws') + '/twilio/media', { headers: { 'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, signedFor, {}) } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}

function start(ws: WebSocket, callSid: string, token: string): void {
  const sid = 'MZ00000000000000000000000000000001';
  ws.send(JSON.stringify({
    event: 'start', sequenceNumber: '1', streamSid: sid,
    start: { accountSid: ACCOUNT_SID, streamSid: sid, callSid, tracks: ['inbound'], customParameters: { caller: 'loopback', callbridgeToken: token }, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
  }));
}

describe('the Twilio edge of one of several instances', () => {
  it("INSTANCE_URL: the TwiML streams to this instance's own URL; upgrades signed for it or the public URL pass, another instance's not", async () => {
    const { handler } = loopbackHandler();
    const e = await startEdge({ handler, publicBaseUrl: PUBLIC, instanceUrl: INSTANCE });
    edges.push(e);
    const twiml = await webhook(e, 'CA00000000000000000000000000000011');
    assert.match(twiml, new RegExp(`<Stream url="${wss(INSTANCE)}"`));
    assert.match(twiml, new RegExp(`statusCallback="${PUBLIC}/twilio/status"`), 'status callbacks still go to the public URL');
    for (const url of [wss(INSTANCE), wss(PUBLIC)]) {
      const ws = await connect(e, url);
      assert.ok(ws instanceof WebSocket, `signed for ${url}: accepted`);
      ws.close();
    }
    assert.equal(await connect(e, wss('https://b.internal.example.test')), 403);
  });

  it('a token redeemed on one instance is refused on another (shared secret and ledger)', async () => {
    const used = new Set<string>();
    const ledger: UsedTokenLedger = { redeem: async (mac) => (used.has(mac) ? false : (used.add(mac), true)) };
    const a = loopbackHandler();
    const b = loopbackHandler();
    const onA = await startEdge({ handler: a.handler, publicBaseUrl: PUBLIC, streamTokenSecret: SECRET, usedTokens: ledger });
    const onB = await startEdge({ handler: b.handler, publicBaseUrl: PUBLIC, streamTokenSecret: SECRET, usedTokens: ledger });
    edges.push(onA, onB);
    const callSid = 'CA00000000000000000000000000000012';
    const token = /name="callbridgeToken" value="([^"]+)"/.exec(await webhook(onA, callSid))?.[1];
    assert.ok(token);

    const first = await connect(onB, wss(PUBLIC));
    assert.ok(first instanceof WebSocket);
    start(first, callSid, token);
    while (b.record.streams.length === 0) await new Promise((r) => setTimeout(r, 10)); // redeemed on B
    const replay = await connect(onA, wss(PUBLIC));
    assert.ok(replay instanceof WebSocket);
    const closed = once(replay, 'close');
    start(replay, callSid, token);
    const [code, reason] = (await closed) as [number, Buffer];
    assert.deepEqual([code, reason.toString()], [1008, 'invalid stream token']);
    assert.equal(a.record.streams.length, 0, 'the replay never did');
    assert.ok(onA.logs.some((l) => l.code === 'CB_TWILIO_STREAM_TOKEN_INVALID' && l.reason === 'replayed'));
    first.close();
  });
});
