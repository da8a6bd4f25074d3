/**
 * Whole calls through the real server, the caller simulator and the Gemini emulator: concurrency,
 * ending and transferring calls, DTMF, a Gemini that cannot be reached, a webhook with no stream.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import twilio from 'twilio';
import { startRig, testFlow } from '../support/e2e.js';
import { fitSine } from '../../src/audio/analysis.js';
import { bytesToPcm16 } from '../../src/audio/pcm.js';

const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 3, turnCompleteDelayMs: 20 };

describe('whole calls, end to end', () => {
  it('20 concurrent calls with different audio do not cross (echo model)', async () => {
    const rig = await startRig({
      flows: { 'echo.yaml': testFlow({ model: 'gemini-emulator-echo' }) },
      emulator: { recordAudioPayloads: true, timing: FAST },
    });
    try {
      const freqs = Array.from({ length: 20 }, (_, i) => 400 + 130 * i);
      const results = await Promise.all(
        freqs.map((hz, i) =>
          rig.call({
            callSid: `CA${String(i).padStart(32, '0')}`,
            timeScale: 1,
            playback: { jitterBufferMs: 200 },
            script: [{ silence: 300 }, { tone: { hz, durationMs: 1500, amplitude: 8000 } }, { silence: 1200 }],
          }),
        ),
      );
      for (const [i, result] of results.entries()) {
        const heard = result.heard;
        const own = fitSine(heard, freqs[i]!, 8000, 0, heard.length).amplitude;
        // The echo's level in its loudest 500 ms: on a loaded machine the echo comes later, and a
        // fit over the whole call would dilute it by the silence around it.
        let ownPeak = 0;
        for (let start = 0; start + 4000 <= heard.length; start += 800) ownPeak = Math.max(ownPeak, fitSine(heard, freqs[i]!, 8000, start, start + 4000).amplitude);
        let worstOther = 0;
        for (const [j, hz] of freqs.entries()) if (j !== i) worstOther = Math.max(worstOther, fitSine(heard, hz, 8000, 0, heard.length).amplitude);
        assert.ok(ownPeak > 3000, `call ${i} hears its own ${freqs[i]} Hz echo (amplitude ${ownPeak.toFixed(0)} in its loudest 500 ms)`);
        assert.ok(worstOther < own / 100, `call ${i}: strongest other tone ${worstOther.toFixed(1)} vs own ${own.toFixed(0)}`);
      }
      // Each Gemini session heard exactly one caller.
      const sessions = rig.emulator.sessions.filter((s) => s.model?.includes('echo'));
      assert.equal(sessions.length, 20, 'one Gemini session per call');
      const heardBy = sessions.map((s) => {
        const pcm = s.received.flatMap((m) => {
          const data = (m.json as { realtimeInput?: { audio?: { data?: string } } }).realtimeInput?.audio?.data;
          return data ? [...bytesToPcm16(Buffer.from(data, 'base64'))] : [];
        });
        const amps = freqs.map((hz) => fitSine(pcm, hz, 16000, 0, pcm.length).amplitude);
        return amps.indexOf(Math.max(...amps));
      });
      assert.deepEqual([...heardBy].sort((a, b) => a - b), freqs.map((_, i) => i), 'every caller reached exactly one session');
    } finally {
      await rig.close();
    }
  });

  it('end_call: the bot’s last words finish playing before the call is hung up', async () => {
    const rig = await startRig({
      emulator: {
        timing: FAST,
        scenario: { name: 'bye', turns: [{ heard: 'bye', say: { toneHz: 500, durationMs: 1500, amplitude: 10000 }, toolCalls: [{ name: 'end_call', args: { reason: 'caller said goodbye' } }] }] },
      },
    });
    try {
      const result = await rig.call({
        timeScale: 0.5,
        afterScript: 'wait',
        maxDurationMs: 30000,
        script: [{ waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 500, timeoutMs: 15000 } }, { tone: { hz: 300, durationMs: 500, amplitude: 8000 } }],
      });
      const closedBy = result.timeline.find((e) => e.kind === 'server-closed');
      const lastSpeechStop = result.timeline.filter((e) => e.kind === 'bot-speech-stop').at(-1);
      assert.ok(closedBy && lastSpeechStop, 'the server closed the stream after bot speech');
      assert.ok(closedBy.atMs >= lastSpeechStop.atMs, `hung up at ${closedBy.atMs.toFixed(0)} ms, after the last words ended at ${lastSpeechStop.atMs.toFixed(0)} ms`);
      // All 1.5 s of the 500 Hz goodbye were heard.
      const heard = result.heard;
      let goodbyeFrames = 0;
      for (let i = 0; i + 160 <= heard.length; i += 160) if (fitSine(heard, 500, 8000, i, i + 160).amplitude > 5000) goodbyeFrames++;
      assert.ok(goodbyeFrames * 20 >= 1400, `heard ${goodbyeFrames * 20} ms of the 1500 ms goodbye`);
      await rig.bridge.writer.flush();
      const record = await rig.bridge.store.getCall(result.callSid);
      assert.equal(record?.outcome, 'ended_by_bot', 'outcome');
      const events = await rig.bridge.store.getEvents(result.callSid);
      const bye = events.filter((e) => e.kind === 'bot_utterance').at(-1);
      assert.ok(bye && bye.kind === 'bot_utterance' && !bye.interrupted && bye.heardMs === bye.sentMs, `the goodbye was heard in full: ${JSON.stringify(bye)}`);
    } finally {
      await rig.close();
    }
  });

  it('DTMF: an unmapped digit reaches the model as text; a mapped one transfers through Twilio’s REST API with <Dial>', async () => {
    const rig = await startRig({
      flows: { 'ivr.yaml': testFlow({ topLevel: 'dtmf:\n  "0": { say: Connecting you now., transfer: desk }' }) },
      emulator: { timing: FAST },
    });
    try {
      const result = await rig.call({
        timeScale: 0.5,
        afterScript: 'wait',
        maxDurationMs: 30000,
        script: [
          { waitForBotSpeech: { timeoutMs: 15000 } },
          { waitForBotSilence: { silenceMs: 500, timeoutMs: 15000 } },
          { dtmf: '5' },
          { waitForBotSpeech: { timeoutMs: 15000 } },
          { waitForBotSilence: { silenceMs: 500, timeoutMs: 15000 } },
          { dtmf: '0' },
        ],
      });
      const session = rig.emulator.sessions.at(-1)!;
      const texts = session.received.flatMap((m) => {
        const cc = (m.json as { clientContent?: { turns?: Array<{ parts?: Array<{ text?: string }> }> } }).clientContent;
        return (cc?.turns ?? []).flatMap((t) => (t.parts ?? []).map((p) => p.text ?? ''));
      });
      assert.ok(texts.some((t) => t.includes('The caller pressed 5.')), `the model was told about key 5: ${JSON.stringify(texts)}`);
      assert.ok(texts.some((t) => t.includes('Connecting you now.')), 'the bot was asked to say the transfer line');
      const update = rig.api.requests.find((r) => r.method === 'POST' && r.path.endsWith(`/Calls/${result.callSid}.json`));
      assert.ok(update, 'Twilio REST call update was made');
      assert.ok(update.authorized, 'with the account’s credentials');
      assert.equal(update.form['Twiml'], '<?xml version="1.0" encoding="UTF-8"?><Response><Dial answerOnBridge="true">+15550109999</Dial></Response>');
      assert.equal(result.outcome.endedBy, 'twiml-replaced', 'the stream ended because the TwiML was replaced');
      await rig.bridge.writer.flush();
      const record = await rig.bridge.store.getCall(result.callSid);
      assert.equal(record?.outcome, 'transferred');
      assert.equal(record?.outcomeDetail?.transferTarget, 'desk (+15550109999)');
      const events = await rig.bridge.store.getEvents(result.callSid);
      assert.deepEqual(events.filter((e) => e.kind === 'dtmf').map((e) => (e.kind === 'dtmf' ? e.digit : '')), ['5', '0']);
    } finally {
      await rig.close();
    }
  });

  it('when Gemini cannot be reached the caller hears the recorded apology, then the call ends', async () => {
    const rig = await startRig({
      env: { GEMINI_LIVE_URL: 'ws://127.0.0.1:9/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent' },
      bridge: { retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } },
    });
    try {
      const result = await rig.call({ timeScale: 0.25, afterScript: 'wait', maxDurationMs: 30000, script: [{ silence: 200 }] });
      const speechMs = result.timeline.filter((e) => e.kind === 'bot-speech-start' || e.kind === 'bot-speech-stop');
      assert.ok(speechMs.length >= 2, 'the caller heard something');
      const closedBy = result.timeline.find((e) => e.kind === 'server-closed');
      assert.ok(closedBy, 'the server ended the call');
      let audible = 0;
      for (let i = 0; i + 160 <= result.heard.length; i += 160) {
        let peak = 0;
        for (let j = i; j < i + 160; j++) peak = Math.max(peak, Math.abs(result.heard[j]!));
        if (peak > 1000) audible++;
      }
      assert.ok(audible * 20 > 3000, `about ${audible * 20} ms of apology heard`);
      await rig.bridge.writer.flush();
      const record = await rig.bridge.store.getCall(result.callSid);
      assert.equal(record?.outcome, 'failed');
      assert.equal(record?.outcomeDetail?.errorCode, 'CB_CALL_GEMINI_UNAVAILABLE');
    } finally {
      await rig.close();
    }
  });

  it('when Gemini cannot be reached and the flow says so, the apology is followed by a transfer', async () => {
    const rig = await startRig({
      flows: { 'line.yaml': testFlow({ topLevel: 'agentUnavailable: { then: { transfer: desk } }' }) },
      env: { GEMINI_LIVE_URL: 'ws://127.0.0.1:9/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent' },
      bridge: { retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } },
    });
    try {
      const result = await rig.call({ timeScale: 0.25, afterScript: 'wait', maxDurationMs: 30000, script: [{ silence: 200 }] });
      assert.equal(result.outcome.endedBy, 'twiml-replaced', 'Twilio was told to dial the desk');
      const update = rig.api.requests.find((r) => r.path.endsWith(`/Calls/${result.callSid}.json`));
      assert.match(update?.form['Twiml'] ?? '', /<Dial answerOnBridge="true">\+15550109999<\/Dial>/);
      await rig.bridge.writer.flush();
      const record = await rig.bridge.store.getCall(result.callSid);
      assert.equal(record?.outcome, 'transferred');
      assert.equal(record?.outcomeDetail?.errorCode, 'CB_CALL_GEMINI_UNAVAILABLE');
    } finally {
      await rig.close();
    }
  });

  it('outside business hours the webhook answers the flow’s message and hangs up, without opening Gemini; the call is recorded', async () => {
    const rig = await startRig({
      flows: {
        'line.yaml': testFlow({
          topLevel: [
            'hours:',
            '  timeZone: Europe/Paris',
            '  weekly: { monday: 09:00-17:00 }',
            '  outsideHours: { say: We are closed. Please call back on Monday., then: hangup }',
          ].join('\n'),
        }),
      },
      bridge: { now: () => new Date('2026-11-22T12:00:00Z') }, // a Sunday
    });
    try {
      const result = await rig.call({ script: [{ silence: 100 }] });
      assert.equal(result.streamSid, undefined, 'no media stream was opened');
      assert.match(result.twiml ?? '', /<Say[^>]*>We are closed\. Please call back on Monday\.<\/Say><Hangup\/>/);
      assert.equal(rig.emulator.sessions.length, 0, 'no Gemini session');
      await rig.bridge.writer.flush();
      const record = await rig.bridge.store.getCall(result.callSid);
      assert.equal(record?.outcome, 'completed');
      assert.equal(record?.outcomeDetail?.reason, 'outside business hours');
    } finally {
      await rig.close();
    }
  });

  it('a webhook that no media stream follows: the pre-opened Gemini session is closed and the call recorded', async () => {
    const rig = await startRig({ emulator: { timing: FAST }, bridge: { noStreamTimeoutMs: 300 } });
    try {
      const callSid = 'CA00000000000000000000000000000a01';
      const form = { CallSid: callSid, AccountSid: rig.accountSid, From: '+15557654321', To: '+15550100100' };
      const signature = twilio.getExpectedTwilioSignature(rig.authToken!, `${rig.bridge.publicBaseUrl}/twilio/voice`, form);
      const res = await fetch(`${rig.bridge.url}/twilio/voice`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
        body: new URLSearchParams(form).toString(),
      });
      assert.equal(res.status, 200, 'webhook answered');
      await rig.emulator.waitForSession();
      // Polled until it happens; the deadlines only stop a hung test (the 300 ms is the bridge's timer).
      const deadline = Date.now() + 20_000;
      while (rig.bridge.manager.status().active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(rig.bridge.manager.status().active, 0, 'the call was dropped');
      const session = rig.emulator.sessions.at(-1)!;
      const closeDeadline = Date.now() + 20_000;
      while (session.state !== 'closed' && Date.now() < closeDeadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(session.close?.by, 'client', 'callbridge closed the pre-opened Gemini session');
      await rig.bridge.writer.flush();
      const record = await rig.bridge.store.getCall(callSid);
      assert.equal(record?.outcome, 'failed');
      assert.equal(record?.outcomeDetail?.errorCode, 'CB_CALL_NO_STREAM');
    } finally {
      await rig.close();
    }
  });
});
