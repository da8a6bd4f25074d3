/**
 * Time to first bot audio after Twilio's `start`, with and without opening the Gemini session at
 * webhook time (callbridge's default), through the real server, the caller simulator and the
 * emulator on 127.0.0.1.
 *
 * Realistic delays (stated in the output): the emulator answers setup after 350 ± 100 ms and
 * starts a reply 600 ± 200 ms after the request (Gemini Live native-audio figures reported in the
 * field: setupComplete ≈ 200-400 ms, seed 002); Twilio opens the media stream 300 ms after it got
 * the TwiML (the simulator's connectDelayMs). Speech is pre-rendered (one warm-up call per mode).
 *
 * Two figures per call: "sent" = first media message callbridge sent, minus the stream start
 * (callbridge's view); "heard" = first bot audio the simulated caller played, minus the moment its
 * stream started (the caller's view).
 *
 * Run: npm run bench:first-audio [-- --calls 10 --json]
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resultsDir } from './results-dir.js';
import { loadEnv } from '../src/config/env.js';
import { silentLogger } from '../src/shared/log.js';
import { startCallbridge } from '../src/app.js';
import { startEmulator, SpeechSynth } from '../src/emulator/index.js';
import { placeCall } from '../src/simulator/index.js';
import { percentile } from '../src/transcripts/format.js';

const args = process.argv.slice(2);
const CALLS = Number(args[args.indexOf('--calls') + 1]) || 10;
const JSON_OUT = args.includes('--json');
const CONNECT_DELAY_MS = 300;

const root = mkdtempSync(join(tmpdir(), 'cb-bench-fa-'));
const flowsDir = join(root, 'flows');
mkdirSync(flowsDir);
mkdirSync(join(root, 'tools'));
writeFileSync(
  join(flowsDir, 'line.yaml'),
  ['name: bench-line', 'default: true', 'persona: You answer the phone.', 'greeting: Hello, thanks for calling. How can I help you today?', 'stages:', '  - name: main', '    instructions: Help the caller.'].join('\n'),
);
const tts = new SpeechSynth({ cacheDir: join(tmpdir(), 'callbridge-bench-tts') });
const emulator = await startEmulator({
  port: 0,
  host: '127.0.0.1',
  tts,
  timing: { setupLatencyMs: 350, setupLatencyJitterMs: 100, firstAudioDelayMs: 600, firstAudioDelayJitterMs: 200, speechPace: 1.5 },
});

interface Sample {
  sentMs: number;
  heardMs: number;
}

async function measure(preopen: boolean): Promise<Sample[]> {
  const env = loadEnv({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATA_DIR: join(root, `data-${preopen}`), GEMINI_LIVE_URL: emulator.url });
  const bridge = await startCallbridge({ env, log: silentLogger(), flowsDir, toolsDir: join(root, 'tools'), preopen });
  const samples: Sample[] = [];
  try {
    for (let i = 0; i <= CALLS; i++) {
      const result = await placeCall({
        serverUrl: bridge.url,
        from: '+15557654321',
        to: '+15550100100',
        connectDelayMs: CONNECT_DELAY_MS,
        script: [{ waitForBotSpeech: { timeoutMs: 15000 } }, { hangup: true }],
      });
      await bridge.writer.flush();
      const record = await bridge.store.getCall(result.callSid);
      const firstHeard = result.timeline.find((e) => e.kind === 'bot-speech-start');
      if (i === 0) continue; // warm-up: renders the greeting once
      if (record?.latency.firstBotAudioMs === undefined || !firstHeard || result.streamStartMs === undefined) {
        throw new Error(`call ${i} (preopen ${preopen}) got no bot audio`);
      }
      samples.push({ sentMs: record.latency.firstBotAudioMs, heardMs: firstHeard.atMs - result.streamStartMs });
    }
  } finally {
    await bridge.shutdown(2000);
  }
  return samples;
}

const withPreopen = await measure(true);
const without = await measure(false);
await emulator.close();
await tts.close();
rmSync(root, { recursive: true, force: true });

const row = (name: string, s: Sample[]) => {
  const sent = s.map((x) => x.sentMs);
  const heard = s.map((x) => x.heardMs);
  return { name, calls: s.length, sentP50: percentile(sent, 50)!, sentP90: percentile(sent, 90)!, heardP50: percentile(heard, 50)!, heardP90: percentile(heard, 90)! };
};
const rows = [row('Gemini session opened at the webhook (default)', withPreopen), row('Gemini session opened at stream start', without)];
console.log(`Time to first bot audio after Twilio's start — ${CALLS} calls per mode`);
console.log(`emulator: setup 350±100 ms, first audio 600±200 ms after a request; Twilio opens the stream ${CONNECT_DELAY_MS} ms after the TwiML\n`);
console.log('| mode | calls | sent p50 ms | sent p90 ms | heard p50 ms | heard p90 ms |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.calls} | ${r.sentP50.toFixed(0)} | ${r.sentP90.toFixed(0)} | ${r.heardP50.toFixed(0)} | ${r.heardP90.toFixed(0)} |`);
const saved = rows[1]!.heardP50 - rows[0]!.heardP50;
console.log(`\nopening the session at the webhook saves ${saved.toFixed(0)} ms (median, as heard by the caller)`);
if (JSON_OUT) {
  const file = join(resultsDir(), 'first-audio.json');
  writeFileSync(file, JSON.stringify({ calls: CALLS, connectDelayMs: CONNECT_DELAY_MS, rows }, null, 2));
  console.log(`wrote ${file}`);
}
