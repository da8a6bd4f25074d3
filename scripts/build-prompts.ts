/**
 * Renders the built-in audio prompts with the espeak-ng speech synthesizer (a devDependency: GPL,
 * so it never ships in production) into assets/prompts/*.wav at 8 kHz PCM16. The WAVs are
 * committed; callbridge loads and μ-law-encodes them at boot (src/call/prompts.ts). Businesses can
 * replace any prompt with their own recording per flow.
 *
 * Run: npm run prompts:build
 */
import { writeFileSync } from 'node:fs';
import { decodeWav, encodeWav, toMono } from '../src/audio/wav.js';
import { resampleWhole } from '../src/audio/resampler.js';

export const PROMPTS: Record<string, string> = {
  apology: "I'm sorry, our assistant can't take your call right now. Please try again in a few minutes.",
  'apology-transfer': "I'm sorry, our assistant can't take your call right now. Let me put you through to a member of our team.",
};

interface ESpeakModule {
  FS: { readFile(path: string): Uint8Array };
}
type ESpeakFactory = (options: { arguments: string[] }) => Promise<ESpeakModule>;

async function render(text: string): Promise<Int16Array> {
  const specifier = 'espeak-ng'; // untyped package: import through a variable, typed by ESpeakFactory
  const { default: ESpeakNg } = (await import(specifier)) as { default: ESpeakFactory };
  const espeak = await ESpeakNg({ arguments: ['-w', 'out.wav', '-v', 'en-us', '-s', '165', text] });
  const wav = decodeWav(espeak.FS.readFile('out.wav'));
  if (wav.sampleRateHz !== 22050) throw new Error(`espeak-ng produced ${wav.sampleRateHz} Hz; expected 22050`);
  // 22.05 kHz → 24 kHz → 8 kHz: two table entries of the streaming resampler.
  return resampleWhole(resampleWhole(toMono(wav), 22050, 24000), 24000, 8000);
}

for (const [name, text] of Object.entries(PROMPTS)) {
  const samples = await render(text);
  const file = new URL(`../assets/prompts/${name}.wav`, import.meta.url);
  writeFileSync(file, encodeWav({ sampleRateHz: 8000, channels: 1, samples }));
  console.log(`${file.pathname}: ${(samples.length / 8000).toFixed(2)} s — "${text}"`);
}
