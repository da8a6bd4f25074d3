/**
 * Attack: keep the stream token from a webhook, let the call end because no stream came in time,
 * then open the stream with the unused token. Before: the token was still valid, the process no
 * longer knew the call, and the stream "adopted" it: the closed record was reopened and the call
 * built again. Now: a call whose record is final is never rebuilt from a stream; the stream is
 * closed (1008) with CB_TWILIO_CALL_ENDED and the record stays as it was.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import WebSocket from 'ws';
import { startRig } from '../support/e2e.js';
import { captureLog, stackLines } from './support.js';

describe('security: a late stream for a call that already ended', () => {
  it('is closed with CB_TWILIO_CALL_ENDED and the record is not reopened', async () => {
    const { log, lines } = captureLog();
    const rig = await startRig({ log, bridge: { noStreamTimeoutMs: 50 } });
    try {
      const callSid = `CA${randomBytes(16).toString('hex')}`;
      const form = { CallSid: callSid, AccountSid: rig.accountSid, From: '+15557654321', To: '+15550100100' };
      const voiceUrl = `${rig.bridge.publicBaseUrl}/twilio/voice`;
      const res = await fetch(`${rig.bridge.url}/twilio/voice`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(rig.authToken!, voiceUrl, form) },
        body: new URLSearchParams(form).toString(),
      });
      const twiml = await res.text();
      assert.equal(res.status, 200, twiml);
      const parameters = Object.fromEntries([...twiml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      assert.ok(Object.keys(parameters).length > 0, 'the TwiML carries the stream token');

      // No stream comes: the call ends with CB_CALL_NO_STREAM and its record is final.
      for (let i = 0; i < 400 && !(await rig.bridge.writer.isFinal(callSid)); i++) await new Promise((r) => setTimeout(r, 25));
      await rig.bridge.writer.flush();
      const before = await rig.bridge.store.getCall(callSid);
      assert.ok(before && before.outcome !== 'in_progress', `the call ended without a stream: ${before?.outcome}`);

      const wsUrl = `${rig.bridge.publicBaseUrl.replace(/^http/, 'ws')}/twilio/media`;
      const ws = new WebSocket(`${rig.bridge.url.replace(/^http/, 'ws')}/twilio/media`, {
        headers: { 'x-twilio-signature': twilio.getExpectedTwilioSignature(rig.authToken!, wsUrl, {}) },
      });
      await once(ws, 'open');
      const closed = once(ws, 'close');
      const streamSid = `MZ${randomBytes(16).toString('hex')}`;
      ws.send(JSON.stringify({
        event: 'start', sequenceNumber: '1', streamSid,
        start: { accountSid: rig.accountSid, streamSid, callSid, tracks: ['inbound'], customParameters: parameters, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
      }));
      // Either the stream is closed, or (the attack works) the call is built again.
      const rebuilt = new Promise<'rebuilt'>((resolve) => {
        const poll = setInterval(() => {
          if (rig.bridge.manager.call(callSid) !== undefined) {
            clearInterval(poll);
            resolve('rebuilt');
          }
        }, 5);
        void closed.then(() => clearInterval(poll));
      });
      const first = await Promise.race([closed.then(([code]) => code as number), rebuilt]);
      if (first === 'rebuilt') ws.terminate();
      assert.equal(first, 1008, 'the late stream is closed as a policy violation, not adopted');
      assert.ok(lines.some((l) => l['code'] === 'CB_TWILIO_CALL_ENDED' && l['callSid'] === callSid), 'the refusal is logged with its code');
      assert.ok(lines.some((l) => l.msg === 'media stream started' && l['streamSid'] === streamSid), 'the token itself was valid (unused)');
      assert.equal(rig.bridge.manager.call(callSid), undefined, 'no call was built again');
      await rig.bridge.writer.flush();
      assert.deepEqual(await rig.bridge.store.getCall(callSid), before, 'the record is untouched');
      assert.deepEqual(stackLines(lines), []);
    } finally {
      await rig.close();
    }
  });
});
