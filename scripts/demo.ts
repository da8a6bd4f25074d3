/**
 * npm run demo — a whole phone call, offline:
 *   1. starts callbridge with the built-in Gemini Live emulator (no API key needed), a stand-in
 *      for Twilio's REST API and the example order service;
 *   2. places a simulated call (signed webhook, TwiML, signed media stream, real-time audio) with
 *      a scripted caller who talks to the flow's bot;
 *   3. prints the transcript as callbridge recorded it, the latency figures and the WAV paths;
 *   4. keeps the server running so you can open the call review UI (Ctrl-C to stop), unless --exit.
 *
 * Options: --flow <name>        any valid flow of FLOWS_DIR (default dental-receptionist); the
 *                               emulator plays its scenario (docs/scenarios.md), or says it has none
 *          --time-scale 1     (0.5 = twice as fast)
 *          --exit             (stop after the call; used by tests)
 *          --port 8080        (or PORT)
 * The business clock is CALLBRIDGE_NOW when set; otherwise, if the flow is closed now, the demo
 * pretends it is the flow's next opening so the call reaches the bot.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadEnv } from '../src/config/env.js';
import { createLogger } from '../src/shared/log.js';
import { startCallbridge, type Callbridge } from '../src/app.js';
import { placeCall, FakeTwilioApi, SimulatedCallRegistry, formatTimeline, type CallResult, type ScriptStep } from '../src/simulator/index.js';
import { FlowScenarios, SpeechSynth, type Scenario } from '../src/emulator/index.js';
import { flowScenarioFile } from '../src/emulator/flow-scenarios.js';
import { resampleWhole } from '../src/audio/resampler.js';
import { toTextExport, latencySummary } from '../src/transcripts/index.js';
import { checkBusinessConfig, clockStartingAt, formatProblem, nextOpenInstant, type Flow } from '../src/flows/index.js';
import { startOrderService } from '../examples/order-service.js';

export interface DemoCall {
  to: string;
  script: ScriptStep[];
  /** After the script: wait for the bot to end the call, or hang up. */
  afterScript: 'wait' | 'hangup';
}

// A caller waits for the bot to speak, then for a pause long enough to be sure it has finished
// (a function call and the reply after it can leave a second or two of silence mid-answer).
const listen = (silenceMs = 2500): ScriptStep[] => [
  { waitForBotSpeech: { timeoutMs: 20_000 } },
  { waitForBotSilence: { silenceMs, timeoutMs: 60_000 } },
];

/** Hand-written callers for the shipped example flows. */
const CALLS: Record<string, Omit<DemoCall, 'to'>> = {
  'dental-receptionist': {
    afterScript: 'wait',
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
    afterScript: 'wait',
    script: [...listen(), { dtmf: '1' }, ...listen(), { say: "It's A1002." }, ...listen(), { say: "No, that's everything. Bye." }],
  },
};

/** What a caller with nothing scripted says (the transcript shows it as caller audio when no scenario gives words). */
const GENERIC_LINE = 'Hello, I am calling to try this line.';

/**
 * A caller for any flow, from its scenario: one utterance per turn the emulator takes on speech
 * (its `heard` words, or a generic line), at most 6; without a scenario, one line.
 */
export function scriptFromScenario(scenario: Scenario | undefined): Omit<DemoCall, 'to'> {
  const turns = (scenario?.turns ?? []).filter((t) => !t.match).slice(0, 6);
  const script: ScriptStep[] = [...listen()];
  for (const t of turns.length > 0 ? turns : [{ heard: undefined }]) script.push({ say: t.heard ?? GENERIC_LINE }, ...listen());
  const hangsUp = turns.some((t) => 'toolCalls' in t && t.toolCalls?.some((c) => c.name === 'end_call'));
  return { script, afterScript: hangsUp ? 'wait' : 'hangup' };
}

export interface DemoPlan extends DemoCall {
  flow: Flow;
  /** The scenario file the emulator plays, or undefined (the no-scenario emulator). */
  scenarioFile: string | undefined;
}

/** The demo's call for `flowName`: any valid flow of the folder, with its scenario's caller. Throws a message for the user. */
export async function demoPlan(o: { flow: string; flowsDir: string; toolsDir: string; scenariosDir: string }): Promise<DemoPlan> {
  const result = await checkBusinessConfig({ flowsDir: o.flowsDir, toolsDir: o.toolsDir, env: process.env });
  if (!result.ok) throw new Error(`the flows have problems (npm run flows:check):\n${result.errors.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
  const flow = result.router.byName(o.flow);
  if (!flow) throw new Error(`unknown --flow ${o.flow}; flows in ${o.flowsDir}: ${result.flows.map((f) => f.name).join(', ')}`);
  const scenarios = new FlowScenarios({ scenariosDir: o.scenariosDir, scenarioPathOf: () => flowScenarioFile(flow) });
  const scenario = await scenarios.resolve(flow.name);
  const scenarioFile = scenario.name.startsWith('no-scenario:') ? undefined : scenarios.pathOf(flow.name);
  const call = CALLS[flow.name] ?? scriptFromScenario(scenarioFile ? scenario : undefined);
  // Every valid flow is reachable: it lists numbers, or it is the default flow (any other number).
  const to = flow.numbers[0] ?? (result.flows.some((f) => f.numbers.includes('+15550100199')) ? '+15550100198' : '+15550100199');
  return { ...call, flow, scenarioFile, to };
}

/** The business clock of the demo: CALLBRIDGE_NOW, else now, else (closed now) the flow's next opening. */
export function demoClock(flow: Flow, envNow: string | undefined, now = new Date()): { now: () => Date; note: string | undefined } {
  if (envNow) return { now: clockStartingAt(new Date(envNow)), note: `CALLBRIDGE_NOW=${envNow}` };
  const open = nextOpenInstant(flow, now);
  if (!open || open.getTime() === now.getTime()) return { now: () => new Date(), note: undefined };
  return { now: clockStartingAt(open), note: `${flow.name} is closed now; the demo pretends it is ${open.toISOString()}, when it is open` };
}

/** Starts the stand-ins and callbridge, places the call, prints what happened. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i === -1 ? undefined : args[i + 1];
  };
  const timeScale = Number(arg('time-scale') ?? 1);
  const baseEnv = loadEnv(process.env);
  let demo: DemoPlan;
  try {
    demo = await demoPlan({ flow: arg('flow') ?? 'dental-receptionist', flowsDir: resolve(baseEnv.FLOWS_DIR), toolsDir: resolve(baseEnv.TOOLS_DIR), scenariosDir: resolve(baseEnv.SCENARIOS_DIR) });
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const flowName = demo.flow.name;
  const { bridge, stop, authToken, accountSid, registry, tts, dataDir } = await startStack(arg('port'), demo);
  console.log(`callbridge is listening on ${bridge.url}; placing a simulated call to ${demo.to}…\n`);

  const heardPath = resolve(dataDir, `demo-${flowName}-caller-heard.wav`);
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
    afterScript: demo.afterScript,
    maxDurationMs: 180_000,
    registry,
    synthesize: async (text, rateHz) => resampleWhole(await tts.render(text, 'en-us+m3'), 24000, rateHz),
  });
  await bridge.writer.flush();
  const found = await report(bridge, result, heardPath, dataDir);
  if (args.includes('--exit')) {
    await stop();
    process.exit(found ? 0 : 1);
  }
  console.log('\nThe server keeps running for the review UI — press Ctrl-C to stop.');
  process.once('SIGINT', () => void stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
}

/** The stand-ins (Twilio's REST API, the order service of the IVR example) and callbridge with its emulator. */
async function startStack(port: string | undefined, demo: DemoPlan) {
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
    PORT: port ?? process.env['PORT'] ?? '8080',
    HOST: '127.0.0.1',
  });
  const dataDir = resolve(env.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const log = createLogger({ level: process.env['LOG_LEVEL'] ?? 'warn', destination: process.stderr });
  const tts = new SpeechSynth({ cacheDir: resolve(dataDir, 'emulator-tts') });
  const clock = demoClock(demo.flow, env.CALLBRIDGE_NOW);
  console.log(`Starting callbridge with the built-in Gemini Live emulator (flow: ${demo.flow.name}; scenario: ${demo.scenarioFile ?? 'none — the emulator will say so'})…`);
  if (clock.note) console.log(`Business clock: ${clock.note}`);
  const bridge = await startCallbridge({ env, log, emulator: { tts, timing: { setupLatencyMs: 300, firstAudioDelayMs: 500, speechPace: 1.5 } }, now: clock.now });
  const stop = async (): Promise<void> => {
    await bridge.shutdown(5000);
    await tts.close();
    await orders.close();
    await twilioApi.close();
  };
  return { bridge, stop, authToken, accountSid, registry, tts, dataDir };
}

/** Prints the caller's timeline, the transcript and where to look; false when no record was found. */
async function report(bridge: Callbridge, result: CallResult, heardPath: string, dataDir: string): Promise<boolean> {
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
  if (record?.recordingPath) console.log(`Call recording kept by callbridge:                     ${resolve(dataDir, record.recordingPath)}`);
  console.log(`Review the call in your browser:                       ${bridge.url}/calls/${result.callSid}`);
  return record !== undefined && record !== null;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) await main();
