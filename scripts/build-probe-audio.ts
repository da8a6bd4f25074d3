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
import { decodeWav, encodeWav, toMono } from '../src/audio/wav.js';
import { resampleWhole } from '../src/audio/resampler.js';
import { PROBE_LINES } from '../src/health/probe-audio.js';

interface ESpeakModule {
  FS: { readFile(path: string): Uint8Array };
}
type ESpeakFactory = (options: { arguments: string[] }) => Promise<ESpeakModule>;

async function render(text: string): Promise<Int16Array> {
  const specifier = 'espeak-ng'; // untyped package: import through a variable, typed by ESpeakFactory
  const { default: ESpeakNg } = (await import(specifier)) as { default: ESpeakFactory };
  const espeak = await ESpeakNg({ arguments: ['-w', 'out.wav', '-v', 'en-us', '-s', '160', text] });
  const wav = decodeWav(espeak.FS.readFile('out.wav'));
  if (wav.sampleRateHz !== 22050) throw new Error(`espeak-ng produced ${wav.sampleRateHz} Hz; expected 22050`);
  // 22.05 kHz → 24 kHz → 8 kHz: two table entries of the streaming resampler.
  return resampleWhole(resampleWhole(toMono(wav), 22050, 24000), 24000, 8000);
}

for (const line of PROBE_LINES) {
  const samples = await render(line.text);
  const file = new URL(`../assets/probe/${line.name}.wav`, import.meta.url);
  writeFileSync(file, encodeWav({ sampleRateHz: 8000, channels: 1, samples }));
  console.log(`${file.pathname}: ${(samples.length / 8000).toFixed(2)} s — "${line.text}"`);
}
