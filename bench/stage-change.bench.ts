/**
 * What a flow stage change costs on Gemini Live, per model family (issues 5 and 16), through the
 * adapter a call uses (src/call/adapters/gemini-session.ts), against the emulator with a realistic
 * setup latency of 350 ± 100 ms (Gemini Live setupComplete is typically 200-400 ms, seed 002):
 *
 *   in-session: the mechanism the family accepts mid-session (docs/gemini-live.md §2.2, §2.5) —
 *               3.8: contextUpdate (the system instruction is replaced); 2.5: clientContent
 *               without turnComplete; 3.1: realtimeInput.text (clientContent only seeds history) —
 *               timed from the send to the emulator having received it; the session never stops;
 *   reconnect:  close the session and resume it with the handle and a new setup (the new system
 *               instruction): the time the call has no agent.
 *
 * Each run first lets the model speak once (a greeting), so every family is mid-session.
 * Run: npm run bench:stage-change [-- --runs 20]
 */
import { geminiConnect } from '../src/call/adapters/gemini-session.js';
import type { AgentEvent, LiveSession, SessionConfig } from '../src/call/ports.js';
import { startEmulator } from '../src/emulator/index.js';
import { familyOf } from '../src/gemini/families.js';
import { percentile } from '../src/transcripts/format.js';
import { silentLogger } from '../src/shared/log.js';

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 20;
const MODELS = ['gemini-3.8-live', 'gemini-3.8-live-extended-thinking', 'gemini-2.5-flash-native-audio-preview-12-2025', 'gemini-3.1-flash-live-preview'];

const emulator = await startEmulator({
  port: 0,
  host: '127.0.0.1',
  timing: { setupLatencyMs: 350, setupLatencyJitterMs: 100, firstAudioDelayMs: 50, speechPace: 20 },
  scenario: { name: 'stages', greeting: 'Hello.', turns: [] },
});
const connect = geminiConnect({ apiKey: 'bench', url: emulator.url });
const config = (model: string, stage: string): SessionConfig => ({
  model,
  systemInstruction: `You are a receptionist.\n\n## Current stage: ${stage}\nInstructions for ${stage}.`,
  tools: [{ name: 'lookup', description: 'Looks a booking up.', behavior: 'BLOCKING' }],
});

function once(session: LiveSession, type: AgentEvent['type']): Promise<void> {
  return new Promise((resolve) => {
    const off = session.onEvent((e) => {
      if (e.type !== type) return;
      off();
      resolve();
    });
  });
}

/** Resolves when the emulator's latest session has received more than `count` messages. */
async function receivedMoreThan(count: number): Promise<void> {
  while ((emulator.sessions.at(-1)?.received.length ?? 0) <= count) await new Promise((r) => setImmediate(r));
}

async function open(model: string, handle?: string): Promise<LiveSession> {
  return connect({ config: { ...config(model, handle ? 'booking' : 'reception'), sessionResumption: { enabled: true, ...(handle ? { handle } : {}) } }, log: silentLogger() });
}

const rows: string[] = [];
const fmt = (v: number[]) => `p50 ${percentile(v, 50)!.toFixed(2)} ms, p90 ${percentile(v, 90)!.toFixed(2)} ms`;
for (const model of MODELS) {
  const inSession: number[] = [];
  const reconnect: number[] = [];
  let channel = '';
  for (let i = 0; i < RUNS; i++) {
    const s = await open(model);
    let handle: string | undefined;
    s.onEvent((e) => {
      if (e.type === 'sessionResumptionUpdate' && e.resumable && e.newHandle) handle = e.newHandle;
    });
    const greeted = once(s, 'turnComplete');
    s.sendClientContent([{ role: 'user', parts: [{ text: 'Greet the caller.' }] }], true);
    await greeted;
    channel = s.instructionChannel;
    const before = emulator.sessions.at(-1)!.received.length;
    const t0 = performance.now();
    s.instruct({ systemInstruction: config(model, 'booking').systemInstruction, text: '[stage: booking] The call is now in the stage "booking". Book a new appointment.' });
    await receivedMoreThan(before);
    inSession.push(performance.now() - t0);

    while (!handle) await new Promise((r) => setTimeout(r, 5));
    const t1 = performance.now();
    await s.close('stage change');
    const resumed = await open(model, handle);
    reconnect.push(performance.now() - t1);
    await resumed.close('done');
  }
  rows.push(`| ${familyOf(model)!.label} (${model}) | ${channel} | ${fmt(inSession)} | ${fmt(reconnect)} |`);
}
await emulator.close();

console.log(`Stage change per model family, ${RUNS} runs each (emulator setup latency 350 ± 100 ms)\n`);
console.log('| family (model) | in-session mechanism | in-session: send → received, agent never stops | reconnect with a new setup: time without an agent |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(r);
