/**
 * What a flow stage change costs on Gemini Live, two ways (issue 5):
 *   inject:    send the new stage's instructions as clientContent (turnComplete false) into the
 *              live session — callbridge's choice; tools stay declared, the dispatcher enforces
 *              the stage;
 *   reconnect: close the session and resume it with the handle and a new setup (new system
 *              instruction) — what per-stage tool sets would need.
 * For each: how long the call has no agent (the time the caller's audio cannot reach Gemini) and
 * the wall time until the agent can speak again. Against the emulator with a realistic setup
 * latency of 350 ± 100 ms (Gemini Live setupComplete is typically 200-400 ms, seed 002).
 *
 * Run: npm run bench:stage-change [-- --runs 20]
 */
import { GeminiLiveSession } from '../src/gemini/index.js';
import { startEmulator } from '../src/emulator/index.js';
import { percentile } from '../src/transcripts/format.js';

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 20;
const emulator = await startEmulator({
  port: 0,
  host: '127.0.0.1',
  timing: { setupLatencyMs: 350, setupLatencyJitterMs: 100, firstAudioDelayMs: 50, speechPace: 4 },
  scenario: { name: 'stages', turns: [] },
});
const config = (stage: string) => ({
  model: 'gemini-2.5-flash-native-audio-preview-12-2025',
  systemInstruction: `You are a receptionist. [stage: ${stage}] Instructions for ${stage}.`,
});

async function session(handle?: string): Promise<GeminiLiveSession> {
  const s = await GeminiLiveSession.connect({
    apiKey: 'bench',
    url: emulator.url,
    config: { ...config(handle ? 'booking' : 'reception'), sessionResumption: { enabled: true, ...(handle ? { handle } : {}) } },
  });
  // Resumption handles arrive at idle moments right after setup.
  if (!s.resumptionHandle) await new Promise<void>((ok) => s.once('sessionResumptionUpdate', () => ok()));
  return s;
}

const inject: number[] = [];
const reconnect: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const s = await session();
  const t0 = performance.now();
  s.sendClientContent([{ role: 'user', parts: [{ text: '[stage: booking] The call is now in the stage "booking". Book a new appointment.' }] }], false);
  inject.push(performance.now() - t0);

  const handle = s.resumptionHandle!;
  const t1 = performance.now();
  await s.close();
  const resumed = await GeminiLiveSession.connect({ apiKey: 'bench', url: emulator.url, config: { ...config('booking'), sessionResumption: { enabled: true, handle } } });
  reconnect.push(performance.now() - t1);
  await resumed.close();
}
await emulator.close();

const fmt = (v: number[]) => `p50 ${percentile(v, 50)!.toFixed(2)} ms, p90 ${percentile(v, 90)!.toFixed(2)} ms, max ${Math.max(...v).toFixed(2)} ms`;
console.log(`Stage change on Gemini Live, ${RUNS} runs each (emulator setup latency 350 ± 100 ms)\n`);
console.log('| method | time without an agent |');
console.log('|---|---|');
console.log(`| inject instructions (callbridge) | ${fmt(inject)} — the session never stops |`);
console.log(`| reconnect with a new setup (resume) | ${fmt(reconnect)} |`);
