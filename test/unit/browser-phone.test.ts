/**
 * The browser test phone's server side, without sockets: both line qualities at the converter
 * level ("Phone line" takes exactly the Twilio converters; "Wideband" carries PCM16 16 kHz), bot
 * audio durations and prompts in each format, and the BrowserLeg's handling of the page's frames
 * (audio with timestamps, DTMF, marks, hang-up, transfer, bad frames) — docs/browser-phone.md.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  InboundAudio, OutboundAudio, WidebandInbound, WidebandOutbound, PHONE_FORMAT, WIDEBAND_FORMAT, bytesPerMs, inboundConverter, outboundConverter,
} from '../../src/call/audio-path.js';
import { BrowserLeg, PHONE_CLOSE, type LineQuality, type PhoneSocket } from '../../src/call/adapters/browser.js';
import { BotOutput } from '../../src/call/bot-output.js';
import { Utterances } from '../../src/call/utterances.js';
import type { TransportListener } from '../../src/call/ports.js';
import { encodeMulaw } from '../../src/audio/mulaw.js';
import { fitSine, sineWave, thdnDb, ratioDb } from '../../src/audio/analysis.js';
import { concatPcm16 } from '../../src/audio/pcm.js';
import { silentLogger } from '../../src/shared/log.js';
import { ManualClock } from '../support/call-harness.js';

function le(samples: Int16Array): Uint8Array {
  return new Uint8Array(samples.slice().buffer);
}

function fromLe(bytes: Uint8Array): Int16Array {
  return new Int16Array(bytes.slice().buffer);
}

describe('browser phone line qualities (audio path)', () => {
  it('"Phone line" takes exactly the Twilio converters: same classes, byte-identical output', () => {
    const leg = newLeg('phone').leg;
    assert.deepEqual(leg.inputFormat, PHONE_FORMAT);
    assert.deepEqual(leg.outputFormat, PHONE_FORMAT);
    const inbound = inboundConverter(leg.inputFormat);
    const outbound = outboundConverter(leg.outputFormat);
    assert.ok(inbound instanceof InboundAudio && outbound instanceof OutboundAudio);
    const twilioIn = new InboundAudio();
    const twilioOut = new OutboundAudio();
    const mulaw = encodeMulaw(sineWave(700, 8000, 400));
    const pcm24k = sineWave(900, 24000, 400);
    for (let i = 0; i < mulaw.length; i += 160) assert.deepEqual(inbound.convert(mulaw.subarray(i, i + 160)).slice(), twilioIn.convert(mulaw.subarray(i, i + 160)).slice());
    for (let i = 0; i < pcm24k.length; i += 480) assert.deepEqual(outbound.convert(pcm24k.subarray(i, i + 480)).slice(), twilioOut.convert(pcm24k.subarray(i, i + 480)).slice());
  });

  it('"Wideband": PCM16 16 kHz reaches the agent unchanged, with an 8 kHz copy for VAD and the recording', () => {
    const inbound = inboundConverter(WIDEBAND_FORMAT);
    assert.ok(inbound instanceof WidebandInbound);
    const tone = sineWave(5000, 16000, 500, 10000); // above the phone band: wideband keeps it
    const agent: Int16Array[] = [];
    const copy8k: Int16Array[] = [];
    for (let i = 0; i < tone.length; i += 320) {
      agent.push(inbound.convert(le(tone.subarray(i, i + 320))).slice());
      copy8k.push(inbound.lastPcm8k().slice());
    }
    assert.deepEqual(concatPcm16(agent), tone);
    assert.equal(concatPcm16(copy8k).length, tone.length / 2);
    const low = sineWave(1000, 16000, 500, 10000);
    const out8k: Int16Array[] = [];
    for (let i = 0; i < low.length; i += 320) {
      inbound.convert(le(low.subarray(i, i + 320)));
      out8k.push(inbound.lastPcm8k().slice());
    }
    assert.ok(thdnDb(concatPcm16(out8k), 1000, 8000) > 50, 'the 8 kHz copy is clean');
  });

  it('"Wideband": agent 24 kHz → PCM16 16 kHz for the caller (tone kept to 7 kHz), 8 kHz copy for the recording', () => {
    const outbound = outboundConverter(WIDEBAND_FORMAT);
    assert.ok(outbound instanceof WidebandOutbound);
    for (const hz of [1000, 6500]) {
      outbound.reset();
      const tone = sineWave(hz, 24000, 600, 12000);
      const parts: Int16Array[] = [];
      let copy = 0;
      for (let i = 0; i < tone.length; ) {
        const n = [480, 1920, 77, 960][(i / 7) % 4 | 0]!;
        const bytes = outbound.convert(tone.subarray(i, i + n));
        assert.equal(bytes.length % 2, 0);
        parts.push(fromLe(bytes));
        copy += outbound.lastPcm8k().length;
        i += n;
      }
      const pcm16k = concatPcm16(parts);
      assert.equal(pcm16k.length, 9600, `${hz} Hz: two samples out for three in`);
      assert.equal(copy, 4800);
      const level = ratioDb(fitSine(pcm16k, hz, 16000, 800, pcm16k.length).amplitude, 12000);
      assert.ok(Math.abs(level) < 0.5, `${hz} Hz level ${level.toFixed(2)} dB`);
      assert.ok(thdnDb(pcm16k, hz, 16000) > 60, `${hz} Hz clean`);
    }
  });

  it('bytes per ms, and the prepared (8 kHz μ-law) prompts in each format', () => {
    assert.equal(bytesPerMs(PHONE_FORMAT), 8);
    assert.equal(bytesPerMs(WIDEBAND_FORMAT), 32);
    const prompt = encodeMulaw(sineWave(440, 8000, 1000));
    assert.deepEqual(outboundConverter(PHONE_FORMAT).prompt(prompt), prompt);
    const wide = outboundConverter(WIDEBAND_FORMAT).prompt(prompt);
    assert.equal(wide.length, 32_000);
    assert.ok(thdnDb(fromLe(wide), 440, 16000) > 30);
  });

  for (const quality of ['phone', 'wideband'] as const) {
    it(`${quality}: bot audio is sent in the line's format, and playout counts its real duration`, () => {
      const { leg, sent } = newLeg(quality);
      leg.open('f');
      const clock = new ManualClock();
      const utterances = new Utterances(() => undefined);
      const bot = new BotOutput({ transport: leg, clock, utterances, now: () => clock.now(), sent: () => undefined });
      bot.live();
      for (let i = 0; i < 5; i++) bot.audio(sineWave(500, 24000, 20));
      const audioBytes = sent.binary.reduce((n, b) => n + b.length, 0);
      assert.equal(audioBytes, 100 * bytesPerMs(leg.outputFormat));
      assert.equal(bot.playout.sentMs('u1'), 100);
      bot.prompt('apology', encodeMulaw(sineWave(440, 8000, 1500)));
      assert.equal(bot.playout.sentMs('apology'), 1500);
    });
  }
});

interface Sent {
  text: Array<Record<string, unknown>>;
  binary: Uint8Array[];
  closes: Array<{ code: number; reason: string }>;
}

function newLeg(quality: LineQuality, now = () => 0): { leg: BrowserLeg; sent: Sent; heard: string[]; released: () => boolean } {
  const sent: Sent = { text: [], binary: [], closes: [] };
  const socket: PhoneSocket = {
    sendText: (t) => void sent.text.push(JSON.parse(t) as Record<string, unknown>),
    sendBinary: (b) => void sent.binary.push(b.slice()),
    close: (code, reason) => void sent.closes.push({ code, reason }),
  };
  let released = false;
  const leg = new BrowserLeg({ callSid: 'BRtest', quality, socket, log: silentLogger(), now, onRelease: () => (released = true) });
  const heard: string[] = [];
  const listener: TransportListener = {
    connected: ({ mediaId }) => heard.push(`connected ${mediaId}`),
    audio: (payload, ts) => heard.push(`audio ${payload.length} @${ts}`),
    dtmf: (d) => heard.push(`dtmf ${d}`),
    played: (n) => heard.push(`played ${n}`),
    ended: (r) => heard.push(`ended ${r}`),
  };
  leg.listen(listener);
  return { leg, sent, heard, released: () => released };
}

const text = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

describe('BrowserLeg: the page\'s frames', () => {
  it('opens with ready, passes audio with media timestamps, keys, mark echoes; hang-up ends it once', () => {
    const { leg, sent, heard } = newLeg('phone');
    leg.open('test-line');
    assert.deepEqual(sent.text[0], { type: 'ready', callSid: 'BRtest', flow: 'test-line', quality: 'phone', format: PHONE_FORMAT, frameMs: 20 });
    leg.frame(new Uint8Array(160), true);
    leg.frame(new Uint8Array(160), true);
    leg.frame(text({ type: 'dtmf', digit: '#' }), false);
    leg.frame(text({ type: 'mark', name: 'g0:m1:u1:100ms' }), false);
    leg.frame(text({ type: 'hangup' }), false);
    leg.closed();
    assert.deepEqual(heard, ['connected BRtest', 'audio 160 @0', 'audio 160 @20', 'dtmf #', 'played g0:m1:u1:100ms', 'ended stop']);
    assert.deepEqual(sent.closes, [{ code: PHONE_CLOSE.normal, reason: 'caller hung up' }]);
  });

  it('wideband frames: 640 bytes are 20 ms', () => {
    const { leg, heard } = newLeg('wideband');
    leg.open('f');
    leg.frame(new Uint8Array(640), true);
    leg.frame(new Uint8Array(640), true);
    assert.deepEqual(heard.slice(1), ['audio 640 @0', 'audio 640 @20']);
  });

  const bad: Array<[string, LineQuality, Uint8Array, boolean]> = [
    ['text that is not JSON', 'phone', new TextEncoder().encode('{nope'), false],
    ['a JSON array', 'phone', text([1, 2]), false],
    ['an unknown type', 'phone', text({ type: 'reboot' }), false],
    ['a DTMF key that is not a key', 'phone', text({ type: 'dtmf', digit: '12' }), false],
    ['a mark without a name', 'phone', text({ type: 'mark' }), false],
    ['a text frame over 1 KiB', 'phone', text({ type: 'mark', name: 'x'.repeat(2000) }), false],
    ['an empty audio frame', 'phone', new Uint8Array(0), true],
    ['audio over 200 ms', 'phone', new Uint8Array(1601), true],
    ['PCM16 with an odd byte', 'wideband', new Uint8Array(641), true],
  ];
  for (const [what, quality, frame, binary] of bad) {
    it(`${what}: closes that socket with 4400, says why, ends the call once`, () => {
      const { leg, sent, heard } = newLeg(quality);
      leg.open('f');
      leg.frame(frame, binary);
      leg.frame(new Uint8Array(160), true); // nothing more is taken
      assert.deepEqual(sent.closes, [{ code: PHONE_CLOSE.badFrame, reason: 'bad frame' }]);
      assert.equal(sent.text.at(-1)?.['code'], 'CB_PHONE_BAD_FRAME');
      assert.deepEqual(heard.slice(1), ['ended close']);
    });
  }

  it('audio faster than real time (over 5 s ahead of the socket\'s clock) is a bad frame', () => {
    let now = 0;
    const { leg, sent, heard } = newLeg('phone', () => now);
    leg.open('f');
    for (let i = 0; i < 250; i++) leg.frame(new Uint8Array(160), true); // 5 s at t = 0
    assert.equal(sent.closes.length, 0);
    now = 1000;
    for (let i = 0; i < 50; i++) leg.frame(new Uint8Array(160), true); // 6 s of audio after 1 s
    assert.equal(sent.closes.length, 0, 'within 5 s of real time');
    leg.frame(new Uint8Array(160), true);
    assert.deepEqual(sent.closes, [{ code: PHONE_CLOSE.badFrame, reason: 'bad frame' }]);
    assert.equal(heard.at(-1), 'ended close');
  });

  it('bot audio, marks and clear go out while open; a transfer is only reported and ends the call', async () => {
    const { leg, sent, heard } = newLeg('phone');
    assert.equal(leg.sendAudio(new Uint8Array(160)), false, 'nothing before the call is open');
    leg.open('f');
    assert.equal(leg.sendAudio(new Uint8Array(160)), true);
    leg.sendMark('m1');
    leg.clear();
    await leg.transfer('+15550100100');
    assert.deepEqual(sent.text.slice(1).map((m) => m['type']), ['mark', 'clear', 'transfer']);
    assert.equal(sent.text.at(-1)?.['number'], '+15550100100');
    assert.deepEqual(sent.closes, [{ code: PHONE_CLOSE.normal, reason: 'transferred' }]);
    assert.equal(heard.at(-1), 'ended stop');
    assert.equal(leg.sendAudio(new Uint8Array(160)), false, 'nothing after');
  });

  it('close() tells the page the bot hung up (1000) or the server stopped the call (1001); release() once', () => {
    const a = newLeg('phone');
    a.leg.open('f');
    a.leg.close('normal', 'call ended by the assistant');
    assert.equal(a.sent.text.at(-1)?.['type'], 'hangup');
    assert.deepEqual(a.sent.closes, [{ code: 1000, reason: 'call ended by the assistant' }]);
    const b = newLeg('phone');
    b.leg.open('f');
    b.leg.close('going-away', 'server shutting down');
    assert.deepEqual(b.sent.closes, [{ code: 1001, reason: 'server shutting down' }]);
    b.leg.release();
    b.leg.release();
    assert.equal(b.released(), true);
  });
});
