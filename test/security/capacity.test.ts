/**
 * Issue 17, item 2: capacity. A flood of validly signed webhooks opens at most MAX_CALLS agent
 * (Gemini) sessions; the rest are answered busy TwiML (a short message, or <Dial> to
 * FALLBACK_NUMBER) and open nothing. MAX_PENDING_CALLS caps admitted calls still waiting for
 * their media. While full, /readyz answers 503 with reason "at_capacity"; when calls end, it is
 * ready again and new calls are taken. Before this, every webhook opened a session and /readyz
 * stayed ready.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import twilio from 'twilio';
import { startRig, type Rig } from '../support/e2e.js';
import { connectPhone, signIn, type PhoneClient, type Upgrade } from '../support/phone-client.js';
import { until } from '../support/wait.js';

const callSid = (n: number) => `CA${n.toString(16).padStart(32, '0')}`;

async function webhook(rig: Rig, sid: string): Promise<{ status: number; body: string }> {
  const form = { CallSid: sid, AccountSid: rig.accountSid, From: '+15557654321', To: '+15550100100', CallStatus: 'ringing', Direction: 'inbound' };
  const signature = twilio.getExpectedTwilioSignature(rig.authToken!, `${rig.bridge.publicBaseUrl}/twilio/voice`, form);
  const res = await fetch(`${rig.bridge.url}/twilio/voice`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.text() };
}

async function readyz(rig: Rig): Promise<{ status: number; body: { ready: boolean; reason?: string; calls: { active: number; awaitingStream: number; atCapacity: boolean; maxCalls: number; maxPendingCalls: number } } }> {
  const res = await fetch(`${rig.bridge.url}/readyz`);
  return { status: res.status, body: (await res.json()) as never };
}

/** Polls `test` every 20 ms; rejects after `timeoutMs` (an upper bound that only stops a hung test). */
const isStream = (body: string) => body.includes('<Stream');

describe('capacity: MAX_CALLS', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({ env: { MAX_CALLS: '3', MAX_PENDING_CALLS: '100' } });
  });
  after(() => rig.close());

  it('60 signed webhooks at once open 3 agent sessions; the other 57 hear the busy message', async () => {
    const ready = await readyz(rig);
    assert.equal(ready.status, 200, 'ready while empty');
    assert.equal(ready.body.calls.maxCalls, 3);

    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => webhook(rig, callSid(0x1000 + i))));
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [200], 'every webhook answered 200 with TwiML');
    const streamed = answers.filter((a) => isStream(a.body));
    const busy = answers.filter((a) => !isStream(a.body));
    assert.equal(streamed.length, 3, 'three calls connected to the agent');
    assert.equal(busy.length, 57);
    for (const b of busy) {
      assert.match(b.body, /<Say[^>]*>[^<]*cannot take your call right now/, 'a short busy message');
      assert.match(b.body, /<Hangup\s*\/>/);
    }
    assert.equal(rig.bridge.manager.status().active, 3);

    // Each admitted call pre-opens its session at admission; once all three have generated their
    // greeting, any session a refused call had started would have arrived with them.
    await until(() => rig.emulator.sessions.length >= 3, 'the three pre-opened sessions');
    await until(
      () => rig.emulator.sessions.slice(0, 3).every((s) => s.events.some((e) => e.type === 'turnComplete')),
      'the three greetings',
    );
    assert.equal(rig.emulator.sessions.length, 3, 'no Gemini session for a busy call');

    const full = await readyz(rig);
    assert.equal(full.status, 503, '/readyz says not ready while full');
    assert.equal(full.body.ready, false);
    assert.equal(full.body.reason, 'at_capacity');
    assert.equal(full.body.calls.atCapacity, true);
  });

  it('while full, a retried webhook of an admitted call still streams and a refused one stays busy', async () => {
    const sids = Array.from({ length: 60 }, (_, i) => callSid(0x1000 + i));
    const winners = sids.filter((sid) => rig.bridge.manager.call(sid) !== undefined);
    const loser = sids.find((sid) => !winners.includes(sid))!;
    assert.equal(winners.length, 3);
    const retry = await webhook(rig, winners[0]!);
    assert.ok(isStream(retry.body), `a retried webhook of an admitted call streams: ${retry.body}`);
    assert.ok(!isStream((await webhook(rig, loser)).body), 'a refused call retried is still busy');
    assert.equal(rig.bridge.manager.status().active, 3);
  });
});

describe('capacity: MAX_PENDING_CALLS and FALLBACK_NUMBER', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({ env: { MAX_CALLS: '50', MAX_PENDING_CALLS: '2', FALLBACK_NUMBER: '+15550109876' }, bridge: { noStreamTimeoutMs: 300 } });
  });
  after(() => rig.close());

  it('calls waiting for their media are capped; the busy ones are dialled to FALLBACK_NUMBER; capacity frees when they end', async () => {
    const first = await Promise.all([1, 2, 3, 4, 5].map((i) => webhook(rig, callSid(0x2000 + i))));
    assert.equal(first.filter((a) => isStream(a.body)).length, 2, 'two pending calls admitted');
    const busy = first.filter((a) => !isStream(a.body));
    assert.equal(busy.length, 3);
    for (const b of busy) assert.match(b.body, /<Dial[^>]*>\s*(<Number>)?\+15550109876/, 'busy calls dialled to FALLBACK_NUMBER');

    const full = await readyz(rig);
    assert.equal(full.status, 503);
    assert.equal(full.body.reason, 'at_capacity');
    assert.equal(full.body.calls.awaitingStream, 2);

    // No media follows: the pending calls end (CB_CALL_NO_STREAM) and the process takes calls again.
    await until(async () => (await readyz(rig)).status === 200, '/readyz ready again once the pending calls ended');
    const after = await readyz(rig);
    assert.equal(after.body.reason, undefined);
    assert.ok(isStream((await webhook(rig, callSid(0x2100))).body), 'a new call is accepted again');
  });
});

describe('capacity: the browser test phone', () => {
  const TOKEN = 'capacity-test-admin-token-0123456789abcdef';
  let rig: Rig;
  before(async () => {
    rig = await startRig({ env: { MAX_CALLS: '1', ADMIN_TOKEN: TOKEN } });
  });
  after(() => rig.close());
  const phoneOf = (u: Upgrade): PhoneClient => {
    if (!u.ok) throw new Error(`upgrade refused: ${u.status} ${u.body}`);
    return u.phone;
  };

  it('a browser call over MAX_CALLS is refused with reason "busy" and a clear message; no session opens for it', async () => {
    const first = phoneOf(await connectPhone(rig.bridge.url, { cookie: await signIn(rig.bridge.url, TOKEN) }));
    await first.until(() => first.message('ready'), 10_000, 'the first call ready');
    await until(() => rig.emulator.sessions.length >= 1, 'the first session');
    const second = phoneOf(await connectPhone(rig.bridge.url, { cookie: await signIn(rig.bridge.url, TOKEN) }));
    await second.closed;
    assert.equal(second.message('refused')?.['reason'], 'busy');
    assert.match(String(second.message('refused')?.['message']), /at capacity/);
    assert.equal(second.message('ready'), undefined);
    assert.equal(rig.bridge.manager.status().active, 1, 'the refused call was never created');
    assert.equal(rig.emulator.sessions.length, 1, 'no Gemini session for the refused call');
    first.send({ type: 'hangup' });
    await first.closed;
  });
});
