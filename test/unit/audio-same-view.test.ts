/**
 * Views reused across frames (src/audio/pcm.ts sameView, and the converters of
 * src/call/audio-path.ts that return them): the same view while nothing changes, a new one when the
 * length, the offset or the memory does, and converters whose output does not depend on it (frames
 * of changing sizes give what a converter fed one frame at a time from scratch would).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sameView } from '../../src/audio/pcm.js';
import { encodeMulaw } from '../../src/audio/mulaw.js';
import { sineWave } from '../../src/audio/analysis.js';
import { InboundAudio, OutboundAudio } from '../../src/call/audio-path.js';
import { StreamingResampler } from '../../src/audio/resampler.js';

describe('reused views', () => {
  it('sameView returns the view it was given only when it is exactly the part asked for', () => {
    const a = new Int16Array(400);
    const v = sameView(undefined, a, 0, 160);
    assert.equal(v.length, 160);
    assert.equal(v.buffer, a.buffer);
    assert.equal(sameView(v, a, 0, 160), v, 'same memory, offset and length: reused');
    assert.notEqual(sameView(v, a, 0, 161), v, 'another length');
    assert.notEqual(sameView(v, a, 1, 160), v, 'another offset');
    const b = new Int16Array(400);
    const w = sameView(v, b, 0, 160);
    assert.notEqual(w, v, 'another buffer (a grown one)');
    assert.equal(w.buffer, b.buffer);
    const sub = a.subarray(10);
    assert.equal(sameView(undefined, sub, 5, 3).byteOffset, (10 + 5) * 2, 'offsets count from the view given');
  });

  it('converters give the same audio whatever the frame sizes, and the view of a frame holds that frame', () => {
    const tone = encodeMulaw(sineWave(440, 8000, 200, 8000));
    const sizes = [160, 160, 320, 80, 160, 160, 320, 160]; // 1,520 of the 1,600 samples
    const inbound = new InboundAudio();
    const pieces: number[] = [];
    const pcm8k: number[] = [];
    let at = 0;
    for (const n of sizes) {
      const out = inbound.convert(tone.subarray(at, at + n));
      pieces.push(...out);
      pcm8k.push(...inbound.lastPcm8k());
      assert.equal(inbound.lastPcm8k().length, n, 'the 8 kHz copy is the frame just converted');
      at += n;
    }
    const reference = new StreamingResampler(8000, 16000).process(Int16Array.from(pcm8k));
    assert.deepEqual(pieces, [...reference], 'the 16 kHz stream is the resampled 8 kHz stream');

    const bot = sineWave(300, 24000, 200, 8000);
    const outbound = new OutboundAudio();
    const mulaw: number[] = [];
    at = 0;
    for (const n of [480, 480, 960, 240, 480, 480]) {
      mulaw.push(...outbound.convert(bot.subarray(at, at + n)));
      at += n;
    }
    const expected = encodeMulaw(new StreamingResampler(24000, 8000).process(bot.subarray(0, at)));
    assert.deepEqual(mulaw, [...expected]);
  });
});
