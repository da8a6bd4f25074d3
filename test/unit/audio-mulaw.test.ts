import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import alawmulaw from 'alawmulaw';
import { decodeMulaw, encodeMulaw, decodeMulawSample, encodeMulawSample, MULAW_SILENCE } from '../../src/audio/mulaw.js';

/**
 * Quantisation step (16-bit scale) of the μ-law segment holding |x|: 8, 16, … 1024. Segment e
 * holds biased magnitudes (|x| + 132) in [128·2^e, 256·2^e) (e ≥ 1; e = 0 below 256).
 */
function segmentStep(magnitude: number): number {
  const biased = Math.min(magnitude, 32635) + 132;
  let segment = 0;
  while (segment < 7 && biased >= 256 << segment) segment++;
  return 8 << segment;
}

describe('μ-law (G.711)', () => {
  it('decodes the known code points exactly', () => {
    assert.equal(decodeMulawSample(0xff), 0);
    assert.equal(decodeMulawSample(0x00), -32124);
    assert.equal(decodeMulawSample(0x80), 32124);
    assert.equal(decodeMulawSample(MULAW_SILENCE), 0);
  });

  it('encodes the known code points exactly', () => {
    assert.equal(encodeMulawSample(0), 0xff);
    assert.equal(encodeMulawSample(-32124), 0x00);
    assert.equal(encodeMulawSample(32124), 0x80);
    assert.equal(encodeMulawSample(32767), 0x80, 'positive full scale clips to the top code');
    assert.equal(encodeMulawSample(-32768), 0x00, 'negative full scale clips to the bottom code');
  });

  it('matches alawmulaw on every code and every sample', () => {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.deepEqual(decodeMulaw(codes), alawmulaw.mulaw.decode(codes));
    const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
    assert.deepEqual(encodeMulaw(all), alawmulaw.mulaw.encode(all));
  });

  it('round-trips all 65536 PCM16 values within the G.711 quantisation bounds', () => {
    const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
    const back = decodeMulaw(encodeMulaw(all));
    for (let i = 0; i < all.length; i++) {
      const x = all[i]!;
      const y = back[i]!;
      if (Math.abs(x) > 32124) {
        // Beyond the largest code the codec clips to ±32124.
        assert.equal(Math.abs(y), 32124, `clip of ${x}`);
        continue;
      }
      const error = Math.abs(x - y);
      const bound = segmentStep(Math.abs(x)) / 2; // decoding returns the middle of the step
      assert.ok(error <= bound, `x=${x} decoded ${y}: error ${error} > ${bound}`);
      assert.ok(y === 0 || Math.sign(y) === Math.sign(x), `sign of ${x} kept (decoded ${y})`);
    }
  });

  it('writes into caller buffers without allocating, and returns views of the right length', () => {
    const out = new Int16Array(400);
    const view = decodeMulaw(new Uint8Array([0xff, 0x00, 0x80]), out);
    assert.equal(view.length, 3);
    assert.equal(view.buffer, out.buffer);
    assert.deepEqual([...view], [0, -32124, 32124]);
    const bytes = new Uint8Array(10);
    const enc = encodeMulaw(new Int16Array([0, 32124]), bytes);
    assert.equal(enc.buffer, bytes.buffer);
    assert.deepEqual([...enc], [0xff, 0x80]);
    assert.throws(() => decodeMulaw(new Uint8Array(5), new Int16Array(4)), RangeError);
  });
});
