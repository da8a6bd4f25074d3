import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeWav, decodeWav, toMono, wavHeader } from '../../src/audio/wav.js';
import { encodeMulaw } from '../../src/audio/mulaw.js';
import { bytesToPcm16, pcm16ToBytes } from '../../src/audio/pcm.js';

describe('WAV and PCM bytes', () => {
  it('round-trips mono and stereo PCM16', () => {
    const samples = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
    for (const channels of [1, 2]) {
      const back = decodeWav(encodeWav({ sampleRateHz: 8000, channels, samples }));
      assert.equal(back.sampleRateHz, 8000);
      assert.equal(back.channels, channels);
      assert.deepEqual(back.samples, samples);
    }
  });

  it('reads μ-law WAV files (format 7) and skips unknown chunks', () => {
    const pcm = Int16Array.from([0, 32124, -32124]);
    const mulaw = encodeMulaw(pcm);
    const fmt = Buffer.alloc(26);
    fmt.write('fmt ', 0, 'ascii'); fmt.writeUInt32LE(18, 4); fmt.writeUInt16LE(7, 8); fmt.writeUInt16LE(1, 10);
    fmt.writeUInt32LE(8000, 12); fmt.writeUInt32LE(8000, 16); fmt.writeUInt16LE(1, 20); fmt.writeUInt16LE(8, 22);
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc'), Buffer.from([0])]);
    const data = Buffer.concat([Buffer.from('data'), Buffer.from([3, 0, 0, 0]), Buffer.from(mulaw), Buffer.from([0])]);
    const body = Buffer.concat([Buffer.from('WAVE'), fmt, list, data]);
    const file = Buffer.concat([Buffer.from('RIFF'), Buffer.from([body.length & 0xff, body.length >> 8, 0, 0]), body]);
    const wav = decodeWav(file);
    assert.deepEqual([...wav.samples], [0, 32124, -32124]);
  });

  it('gives plain errors for files it cannot read', () => {
    assert.throws(() => decodeWav(Buffer.from('hello world, not audio')), /not a WAV file/);
    const header = wavHeader(8000, 1, 0);
    header.writeUInt16LE(3, 20); // IEEE float
    header.writeUInt16LE(32, 34);
    assert.throws(() => decodeWav(Buffer.concat([header, Buffer.alloc(8)])), /unsupported WAV encoding: format 3, 32 bits/);
    assert.throws(() => decodeWav(wavHeader(8000, 1, 0).subarray(0, 36)), /no data chunk/);
  });

  it('mixes down to mono', () => {
    assert.deepEqual([...toMono({ sampleRateHz: 8000, channels: 2, samples: Int16Array.from([100, 300, -10, -30]) })], [200, -20]);
  });

  it('views PCM bytes without copying when aligned, copies when not', () => {
    const samples = Int16Array.from([1, -2, 300]);
    const bytes = pcm16ToBytes(samples);
    assert.equal(bytes.buffer, samples.buffer);
    assert.deepEqual([...bytes], [1, 0, 0xfe, 0xff, 0x2c, 0x01]);
    const odd = Buffer.concat([Buffer.from([9]), bytes]).subarray(1);
    assert.deepEqual([...bytesToPcm16(odd)], [1, -2, 300]);
    assert.deepEqual([...bytesToPcm16(bytes)], [1, -2, 300]);
  });
});
