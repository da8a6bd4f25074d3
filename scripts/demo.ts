/**
 * npm run demo — a whole phone call, offline:
 *   1. starts callbridge with the built-in Gemini Live emulator (no API key needed), a stand-in
 *      for Twilio's REST API and the example order service;
 *   2. places a simulated call (signed webhook, TwiML, signed media stream, real-time audio) with
 *      a scripted caller who talks to the flow's bot;
 *   3. prints the transcript as callbridge recorded it, the latency figures and the WAV paths;
 *   4. keeps the server running so you can open the call review UI (Ctrl-C to stop), unless --exit.
 *
 * Options: --flow dental-receptionist | order-status-ivr   (default dental-receptionist)
 *          --time-scale 1     (0.5 = twice as fast)
 *          --exit             (stop after the call; used by tests)
 *          --port 8080        (or PORT)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadEnv } from '../src/config/env.js';
import { createLogger } from '../src/shared/log.js';
import { startCallbridge } from '../src/app.js';
import { placeCall, FakeTwilioApi, SimulatedCallRegistry, formatTimeline, type ScriptStep } from '../src/simulator/index.js';
import { SpeechSynth } from '../src/emulator/index.js';
import { resampleWhole } from '../src/audio/resampler.js';
import { toTextExport, latencySummary } from '../src/transcripts/index.js';
import { startOrderService } from '../examples/order-service.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
};
const flowName = arg('flow') ?? 'dental-receptionist';
const timeScale = Number(arg('time-scale') ?? 1);
const exitAfter = args.includes('--exit');

interface DemoCall {
  to: string;
  script: ScriptStep[];
}

// A caller waits for the bot to speak, then for a pause long enough to be sure it has finished
// (a function call and the reply after it can leave a second or two of silence mid-answer).
const listen = (silenceMs = 2500): ScriptStep[] => [
  { waitForBotSpeech: { timeoutMs: 20_000 } },
  { waitForBotSilence: { silenceMs, timeoutMs: 60_000 } },
];

const CALLS: Record<string, DemoCall> = {
  'dental-receptionist': {
    to: '+15550100100',
    script: [
      ...listen(),
      { say: "Hi, I'd like to book a check-up, please." },
      ...listen(),
      { say: "It's for Sam Lee. A morning would be best." },
      ...listen(),
      { say: 'The first one, please.' },
      ...listen(),
      { say: "No, that's all. Thank you!" },
    ],
  },
  'order-status-ivr': {
    to: '+15550100200',
    script: [
      ...listen(),
      { dtmf: '1' },
      ...listen(),
      { say: "It's A1002." },
      ...listen(),
      { say: "No, that's everything. Bye." },
    ],
  },
};

const demo = CALLS[flowName];
if (!demo) {
  console.error(`unknown --flow ${flowName}; choose one of: ${Object.keys(CALLS).join(', ')}`);
  process.exit(2);
}

// The stand-ins: Twilio's REST API (transfers, hang-ups) and the order service of the IVR flow.
const accountSid = `AC${randomBytes(16).toString('hex')}`;
const authToken = `demo-${randomBytes(12).toString('hex')}`;
const registry = new SimulatedCallRegistry();
const twilioApi = await FakeTwilioApi.start({ accountSid, authToken, calls: registry });
process.env['ORDER_SERVICE_SECRET'] ??= randomBytes(16).toString('hex');
const orders = await startOrderService({ port: 0, secret: process.env['ORDER_SERVICE_SECRET'] });
process.env['ORDER_SERVICE_URL'] = orders.url;

const env = loadEnv({
  ...process.env,
  TWILIO_ACCOUNT_SID: accountSid,
  TWILIO_AUTH_TOKEN: authToken,
  TWILIO_API_BASE_URL: twilioApi.url,
  PORT: arg('port') ?? process.env['PORT'] ?? '8080',
  HOST: '127.0.0.1',
});
mkdirSync(resolve(env.DATA_DIR), { recursive: true });
const log = createLogger({ level: process.env['LOG_LEVEL'] ?? 'warn', destination: process.stderr });
const ttsCacheDir = resolve(env.DATA_DIR, 'emulator-tts');
const tts = new SpeechSynth({ cacheDir: ttsCacheDir });

console.log(`Starting callbridge with the built-in Gemini Live emulator (flow: ${flowName})…`);
const bridge = await startCallbridge({
  env,
  log,
  emulator: {
    tts,
    timing: { setupLatencyMs: 300, firstAudioDelayMs: 500, speechPace: 1.5 },
    scenariosBySystemInstruction: [
      { match: 'Bright Smile Dental', scenario: resolve('scenarios/dental-receptionist.yaml') },
      { match: 'Example Shop', scenario: resolve('scenarios/order-status-ivr.yaml') },
    ],
  },
  // The dental practice keeps office hours; the demo pretends it is Tuesday 10:00 there.
  now: () => new Date('2026-11-24T15:00:00Z'),
});
console.log(`callbridge is listening on ${bridge.url}; placing a simulated call to ${demo.to}…\n`);

const heardPath = resolve(env.DATA_DIR, `demo-${flowName}-caller-heard.wav`);
const result = await placeCall({
  serverUrl: bridge.url,
  publicBaseUrl: bridge.publicBaseUrl,
  from: '+15557654321',
  to: demo.to,
  authToken,
  accountSid,
  script: demo.script,
  timeScale,
  recordPath: heardPath,
  recordStereo: true,
  afterScript: 'wait',
  maxDurationMs: 180_000,
  registry,
  synthesize: async (text, rateHz) => resampleWhole(await tts.render(text, 'en-us+m3'), 24000, rateHz),
});
await bridge.writer.flush();

const record = await bridge.store.getCall(result.callSid);
const events = await bridge.store.getEvents(result.callSid);
console.log('— What the simulated caller experienced (call clock) —');
console.log(formatTimeline(result.timeline));
console.log('\n— The transcript callbridge recorded —');
if (record) {
  console.log(toTextExport(record, events));
  const latency = latencySummary(record);
  console.log(`Latency: first bot audio ${latency.firstBotAudioMs ?? '–'} ms after the stream started; reply p50 ${latency.p50Ms ?? '–'} ms, p95 ${latency.p95Ms ?? '–'} ms`);
} else {
  console.log('(no record found — see the server log above)');
}
console.log(`\nWAV of what the caller heard (left: caller, right: bot): ${heardPath}`);
if (record?.recordingPath) console.log(`Call recording kept by callbridge:                     ${resolve(env.DATA_DIR, record.recordingPath)}`);
console.log(`Review the call in your browser:                       ${bridge.url}/calls/${result.callSid}`);

async function stop(): Promise<void> {
  await bridge.shutdown(5000);
  await tts.close();
  await orders.close();
  await twilioApi.close();
}

if (exitAfter) {
  await stop();
  process.exit(record ? 0 : 1);
} else {
  console.log('\nThe server keeps running for the review UI — press Ctrl-C to stop.');
  process.once('SIGINT', () => void stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
}
