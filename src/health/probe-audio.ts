/**
 * What the model probe (./probe-run.ts) says and declares: its spoken lines (rendered once by
 * `npm run probe:audio` into assets/probe/*.wav, 8 kHz PCM16 like a phone line, and upsampled to
 * the Live input rate here), the one function it declares, its system instruction, and the
 * emulator scenarios that answer it offline (`npm run probe -- --emulator`).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeWav, toMono } from '../audio/wav.js';
import { resampleWhole } from '../audio/resampler.js';
import type { FunctionDeclaration } from '../gemini/index.js';
import type { ScenarioInput } from '../emulator/scenario.js';

export interface ProbeLine {
  /** File name under assets/probe (without .wav). */
  name: string;
  text: string;
  /** The turn that should make the model call PROBE_FUNCTION. */
  function?: true;
}

/** The plain lines are played in turn; the function line once per run (the first turn). */
export const PROBE_LINES: readonly ProbeLine[] = Object.freeze([
  { name: 'opening-hours', text: 'What are your opening hours today?', function: true },
  { name: 'hello', text: 'Hello, can you hear me?' },
  { name: 'repeat', text: 'Sorry, could you say that again, please?' },
  { name: 'thanks', text: 'Thank you, that helps a lot.' },
  { name: 'one-more', text: 'One more question. Are you still there?' },
]);

export const PROBE_FUNCTION_NAME = 'get_opening_hours';

/**
 * A lookup whose answer the model needs before it can reply: declared BLOCKING (the model waits for
 * the answer; docs/gemini-live.md §2.4), on every family.
 */
export const PROBE_FUNCTION: FunctionDeclaration = Object.freeze({
  name: PROBE_FUNCTION_NAME,
  description: "Today's opening hours of the business. Call it whenever the caller asks when the business is open.",
  behavior: 'BLOCKING',
}) as FunctionDeclaration;

/** The probe's answer to PROBE_FUNCTION (a plain object with `output`, docs/gemini-live.md §2.4). */
export const PROBE_FUNCTION_ANSWER: Readonly<Record<string, unknown>> = Object.freeze({ output: { hours: '9 am to 5 pm' } });

export const PROBE_SYSTEM_INSTRUCTION =
  'You answer an automated test line that checks this connection. Answer every question in one short sentence. ' +
  `When the caller asks about opening hours, call ${PROBE_FUNCTION_NAME} and read its answer out.`;

/** Input audio rate of the Live API (docs/gemini-live.md §4). */
export const PROBE_INPUT_RATE_HZ = 16000;

export interface ProbeUtterance {
  line: ProbeLine;
  /** 16 kHz PCM16 mono. */
  samples: Int16Array;
}

const cache = new Map<string, ProbeUtterance>();

/** The shipped WAV of one line, as 16 kHz PCM16 (read once per process, then shared: read-only). */
export function loadUtterance(line: ProbeLine): ProbeUtterance {
  const hit = cache.get(line.name);
  if (hit) return hit;
  const file = fileURLToPath(new URL(`../../assets/probe/${line.name}.wav`, import.meta.url));
  let wav;
  try {
    wav = decodeWav(readFileSync(file));
  } catch (err) {
    throw new Error(`probe audio ${file} is missing or unreadable (render it with \`npm run probe:audio\`): ${(err as Error).message}`, { cause: err });
  }
  const samples = resampleWhole(toMono(wav), wav.sampleRateHz, PROBE_INPUT_RATE_HZ);
  const utterance = { line, samples };
  cache.set(line.name, utterance);
  return utterance;
}

/** Every line, loaded (the function line first). */
export function loadProbeUtterances(): { functionTurn: ProbeUtterance; plain: ProbeUtterance[] } {
  const fn = PROBE_LINES.find((l) => l.function);
  if (!fn) throw new Error('PROBE_LINES has no function line');
  return { functionTurn: loadUtterance(fn), plain: PROBE_LINES.filter((l) => !l.function).map(loadUtterance) };
}

/**
 * Emulator scenarios for an offline run (the emulator cannot recognise speech, so each session's
 * scenario is chosen by the kind of its first turn): `function` opens with the lookup and its
 * answer, `plain` answers every turn with one short line.
 */
export function probeScenarios(): { function: ScenarioInput; plain: ScenarioInput } {
  const plainReply = 'Yes, I can hear you clearly.';
  return {
    function: {
      name: 'probe-function',
      turns: [
        {
          heard: PROBE_LINES[0]!.text,
          toolCalls: [{ name: PROBE_FUNCTION_NAME, args: {} }],
          // A fixed line (pre-rendered when the session opens), so the round trip is the emulator's reply delay, not speech synthesis.
          afterTool: { say: 'Today we are open from 9 am to 5 pm.' },
        },
      ],
      endOfScenario: { mode: 'repeat', say: plainReply },
    },
    plain: { name: 'probe-plain', turns: [], endOfScenario: { mode: 'repeat', say: plainReply } },
  };
}

/** The flow names an offline run puts in the emulator URL (`?flow=`) to pick a scenario. */
export const PROBE_FLOWS = Object.freeze({ function: 'probe-function', plain: 'probe-plain' });
