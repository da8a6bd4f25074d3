/**
 * Renders a sentence with espeak-ng (a GPL devDependency, never loaded by the server) as 8 kHz
 * PCM16 mono: the shipped prompts (build-prompts.ts) and the probe's spoken turns
 * (build-probe-audio.ts) are rendered once and committed as WAV files.
 */
import { decodeWav, toMono } from '../../src/audio/wav.js';
import { resampleWhole } from '../../src/audio/resampler.js';

interface ESpeakModule {
  FS: { readFile(path: string): Uint8Array };
}
type ESpeakFactory = (options: { arguments: string[] }) => Promise<ESpeakModule>;

export async function renderSpeech8k(text: string, wordsPerMinute: number): Promise<Int16Array> {
  const specifier = 'espeak-ng'; // untyped package: import through a variable, typed by ESpeakFactory
  const { default: ESpeakNg } = (await import(specifier)) as { default: ESpeakFactory };
  const espeak = await ESpeakNg({ arguments: ['-w', 'out.wav', '-v', 'en-us', '-s', String(wordsPerMinute), text] });
  const wav = decodeWav(espeak.FS.readFile('out.wav'));
  if (wav.sampleRateHz !== 22050) throw new Error(`espeak-ng produced ${wav.sampleRateHz} Hz; expected 22050`);
  // 22.05 kHz → 24 kHz → 8 kHz: two table entries of the streaming resampler.
  return resampleWhole(resampleWhole(toMono(wav), 22050, 24000), 24000, 8000);
}
