import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { TwilioMediaStream } from '../../src/twilio/media-stream.js';
import { createLogger } from '../../src/shared/log.js';

/** A stand-in for a `ws` socket: frames in through `frame()`, frames out recorded in `sent`. */
class FakeSocket extends EventEmitter {
  readyState = 1;
  bufferedAmount = 0;
  sent: string[] = [];
  closed: { code?: number; reason?: string } | undefined;
  send(data: string) {
    this.sent.push(data);
  }
  close(code?: number, reason?: string) {
    this.closed = { code, reason };
    this.readyState = 3;
    this.emit('close', code ?? 1005, Buffer.from(reason ?? ''));
  }
  frame(obj: unknown, isBinary = false) {
    this.emit('message', Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj)), isBinary);
  }
}

function setup() {
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l) logs.push(JSON.parse(l));
      cb();
    },
  });
  const socket = new FakeSocket();
  const stream = new TwilioMediaStream(socket, { log: createLogger({ level: 'debug', destination }) });
  return { socket, stream, logs };
}

const SID = 'MZ00000000000000000000000000000001';
const start = (sid = SID) => ({
  event: 'start', sequenceNumber: '1', streamSid: sid,
  start: { accountSid: 'AC1', streamSid: sid, callSid: 'CA1', tracks: ['inbound'], customParameters: { a: 'b' },
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
});
const media = (bytes: number[], chunk = 1, sid = SID) => ({
  event: 'media', sequenceNumber: String(chunk + 1), streamSid: sid,
  media: { track: 'inbound', chunk: String(chunk), timestamp: String(chunk * 20), payload: Buffer.from(bytes).toString('base64') },
});

describe('TwilioMediaStream', () => {
  it('exposes start data and typed media/dtmf/mark events', () => {
    const { socket, stream } = setup();
    const got: unknown[] = [];
    stream.on('media', (m) => got.push({ payload: [...m.payload], t: m.timestampMs, chunk: m.chunk }));
    stream.on('dtmf', (d) => got.push(d));
    stream.on('mark', (m) => got.push(m));
    socket.frame({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    socket.frame(start());
    assert.equal(stream.streamSid, SID);
    assert.equal(stream.callSid, 'CA1');
    assert.equal(stream.accountSid, 'AC1');
    assert.deepEqual(stream.customParameters, { a: 'b' });
    assert.ok(stream.startedAt instanceof Date, 'stream.startedAt instanceof Date');
    socket.frame(media([1, 2, 3], 1));
    socket.frame(media([0xff, 0x7f], 2));
    socket.frame({ event: 'dtmf', streamSid: SID, sequenceNumber: '4', dtmf: { track: 'inbound_track', digit: '#' } });
    socket.frame({ event: 'mark', streamSid: SID, sequenceNumber: '5', mark: { name: 'n1' } });
    assert.deepEqual(got, [
      { payload: [1, 2, 3], t: 20, chunk: 1 },
      { payload: [0xff, 0x7f], t: 40, chunk: 2 },
      { digit: '#' },
      { name: 'n1' },
    ]);
  });

  it('sends media/mark/clear as JSON text frames with the streamSid', () => {
    const { socket, stream } = setup();
    assert.equal(stream.sendMedia(new Uint8Array([1])), false, 'nothing can be sent before start');
    socket.frame(start());
    assert.ok(stream.sendMedia(new Uint8Array([0xff, 0x00, 0x7f]).subarray(1)), 'stream.sendMedia(new Uint8Array([0xff, 0x00, 0x7f]).subarray(1))');
    stream.sendMark('g0:m1:"quoted"');
    stream.sendClear();
    assert.deepEqual(socket.sent.map((s) => JSON.parse(s)), [
      { event: 'media', streamSid: SID, media: { payload: Buffer.from([0x00, 0x7f]).toString('base64') } },
      { event: 'mark', streamSid: SID, mark: { name: 'g0:m1:"quoted"' } },
      { event: 'clear', streamSid: SID },
    ]);
    for (const s of socket.sent) assert.equal(typeof s, 'string');
  });

  it('logs bad input once per kind with a CB_TWILIO code and carries on', () => {
    const { socket, stream, logs } = setup();
    const media_: number[] = [];
    stream.on('media', (m) => media_.push(m.chunk));
    socket.frame(media([1], 1)); // before start
    socket.frame(media([1], 2));
    socket.frame(start());
    socket.frame(start()); // duplicate
    socket.frame(media([1], 3, 'MZother')); // wrong streamSid
    socket.frame(media([1], 4, 'MZother'));
    socket.frame('{"event":"bogus"}');
    socket.frame('{"event":"bogus"}');
    socket.frame('not json');
    socket.frame('still not json');
    socket.frame(media([1], 5), true); // binary
    socket.frame(media([9], 6));
    assert.deepEqual(media_, [6]);
    const kinds = logs.filter((l) => l['msg'] === 'media stream message ignored').map((l) => `${l['kind']}:${l['code']}`);
    assert.deepEqual(kinds, [
      'media-before-start:CB_TWILIO_UNEXPECTED_MESSAGE',
      'duplicate-start:CB_TWILIO_UNEXPECTED_MESSAGE',
      'wrong-stream-sid:CB_TWILIO_UNEXPECTED_MESSAGE',
      'unknown-event:CB_TWILIO_MALFORMED_MESSAGE',
      'malformed:CB_TWILIO_MALFORMED_MESSAGE',
      'binary-frame:CB_TWILIO_MALFORMED_MESSAGE',
    ]);
  });

  it('stop then close gives one end event (reason stop); a throwing listener does not break the loop', () => {
    const { socket, stream, logs } = setup();
    const ends: string[] = [];
    let closes = 0;
    stream.on('end', (e) => ends.push(e.reason));
    stream.on('close', () => closes++);
    socket.frame(start());
    stream.on('dtmf', () => {
      throw new Error('handler bug');
    });
    socket.frame({ event: 'dtmf', streamSid: SID, sequenceNumber: '2', dtmf: { track: 'inbound_track', digit: '1' } });
    socket.frame({ event: 'stop', streamSid: SID, sequenceNumber: '3', stop: { accountSid: 'AC1', callSid: 'CA1' } });
    socket.close(1000);
    assert.deepEqual(ends, ['stop']);
    assert.equal(closes, 1);
    assert.ok(stream.ended, 'stream.ended');
    assert.equal(stream.sendMedia(new Uint8Array([1])), false);
    assert.ok(logs.some((l) => l['msg'] === 'media stream listener threw'), 'logs.some((l) => l[\'msg\'] === \'media stream listener threw\')');
  });

  it('a socket close without stop gives one end event (reason close)', () => {
    const { socket, stream } = setup();
    const ends: string[] = [];
    stream.on('end', (e) => ends.push(e.reason));
    socket.frame(start());
    socket.emit('close', 1006, Buffer.from(''));
    assert.deepEqual(ends, ['close']);
  });

  it('the media payload buffer is reused (copy to keep) and grows for large frames', () => {
    const { socket, stream } = setup();
    const views: Uint8Array[] = [];
    const copies: number[][] = [];
    stream.on('media', (m) => {
      views.push(m.payload);
      copies.push([...m.payload.subarray(0, 2)]);
    });
    socket.frame(start());
    socket.frame(media([1, 2], 1));
    socket.frame(media([3, 4], 2));
    assert.deepEqual(copies, [[1, 2], [3, 4]]);
    assert.equal(views[0]!.buffer, views[1]!.buffer);
    const big = Array.from({ length: 5000 }, (_, i) => i & 0xff);
    let got: number[] = [];
    stream.on('media', (m) => (got = [...m.payload]));
    socket.frame(media(big, 3));
    assert.deepEqual(got, big);
  });

  it('a media timestamp far ahead of the stream is not believed: logged once, the previous frame’s end is used instead', () => {
    const { socket, stream, logs } = setup();
    const got: number[] = [];
    stream.on('media', (m) => got.push(m.timestampMs));
    socket.frame(start());
    const at = (chunk: number, timestamp: string, bytes = 160) => ({
      ...media(Array.from({ length: bytes }, () => 0xff), chunk),
      media: { track: 'inbound', chunk: String(chunk), timestamp, payload: Buffer.alloc(bytes, 0xff).toString('base64') },
    });
    socket.frame(at(1, '0'));
    socket.frame(at(2, '999999999999999'));
    socket.frame(at(3, '86400000', 80));
    socket.frame(at(4, '9000')); // 9 s ahead of 50 ms of audio: within the 10 s allowed (a gap Twilio may leave)
    socket.frame(at(5, '10070')); // 70 ms of audio so far + 10 s: still believed
    socket.frame(at(6, '11000')); // 90 ms (or the wall-clock time since start, if more) + 10 s: not
    assert.deepEqual(got, [0, 20, 40, 9000, 10070, 10090], 'timestamps too far ahead are replaced by the previous frame’s end');
    const warned = logs.filter((l) => l['kind'] === 'timestamp-ahead');
    assert.equal(warned.length, 1, 'logged once');
    assert.equal(warned[0]!['code'], 'CB_TWILIO_UNEXPECTED_MESSAGE');
  });

  it('batch() corks the transport around what it sends, and uncorks even when the sender throws', () => {
    const socket = new FakeSocket();
    const order: string[] = [];
    const origSend = socket.send.bind(socket);
    socket.send = (data: string) => {
      order.push('send');
      origSend(data);
    };
    const stream = new TwilioMediaStream(socket, { log: createLogger({ level: 'silent' }), transport: { cork: () => order.push('cork'), uncork: () => order.push('uncork') } });
    socket.frame(start());
    stream.batch(() => {
      stream.sendMedia(new Uint8Array([1, 2]));
      stream.sendMark('m1');
    });
    assert.deepEqual(order, ['cork', 'send', 'send', 'uncork'], 'media and mark leave in one corked write');
    order.length = 0;
    assert.throws(() => stream.batch(() => { throw new Error('boom'); }), /boom/);
    assert.deepEqual(order, ['cork', 'uncork'], 'uncorked after a throw');
    order.length = 0;
    const plain = setup();
    plain.socket.frame(start());
    let ran = false;
    plain.stream.batch(() => (ran = true));
    assert.ok(ran, 'without a transport, batch() just runs');
  });
});
