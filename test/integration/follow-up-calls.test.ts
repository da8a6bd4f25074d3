/**
 * Honest outcomes through the real server (simulator → callbridge → emulator): a call whose
 * function failed, that ended in the closed-hours message, whose transfer failed at Twilio or was
 * impossible (no TWILIO_ACCOUNT_SID), or that ended in the apology carries a follow-up flag with
 * a reason; GET /api/calls filters by followUp= and channel=.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRig, testFlow, TOOLS_MODULE, ZOD_MODULE, type Rig } from '../support/e2e.js';
import type { ScriptStep } from '../../src/simulator/index.js';
import type { CallRecord } from '../../src/transcripts/types.js';
import { createLogger } from '../../src/shared/log.js';
import { Writable } from 'node:stream';

const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };
const greeting: ScriptStep[] = [{ waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } }];
const speak: ScriptStep[] = [
  { tone: { hz: 300, durationMs: 500, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 1500, timeoutMs: 20000 } },
];
/**
 * Press a key that transfers (the flow's `dtmf: "0": { transfer: desk }`), then stay on the line
 * while the exit gives the agent its moment for a goodbye (src/call/exit.ts) and carries it out.
 */
const pressTransfer: ScriptStep[] = [{ dtmf: '0' }, { silence: 4000 }];

const TOOLS = {
  'book.ts': `
import { z } from '${ZOD_MODULE}';
import { defineTool } from '${TOOLS_MODULE}';
export default defineTool({
  name: 'book', description: 'Books an appointment.', schema: z.object({ day: z.string() }),
  handler: () => { throw new Error('the calendar is down'); },
});`,
};

const LINE = testFlow({ functions: ['book'], topLevel: 'dtmf:\n  "0": { transfer: desk }' });
const CLOSED = testFlow({
  name: 'closed-line',
  isDefault: false,
  numbers: ['+15550100777'],
  topLevel: ['hours:', '  timeZone: Europe/Paris', '  weekly: {}', '  outsideHours: { say: We are closed today., then: hangup }'].join('\n'),
});

interface ListItem {
  callSid: string;
  channel: string;
  followUp?: CallRecord['followUp'];
}

async function record(rig: Rig, callSid: string): Promise<CallRecord> {
  await rig.bridge.writer.flush();
  const r = await rig.bridge.store.getCall(callSid);
  assert.ok(r, `call ${callSid} is stored`);
  return r;
}

async function list(rig: Rig, query: string): Promise<{ status: number; body: { calls: ListItem[]; total: number; message?: string } }> {
  const res = await fetch(`${rig.bridge.url}/api/calls?${query}`);
  return { status: res.status, body: (await res.json()) as { calls: ListItem[]; total: number } };
}

describe('follow-up flags on real calls', () => {
  it('a failed function is amber, closed hours amber, a transfer Twilio refused red, a plain call none; the list filters them', async () => {
    const rig = await startRig({
      flows: { 'line.yaml': LINE, 'closed.yaml': CLOSED },
      tools: TOOLS,
      emulator: {
        timing: FAST,
        scenario: { name: 'book-fails', turns: [{ heard: 'Book me for Monday', say: 'Let me book that.', toolCalls: [{ name: 'book', args: { day: 'monday' } }] }] },
      },
    });
    try {
      const failing = await rig.call({ timeScale: 0.5, maxDurationMs: 30000, script: [...greeting, ...speak, { silence: 1000 }] });
      const fnRecord = await record(rig, failing.callSid);
      assert.equal(fnRecord.followUp?.level, 'amber', JSON.stringify(fnRecord.followUp));
      assert.match(fnRecord.followUp!.reasons[0]!, /^The function book failed/);

      const closed = await rig.call({ to: '+15550100777', script: [{ silence: 100 }] });
      const closedRecord = await record(rig, closed.callSid);
      assert.equal(closedRecord.outcome, 'completed');
      assert.deepEqual(closedRecord.followUp, { level: 'amber', reasons: ['Called outside business hours: the caller heard the closed-hours message.'] });

      rig.api.failNext(500, 20500, 'Internal server error');
      const refused = await rig.call({ timeScale: 1, maxDurationMs: 30000, script: [...greeting, ...pressTransfer] });
      const refusedRecord = await record(rig, refused.callSid);
      assert.equal(refusedRecord.followUp?.level, 'red', JSON.stringify(refusedRecord.followUp));
      assert.match(refusedRecord.followUp!.reasons[0]!, /^The transfer to desk \(\+15550109999\) failed: /);

      const plain = await rig.call({ timeScale: 0.5, maxDurationMs: 30000, script: [...greeting] });
      assert.equal((await record(rig, plain.callSid)).followUp, undefined);

      const sids = (items: ListItem[]) => items.map((c) => c.callSid).sort();
      assert.deepEqual(sids((await list(rig, 'followUp=any')).body.calls), [failing.callSid, closed.callSid, refused.callSid].sort());
      assert.deepEqual(sids((await list(rig, 'followUp=amber')).body.calls), [failing.callSid, closed.callSid].sort());
      const red = await list(rig, 'followUp=red');
      assert.deepEqual(sids(red.body.calls), [refused.callSid]);
      assert.equal(red.body.calls[0]!.followUp?.level, 'red');
      assert.equal((await list(rig, 'channel=phone')).body.total, 4);
      assert.equal((await list(rig, 'channel=browser')).body.total, 0);
      assert.equal((await list(rig, 'channel=browser&followUp=any')).body.total, 0);
      const bad = await list(rig, 'followUp=yellow');
      assert.equal(bad.status, 400);
      assert.match(bad.body.message ?? '', /followUp: must be one of any, amber, red/);
      assert.equal((await list(rig, 'channel=fax')).status, 400);
    } finally {
      await rig.close();
    }
  });

  it('without TWILIO_ACCOUNT_SID a transfer is impossible: red, and boot warns naming the flow', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    const rig = await startRig({ flows: { 'line.yaml': LINE }, tools: TOOLS, env: { TWILIO_ACCOUNT_SID: '' }, emulator: { timing: FAST }, log: createLogger({ level: 'warn', destination: sink }) });
    try {
      const warning = lines.map((l) => JSON.parse(l) as { msg: string; flows?: string[] }).find((l) => /TWILIO_ACCOUNT_SID/.test(l.msg) && l.flows);
      assert.deepEqual(warning?.flows, ['test-line'], lines.join(''));
      const call = await rig.call({ timeScale: 1, maxDurationMs: 30000, script: [...greeting, ...pressTransfer] });
      const r = await record(rig, call.callSid);
      assert.equal(r.followUp?.level, 'red', JSON.stringify(r.followUp));
      assert.match(r.followUp!.reasons[0]!, /^A transfer could not happen: cannot transfer to desk/);
    } finally {
      await rig.close();
    }
  });

  it('the apology (the voice agent unreachable) is red', async () => {
    const rig = await startRig({
      env: { GEMINI_LIVE_URL: 'ws://127.0.0.1:9/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent' },
      bridge: { retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } },
    });
    try {
      const call = await rig.call({ timeScale: 0.25, afterScript: 'wait', maxDurationMs: 30000, script: [{ silence: 200 }] });
      const r = await record(rig, call.callSid);
      assert.equal(r.outcome, 'failed');
      assert.equal(r.followUp?.level, 'red');
      assert.match(r.followUp!.reasons[0]!, /voice agent became unavailable \(CB_CALL_GEMINI_UNAVAILABLE\): the caller heard the apology/);
      const listed = await list(rig, 'followUp=red');
      assert.deepEqual(listed.body.calls.map((c) => c.callSid), [call.callSid]);
    } finally {
      await rig.close();
    }
  });
});
