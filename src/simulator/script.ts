/**
 * What the simulated caller does, step by step. Audio steps are rendered to 8 kHz PCM16 before
 * the call is placed, so synthesis or file reads never stall the call clock.
 */
import { readFile } from 'node:fs/promises';
import { sineWave } from '../audio/analysis.js';
import { resampleWhole } from '../audio/resampler.js';
import { decodeWav, toMono } from '../audio/wav.js';

export const CALLER_SAMPLE_RATE_HZ = 8000;

/** Text-to-speech: returns mono PCM16 at `sampleRateHz`. */
export type Synthesize = (text: string, sampleRateHz: number) => Promise<Int16Array>;

export type ScriptStep =
  /** Speak `text` (needs the `synthesize` option). */
  | { say: string }
  /** Play a WAV file (PCM16 or μ-law, any rate; mixed to mono, resampled to 8 kHz). */
  | { wav: string }
  /** Play 8 kHz PCM16. */
  | { pcm: Int16Array }
  | { tone: { hz: number; durationMs: number; amplitude?: number } }
  /** Stay quiet for this many ms (the line carries silence). */
  | { silence: number }
  /** Press keys: one dtmf message per digit, 100 ms apart. */
  | { dtmf: string }
  /** Wait until bot speech is heard (already playing counts). */
  | { waitForBotSpeech: { timeoutMs: number } }
  /** Wait until no bot speech has been heard for `silenceMs` (counted from the step's start at the earliest). */
  | { waitForBotSilence: { silenceMs: number; timeoutMs: number } }
  | { hangup: true };

export type PreparedStep =
  | { kind: 'audio'; pcm: Int16Array; label: string }
  | { kind: 'silence'; durationMs: number; label: string }
  | { kind: 'dtmf'; digits: string; label: string }
  | { kind: 'wait-speech'; timeoutMs: number; label: string }
  | { kind: 'wait-silence'; silenceMs: number; timeoutMs: number; label: string }
  | { kind: 'hangup'; label: string };

const DTMF_DIGITS = /^[0-9*#A-D]+$/;

export function describeStep(step: ScriptStep): string {
  if ('say' in step) return `say ${JSON.stringify(step.say.length > 50 ? `${step.say.slice(0, 47)}...` : step.say)}`;
  if ('wav' in step) return `wav ${step.wav}`;
  if ('pcm' in step) return `pcm ${Math.round(step.pcm.length / 8)} ms`;
  if ('tone' in step) return `tone ${step.tone.hz} Hz ${step.tone.durationMs} ms`;
  if ('silence' in step) return `silence ${step.silence} ms`;
  if ('dtmf' in step) return 'dtmf';
  if ('waitForBotSpeech' in step) return 'wait for bot speech';
  if ('waitForBotSilence' in step) return `wait for bot silence ${step.waitForBotSilence.silenceMs} ms`;
  return 'hangup';
}

/** Renders the script's audio; throws an Error naming the step on a bad step. */
export async function prepareScript(steps: readonly ScriptStep[], synthesize?: Synthesize): Promise<PreparedStep[]> {
  return Promise.all(
    steps.map(async (step, i): Promise<PreparedStep> => {
      const label = describeStep(step);
      const where = `script step ${i + 1} (${label})`;
      if ('say' in step) {
        if (!synthesize) throw new Error(`${where}: a say step needs the synthesize option`);
        return { kind: 'audio', pcm: await synthesize(step.say, CALLER_SAMPLE_RATE_HZ), label };
      }
      if ('wav' in step) {
        const audio = decodeWav(await readFile(step.wav));
        const mono = toMono(audio);
        const pcm = audio.sampleRateHz === CALLER_SAMPLE_RATE_HZ ? mono : resampleWhole(mono, audio.sampleRateHz, CALLER_SAMPLE_RATE_HZ);
        return { kind: 'audio', pcm, label };
      }
      if ('pcm' in step) return { kind: 'audio', pcm: step.pcm, label };
      if ('tone' in step) {
        const { hz, durationMs, amplitude } = step.tone;
        if (!(hz > 0 && hz < CALLER_SAMPLE_RATE_HZ / 2) || !(durationMs >= 0)) throw new Error(`${where}: bad tone`);
        return { kind: 'audio', pcm: sineWave(hz, CALLER_SAMPLE_RATE_HZ, durationMs, amplitude ?? 8000), label };
      }
      if ('silence' in step) {
        if (!(step.silence >= 0)) throw new Error(`${where}: silence must be ≥ 0 ms`);
        return { kind: 'silence', durationMs: step.silence, label };
      }
      if ('dtmf' in step) {
        if (!DTMF_DIGITS.test(step.dtmf)) throw new Error(`${where}: DTMF digits are 0-9 * # A-D`);
        return { kind: 'dtmf', digits: step.dtmf, label };
      }
      if ('waitForBotSpeech' in step) return { kind: 'wait-speech', timeoutMs: step.waitForBotSpeech.timeoutMs, label };
      if ('waitForBotSilence' in step) {
        const { silenceMs, timeoutMs } = step.waitForBotSilence;
        return { kind: 'wait-silence', silenceMs, timeoutMs, label };
      }
      if ('hangup' in step) return { kind: 'hangup', label };
      throw new Error(`${where}: unknown step`);
    }),
  );
}
