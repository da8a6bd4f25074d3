import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TwilioCallControl } from '../../src/twilio/rest.js';
import { dialTwiml } from '../../src/twilio/twiml.js';
import { CallbridgeError } from '../../src/shared/errors.js';
import { FakeTwilioApi, SimulatedCallRegistry, placeCall } from '../../src/simulator/index.js';
import type { CallHandler } from '../../src/twilio/handler.js';
import type { TwilioMediaStream } from '../../src/twilio/media-stream.js';
import { startEdge, AUTH_TOKEN, ACCOUNT_SID, type Edge } from './twilio-harness.js';

const CALL_SID = 'CA' + 'ab'.repeat(16);
const DIAL = '<?xml version="1.0" encoding="UTF-8"?><Response><Dial answerOnBridge="true">+15551234567</Dial></Response>';

async function rejection(p: Promise<unknown>): Promise<CallbridgeError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CallbridgeError, `a CallbridgeError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('call control over REST (against the fake Twilio API)', () => {
  let api: FakeTwilioApi;
  let rest: TwilioCallControl;

  before(async () => {
    api = await FakeTwilioApi.start({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    rest = new TwilioCallControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: api.url });
  });
  after(() => api.close());

  it('a transfer sends exactly the <Dial> TwiML, with basic auth, to the call resource', async () => {
    const state = await rest.updateCallTwiml(CALL_SID, dialTwiml('+15551234567'));
    assert.deepEqual(state, { callSid: CALL_SID, status: 'in-progress' });
    const req = api.requests.at(-1)!;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls/${CALL_SID}.json`);
    assert.deepEqual(req.form, { Twiml: DIAL });
    assert.equal(req.body, `Twiml=${encodeURIComponent(DIAL)}`);
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req.headers.authorization, `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`);
    assert.equal(req.authorized, true);
  });

  it('hang up sends Status=completed', async () => {
    const state = await rest.hangUp(CALL_SID);
    assert.equal(state.status, 'completed');
    const req = api.requests.at(-1)!;
    assert.equal(req.path, `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls/${CALL_SID}.json`);
    assert.equal(req.body, 'Status=completed');
  });

  it('failures become CB_TWILIO_REST_FAILED with the HTTP status and Twilio code', async () => {
    api.failNext(400, 21220, 'Call is not in-progress. Cannot redirect.');
    const err = await rejection(rest.updateCallTwiml(CALL_SID, dialTwiml('+15551234567')));
    assert.equal(err.code, 'CB_TWILIO_REST_FAILED');
    assert.equal(err.detail?.['status'], 400);
    assert.equal(err.detail?.['twilioCode'], 21220);
    assert.match(err.message, /HTTP 400.*Cannot redirect/);

    const wrongToken = new TwilioCallControl({ accountSid: ACCOUNT_SID, authToken: 'not-the-token-not-the-token-0000', apiBaseUrl: api.url });
    const auth = await rejection(wrongToken.hangUp(CALL_SID));
    assert.equal(auth.detail?.['status'], 401);
    assert.equal(api.requests.at(-1)!.authorized, false);
  });

  it('a network failure is CB_TWILIO_REST_FAILED too', async () => {
    const gone = await FakeTwilioApi.start({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    const url = gone.url;
    await gone.close();
    const unreachable = new TwilioCallControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: url, timeoutMs: 2000 });
    const err = await rejection(unreachable.hangUp(CALL_SID));
    assert.equal(err.code, 'CB_TWILIO_REST_FAILED');
    assert.equal(err.retryable, true);
  });
});

describe('transfers and hang-ups of a simulated call', () => {
  let api: FakeTwilioApi;
  let edge: Edge;
  const registry = new SimulatedCallRegistry();
  const streams: TwilioMediaStream[] = [];
  const events: string[][] = [];

  before(async () => {
    api = await FakeTwilioApi.start({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, calls: registry });
    const rest = new TwilioCallControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: api.url });
    // '5' transfers to a human, '6' hangs up (after the goodbye would have played).
    const handler: CallHandler = {
      onIncomingCall: () => ({ kind: 'stream' }),
      onStreamStart(stream) {
        streams.push(stream);
        const seen: string[] = [];
        events.push(seen);
        stream.on('stop', () => seen.push('stop'));
        stream.on('end', ({ reason }) => seen.push(`end:${reason}`));
        stream.on('dtmf', ({ digit }) => {
          if (digit === '5') void rest.updateCallTwiml(stream.callSid, dialTwiml('+15551234567'));
          if (digit === '6') void rest.hangUp(stream.callSid);
        });
      },
    };
    edge = await startEdge({ handler });
  });
  after(async () => {
    await edge.close();
    await api.close();
  });

  const dial = (digit: string) =>
    placeCall({
      serverUrl: edge.serverUrl, publicBaseUrl: edge.publicBaseUrl, authToken: AUTH_TOKEN, accountSid: ACCOUNT_SID,
      from: '+15552223333', to: '+15550001111', timeScale: 0.05, registry,
      script: [{ silence: 200 }, { dtmf: digit }, { silence: 60_000 }],
    });

  it('new TwiML over REST: Twilio stops the stream (stop, close) and runs the <Dial>', async () => {
    const r = await dial('5');
    assert.equal(r.outcome.endedBy, 'twiml-replaced');
    assert.deepEqual(r.outcome.verbs, [{ verb: 'Dial', targets: [{ kind: 'number', value: '+15551234567' }], attrs: { answerOnBridge: 'true' } }]);
    assert.equal(r.outcome.stream?.by, 'api');
    assert.ok(r.durationMs < 60_000, 'the call did not wait for the script');
    const req = api.requests.at(-1)!;
    assert.equal(req.path, `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls/${r.callSid}.json`);
    assert.deepEqual(req.form, { Twiml: DIAL });
    assert.deepEqual(events.at(-1), ['stop', 'end:stop'], 'the handler saw stop, then one end');
  });

  it('Status=completed over REST ends the call', async () => {
    const r = await dial('6');
    assert.equal(r.outcome.endedBy, 'api-completed');
    assert.deepEqual(r.outcome.verbs, []);
    assert.equal(api.requests.at(-1)!.body, 'Status=completed');
    assert.deepEqual(events.at(-1), ['stop', 'end:stop']);
  });

  it('a finished call is unknown to the API (404), as at Twilio', async () => {
    const r = await dial('6');
    const rest = new TwilioCallControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: api.url });
    const err = await rejection(rest.hangUp(r.callSid));
    assert.equal(err.detail?.['status'], 404);
  });
});
