/**
 * Attack: replay a call's signed voice webhook after the call ended. Before: the call was built
 * again, its record overwritten and its recording truncated (opened with 'w'). Now: the webhook
 * gets TwiML that only hangs up (CB_TWILIO_CALL_ENDED logged), no stream, no agent session, and
 * the stored record and the recording file stay byte for byte as they were.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import twilio from 'twilio';
import { createLogger } from '../../src/shared/log.js';
import { startRig } from '../support/e2e.js';

const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 3, turnCompleteDelayMs: 20 };

describe('security: a replayed webhook for a finished call', () => {
  it('answers <Hangup/> and leaves the record and the recording untouched', async () => {
    const lines: Array<{ code?: string; callSid?: string }> = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as { code?: string });
        done();
      },
    });
    const rig = await startRig({ emulator: { timing: FAST }, log: createLogger({ level: 'info', destination }) });
    try {
      const result = await rig.call({ timeScale: 0.5, maxDurationMs: 20000, script: [{ silence: 2500 }] });
      const callSid = result.callSid;
      for (let i = 0; i < 200 && !(await rig.bridge.writer.isFinal(callSid)); i++) await new Promise((r) => setTimeout(r, 25));
      await rig.bridge.writer.flush();
      const before = await rig.bridge.store.getCall(callSid);
      assert.ok(before && before.outcome !== 'in_progress', `the call finished: ${before?.outcome}`);
      assert.ok(before.recordingPath, 'the flow records calls');
      const wavBefore = readFileSync(join(rig.dataDir, before.recordingPath));
      assert.ok(wavBefore.length > 44, 'the recording has audio');

      const url = rig.bridge.publicBaseUrl + '/twilio/voice';
      const form = { CallSid: callSid, AccountSid: rig.accountSid, From: '+15557654321', To: '+15550100100' };
      const res = await fetch(`${rig.bridge.url}/twilio/voice`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(rig.authToken!, url, form) },
        body: new URLSearchParams(form).toString(),
      });
      const body = await res.text();
      assert.equal(res.status, 200);
      assert.match(body, /<Response><Hangup\/><\/Response>/, body);
      assert.doesNotMatch(body, /<Stream|callbridgeToken/);
      assert.equal(rig.bridge.manager.call(callSid), undefined, 'no call was built again');
      assert.ok(lines.some((l) => l.code === 'CB_TWILIO_CALL_ENDED' && l.callSid === callSid), 'the replay is logged with its code');

      await rig.bridge.writer.flush();
      assert.deepEqual(await rig.bridge.store.getCall(callSid), before, 'the record is untouched');
      assert.ok(readFileSync(join(rig.dataDir, before.recordingPath)).equals(wavBefore), 'the recording is untouched');
    } finally {
      await rig.close();
    }
  });
});
