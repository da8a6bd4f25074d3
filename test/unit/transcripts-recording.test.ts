import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWav } from '../../src/audio/wav.js';
import { openCallRecording, recordingRelativePath } from '../../src/transcripts/recording.js';

const FRAME = 160; // 20 ms at 8 kHz

/** A tone that starts at full amplitude (cosine), so its first sample is non-zero. */
function tone(samples: number, hz: number, amplitude: number): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round(amplitude * Math.cos((2 * Math.PI * hz * i) / 8000)) || 1;
  return out;
}

function channel(samples: Int16Array, c: 0 | 1): Int16Array {
  const out = new Int16Array(samples.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = samples[2 * i + c]!;
  return out;
}

function nonZeroRanges(x: Int16Array): [number, number][] {
  const ranges: [number, number][] = [];
  let start = -1;
  for (let i = 0; i <= x.length; i++) {
    const nz = i < x.length && x[i] !== 0;
    if (nz && start < 0) start = i;
    if (!nz && start >= 0) {
      ranges.push([start, i]);
      start = -1;
    }
  }
  return ranges;
}

describe('call recording', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cb-rec-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a stereo 8 kHz WAV: caller left, bot right, aligned on the call clock, cleared audio absent', async () => {
    const rec = openCallRecording({ dataDir: dir, callSid: 'CA0001', settleMs: 200, chunkMs: 100 });
    assert.equal(rec.relativePath, 'recordings/CA0001.wav');
    const silence = new Int16Array(FRAME);
    const callerTone = tone(FRAME, 440, 6000);
    // Caller: silence, then a tone from exactly t = 1 s for 0.5 s, then silence until 4 s. Frames
    // arrive up to 8 ms late (network jitter) but are contiguous on the line.
    for (let f = 0; f < 200; f++) {
      const atMs = f * 20 + (f % 3 === 1 ? 8 : f % 3 === 2 ? 3 : 0);
      const isTone = f >= 50 && f < 75;
      rec.caller(f === 50 ? 1000 : atMs, isTone ? callerTone : silence);
      // Bot: 1 s sent at t = 2 s, 0.5 s more at 2.1 s (queued behind it), cleared at 2.5 s;
      // 0.25 s sent at 3 s after the clear.
      if (f === 100) rec.botSent(2000, tone(8000, 300, 5000));
      if (f === 105) rec.botSent(2100, tone(4000, 500, 5000));
      if (f === 125) rec.botCleared(2500);
      if (f === 150) rec.botSent(3000, tone(2000, 700, 5000));
    }
    await rec.written();
    const partial = statSync(rec.path).size;
    assert.ok(partial > 44 + 2 * 2 * 8000, `appended before close (${partial} bytes)`);

    const result = await rec.close(4000);
    const wav = decodeWav(readFileSync(rec.path));
    assert.equal(wav.channels, 2);
    assert.equal(wav.sampleRateHz, 8000);
    assert.equal(wav.samples.length / 2, 32000, '4 s of audio');
    assert.equal(result.durationMs, 4000);
    assert.equal(result.sizeBytes, statSync(rec.path).size);
    const header = readFileSync(rec.path).subarray(0, 44);
    assert.equal(header.readUInt32LE(40), 32000 * 4, 'data size patched at close');
    assert.equal(header.readUInt32LE(4), 36 + 32000 * 4, 'RIFF size patched at close');

    const left = channel(wav.samples, 0);
    const right = channel(wav.samples, 1);
    assert.deepEqual(nonZeroRanges(left), [[8000, 12000]], 'caller tone at t = 1 s, on the left only');
    assert.equal(left[8000], 6000);
    assert.deepEqual(nonZeroRanges(right), [[16000, 20000], [24000, 26000]], 'bot audio where it played; cleared part absent');
    assert.equal(right[16000], 5000);
    assert.equal(right[24000], 5000, 'audio sent after the clear plays at its own time');
  });

  it('drops bot audio queued beyond the end of the call and keeps the file playable', async () => {
    const rec = openCallRecording({ dataDir: dir, callSid: 'CA/../evil' });
    assert.equal(rec.relativePath, recordingRelativePath('CA/../evil'));
    assert.equal(rec.relativePath, 'recordings/CA____evil.wav');
    rec.caller(0, tone(800, 440, 1000)); // 100 ms
    rec.botSent(50, tone(8000, 300, 1000)); // 1 s queued, call ends at 0.5 s
    const result = await rec.close(500);
    const wav = decodeWav(readFileSync(rec.path));
    assert.equal(wav.samples.length / 2, 4000);
    assert.deepEqual(nonZeroRanges(channel(wav.samples, 1)), [[400, 4000]]);
    assert.equal(result.durationMs, 500);
  });
});
