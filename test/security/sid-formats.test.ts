/**
 * Attack: send identifiers that are not Twilio SIDs (path pieces, SQL-ish text, `CA1`) where a
 * CallSid, AccountSid or StreamSid enters. Before: any non-empty CallSid started a call (and named
 * its record and recording file), a status callback and a stream `start` took any SIDs, and the
 * API looked any id up. Now: a prefix and 32 hex digits (CA, AC, MZ; BR for browser-phone calls
 * in the API); a webhook answers 400, a stream is closed (1008) with CB_TWILIO_SID_INVALID logged,
 * the API answers 400.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import twilio from 'twilio';
import WebSocket from 'ws';
import { startEdge, loopbackHandler, AUTH_TOKEN, ACCOUNT_SID, type Edge } from '../integration/twilio-harness.js';
import { startRig } from '../support/e2e.js';
import { isAccountSid, isAnyCallSid, isCallSid, isStreamSid } from '../../src/twilio/sids.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTranscriptWriter, openSqliteStore } from '../../src/transcripts/index.js';
import { demoRecord } from '../support/transcripts-fixtures.js';

const PUBLIC = 'https://bot.example.test';
const WSS = `${PUBLIC.replace('https', 'wss')}/twilio/media`;
const GOOD_CALL = 'CA' + '0123456789abcdef'.repeat(2);
const GOOD_STREAM = 'MZ' + '0123456789abcdef'.repeat(2);
const BAD = ['CA1', '../../etc/passwd', `CA${'0'.repeat(31)}g`, `CA${'0'.repeat(33)}`, `ca${'0'.repeat(32)}`, `CA${'0'.repeat(32)}\n`, "CA' OR 1=1 --"];
let edge: Edge | undefined;

afterEach(async () => {
  await edge?.close();
  edge = undefined;
});

async function post(e: Edge, path: string, form: Record<string, string>): Promise<{ status: number; body: string }> {
  const res = await fetch(e.serverUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC + path, form) },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.text() };
}

describe('security: SID formats', () => {
  it('the checks: prefix and 32 hex digits, nothing around them', () => {
    assert.ok(isCallSid(GOOD_CALL) && isStreamSid(GOOD_STREAM) && isAccountSid(ACCOUNT_SID));
    assert.ok(isAnyCallSid('BR' + 'f'.repeat(32)) && !isCallSid('BR' + 'f'.repeat(32)));
    for (const bad of BAD) assert.equal(isCallSid(bad), false, bad);
    assert.equal(isStreamSid(GOOD_CALL), false);
    assert.equal(isAccountSid(GOOD_CALL), false);
  });

  it('a signed voice webhook or status callback with a malformed SID gets 400 and no call', async () => {
    const { handler, record } = loopbackHandler();
    edge = await startEdge({ handler, publicBaseUrl: PUBLIC });
    for (const bad of BAD) {
      const res = await post(edge, '/twilio/voice', { CallSid: bad, AccountSid: ACCOUNT_SID, From: '+15550001111', To: '+15550002222' });
      assert.equal(res.status, 400, `CallSid ${JSON.stringify(bad)}`);
      assert.doesNotMatch(res.body, /<Stream|\n\s+at /);
    }
    assert.equal((await post(edge, '/twilio/voice', { CallSid: GOOD_CALL, AccountSid: 'AC1' })).status, 400, 'a malformed AccountSid');
    assert.equal((await post(edge, '/twilio/status', { CallSid: GOOD_CALL, AccountSid: ACCOUNT_SID, StreamSid: 'MZ1', StreamEvent: 'stream-stopped' })).status, 400, 'a malformed StreamSid');
    assert.equal((await post(edge, '/twilio/status', { CallSid: 'CA1', AccountSid: ACCOUNT_SID, StreamSid: GOOD_STREAM, StreamEvent: 'stream-stopped' })).status, 400);
    assert.equal(record.calls.length, 0, 'the handler never saw them');
    assert.equal(record.statuses.length, 0);
    assert.ok(edge.logs.some((l) => l.code === 'CB_TWILIO_SID_INVALID'));
    assert.equal((await post(edge, '/twilio/voice', { CallSid: GOOD_CALL, AccountSid: ACCOUNT_SID })).status, 200, 'a well-formed one still works');
  });

  it('a stream start with a malformed StreamSid or AccountSid is closed with a logged code', async () => {
    const { handler, record } = loopbackHandler();
    edge = await startEdge({ handler, publicBaseUrl: PUBLIC });
    const sig = twilio.getExpectedTwilioSignature(AUTH_TOKEN, WSS, {});
    for (const [accountSid, streamSid] of [[ACCOUNT_SID, 'MZ1'], ['AC1', GOOD_STREAM]] as const) {
      const ws = new WebSocket(`${edge.serverUrl.replace('http', 'ws')}/twilio/media`, { headers: { 'x-twilio-signature': sig } });
      await once(ws, 'open');
      ws.send(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid, start: { accountSid, streamSid, callSid: GOOD_CALL, tracks: ['inbound'], customParameters: {}, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } }));
      const [code] = (await once(ws, 'close')) as [number];
      assert.equal(code, 1008, `${accountSid} ${streamSid}`);
    }
    assert.equal(record.streams.length, 0);
    assert.equal(edge.logs.filter((l) => l.code === 'CB_TWILIO_SID_INVALID').length, 2);
  });

  it('the calls API answers 400 for an id that is not a call SID, 404 for an unknown well-formed one', async () => {
    const token = 'a'.repeat(40);
    const rig = await startRig({ env: { ADMIN_TOKEN: token } });
    try {
      const auth = { Authorization: `Bearer ${token}` };
      for (const bad of ['CA1', 'x'.repeat(64), 'CA_' + '0'.repeat(31)]) {
        for (const suffix of ['', '/live', '/export.json']) {
          const res = await fetch(`${rig.bridge.url}/api/calls/${encodeURIComponent(bad)}${suffix}`, { headers: auth });
          assert.equal(res.status, 400, `${bad}${suffix}`);
          assert.equal(((await res.json()) as { error: string }).error, 'bad_request');
        }
      }
      assert.equal((await fetch(`${rig.bridge.url}/api/calls/${GOOD_CALL}`, { headers: auth })).status, 404);
      assert.equal((await fetch(`${rig.bridge.url}/api/calls/BR${'0'.repeat(32)}`, { headers: auth })).status, 404);
    } finally {
      await rig.close();
    }
  });

  it('the transcript store never records a call under a malformed id', async () => {
    const store = openSqliteStore({ dataDir: mkdtempSync(join(tmpdir(), 'cb-sid-store-')) });
    const writer = createTranscriptWriter({ store });
    try {
      for (const bad of ['CA1', '../../etc/passwd', 'CA' + 'g'.repeat(32), '']) {
        assert.throws(() => writer.openCall(demoRecord({ callSid: bad })), (err: Error & { code?: string }) => err.code === 'CB_TWILIO_SID_INVALID', bad);
      }
      writer.openCall(demoRecord()).close({ outcome: 'completed' });
      await writer.flush();
      assert.deepEqual((await store.listCalls({ limit: 10 })).calls.map((c) => c.record.callSid), [demoRecord().callSid]);
    } finally {
      await writer.close();
      await store.close();
    }
  });
});
