import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InboundAudio, OutboundAudio } from '../../src/call/audio-path.js';
import { EnergyVad } from '../../src/audio/vad.js';
import { encodeMulaw, decodeMulaw } from '../../src/audio/mulaw.js';
import { sineWave, thdnDb, fitSine, ratioDb } from '../../src/audio/analysis.js';
import { concatPcm16 } from '../../src/audio/pcm.js';

describe('per-call audio path', () => {
  it('caller μ-law 20 ms frames → 16 kHz PCM: 320 samples per frame, tone preserved', () => {
    const inbound = new InboundAudio();
    const tone = sineWave(1000, 8000, 1000);
    const mulaw = encodeMulaw(tone);
    const parts: Int16Array[] = [];
    for (let i = 0; i < mulaw.length; i += 160) {
      const out = inbound.convert(mulaw.subarray(i, i + 160));
      assert.equal(out.length, 320);
      parts.push(out.slice()); // views are reused: copy to keep
    }
    const pcm16k = concatPcm16(parts);
    assert.ok(thdnDb(pcm16k, 1000, 16000) > 30, 'μ-law limited, well above 30 dB');
    const level = ratioDb(fitSine(pcm16k, 1000, 16000, 800, pcm16k.length).amplitude, 16384);
    assert.ok(Math.abs(level) < 0.2, `level ${level.toFixed(2)} dB`);
  });

  it('Gemini 24 kHz PCM in uneven chunks → μ-law, exactly one byte per 3 samples overall', () => {
    const outbound = new OutboundAudio();
    const tone = sineWave(1000, 24000, 1000);
    const bytes: number[] = [];
    for (let i = 0; i < tone.length; ) {
      const n = [480, 1920, 77, 4800][i % 4]!;
      bytes.push(...outbound.convert(tone.subarray(i, i + n)));
      i += n;
    }
    assert.equal(bytes.length, 8000);
    const pcm = decodeMulaw(Uint8Array.from(bytes));
    assert.ok(thdnDb(pcm, 1000, 8000) > 30);
  });
});

describe('EnergyVad', () => {
  it('finds a burst of tone in silence, with the stop at the start of the trailing silence', () => {
    const vad = new EnergyVad();
    const frames: Array<[number, 'start' | 'stop']> = [];
    const signal = concatPcm16([new Int16Array(8000), sineWave(300, 8000, 1000, 6000), new Int16Array(8000)]);
    for (let i = 0; i < signal.length; i += 160) {
      const t = vad.push(signal.subarray(i, i + 160));
      if (t) frames.push([i / 8, t]);
    }
    assert.equal(frames.length, 2);
    assert.equal(frames[0]![1], 'start');
    assert.ok(Math.abs(vad.lastStartMs! - 1000) <= 20, `start at ${vad.lastStartMs}`);
    assert.equal(frames[1]![1], 'stop');
    assert.ok(Math.abs(vad.lastStopMs! - 2000) <= 20, `stop at ${vad.lastStopMs}`);
  });

  it('does not call steady line noise speech', () => {
    const vad = new EnergyVad();
    let state = 7;
    let transitions = 0;
    for (let f = 0; f < 500; f++) {
      const frame = new Int16Array(160);
      for (let i = 0; i < 160; i++) {
        state = (state * 1103515245 + 12345) & 0x7fffffff;
        frame[i] = (state % 1201) - 600; // ~350 RMS noise
      }
      if (vad.push(frame)) transitions++;
    }
    assert.equal(transitions, 0, `${transitions} transitions on noise`);
    assert.equal(vad.speaking, false);
  });
});
