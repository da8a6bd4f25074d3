import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dialTwiml, fallbackTwiml, sayHangupTwiml, streamTwiml, isDialTarget } from '../../src/twilio/twiml.js';
import { mediaStreamUrl } from '../../src/twilio/signature.js';

const DECL = '<?xml version="1.0" encoding="UTF-8"?>';

describe('TwiML', () => {
  it('stream answer: wss URL from the public base, status callback, Parameters, no query string', () => {
    const base = 'https://bot.example.com';
    const xml = streamTwiml({
      streamUrl: mediaStreamUrl(base, '/twilio/media'),
      statusCallbackUrl: `${base}/twilio/status`,
      parameters: { callbridgeToken: 'v1.abc.def', tenant: 'a&b "c"' },
    });
    assert.equal(
      xml,
      DECL +
        '<Response><Connect><Stream url="wss://bot.example.com/twilio/media" statusCallback="https://bot.example.com/twilio/status" statusCallbackMethod="POST">' +
        '<Parameter name="callbridgeToken" value="v1.abc.def"/><Parameter name="tenant" value="a&amp;b &quot;c&quot;"/>' +
        '</Stream></Connect></Response>',
    );
    assert.ok(!xml.includes('?callbridge') && !/url="[^", '!xml.includes(\'?callbridge\') && !/url="[^"']*\?/.test(xml));
  });

  it('an http base gives ws:// (local development) and a path prefix is kept', () => {
    assert.equal(mediaStreamUrl('http://127.0.0.1:8080', '/twilio/media'), 'ws://127.0.0.1:8080/twilio/media');
    assert.equal(mediaStreamUrl('https://example.com/bot', '/twilio/media'), 'wss://example.com/bot/twilio/media');
  });

  it('refuses a stream URL with a query string, a non-ws scheme, an oversized Parameter', () => {
    assert.throws(() => streamTwiml({ streamUrl: 'wss://x/twilio/media?token=1' }), /query string/);
    assert.throws(() => streamTwiml({ streamUrl: 'https://x/twilio/media' }), /wss/);
    assert.throws(() => streamTwiml({ streamUrl: 'wss://x/m', parameters: { a: 'x'.repeat(499) } }), /under 500/);
    assert.doesNotThrow(() => streamTwiml({ streamUrl: 'wss://x/m', parameters: { a: 'x'.repeat(498) } }));
  });

  it('say + hangup', () => {
    assert.equal(sayHangupTwiml('We are closed. <Bye> & thanks'), `${DECL}<Response><Say>We are closed. &lt;Bye&gt; &amp; thanks</Say><Hangup/></Response>`);
    assert.equal(
      sayHangupTwiml('Hallo', { voice: 'Polly.Vicki', language: 'de-DE' }),
      `${DECL}<Response><Say voice="Polly.Vicki" language="de-DE">Hallo</Say><Hangup/></Response>`,
    );
  });

  it('transfer to a phone number or a SIP URI, answerOnBridge by default', () => {
    assert.equal(dialTwiml('+15551234567'), `${DECL}<Response><Dial answerOnBridge="true">+15551234567</Dial></Response>`);
    assert.equal(
      dialTwiml('sip:agent@pbx.example.com;transport=tls', { callerId: '+15550001111', timeoutS: 20 }),
      `${DECL}<Response><Dial answerOnBridge="true" callerId="+15550001111" timeout="20"><Sip>sip:agent@pbx.example.com;transport=tls</Sip></Dial></Response>`,
    );
    assert.equal(
      dialTwiml('+15551234567', { say: 'Transferring you now.', answerOnBridge: false, action: 'https://bot.example.com/after-dial' }),
      `${DECL}<Response><Say>Transferring you now.</Say><Dial answerOnBridge="false" action="https://bot.example.com/after-dial">+15551234567</Dial></Response>`,
    );
    assert.throws(() => dialTwiml('call me maybe'), /phone number/);
    assert.throws(() => dialTwiml('+15551234567', { action: '/relative' }), /absolute/);
    assert.ok(isDialTarget('sips:a@b') && isDialTarget('+44123456789') && !isDialTarget('<x>'), 'isDialTarget(\'sips:a@b\') && isDialTarget(\'+44123456789\') && !isDialTarget(\'<x>\')');
  });

  it('fallback: apology then a Dial to the fallback number, or a Redirect', () => {
    assert.equal(
      fallbackTwiml({ kind: 'dial', number: '+15559998888' }, { say: 'One moment.' }),
      `${DECL}<Response><Say>One moment.</Say><Dial answerOnBridge="true">+15559998888</Dial></Response>`,
    );
    assert.equal(
      fallbackTwiml({ kind: 'redirect', url: 'https://ivr.example.com/voice?x=1&y=2' }),
      `${DECL}<Response><Redirect method="POST">https://ivr.example.com/voice?x=1&amp;y=2</Redirect></Response>`,
    );
    assert.throws(() => fallbackTwiml({ kind: 'redirect', url: 'voice.xml' }), /absolute/);
  });
});
