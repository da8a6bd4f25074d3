/**
 * Attack: forge Twilio's requests. A webhook, a stream status callback or a media WebSocket
 * upgrade sent without X-Twilio-Signature, with a made-up one, one made with another auth token,
 * or a genuine one replayed on altered parameters. The audit found this holding; this is its
 * regression test: every forgery gets 403 (the upgrade before any 101), logged as
 * CB_TWILIO_SIGNATURE_INVALID, and nothing reaches the call handler. No 500, no stack.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import twilio from 'twilio';
import { startEdge, loopbackHandler, AUTH_TOKEN, ACCOUNT_SID, type Edge, type LoopbackRecord } from '../integration/twilio-harness.js';
import { stackLines, type LogLine } from './support.js';

const PUBLIC = 'https://bot.example.test';
const WSS = `${PUBLIC.replace('https', 'wss')}/twilio/media`;
const CALL_SID = 'CA' + 'f0'.repeat(16);
const STREAM_SID = 'MZ' + 'f0'.repeat(16);

const voiceForm = { CallSid: CALL_SID, AccountSid: ACCOUNT_SID, From: '+15552223333', To: '+15550001111', CallStatus: 'ringing' };
const statusForm = { CallSid: CALL_SID, AccountSid: ACCOUNT_SID, StreamSid: STREAM_SID, StreamEvent: 'stream-stopped' };

/** Forgeries of a request to `url` with `form`: none, junk, another account's token, a genuine signature over other values. */
function forgeries(url: string, form: Record<string, string>): [string, string | undefined][] {
  const tampered = Object.fromEntries(Object.entries(form).map(([k, v], i) => [k, i === 0 ? v : `${v}0`]));
  return [
    ['unsigned', undefined],
    ['empty', ''],
    ['junk', 'bm90LWEtc2lnbmF0dXJl'],
    ['another token', twilio.getExpectedTwilioSignature('someone-elses-auth-token-000000', url, form)],
    ...(Object.keys(form).length > 1 ? [['signed for other values', twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, tampered)] as [string, string]] : []),
    ['signed for another URL', twilio.getExpectedTwilioSignature(AUTH_TOKEN, 'https://evil.example/twilio/voice', form)],
  ];
}

async function post(e: Edge, path: string, form: Record<string, string>, signature: string | undefined): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (signature !== undefined) headers['x-twilio-signature'] = signature;
  const res = await fetch(e.serverUrl + path, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  await res.arrayBuffer();
  return res.status;
}

/** A raw upgrade request; resolves with everything the server sent until it closed (or 2 KiB). */
async function rawUpgrade(e: Edge, signature: string | undefined, target = '/twilio/media'): Promise<string> {
  const socket = net.connect(Number(new URL(e.serverUrl).port), '127.0.0.1');
  await once(socket, 'connect');
  const lines = [`GET ${target} HTTP/1.1`, 'Host: bot.example.test', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];
  if (signature !== undefined) lines.push(`X-Twilio-Signature: ${signature}`);
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  let answer = '';
  socket.on('data', (d: Buffer) => {
    answer += d.toString('latin1');
    // A genuine upgrade stays open: stop reading once the status line is in.
    if (answer.includes('\r\n\r\n') && answer.startsWith('HTTP/1.1 101')) socket.destroy();
  });
  await once(socket, 'close');
  return answer;
}

describe('security: forged Twilio signatures', () => {
  let edge: Edge;
  let record: LoopbackRecord;
  before(async () => {
    const loop = loopbackHandler();
    record = loop.record;
    edge = await startEdge({ handler: loop.handler, publicBaseUrl: PUBLIC });
  });
  after(() => edge.close());

  const refusals = (): LogLine[] => edge.logs.filter((l) => l.code === 'CB_TWILIO_SIGNATURE_INVALID') as LogLine[];

  for (const [what, signature] of forgeries(`${PUBLIC}/twilio/voice`, voiceForm)) {
    it(`voice webhook, ${what}: 403 and no call`, async () => {
      const before = refusals().length;
      assert.equal(await post(edge, '/twilio/voice', voiceForm, signature), 403);
      assert.equal(record.calls.length, 0);
      assert.equal(refusals().length, before + 1, 'the refusal is logged with its code');
    });
  }

  for (const [what, signature] of forgeries(`${PUBLIC}/twilio/status`, statusForm)) {
    it(`status callback, ${what}: 403 and the handler is not told`, async () => {
      assert.equal(await post(edge, '/twilio/status', statusForm, signature), 403);
      assert.equal(record.statuses.length, 0);
    });
  }

  for (const [what, signature] of forgeries(WSS, {})) {
    it(`media upgrade, ${what}: 403 before any 101`, async () => {
      const answer = await rawUpgrade(edge, signature);
      assert.match(answer, /^HTTP\/1\.1 403 /);
      assert.doesNotMatch(answer, /101 Switching Protocols/);
      assert.equal(record.streams.length, 0);
    });
  }

  it('media upgrade with a query string, even correctly signed for it: 403', async () => {
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${WSS}?flow=admin`, {});
    assert.match(await rawUpgrade(edge, signature, '/twilio/media?flow=admin'), /^HTTP\/1\.1 403 /);
  });

  it('the genuine requests pass (so the refusals above are the signature check)', async () => {
    assert.equal(await post(edge, '/twilio/voice', voiceForm, twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC}/twilio/voice`, voiceForm)), 200);
    assert.equal(await post(edge, '/twilio/status', statusForm, twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC}/twilio/status`, statusForm)), 204);
    assert.match(await rawUpgrade(edge, twilio.getExpectedTwilioSignature(AUTH_TOKEN, WSS, {})), /^HTTP\/1\.1 101 /);
    assert.equal(record.calls.length, 1);
    assert.equal(record.statuses.length, 1);
  });

  it('logs no 500 and no stack', () => assert.deepEqual(stackLines(edge.logs as LogLine[]), []));
});
