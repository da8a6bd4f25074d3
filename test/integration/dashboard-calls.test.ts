/**
 * The dashboard on a real call through the whole server (simulator → callbridge → emulator):
 * mounted by startCallbridge, days in TIME_ZONE for a flow without hours, the call's failed
 * function and follow-up counted, the follow-up listed, marked done and reopened.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRig, testFlow, TOOLS_MODULE, ZOD_MODULE } from '../support/e2e.js';
import type { ScriptStep } from '../../src/simulator/index.js';

const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };
const script: ScriptStep[] = [
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } },
  { tone: { hz: 300, durationMs: 500, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 1500, timeoutMs: 20000 } },
  { silence: 1000 },
];
const TOOLS = {
  'book.ts': `
import { z } from '${ZOD_MODULE}';
import { defineTool } from '${TOOLS_MODULE}';
export default defineTool({
  name: 'book', description: 'Books an appointment.', schema: z.object({ day: z.string() }),
  handler: () => { throw new Error('the calendar is down'); },
});`,
};
const ZONE = 'Pacific/Auckland';

describe('dashboard through the server', () => {
  it('counts a real call in the business day of TIME_ZONE and lists its follow-up', async () => {
    const rig = await startRig({
      flows: { 'line.yaml': testFlow({ functions: ['book'] }) },
      tools: TOOLS,
      env: { TIME_ZONE: ZONE },
      emulator: { timing: FAST, scenario: { name: 'book-fails', turns: [{ heard: 'Book me for Monday', say: 'Let me book that.', toolCalls: [{ name: 'book', args: { day: 'monday' } }] }] } },
    });
    try {
      const call = await rig.call({ timeScale: 0.5, maxDurationMs: 30000, script });
      await rig.bridge.writer.flush();
      const record = await rig.bridge.store.getCall(call.callSid);
      assert.equal(record?.followUp?.level, 'amber', JSON.stringify(record?.followUp));
      const day = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(record!.startedAt));

      assert.equal((await fetch(`${rig.bridge.url}/dashboard`)).status, 200);
      const dash = (await (await fetch(`${rig.bridge.url}/api/dashboard?from=${day}&to=${day}`)).json()) as any;
      assert.equal(dash.flows.length, 1, JSON.stringify(dash));
      const flow = dash.flows[0];
      assert.equal(flow.flow, 'test-line');
      assert.equal(flow.timeZone, ZONE);
      assert.equal(flow.days[0].date, day);
      assert.equal(flow.days[0].calls, 1);
      assert.deepEqual(flow.days[0].failedFunctions, [{ name: 'book', calls: 1 }]);
      assert.equal(flow.days[0].followUpsOpen, 1);
      assert.ok(flow.days[0].medianDurationMs > 0);

      const list = (await (await fetch(`${rig.bridge.url}/api/follow-ups`)).json()) as any;
      assert.deepEqual(list.items.map((i: any) => i.callSid), [call.callSid]);
      assert.equal(list.items[0].timeZone, ZONE);
      assert.match(list.items[0].followUp.reasons[0], /^The function book failed/);

      const done = await fetch(`${rig.bridge.url}/api/follow-ups/${call.callSid}/done`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"by":"Ana"}' });
      assert.equal(done.status, 200);
      assert.equal(((await done.json()) as any).done.via, 'local'); // no ADMIN_TOKEN: open development access
      assert.equal(((await (await fetch(`${rig.bridge.url}/api/follow-ups`)).json()) as any).total, 0);
      assert.equal((await fetch(`${rig.bridge.url}/api/follow-ups/${call.callSid}/done`, { method: 'DELETE' })).status, 200);
      assert.equal(((await (await fetch(`${rig.bridge.url}/api/follow-ups`)).json()) as any).total, 1);
      const calls = (await (await fetch(`${rig.bridge.url}/api/calls`)).json()) as any;
      assert.equal(calls.calls[0].timeZone, ZONE);
    } finally {
      await rig.close();
    }
  });
});
