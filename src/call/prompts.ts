/**
 * Audio prompts played by callbridge itself (not by Gemini): the apology when the voice agent
 * cannot be reached, and any business-supplied recordings. Loaded once at boot from WAV files
 * (PCM16 or μ-law, 8/16/24/22.05 kHz) and kept as 8 kHz μ-law, ready to stream to Twilio.
 * A broken file is a boot error naming the file, never a silent call.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeWav, toMono } from '../audio/wav.js';
import { resampleWhole } from '../audio/resampler.js';
import { encodeMulaw } from '../audio/mulaw.js';

export interface Prompt {
  name: string;
  /** 8 kHz μ-law. */
  mulaw: Uint8Array;
  durationMs: number;
}

/** Routes from a WAV's rate to 8 kHz through the resampler's table entries. */
const ROUTES_TO_8K: Record<number, number[]> = {
  8000: [],
  16000: [8000],
  24000: [8000],
  22050: [24000, 8000],
};

export function promptFromWav(name: string, file: Uint8Array): Prompt {
  const wav = decodeWav(file);
  const route = ROUTES_TO_8K[wav.sampleRateHz];
  if (!route) {
    throw new Error(`prompt "${name}": sample rate ${wav.sampleRateHz} Hz is not supported (use 8000, 16000, 22050 or 24000 Hz)`);
  }
  let samples = toMono(wav);
  let rate = wav.sampleRateHz;
  for (const next of route) {
    samples = resampleWhole(samples, rate, next);
    rate = next;
  }
  return { name, mulaw: encodeMulaw(samples), durationMs: (samples.length / 8000) * 1000 };
}

export function loadPromptFile(name: string, path: string): Prompt {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`prompt "${name}": cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return promptFromWav(name, bytes);
  } catch (err) {
    throw new Error(`prompt "${name}" (${path}): ${(err as Error).message}`);
  }
}

/** The built-in prompts shipped in assets/prompts (rendered by `npm run prompts:build`). */
export function builtInPromptPath(name: 'apology' | 'apology-transfer'): string {
  return fileURLToPath(new URL(`../../assets/prompts/${name}.wav`, import.meta.url));
}
