import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadPromptFile, builtInPromptPath, promptFromWav } from '../../src/call/prompts.js';
import { encodeWav } from '../../src/audio/wav.js';
import { sineWave, thdnDb } from '../../src/audio/analysis.js';
import { decodeMulaw } from '../../src/audio/mulaw.js';

describe('prompts', () => {
  it('loads the built-in apology as a few seconds of non-silent 8 kHz μ-law', () => {
    for (const name of ['apology', 'apology-transfer'] as const) {
      const prompt = loadPromptFile(name, builtInPromptPath(name));
      assert.ok(prompt.durationMs > 2000 && prompt.durationMs < 8000, `${name}: ${prompt.durationMs} ms`);
      const pcm = decodeMulaw(prompt.mulaw);
      let peak = 0;
      for (const s of pcm) peak = Math.max(peak, Math.abs(s));
      assert.ok(peak > 3000, `${name} is audible (peak ${peak})`);
    }
  });

  it('converts 16 and 24 kHz prompts to 8 kHz cleanly', () => {
    for (const rate of [16000, 24000]) {
      const prompt = promptFromWav('t', encodeWav({ sampleRateHz: rate, channels: 1, samples: sineWave(440, rate, 1000) }));
      assert.equal(prompt.mulaw.length, 8000);
      assert.ok(thdnDb(decodeMulaw(prompt.mulaw), 440, 8000) > 30);
    }
  });

  it('names the file and the problem when a prompt cannot be used', () => {
    assert.throws(() => loadPromptFile('hold', '/nonexistent/hold.wav'), /prompt "hold": cannot read \/nonexistent\/hold.wav/);
    assert.throws(
      () => promptFromWav('x', encodeWav({ sampleRateHz: 44100, channels: 1, samples: new Int16Array(10) })),
      /sample rate 44100 Hz is not supported/,
    );
  });
});
