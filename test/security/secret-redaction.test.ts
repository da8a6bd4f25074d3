/**
 * Attack: read secrets or callers' numbers from the server log (log shippers, shared consoles,
 * support tickets). The audit found this holding; this is its regression test: a whole phone
 * call through the real server (the shipped order-status IVR: a signed HTTP function with the
 * flow's secret, a stream token, a Gemini key), plus sign-ins and API calls with right and wrong
 * admin tokens, logged at debug level with LOG_PII on. The log never holds ADMIN_TOKEN,
 * TWILIO_AUTH_TOKEN, GEMINI_API_KEY, the flow's HTTP-function secret, a stream token or a wrong
 * admin token someone typed; the caller's number shows only under `pii` fields, which are
 * `[redacted]` unless LOG_PII is on. No 500, no stack.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/shared/log.js';
import { startRig, type Rig } from '../support/e2e.js';
import { startOrderService } from '../../examples/order-service.js';
import { InstantSpeech } from '../support/instant-speech.js';
import type { ScriptStep } from '../../src/simulator/index.js';
import { stackLines, type LogLine } from './support.js';

const ADMIN_TOKEN = 'redaction-admin-token-Zq8vW3xK0pLm5nB7cR2t';
const GEMINI_API_KEY = 'AIzaRedactionTestKey-Hq4uY9eT1oPl6sDf3gJk';
const FLOW_SECRET = 'redaction-flow-secret-Vb5nM8qW2eRt7yUi';
const CALLER = '+15557654321';
/** Shapes a caller number takes in text: E.164, national digits, grouped. */
const CALLER_FORMS = [CALLER, '5557654321', '555-765-4321', '555 765 4321'];
/** Any stream token (src/twilio/stream-token.ts): v1.<expiry base36>.<43-char MAC>. */
const STREAM_TOKEN = /v1\.[0-9a-z]{1,12}\.[A-Za-z0-9_-]{43}/;

const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };
const speak = (hz = 300): ScriptStep[] => [
  { tone: { hz, durationMs: 500, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 2000, timeoutMs: 20000 } },
];
const greeting: ScriptStep[] = [{ waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } }];

/** `value` without its `pii` subtrees. */
function withoutPii(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPii);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'pii').map(([k, v]) => [k, withoutPii(v)]));
}

describe('security: secrets and caller numbers stay out of the log', () => {
  const lines: LogLine[] = [];
  let rig: Rig;
  let orders: Awaited<ReturnType<typeof startOrderService>>;
  const saved = { url: process.env['ORDER_SERVICE_URL'], secret: process.env['ORDER_SERVICE_SECRET'] };
  let callSid = '';

  before(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
        cb();
      },
    });
    orders = await startOrderService({ port: 0, secret: FLOW_SECRET });
    // The IVR flow reads its service URL and secret from the environment when it is loaded.
    process.env['ORDER_SERVICE_URL'] = orders.url;
    process.env['ORDER_SERVICE_SECRET'] = FLOW_SECRET;
    rig = await startRig({
      flows: {},
      env: { ADMIN_TOKEN, GEMINI_API_KEY },
      log: createLogger({ level: 'debug', showPii: true, destination }),
      bridge: { flowsDir: resolve('flows'), toolsDir: resolve('tools'), now: () => new Date('2026-11-24T15:00:00Z') },
      emulator: { timing: FAST, tts: new InstantSpeech(), scenariosBySystemInstruction: [{ match: 'Example Shop', scenario: resolve('scenarios/order-status-ivr.yaml') }] },
    });
    const call = await rig.call({ from: CALLER, to: '+15550100200', timeScale: 0.5, afterScript: 'wait', maxDurationMs: 60000, script: [...greeting, { dtmf: '1' }, { waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } }, ...speak(), { tone: { hz: 300, durationMs: 500, amplitude: 8000 } }] });
    callSid = call.callSid;
    await rig.bridge.writer.flush();
    // Admin access, right and wrong, through both doors.
    const base = rig.bridge.url;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const token of [ADMIN_TOKEN.slice(0, -1), ADMIN_TOKEN]) await (await fetch(`${base}/calls/login`, { method: 'POST', redirect: 'manual', headers: form, body: `token=${token}` })).arrayBuffer();
    for (const token of [`${ADMIN_TOKEN}x`, ADMIN_TOKEN]) await (await fetch(`${base}/api/calls/${callSid}`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
  });

  after(async () => {
    await rig?.close();
    await orders?.close();
    for (const [key, value] of [['ORDER_SERVICE_URL', saved.url], ['ORDER_SERVICE_SECRET', saved.secret]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('the call really ran through its signed HTTP function (the control)', async () => {
    const events = await rig.bridge.store.getEvents(callSid);
    const lookup = events.find((e) => e.kind === 'function_call' && e.name === 'lookup_order');
    assert.equal(lookup?.kind === 'function_call' && lookup.status, 'ok', 'the order service accepted the signed request');
    assert.ok(lines.some((l) => l['callSid'] === callSid), 'the call was logged');
    assert.ok(lines.some((l) => JSON.stringify(l).includes(CALLER)), 'with LOG_PII on, the caller number is in the log somewhere (under pii)');
  });

  it('holds no secret, no stream token, no wrong admin token', () => {
    const text = lines.map((l) => JSON.stringify(l)).join('\n');
    const secrets: [string, string][] = [
      ['ADMIN_TOKEN', ADMIN_TOKEN],
      ['a wrong admin token (one character short)', ADMIN_TOKEN.slice(0, -1)],
      ['TWILIO_AUTH_TOKEN', rig.authToken!],
      ['GEMINI_API_KEY', GEMINI_API_KEY],
      ['the flow secret', FLOW_SECRET],
    ];
    for (const [what, secret] of secrets) assert.equal(text.includes(secret), false, `${what} is in the log`);
    assert.doesNotMatch(text, STREAM_TOKEN, 'a stream token is in the log');
  });

  it('shows the caller number only under pii fields', () => {
    for (const line of lines) {
      const outside = JSON.stringify(withoutPii(line));
      for (const form of CALLER_FORMS) assert.equal(outside.includes(form), false, `caller number outside pii in: ${outside}`);
    }
  });

  it('logs no 500 and no stack', () => assert.deepEqual(stackLines(lines), []));
});

describe('security: pii fields are redacted unless LOG_PII is on', () => {
  it('censors pii (and token-named fields) by default', () => {
    const out: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(chunk.toString('utf8'));
        cb();
      },
    });
    const log = createLogger({ destination });
    log.info({ callSid: 'CA' + '0'.repeat(32), pii: { from: CALLER, said: 'my card is 4111 1111 1111 1111' }, authToken: 'tok-secret-1', twilio: { token: 'tok-secret-2' } }, 'call started');
    const line = JSON.parse(out.join('')) as Record<string, unknown>;
    assert.equal(line['pii'], '[redacted]');
    assert.equal(line['authToken'], '[redacted]');
    assert.deepEqual(line['twilio'], { token: '[redacted]' });
    assert.doesNotMatch(out.join(''), /5557654321|4111|tok-secret/);
  });
});
