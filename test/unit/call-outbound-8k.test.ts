/**
 * 8 kHz agent audio (the cascade's Cloud TTS speech) on its way to the caller
 * (src/call/outbound-8k.ts): to a phone line only μ-law encoded, no resampler; to the browser's
 * wideband line resampled to 16 kHz; the 8 kHz copy for the recording is the input itself.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { outbound8kConverter } from '../../src/call/outbound-8k.js';
import { PHONE_FORMAT, WIDEBAND_FORMAT } from '../../src/call/audio-path.js';
import { decodeMulaw, encodeMulaw } from '../../src/audio/mulaw.js';

function tone(n: number, hz = 440): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 8000)));
}

describe('8 kHz agent audio to the caller', () => {
  it('phone line: the μ-law bytes of the samples, sample for sample (no filter delay, no resampling)', () => {
    const c = outbound8kConverter(PHONE_FORMAT);
    const mulaw = tone(800);
    const pcm = decodeMulaw(encodeMulaw(mulaw)); // what Cloud TTS MULAW decodes to
    const out = c.convert(pcm);
    assert.deepEqual([...out], [...encodeMulaw(pcm)]);
    assert.equal(c.lastPcm8k(), pcm, 'the recording gets the 8 kHz samples as they are');
  });

  it('wideband line: twice the samples as PCM16 bytes, the tone kept', () => {
    const c = outbound8kConverter(WIDEBAND_FORMAT);
    let bytes = 0;
    let energy = 0;
    for (let k = 0; k < 10; k++) {
      const out = c.convert(tone(160));
      bytes += out.length;
      const s = new Int16Array(out.buffer, out.byteOffset, out.length / 2);
      for (const v of s) energy += v * v;
    }
    assert.ok(Math.abs(bytes - 10 * 160 * 2 * 2) <= 64, `about 4 bytes per 8 kHz sample (${bytes})`);
    assert.ok(Math.sqrt(energy / (bytes / 2)) > 3000, 'the tone survives the resampler');
  });
});
