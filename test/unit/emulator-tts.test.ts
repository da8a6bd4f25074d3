import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rms } from '../../src/audio/analysis.js';
import { SpeechSynth, espeakVoiceFor, renderTone } from '../../src/emulator/index.js';

describe('emulator speech synthesis', () => {
  const synth = new SpeechSynth();
  after(() => synth.close());

  it('renders 24 kHz speech of plausible length, louder than silence', async () => {
    const short = await synth.render('Hello.', 'en-us');
    const long = await synth.render('Thank you for calling the dental office, how can I help you today?', 'en-us');
    const shortS = short.length / 24000;
    const longS = long.length / 24000;
    assert.ok(shortS > 0.2 && shortS < 1.5, `"Hello." lasts ${shortS} s`);
    assert.ok(longS > 2 && longS < 7, `a 13-word sentence lasts ${longS} s`);
    assert.ok(rms(long) > 500, 'not silent');
  });

  it('caches by text and voice (one render per line)', async () => {
    const before = synth.stats.rendered;
    const [a, b] = await Promise.all([synth.render('Cached line.', 'en-us'), synth.render('Cached line.', 'en-us')]);
    assert.equal(a, b, 'concurrent requests share one render');
    assert.equal(await synth.render('Cached line.', 'en-us'), a);
    assert.equal(synth.stats.rendered, before + 1);
    assert.ok(synth.stats.memoryHits >= 2);
    assert.equal(synth.has('Cached line.', 'en-us+f3'), false, 'another voice is another entry');
  });

  it('keeps a disk cache when asked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emu-tts-'));
    try {
      const first = new SpeechSynth({ cacheDir: dir });
      const samples = await first.render('Disk.', 'en-us');
      await first.close();
      assert.equal((await readdir(dir)).length, 1);
      const second = new SpeechSynth({ cacheDir: dir });
      assert.deepEqual(await second.render('Disk.', 'en-us'), samples);
      assert.deepEqual(second.stats, { rendered: 0, memoryHits: 0, diskHits: 1 });
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('tones are exact 24 kHz sines; Gemini voice names map to espeak voices', () => {
    const t = renderTone(1000, 10);
    assert.equal(t.length, 240);
    assert.equal(t[0], 0);
    assert.equal(t[6], Math.round(16384 * Math.sin((2 * Math.PI * 1000 * 6) / 24000)));
    assert.equal(espeakVoiceFor('Kore'), 'en-us+f3');
    assert.equal(espeakVoiceFor('Puck'), 'en-us+m3');
    assert.equal(espeakVoiceFor(undefined), 'en-us+m3');
  });
});
