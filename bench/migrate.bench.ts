/**
 * Live migration on drain (docs/scale-out.md, "Live migration"): what the caller hears when a
 * draining instance moves its calls. Two callbridge instances on one database (SQLite in one
 * DATA_DIR; PostgreSQL when DATABASE_URL is set), the Gemini emulator, the fake Twilio REST API
 * and the caller simulator (real time). Each round places CALLS calls on a fresh instance A,
 * waits until every call has had its first exchange, drains A with MIGRATE_ON_DRAIN=true (the
 * calls move to B), and the callers go on talking. Per moved call:
 *   - media gap: call time from Twilio's call update (the fake replaces the TwiML) to the first
 *     frame of the new stream: the silence the caller hears that no caller hears without a move;
 *   - agent gap: wall time from A closing the call's Gemini session to B receiving its stream
 *     (the migrated event's gapMs);
 *   - reply after the move vs the reply before it (end of the caller's words to the bot's voice),
 *     both measured in this run: the cost of resuming the session on B.
 * Prints p50/p95 over every moved call (ROUNDS × CALLS).
 *
 * Run: npm run bench:migrate [-- --calls 8 --rounds 3]
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnv } from '../src/config/env.js';
import { silentLogger } from '../src/shared/log.js';
import { startCallbridge, type Callbridge } from '../src/app.js';
import { startEmulator } from '../src/emulator/index.js';
import { FakeTwilioApi, SimulatedCallRegistry, startCall, type CallResult, type ScriptStep } from '../src/simulator/index.js';
import { percentile } from '../src/transcripts/format.js';
import { freePort, until } from '../test/support/wait.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const CALLS = arg('--calls', 8);
const ROUNDS = arg('--rounds', 3);
const ACCOUNT_SID = 'AC' + 'b'.repeat(32);
const AUTH_TOKEN = 'migrate-bench-auth-token-0123456789';
const SECRET = 'migrate-bench-stream-token-secret-0123456789';
const TONE_MS = 500;
const SCRIPT: ScriptStep[] = [
  { waitForBotSpeech: { timeoutMs: 20000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 30000 } },
  { tone: { hz: 300, durationMs: TONE_MS, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 20000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 30000 } },
  { silence: 6000 },
  { tone: { hz: 300, durationMs: TONE_MS, amplitude: 8000 } },
  { waitForBotSpeech: { timeoutMs: 20000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 30000 } },
];

/** From the caller's timeline: media gap, and the reply latency to each tone. */
function callerFigures(r: CallResult): { mediaGapMs?: number; replies: number[] } {
  const t = r.timeline;
  const replaced = t.find((e) => e.kind === 'twiml-replaced');
  const restarted = replaced ? t.find((e) => e.kind === 'start-sent' && e.atMs >= replaced.atMs) : undefined;
  const replies: number[] = [];
  for (const step of t) {
    if (step.kind !== 'step' || !step.step.startsWith('tone')) continue;
    const spoke = t.find((e) => e.kind === 'bot-speech-start' && e.atMs > step.atMs + TONE_MS);
    if (spoke) replies.push(spoke.atMs - (step.atMs + TONE_MS));
  }
  return { ...(replaced && restarted ? { mediaGapMs: restarted.atMs - replaced.atMs } : {}), replies };
}

const line = (name: string, values: number[]) =>
  console.log(`${name.padEnd(34)} p50 ${String(Math.round(percentile(values, 50) ?? NaN)).padStart(6)} ms   p95 ${String(Math.round(percentile(values, 95) ?? NaN)).padStart(6)} ms   (n=${values.length})`);

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'cb-bench-migrate-'));
  const flowsDir = join(root, 'flows');
  mkdirSync(flowsDir);
  mkdirSync(join(root, 'tools'));
  writeFileSync(
    join(flowsDir, 'bench.yaml'),
    ['name: bench', 'default: true', 'numbers: []', 'persona: You are the bench line.', 'greeting: "Hello, bench line."', 'stages:', '  - name: main', '    instructions: Help the caller.', '    functions: [end_call]'].join('\n'),
  );
  const emulator = await startEmulator({
    port: 0,
    host: '127.0.0.1',
    ttsCacheDir: join(tmpdir(), 'callbridge-test-tts'),
    scenario: { name: 'migrate-bench', turns: [{ heard: 'I would like to book', say: 'Of course, which day suits you?' }, { heard: 'Tuesday', say: 'Tuesday at ten is booked.' }] },
  });
  const registry = new SimulatedCallRegistry();
  const api = await FakeTwilioApi.start({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, calls: registry });
  const database = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {};
  const start = async (id: string): Promise<Callbridge> => {
    const port = await freePort();
    return startCallbridge({
      env: loadEnv({
        NODE_ENV: 'test', PORT: String(port), HOST: '127.0.0.1', PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, GEMINI_LIVE_URL: emulator.url,
        TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_API_BASE_URL: api.url, STREAM_TOKEN_SECRET: SECRET,
        INSTANCE_ID: id, MIGRATE_ON_DRAIN: 'true', DATA_DIR: join(root, 'data'), LOG_LEVEL: 'silent', ...database,
      }),
      log: silentLogger(),
      flowsDir,
      toolsDir: join(root, 'tools'),
      watchFlows: false,
    });
  };
  const b = await start('bench-b');
  const media: number[] = [];
  const agent: number[] = [];
  const before: number[] = [];
  const afterMove: number[] = [];
  let failed = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const a = await start(`bench-a${round}`);
      await until(async () => (await a.scale?.readyPeers())?.some((p) => p.id === 'bench-b') === true, 'B in the registry', 60_000, 100);
      const calls = Array.from({ length: CALLS }, (_, i) =>
        startCall({ serverUrl: a.url, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from: `+1555000${String(i).padStart(4, '0')}`, to: '+15550100100', script: SCRIPT, registry, maxDurationMs: 90_000 }),
      );
      await until(async () => {
        await a.writer.flush();
        const events = await Promise.all(calls.map((c) => a.store.getEvents(c.callSid)));
        return events.every((ev) => ev.some((e) => e.kind === 'bot_utterance' && e.text.includes('which day')));
      }, 'the first exchange of every call', 60_000, 100);
      await a.shutdown(20_000);
      const results = await Promise.all(calls.map((c) => c.result));
      await until(async () => b.manager.status().active === 0, "B's calls to end", 60_000, 100);
      await b.writer.flush();
      const failedBefore = failed;
      for (const r of results) {
        const f = callerFigures(r);
        const ev = (await b.store.getEvents(r.callSid)).find((e) => e.kind === 'migrated');
        if (f.mediaGapMs === undefined || !ev || ev.kind !== 'migrated' || f.replies.length < 2 || r.timeouts.length > 0) {
          failed++;
          continue;
        }
        media.push(f.mediaGapMs);
        agent.push(ev.gapMs);
        before.push(f.replies[0]!);
        afterMove.push(f.replies[1]!);
      }
      console.log(`round ${round + 1}/${ROUNDS}: ${results.length} calls, moved and answered: ${results.length - (failed - failedBefore)}`);
    }
  } finally {
    await b.shutdown(5000);
    await api.close();
    await emulator.close();
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`\nlive migration, ${CALLS} calls per drain, ${ROUNDS} drains, ${process.env.DATABASE_URL ? 'PostgreSQL' : 'SQLite (shared DATA_DIR)'}; emulator at its default timing`);
  line('media gap (caller, call update→new stream)', media);
  line('agent gap (A closes → B has the stream)', agent);
  line('reply before the move', before);
  line('reply after the move (resumed on B)', afterMove);
  if (failed > 0) console.log(`calls not counted (not moved, a wait timed out, or no second reply): ${failed}`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
