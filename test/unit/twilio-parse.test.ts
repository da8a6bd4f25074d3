import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTwilioFrame, parseTwilioText, isBase64 } from '../../src/twilio/parse.js';

// Literal examples from Twilio's "WebSocket messages" page (docs/twilio-media-streams.md §2); the
// media payload, a placeholder there, is a real 160-byte (20 ms) μ-law frame here.
const FIXTURES = {
  connected: '{ "event": "connected", "protocol": "Call", "version": "1.0.0" }',
  start: `{
    "event": "start",
    "sequenceNumber": "1",
    "start": {
      "accountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
      "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
      "callSid": "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
      "tracks": [ "inbound" ],
      "mediaFormat": { "encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1 },
      "customParameters": { "FirstName": "Jane", "LastName": "Doe", "RemoteParty": "Bob" }
    },
    "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
  }`,
  media: `{
    "event": "media",
    "sequenceNumber": "3",
    "media": {
      "track": "inbound",
      "chunk": "1",
      "timestamp": "5",
      "payload": "gI2ZoqeopJ2ShnhsYltYWl9pdYKPmqOnqKOckIR2amBaWFpha3eEkZykqKejmo+CdGlfWlhbYmx5hpOdpainoZiNgHNnXllYXGNue4iUn6WopqCXi35xZV1ZWF1lcH2KlqCmqKaflYl8b2RcWFleZnJ/jJihp6ilnpOHem1jW1hZX2h0gY6ZoqeopJyShXhrYVtYWmBpdoOQm6Onp6ObkA=="
    },
    "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
  }`,
  dtmf: `{
    "event": "dtmf",
    "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "sequenceNumber": "5",
    "dtmf": { "track": "inbound_track", "digit": "1" }
  }`,
  mark: `{
    "event": "mark",
    "sequenceNumber": "4",
    "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "mark": { "name": "my label" }
  }`,
  stop: `{
    "event": "stop",
    "sequenceNumber": "5",
    "stop": { "accountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "callSid": "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX" },
    "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
  }`,
};

function message(text: string) {
  const r = parseTwilioText(text);
  assert.equal(r.kind, 'message', JSON.stringify(r));
  return (r as Extract<typeof r, { kind: 'message' }>).message;
}

function malformed(text: string, reason: RegExp) {
  const r = parseTwilioText(text);
  assert.equal(r.kind, 'malformed', `expected malformed for ${text}`);
  assert.match((r as { reason: string }).reason, reason);
}

/** Parses a fixture, applies `mutate` to the object, serializes it again. */
function mutated(fixture: string, mutate: (m: Record<string, any>) => void): string {
  const m = JSON.parse(fixture) as Record<string, any>;
  mutate(m);
  return JSON.stringify(m);
}

describe('Twilio frame parser: documented examples', () => {
  it('connected', () => {
    assert.deepEqual(message(FIXTURES.connected), { event: 'connected', protocol: 'Call', version: '1.0.0' });
  });

  it('start', () => {
    const m = message(FIXTURES.start);
    assert.equal(m.event, 'start');
    if (m.event !== 'start') return;
    assert.equal(m.sequenceNumber, '1');
    assert.equal(m.streamSid, 'MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX');
    assert.equal(m.start.callSid, 'CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX');
    assert.equal(m.start.accountSid, 'ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX');
    assert.deepEqual(m.start.tracks, ['inbound']);
    assert.deepEqual(m.start.customParameters, { FirstName: 'Jane', LastName: 'Doe', RemoteParty: 'Bob' });
    assert.deepEqual(m.start.mediaFormat, { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 });
  });

  it('media', () => {
    const m = message(FIXTURES.media);
    assert.equal(m.event, 'media');
    if (m.event !== 'media') return;
    assert.equal(m.media.chunk, '1');
    assert.equal(m.media.timestamp, '5');
    assert.equal(m.media.track, 'inbound');
    assert.equal(Buffer.from(m.media.payload, 'base64').length, 160);
  });

  it('dtmf, mark, stop', () => {
    assert.deepEqual(message(FIXTURES.dtmf), {
      event: 'dtmf', sequenceNumber: '5', streamSid: 'MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX', dtmf: { track: 'inbound_track', digit: '1' },
    });
    assert.deepEqual(message(FIXTURES.mark), {
      event: 'mark', sequenceNumber: '4', streamSid: 'MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX', mark: { name: 'my label' },
    });
    assert.deepEqual(message(FIXTURES.stop), {
      event: 'stop', sequenceNumber: '5', streamSid: 'MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
      stop: { accountSid: 'ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX', callSid: 'CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX' },
    });
  });

  it('tolerates extra fields (Twilio adds fields without notice) and drops them', () => {
    const m = message(mutated(FIXTURES.media, (x) => { x.extra = 1; x.media.newField = 'y'; }));
    assert.equal(m.event, 'media');
    assert.ok(!('extra' in m), '!(\'extra\' in m)');
    if (m.event === 'media') assert.ok(!('newField' in m.media), '!(\'newField\' in m.media)');
    assert.equal(message(mutated(FIXTURES.start, (x) => { x.start.extra = { a: 1 }; })).event, 'start');
  });

  it('a frame given as a text Buffer parses like the string', () => {
    const r = parseTwilioFrame(Buffer.from(FIXTURES.mark, 'utf8'), false);
    assert.equal(r.kind, 'message');
  });
});

describe('Twilio frame parser: mutations never throw and say what is wrong', () => {
  it('wrong field types', () => {
    malformed(mutated(FIXTURES.media, (x) => { x.sequenceNumber = 3; }), /sequenceNumber.*number/);
    malformed(mutated(FIXTURES.media, (x) => { x.media.chunk = 1; }), /chunk/);
    malformed(mutated(FIXTURES.media, (x) => { x.media.timestamp = 5; }), /timestamp/);
    malformed(mutated(FIXTURES.media, (x) => { x.media.timestamp = '5.5'; }), /timestamp is not a decimal string/);
    malformed(mutated(FIXTURES.media, (x) => { x.media.payload = 42; }), /payload/);
    malformed(mutated(FIXTURES.start, (x) => { x.start.mediaFormat.sampleRate = '8000'; }), /sampleRate is not a number/);
    malformed(mutated(FIXTURES.start, (x) => { x.start.customParameters.FirstName = 7; }), /customParameters.FirstName/);
    malformed(mutated(FIXTURES.start, (x) => { x.start.tracks = 'inbound'; }), /tracks/);
    malformed(mutated(FIXTURES.dtmf, (x) => { x.dtmf.digit = 1; }), /digit/);
    for (const digit of ['', '12', 'x', 'constructor', '__proto__', '💥', '1\u0000']) {
      malformed(mutated(FIXTURES.dtmf, (x) => { x.dtmf.digit = digit; }), /dtmf.digit is (empty|not a phone key)/);
    }
    malformed(mutated(FIXTURES.mark, (x) => { x.mark = 'my label'; }), /mark is not an object/);
    malformed(mutated(FIXTURES.stop, (x) => { x.stop.callSid = null; }), /callSid/);
  });

  it('missing fields', () => {
    malformed(mutated(FIXTURES.media, (x) => { delete x.streamSid; }), /streamSid is missing/);
    malformed(mutated(FIXTURES.media, (x) => { delete x.media; }), /media is missing/);
    malformed(mutated(FIXTURES.media, (x) => { delete x.media.payload; }), /payload is missing/);
    malformed(mutated(FIXTURES.start, (x) => { delete x.start.callSid; }), /callSid is missing/);
    malformed(mutated(FIXTURES.start, (x) => { delete x.start.mediaFormat; }), /mediaFormat is missing/);
    malformed(mutated(FIXTURES.mark, (x) => { delete x.mark.name; }), /name is missing/);
    malformed(mutated(FIXTURES.connected, (x) => { delete x.version; }), /version/);
    malformed(mutated(FIXTURES.media, (x) => { delete x.event; }), /event/);
  });

  it('start.streamSid must match the top-level streamSid', () => {
    malformed(mutated(FIXTURES.start, (x) => { x.start.streamSid = 'MZother'; }), /differs/);
  });

  it('invalid base64 payloads', () => {
    malformed(mutated(FIXTURES.media, (x) => { x.media.payload = 'not base64!'; }), /base64/);
    malformed(mutated(FIXTURES.media, (x) => { x.media.payload = 'abc'; }), /base64/); // bad length
    malformed(mutated(FIXTURES.media, (x) => { x.media.payload = 'ab-_'; }), /base64/); // base64url alphabet
    assert.equal(parseTwilioText(mutated(FIXTURES.media, (x) => { x.media.payload = ''; })).kind, 'message');
    assert.ok(isBase64('/w=='), 'isBase64(\'/w==\')');
    assert.ok(!isBase64('/w='), '!isBase64(\'/w=\')');
  });

  it('not JSON, not an object, unknown events, binary frames', () => {
    malformed('{"event":"media",', /not JSON/);
    malformed('[1,2]', /not a JSON object/);
    malformed('null', /not a JSON object/);
    malformed('"media"', /not a JSON object/);
    assert.deepEqual(parseTwilioText('{"event":"playedStream","x":1}'), { kind: 'unknown', event: 'playedStream' });
    assert.deepEqual(parseTwilioFrame(Buffer.from(FIXTURES.mark), true), { kind: 'malformed', reason: 'binary frame' });
    assert.deepEqual(parseTwilioFrame(Buffer.from([0xff, 0xfe, 0x00]), false).kind, 'malformed');
  });

  it('survives hostile input without throwing', () => {
    const hostile = ['', ' ', '{}', '{"event":null}', '{"event":{"a":1}}', '{"__proto__":{"event":"media"}}',
      '{"event":"start","start":[],"streamSid":"x","sequenceNumber":"1"}', '9'.repeat(400), '{"event":"media","media":null}'];
    for (const h of hostile) assert.doesNotThrow(() => parseTwilioText(h));
    for (const h of hostile) assert.notEqual(parseTwilioText(h).kind, 'message', h);
  });
});
