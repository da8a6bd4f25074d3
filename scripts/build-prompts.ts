/**
 * Renders the built-in audio prompts with the espeak-ng speech synthesizer (a devDependency: GPL,
 * so it never ships in production) into assets/prompts/*.wav at 8 kHz PCM16. The WAVs are
 * committed; callbridge loads and μ-law-encodes them at boot (src/call/prompts.ts). Businesses can
 * replace any prompt with their own recording per flow.
 *
 * Run: npm run prompts:build
 */
import { writeFileSync } from 'node:fs';
import { encodeWav } from '../src/audio/wav.js';
import { renderSpeech8k } from './lib/espeak-8k.js';

export const PROMPTS: Record<string, string> = {
  apology: "I'm sorry, our assistant can't take your call right now. Please try again in a few minutes.",
  'apology-transfer': "I'm sorry, our assistant can't take your call right now. Let me put you through to a member of our team.",
};

for (const [name, text] of Object.entries(PROMPTS)) {
  const samples = await renderSpeech8k(text, 165);
  const file = new URL(`../assets/prompts/${name}.wav`, import.meta.url);
  writeFileSync(file, encodeWav({ sampleRateHz: 8000, channels: 1, samples }));
  console.log(`${file.pathname}: ${(samples.length / 8000).toFixed(2)} s — "${text}"`);
}
