import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import twilio from 'twilio';
import WebSocket from 'ws';
import { startEdge, loopbackHandler, AUTH_TOKEN, ACCOUNT_SID, type Edge } from './twilio-harness.js';
import type { CallHandler } from '../../src/twilio/handler.js';

const PUBLIC = 'https://bot.example.test';
const WSS = `${PUBLIC.replace('https', 'wss')}/twilio/media`;
let edge: Edge | undefined;

afterEach(async () => {
  await edge?.close();
  edge = undefined;
});

function callParams(callSid = 'CA00000000000000000000000000000001'): Record<string, string> {
  return { CallSid: callSid, AccountSid: ACCOUNT_SID, From: '+15552223333', To: '+15550001111', CallStatus: 'ringing', Direction: 'inbound', ApiVersion: '2010-04-01' };
}

async function postForm(e: Edge, path: string, params: Record<string, string>, signature?: string): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (signature !== undefined) headers['x-twilio-signature'] = signature;
  const res = await fetch(e.serverUrl + path, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
  return { status: res.status, body: await res.text() };
}

function signed(path: string, params: Record<string, string>): string {
  return twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC + path, params);
}

/** Runs the webhook for `callSid` and returns the stream token from the TwiML. */
async function tokenFor(e: Edge, callSid: string): Promise<string> {
  const params = callParams(callSid);
  const res = await postForm(e, '/twilio/voice', params, signed('/twilio/voice', params));
  const m = /name="callbridgeToken" value="([^"]+)"/.exec(res.body);
  assert.ok(m, res.body);
  return m[1]!;
}

/** Opens the media socket; resolves with it open, or with the HTTP status of a refused upgrade. */
function connect(e: Edge, signature: string | undefined, path = '/twilio/media'): Promise<WebSocket | number> {
  const headers: Record<string, string> = signature === undefined ? {} : { 'x-twilio-signature': signature };
  const ws = new WebSocket(e.serverUrl.replace('http', 'ws') + path, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}

function startMessage(callSid: string, token: string | undefined) {
  const sid = 'MZ00000000000000000000000000000001';
  return JSON.stringify({
    event: 'start', sequenceNumber: '1', streamSid: sid,
    start: { accountSid: ACCOUNT_SID, streamSid: sid, callSid, tracks: ['inbound'],
      customParameters: token === undefined ? { tenant: 'acme' } : { tenant: 'acme', callbridgeToken: token },
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
  });
}

async function closeOf(ws: WebSocket): Promise<number> {
  const [code] = (await once(ws, 'close')) as [number, Buffer];
  return code;
}

describe('POST /twilio/voice', () => {
  it('answers a signed webhook with the stream TwiML (wss from PUBLIC_BASE_URL, Parameters + token)', async () => {
    const { handler, record } = loopbackHandler({ parameters: { tenant: 'acme' } });
    edge = await startEdge({ handler, publicBaseUrl: PUBLIC });
    const params = callParams();
    const res = await postForm(edge, '/twilio/voice', params, signed('/twilio/voice', params));
    assert.equal(res.status, 200);
    assert.match(
      res.body,
      /^<\?xml version="1.0" encoding="UTF-8"\?><Response><Connect><Stream url="wss:\/\/bot\.example\.test\/twilio\/media" statusCallback="https:\/\/bot\.example\.test\/twilio\/status" statusCallbackMethod="POST"><Parameter name="tenant" value="acme"\/><Parameter name="callbridgeToken" value="v1\.[0-9a-z]+\.[A-Za-z0-9_-]{43}"\/><\/Stream><\/Connect><\/Response>$/,
    );
    assert.equal(record.calls.length, 1);
    assert.deepEqual(
      { ...record.calls[0], params: undefined },
      { callSid: params.CallSid, accountSid: ACCOUNT_SID, from: '+15552223333', to: '+15550001111', params: undefined },
    );
    assert.equal(record.calls[0]!.params['Direction'], 'inbound');
  });

  it('signs over the query string too', async () => {
    edge = await startEdge({ handler: loopbackHandler().handler, publicBaseUrl: PUBLIC });
    const params = callParams();
    const res = await postForm(edge, '/twilio/voice?tenant=acme', params, signed('/twilio/voice?tenant=acme', params));
    assert.equal(res.status, 200);
    const wrong = await postForm(edge, '/twilio/voice?tenant=evil', params, signed('/twilio/voice?tenant=acme', params));
    assert.equal(wrong.status, 403);
  });

  it('403 on a missing or wrong signature, without asking the handler', async () => {
    const { handler, record } = loopbackHandler();
    edge = await startEdge({ handler, publicBaseUrl: PUBLIC });
    const params = callParams();
    assert.equal((await postForm(edge, '/twilio/voice', params)).status, 403);
    assert.equal((await postForm(edge, '/twilio/voice', params, 'AAAA')).status, 403);
    const otherHost = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${edge.serverUrl}/twilio/voice`, params);
    assert.equal((await postForm(edge, '/twilio/voice', params, otherHost)).status, 403, 'the Host header is never trusted');
    const tampered = { ...params, From: '+19990000000' };
    assert.equal((await postForm(edge, '/twilio/voice', tampered, signed('/twilio/voice', params))).status, 403);
    assert.equal(record.calls.length, 0);
    const refusals = edge.logs.filter((l) => l.code === 'CB_TWILIO_SIGNATURE_INVALID');
    assert.deepEqual(refusals.map((l) => l['reason']), ['missing', 'mismatch', 'mismatch', 'mismatch']);
  });

  it('answers the handler’s own TwiML, and an apology when the handler throws', async () => {
    let mode: 'closed' | 'throw' = 'closed';
    const handler: CallHandler = {
      onIncomingCall() {
        if (mode === 'throw') throw new Error('boom');
        return { kind: 'twiml', twiml: '<Response><Say>We are closed.</Say><Hangup/></Response>' };
      },
      onStreamStart() {},
    };
    edge = await startEdge({ handler, publicBaseUrl: PUBLIC });
    const params = callParams();
    const closed = await postForm(edge, '/twilio/voice', params, signed('/twilio/voice', params));
    assert.equal(closed.body, '<Response><Say>We are closed.</Say><Hangup/></Response>');
    mode = 'throw';
    const failed = await postForm(edge, '/twilio/voice', params, signed('/twilio/voice', params));
    assert.equal(failed.status, 200);
    assert.match(failed.body, /<Say>Sorry, we cannot take your call right now\. Please try again later\.<\/Say><Hangup\/>/);
  });

  it('an oversized body gets 413 in plain text (not a 500), and the handler is not asked', async () => {
    const { handler, record } = loopbackHandler();
    edge = await startEdge({ handler, publicBaseUrl: PUBLIC });
    const params = { ...callParams(), Padding: 'x'.repeat(70 * 1024) };
    const res = await postForm(edge, '/twilio/voice', params, signed('/twilio/voice', params));
    assert.equal(res.status, 413);
    assert.equal(res.body, 'payload too large');
    assert.equal(record.calls.length, 0);
    assert.ok(edge.logs.some((l) => l.msg === 'request refused' && l['status'] === 413 && l.level === 40));
  });
});

describe('GET /twilio/media (WebSocket upgrade)', () => {
  it('a forged or unsigned upgrade gets HTTP 403 before any WebSocket exists', async () => {
    const { handler, record } = loopbackHandler();
    edge = await startEdge({ handler, publicBaseUrl: PUBLIC });
    assert.equal(await connect(edge, undefined), 403);
    assert.equal(await connect(edge, 'bm90IGEgc2lnbmF0dXJl'), 403);
    const httpsForm = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC}/twilio/media`, {});
    assert.equal(await connect(edge, httpsForm), 403, 'the https form of the URL is not what Twilio signs');
    const wssSig = twilio.getExpectedTwilioSignature(AUTH_TOKEN, WSS, {});
    assert.equal(await connect(edge, wssSig, '/twilio/media?token=x'), 403, 'query strings are refused');
    assert.equal(edge.edge.acceptedStreams, 0, 'no connection happened server-side');
    assert.equal(record.streams.length, 0);
    assert.equal(edge.logs.filter((l) => l.code === 'CB_TWILIO_SIGNATURE_INVALID').length, 4);
  });

  it('an upgrade signed against the wss URL is accepted and bridged after a valid start', async () => {
    let gotDigit: (d: string) => void = () => {};
    const digit = new Promise<string>((resolve) => (gotDigit = resolve));
    // Twilio echoes the TwiML's parameters in `start`; the token covers them.
    const { handler, record } = loopbackHandler({ onDtmf: (d) => gotDigit(d), parameters: { tenant: 'acme' } });
    edge = await startEdge({ handler, publicBaseUrl: PUBLIC });
    const callSid = 'CA00000000000000000000000000000007';
    const token = await tokenFor(edge, callSid);
    const ws = await connect(edge, twilio.getExpectedTwilioSignature(AUTH_TOKEN, WSS, {}));
    assert.ok(ws instanceof WebSocket, 'ws instanceof WebSocket');
    ws.send('{"event":"connected","protocol":"Call","version":"1.0.0"}');
    ws.send(startMessage(callSid, token));
    ws.send(JSON.stringify({ event: 'dtmf', streamSid: 'MZ00000000000000000000000000000001', sequenceNumber: '2', dtmf: { track: 'inbound_track', digit: '5' } }));
    assert.equal(await digit, '5');
    assert.equal(record.streams[0]!.callSid, callSid);
    assert.deepEqual(record.streams[0]!.customParameters, { tenant: 'acme' }, 'the handler gets the parameters without the token');
    ws.close();
  });

  it('a start with a wrong or missing token, or another call’s token, is closed with 1008', async () => {
    const { handler, record } = loopbackHandler();
    edge = await startEdge({ handler, publicBaseUrl: PUBLIC });
    const sig = twilio.getExpectedTwilioSignature(AUTH_TOKEN, WSS, {});
    const callSid = 'CA00000000000000000000000000000002';
    const token = await tokenFor(edge, 'CA00000000000000000000000000000003'); // another call's
    for (const t of [token, undefined, 'garbage']) {
      const ws = (await connect(edge, sig)) as WebSocket;
      ws.send('{"event":"connected","protocol":"Call","version":"1.0.0"}');
      ws.send(startMessage(callSid, t));
      assert.equal(await closeOf(ws), 1008);
    }
    assert.equal(record.streams.length, 0);
    assert.deepEqual(
      edge.logs.filter((l) => l.code === 'CB_TWILIO_STREAM_TOKEN_INVALID').map((l) => l['reason']),
      ['mismatch', 'missing', 'malformed'],
    );
  });

  it('no start within the (shortened) timeout: closed', async () => {
    edge = await startEdge({ handler: loopbackHandler().handler, publicBaseUrl: PUBLIC, startTimeoutMs: 100 });
    const ws = (await connect(edge, twilio.getExpectedTwilioSignature(AUTH_TOKEN, WSS, {}))) as WebSocket;
    ws.send('{"event":"connected","protocol":"Call","version":"1.0.0"}');
    assert.equal(await closeOf(ws), 1008);
    assert.ok(edge.logs.some((l) => l.code === 'CB_TWILIO_NO_START'), 'edge.logs.some((l) => l.code === \'CB_TWILIO_NO_START\')');
  });

  it('a frame over the cap closes the socket (1009)', async () => {
    edge = await startEdge({ handler: loopbackHandler().handler, publicBaseUrl: PUBLIC, maxFrameBytes: 4096 });
    const ws = (await connect(edge, twilio.getExpectedTwilioSignature(AUTH_TOKEN, WSS, {}))) as WebSocket;
    ws.send('x'.repeat(4097));
    assert.equal(await closeOf(ws), 1009);
  });

  it('other upgrade paths get 404; a plain GET of the media path gets 426', async () => {
    edge = await startEdge({ handler: loopbackHandler().handler, publicBaseUrl: PUBLIC });
    assert.equal(await connect(edge, undefined, '/elsewhere'), 404);
    assert.equal((await fetch(`${edge.serverUrl}/twilio/media`)).status, 426);
  });
});

describe('POST /twilio/status', () => {
  const CA1 = 'CA' + '0'.repeat(31) + '1';
  const MZ1 = 'MZ' + '0'.repeat(31) + '1';
  it('logs stream-error with its message and CB_TWILIO_STREAM_ERROR, tells the handler, refuses unsigned', async () => {
    const { handler, record } = loopbackHandler();
    edge = await startEdge({ handler, publicBaseUrl: PUBLIC });
    const params = {
      AccountSid: ACCOUNT_SID, CallSid: CA1, StreamSid: MZ1, StreamName: MZ1, StreamEvent: 'stream-error',
      StreamError: 'Stream - WebSocket - Handshake Error', Timestamp: '2026-01-01T00:00:00Z',
    };
    assert.equal((await postForm(edge, '/twilio/status', params)).status, 403);
    const res = await postForm(edge, '/twilio/status', params, signed('/twilio/status', params));
    assert.equal(res.status, 204);
    const line = edge.logs.find((l) => l.code === 'CB_TWILIO_STREAM_ERROR');
    assert.ok(line, 'the stream error is logged with its code');
    assert.equal(line['streamError'], 'Stream - WebSocket - Handshake Error');
    assert.equal(line.level, 40);
    assert.deepEqual(record.statuses, [{ callSid: CA1, streamSid: MZ1, event: 'stream-error', error: 'Stream - WebSocket - Handshake Error' }]);
    const started = { ...params, StreamEvent: 'stream-started' } as Record<string, string>;
    delete started['StreamError'];
    await postForm(edge, '/twilio/status', started, signed('/twilio/status', started));
    const info = edge.logs.find((l) => l.msg === 'Twilio stream-started');
    assert.equal(info?.level, 30);
  });
});

describe('unsigned mode (no auth token)', () => {
  it('warns loudly once at mount and accepts unsigned requests', async () => {
    edge = await startEdge({ handler: loopbackHandler().handler, publicBaseUrl: PUBLIC, authToken: undefined });
    const warnings = edge.logs.filter((l) => /NOT signature-checked/.test(l.msg));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.level, 40);
    const res = await postForm(edge, '/twilio/voice', callParams());
    assert.equal(res.status, 200);
    const ws = await connect(edge, undefined);
    assert.ok(ws instanceof WebSocket, 'ws instanceof WebSocket');
    ws.close();
  });
});
