/**
 * Issue 4 edge security through the real server (flows, call manager, emulator behind it):
 * forged webhook → 403; forged upgrade → 403 before any WebSocket; wrong per-call token → closed;
 * no `start` → closed. None of them reaches Gemini.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import twilio from 'twilio';
import { startRig, type Rig } from '../support/e2e.js';

describe('bridge edge security, end to end', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({ bridge: { startTimeoutMs: 400 } });
  });
  after(() => rig.close());

  const params = (callSid: string) => ({ CallSid: callSid, AccountSid: rig.accountSid, From: '+15557654321', To: '+15550100100', CallStatus: 'ringing', Direction: 'inbound' });
  const post = async (form: Record<string, string>, signature?: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (signature) headers['x-twilio-signature'] = signature;
    const res = await fetch(`${rig.bridge.url}/twilio/voice`, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
    return { status: res.status, body: await res.text() };
  };
  const wssUrl = () => `${rig.bridge.publicBaseUrl.replace(/^http/, 'ws')}/twilio/media`;
  const open = (signature: string | undefined): Promise<WebSocket | number> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`${rig.bridge.url.replace('http', 'ws')}/twilio/media`, { headers: signature ? { 'x-twilio-signature': signature } : {} });
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      ws.once('error', reject);
    });
  const closed = (ws: WebSocket): Promise<number> => new Promise((resolve) => ws.once('close', (code) => resolve(code)));

  it('a forged or unsigned voice webhook gets 403 and no call is created', async () => {
    const sessionsBefore = rig.emulator.sessions.length;
    const form = params('CA00000000000000000000000000000f01');
    assert.equal((await post(form)).status, 403, 'unsigned');
    assert.equal((await post(form, 'bm90LWEtc2lnbmF0dXJl')).status, 403, 'forged');
    const otherToken = twilio.getExpectedTwilioSignature('someone-elses-auth-token', `${rig.bridge.publicBaseUrl}/twilio/voice`, form);
    assert.equal((await post(form, otherToken)).status, 403, 'signed with another token');
    assert.equal(rig.bridge.manager.status().active, 0, 'no call created');
    assert.equal(rig.emulator.sessions.length, sessionsBefore, 'no Gemini session opened');
  });

  it('a forged or unsigned media upgrade is refused with HTTP 403 before any WebSocket exists', async () => {
    assert.equal(await open(undefined), 403, 'unsigned upgrade');
    assert.equal(await open('Zm9yZ2Vk'), 403, 'forged upgrade');
    const httpsSigned = twilio.getExpectedTwilioSignature(rig.authToken!, `${rig.bridge.publicBaseUrl}/twilio/media`, {});
    assert.equal(await open(httpsSigned), 403, 'signed for the https URL instead of the wss URL');
  });

  it('a signed upgrade with a wrong per-call token is closed (1008) and never reaches the call', async () => {
    const callSid = 'CA00000000000000000000000000000f02';
    const form = params(callSid);
    const hook = await post(form, twilio.getExpectedTwilioSignature(rig.authToken!, `${rig.bridge.publicBaseUrl}/twilio/voice`, form));
    assert.equal(hook.status, 200, 'the real webhook is answered');
    assert.match(hook.body, /<Parameter name="callbridgeToken"/, 'the TwiML carries the per-call token as a Parameter');
    assert.doesNotMatch(hook.body, /url="[^"]*\?/, 'no query string on the stream URL');
    const ws = await open(twilio.getExpectedTwilioSignature(rig.authToken!, wssUrl(), {}));
    assert.ok(ws instanceof WebSocket, 'a correctly signed upgrade is accepted');
    const code = closed(ws);
    ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    ws.send(JSON.stringify({
      event: 'start', sequenceNumber: '1', streamSid: 'MZ00000000000000000000000000000f02',
      start: {
        accountSid: rig.accountSid, streamSid: 'MZ00000000000000000000000000000f02', callSid, tracks: ['inbound'],
        customParameters: { callbridgeToken: 'not-the-token' }, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    }));
    assert.equal(await code, 1008, 'closed with policy violation');
  });

  it('a media stream that never sends start is closed after the start timeout', async () => {
    const ws = await open(twilio.getExpectedTwilioSignature(rig.authToken!, wssUrl(), {}));
    assert.ok(ws instanceof WebSocket, 'upgrade accepted');
    const reason = new Promise<string>((resolve) => ws.once('close', (_code, why) => resolve(why.toString())));
    ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    assert.equal(await closed(ws), 1008, 'closed with policy violation');
    assert.equal(await reason, 'no start', 'closed by the start timeout, not for another reason');
  });
});
