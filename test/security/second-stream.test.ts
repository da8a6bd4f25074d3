/**
 * Attack: open a second media stream for a call that is already streaming, to listen in or to
 * speak into it. With the first stream's token it is a replay (stream-token-replay.test.ts); with
 * a fresh token, from a retried or replayed webhook for the live call (accepted: Twilio retries),
 * it passes the edge and reaches the call. The audit found this holding; this is its regression
 * test through the real server: the second stream is closed (1008) with CB_TWILIO_STREAM_REFUSED
 * logged, no second Gemini session is opened, the first stream and its call go on. No stack.
 * (Moved here from test/integration/bridge-fuzz-second-stream.test.ts.)
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import twilio from 'twilio';
import { startRig, testFlow, type Rig } from '../support/e2e.js';
import { ValidMessages, twimlParameters } from '../support/twilio-fuzz.js';
import { captureLog, stackLines, type LogLine } from './support.js';

const CALL_SID = `CA${'b'.repeat(32)}`;

describe('security: a second media stream for a live call', () => {
  let rig: Rig;
  let lines: LogLine[];
  const sockets: WebSocket[] = [];
  before(async () => {
    const captured = captureLog();
    lines = captured.lines;
    rig = await startRig({ flows: { 'echo.yaml': testFlow({ model: 'gemini-emulator-echo' }) }, log: captured.log });
  });
  after(async () => {
    for (const ws of sockets) ws.terminate();
    await rig.close();
  });

  /** Runs the voice webhook for CALL_SID; returns the stream token and parameters of its TwiML. */
  async function webhook(): Promise<{ token: string; parameters: Record<string, string> }> {
    const url = rig.bridge.url;
    const form = { CallSid: CALL_SID, AccountSid: rig.accountSid, From: '+15557654321', To: '+15550100100' };
    const res = await fetch(`${url}/twilio/voice`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(rig.authToken!, `${url}/twilio/voice`, form) },
      body: new URLSearchParams(form).toString(),
    });
    const twiml = await res.text();
    const token = /<Parameter name="callbridgeToken" value="([^"]+)"/.exec(twiml)?.[1];
    assert.ok(token, `the webhook gave a stream token: ${twiml}`);
    return { token, parameters: twimlParameters(twiml) };
  }

  /** Opens a signed media socket and starts a stream on it; resolves once open. */
  async function stream(streamSid: string, t: { token: string; parameters: Record<string, string> }): Promise<WebSocket> {
    const wsUrl = `${rig.bridge.url.replace(/^http/, 'ws')}/twilio/media`;
    const ws = new WebSocket(wsUrl, { headers: { 'x-twilio-signature': twilio.getExpectedTwilioSignature(rig.authToken!, wsUrl, {}) } });
    sockets.push(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const m = new ValidMessages({ accountSid: rig.accountSid, callSid: CALL_SID, streamSid, token: t.token, parameters: t.parameters });
    ws.send(JSON.stringify(m.connected()));
    ws.send(JSON.stringify(m.start()));
    return ws;
  }

  /**
   * Pings `ws` right after its `start`: the server handles frames in order and answers a start at
   * once, so a refused stream is closed before the ping is answered; a pong means it was taken in
   * (resolves 0). Otherwise resolves with the close code.
   */
  function closedBeforePong(ws: WebSocket): Promise<number> {
    ws.ping();
    return new Promise((resolve) => {
      ws.once('pong', () => resolve(0));
      ws.once('close', (code) => resolve(code));
    });
  }

  it('a second stream with a fresh token from a retried webhook is closed with CB_TWILIO_STREAM_REFUSED', async () => {
    const first = await stream(`MZ${'b'.repeat(32)}`, await webhook());
    // The call is up once the first stream reached it (its Gemini session is open).
    for (let i = 0; i < 500 && (rig.bridge.manager.status().active === 0 || !lines.some((l) => l.msg === 'media stream started')); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(rig.bridge.manager.status().active, 1, 'the first stream started the call');
    const sessions = rig.emulator.sessions.length;

    const retried = await webhook();
    const secondSid = `MZ${'c'.repeat(32)}`;
    const second = await stream(secondSid, retried);
    assert.equal(await closedBeforePong(second), 1008, 'the second stream is refused (not taken in)');
    const refusal = lines.find((l) => l['code'] === 'CB_TWILIO_STREAM_REFUSED' && l['streamSid'] === secondSid);
    assert.ok(refusal, 'the refusal is logged with its code and the stream');
    assert.equal(refusal['callSid'], CALL_SID);
    assert.equal(refusal['reason'], 'call already has a stream');

    assert.equal(first.readyState, WebSocket.OPEN, 'the first stream keeps running');
    assert.equal(rig.bridge.manager.status().active, 1, 'still one call');
    assert.equal(rig.emulator.sessions.length, sessions, 'no second Gemini session');
  });

  it('logs no 500 and no stack', () => assert.deepEqual(stackLines(lines), []));
});
