import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import twilio from 'twilio';
import { parseXml, textOf } from '../../src/simulator/xml.js';
import { readTwiml, describeVerb } from '../../src/simulator/twiml-reader.js';
import { twilioSignature } from '../../src/simulator/signing.js';
import { rewriteToServer } from '../../src/simulator/call.js';

describe('simulator XML reader', () => {
  it('reads elements, attributes (both quotes), entities, comments, CDATA', () => {
    const root = parseXml(`<?xml version="1.0"?>\n<!-- hi --><R a="1 &amp; 2" b='x&quot;y'><C/>t&lt;e&#x41;&#66;<![CDATA[<raw>]]></R>`);
    assert.equal(root.name, 'R');
    assert.deepEqual(root.attrs, { a: '1 & 2', b: 'x"y' });
    assert.equal((root.children[0] as { name: string }).name, 'C');
    assert.equal(textOf(root), 't<eAB<raw>');
  });

  it('throws on malformed XML', () => {
    for (const bad of ['<a>', '<a></b>', '<a x=1/>', '<a/><b/>', '<a>&nope;</a>', 'text', '<a x="1" x="2"/>']) {
      assert.throws(() => parseXml(bad), /XML|entity/, bad);
    }
  });
});

describe('simulator TwiML reader', () => {
  it('reads what the edge builds with VoiceResponse', () => {
    const vr = new twilio.twiml.VoiceResponse();
    vr.say({ voice: 'Polly.Joanna' }, 'Hello & welcome');
    const s = vr.connect({ action: 'https://x/after' }).stream({ url: 'wss://x/twilio/media', statusCallback: 'https://x/twilio/status' });
    s.parameter({ name: 'callbridgeToken', value: 'v1.a.b' });
    s.parameter({ name: 'tenant', value: '<acme>' });
    vr.dial({ answerOnBridge: true }).sip('sip:a@b');
    vr.hangup();
    const verbs = readTwiml(vr.toString());
    assert.deepEqual(verbs[0], { verb: 'Say', text: 'Hello & welcome', voice: 'Polly.Joanna' });
    assert.deepEqual(verbs[1], {
      verb: 'Connect', action: 'https://x/after', attrs: { action: 'https://x/after' },
      stream: { url: 'wss://x/twilio/media', statusCallback: 'https://x/twilio/status', parameters: { callbridgeToken: 'v1.a.b', tenant: '<acme>' } },
    });
    assert.deepEqual(verbs[2], { verb: 'Dial', targets: [{ kind: 'sip', value: 'sip:a@b' }], attrs: { answerOnBridge: 'true' } });
    assert.deepEqual(verbs.map(describeVerb), ['Say("Hello & welcome")', 'Connect(Stream wss://x/twilio/media)', 'Dial(sip:a@b)', 'Hangup']);
  });

  it('a bare number in Dial, Redirect, unknown verbs', () => {
    const verbs = readTwiml('<Response><Dial>+15551234567</Dial><Redirect>https://x/y</Redirect><Gather input="dtmf"/></Response>');
    assert.deepEqual(verbs, [
      { verb: 'Dial', targets: [{ kind: 'number', value: '+15551234567' }], attrs: {} },
      { verb: 'Redirect', url: 'https://x/y', method: 'POST' },
      { verb: 'Other', name: 'Gather', attrs: { input: 'dtmf' } },
    ]);
    assert.throws(() => readTwiml('<Foo/>'), /not <Response>/);
  });
});

describe('simulator request signing', () => {
  it('matches twilio-node for form params, repeated values and empty params', () => {
    const token = 'abcdefabcdefabcdefabcdefabcdef12';
    const url = 'https://bot.example.com/twilio/voice?x=1';
    const params = { CallSid: 'CA1', From: '+1555', To: '+1666', Zebra: '', Apple: 'ü' };
    assert.equal(twilioSignature(token, url, params), twilio.getExpectedTwilioSignature(token, url, params));
    assert.equal(twilioSignature(token, 'wss://h/twilio/media', {}), twilio.getExpectedTwilioSignature(token, 'wss://h/twilio/media', {}));
    const multi = { A: ['2', '1', '2'], B: 'x' };
    assert.equal(twilioSignature(token, url, multi), twilio.getExpectedTwilioSignature(token, url, multi as unknown as Record<string, string>));
  });
});

describe('simulator URL rewriting', () => {
  it('maps the public base to the server, keeping ws/wss and the path; other hosts untouched', () => {
    const pub = 'https://bot.example.com';
    assert.equal(rewriteToServer('wss://bot.example.com/twilio/media', pub, 'http://127.0.0.1:9000'), 'ws://127.0.0.1:9000/twilio/media');
    assert.equal(rewriteToServer('https://bot.example.com/twilio/status', pub, 'http://127.0.0.1:9000'), 'http://127.0.0.1:9000/twilio/status');
    assert.equal(rewriteToServer('wss://other.example.com/m', pub, 'http://127.0.0.1:9000'), 'wss://other.example.com/m');
    assert.equal(rewriteToServer('wss://p.example.com/bot/twilio/media', 'https://p.example.com/bot', 'http://127.0.0.1:1'), 'ws://127.0.0.1:1/twilio/media');
  });
});
