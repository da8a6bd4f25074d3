/**
 * Renders the spoken turns of `npm run probe` (src/health/probe-audio.ts) with the espeak-ng
 * speech synthesizer (a devDependency: GPL, so it never ships in production) into
 * assets/probe/*.wav at 8 kHz PCM16, phone quality, like the built-in prompts. The WAVs are
 * committed: the probe and the breakers' background probe load them at run time, with no
 * synthesizer installed.
 *
 * Run: npm run probe:audio
 */
import { writeFileSync } from 'node:fs';
import { encodeWav } from '../src/audio/wav.js';
import { renderSpeech8k } from './lib/espeak-8k.js';
import { PROBE_LINES } from '../src/health/probe-audio.js';

for (const line of PROBE_LINES) {
  const samples = await renderSpeech8k(line.text, 160);
  const file = new URL(`../assets/probe/${line.name}.wav`, import.meta.url);
  writeFileSync(file, encodeWav({ sampleRateHz: 8000, channels: 1, samples }));
  console.log(`${file.pathname}: ${(samples.length / 8000).toFixed(2)} s — "${line.text}"`);
}
