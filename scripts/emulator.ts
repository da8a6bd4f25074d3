/**
 * `npm run emulator -- [flags]`: runs the Gemini Live emulator (src/emulator) and prints how to
 * point callbridge at it. Every flag has an EMULATOR_* environment twin (flag name upper-cased,
 * dashes → underscores, e.g. --go-away-after-ms ⇔ EMULATOR_GO_AWAY_AFTER_MS); flags win.
 *
 *   npm run emulator -- --port 9090 --scenario scenarios/default.yaml
 *   npm run emulator -- --internal-error-rate gemini-2.5-flash-native-audio-preview-12-2025=0.85
 *   npm run emulator -- --fault-profile seed-002      # the 1011 field report's table, by name
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../src/shared/log.js';
import { startEmulator, type EmulatorOptions, type FaultOptions, type RateSpec } from '../src/emulator/index.js';

const FLAGS = {
  port: 'port to listen on (default 9090; 0 = any)',
  host: 'interface (default 127.0.0.1)',
  scenario: 'scenario YAML (default scenarios/default.yaml)',
  'scenario-for': 'MODEL=FILE: scenario for one model (repeatable, comma-separated)',
  seed: 'seed of every random decision (default 1)',
  'require-api-key': "'true' (any non-empty key) or a comma-separated list of accepted keys",
  'setup-latency-ms': 'setup → setupComplete delay (default 150)',
  'setup-latency-jitter-ms': 'extra random setup delay 0..N (default 50)',
  'first-audio-delay-ms': 'end of input → first audio (default 350)',
  'first-audio-jitter-ms': 'extra random first-audio delay 0..N (default 100)',
  'turn-complete-delay-ms': 'generationComplete → turnComplete (default 40)',
  pace: 'audio streaming speed, × real time (default 2)',
  'chunk-ms': 'duration of each audio chunk (default 40)',
  'vad-threshold-dbfs': 'speech level threshold (default -40)',
  'vad-prefix-ms': 'speech needed before start-of-speech (default 40)',
  'vad-silence-ms': 'silence needed before end-of-speech (default 600)',
  'go-away-after-ms': 'send goAway this long after setupComplete',
  'go-away-time-left-ms': 'goAway.timeLeft; close after it unless the client did (default 5000)',
  'no-family-limits': "no connection/session limits (default: each family's, goAway 1 min before 10 min)",
  'fault-profile': 'a named fault profile: seed-002 (85 % of turns 1011 before content on 2.5 12-2025/-latest)',
  'internal-error-rate': 'RATE or MODEL=RATE,…: 1011 before the first content of a turn (seed 002)',
  'internal-error-delay-ms': 'MIN-MAX delay of that close (default 200-3000)',
  'tool-close-rate': 'RATE or MODEL=RATE,…: close right after a tool response (seed 003)',
  'tool-close-kind': 'either | entity-not-found | internal | not-implemented (default either)',
  'max-sessions': 'concurrent sessions; more get the 1011 quota close',
  'cut-after-ms': 'destroy every socket (no close frame) this long after setupComplete',
  'cut-rate': 'RATE or MODEL=RATE,…: destroy the socket part-way through a turn',
  'garbage-rate': 'probability per message of a garbage frame before it',
  'garbage-kinds': 'comma-separated: binary,truncated-json,wrong-types,unknown-message',
  'audio-during-tool': 'ignore | abort (1008 "The operation was aborted.")',
  'lenient-audio': 'accept any audio/pcm rate (default: only 16 kHz, else 1007)',
  'allow-media-chunks': 'accept deprecated realtimeInput.mediaChunks (default: 1007)',
  voice: 'espeak-ng voice for every line (e.g. en-us+f3)',
  'tts-cache-dir': 'cache of rendered speech (default data/emulator-tts; "" for none)',
  'log-level': 'pino level (default info)',
  help: 'this text',
} as const;

type Flag = keyof typeof FLAGS;
const BOOLEAN = new Set<Flag>(['lenient-audio', 'allow-media-chunks', 'no-family-limits', 'help']);

function usage(): string {
  const lines = Object.entries(FLAGS).map(([k, v]) => `  --${k.padEnd(26)} ${v}`);
  return `npm run emulator -- [flags]\n\n${lines.join('\n')}\n`;
}

function readFlags(): Partial<Record<Flag, string | boolean>> {
  const options = Object.fromEntries(
    Object.keys(FLAGS).map((k) => [k, { type: BOOLEAN.has(k as Flag) ? 'boolean' : 'string' }]),
  ) as Record<Flag, { type: 'string' | 'boolean' }>;
  const { values } = parseArgs({ options, strict: true, allowPositionals: false });
  const out: Partial<Record<Flag, string | boolean>> = {};
  for (const k of Object.keys(FLAGS) as Flag[]) {
    const env = process.env[`EMULATOR_${k.toUpperCase().replace(/-/g, '_')}`];
    const v = (values as Record<string, string | boolean | undefined>)[k] ?? env;
    if (v !== undefined) out[k] = BOOLEAN.has(k) && typeof v === 'string' ? v === 'true' || v === '1' : v;
  }
  return out;
}

function num(flags: Partial<Record<Flag, string | boolean>>, k: Flag): number | undefined {
  const v = flags[k];
  if (v === undefined || typeof v === 'boolean') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${k}: "${v}" is not a number`);
  return n;
}

function str(flags: Partial<Record<Flag, string | boolean>>, k: Flag): string | undefined {
  const v = flags[k];
  return typeof v === 'string' ? v : undefined;
}

function rate(flags: Partial<Record<Flag, string | boolean>>, k: Flag): RateSpec | undefined {
  const v = str(flags, k);
  if (v === undefined) return undefined;
  if (!v.includes('=')) return num(flags, k);
  const spec: Record<string, number> = {};
  for (const part of v.split(',')) {
    const [model, value] = part.split('=');
    const n = Number(value);
    if (!model || !Number.isFinite(n)) throw new Error(`--${k}: "${part}" is not MODEL=RATE`);
    spec[model.trim()] = n;
  }
  return spec;
}

function range(flags: Partial<Record<Flag, string | boolean>>, k: Flag): [number, number] | undefined {
  const v = str(flags, k);
  if (v === undefined) return undefined;
  const m = /^(\d+)\s*-\s*(\d+)$/.exec(v);
  if (!m) throw new Error(`--${k}: "${v}" is not MIN-MAX`);
  return [Number(m[1]), Number(m[2])];
}

function buildOptions(flags: Partial<Record<Flag, string | boolean>>): EmulatorOptions {
  const faults: FaultOptions = {};
  const internal = rate(flags, 'internal-error-rate');
  if (internal !== undefined) {
    faults.internalErrorBeforeContent = { rate: internal, ...(range(flags, 'internal-error-delay-ms') ? { delayMs: range(flags, 'internal-error-delay-ms')! } : {}) };
  }
  const toolClose = rate(flags, 'tool-close-rate');
  if (toolClose !== undefined) {
    faults.closeAfterToolResponse = { rate: toolClose, kind: (str(flags, 'tool-close-kind') ?? 'either') as never };
  }
  if (num(flags, 'max-sessions') !== undefined) faults.maxConcurrentSessions = num(flags, 'max-sessions')!;
  if (num(flags, 'cut-after-ms') !== undefined) faults.cutSocketAfterMs = num(flags, 'cut-after-ms')!;
  if (rate(flags, 'cut-rate') !== undefined) faults.cutSocketPerTurnRate = rate(flags, 'cut-rate')!;
  if (num(flags, 'garbage-rate') !== undefined) faults.garbageRate = num(flags, 'garbage-rate')!;
  const kinds = str(flags, 'garbage-kinds');
  if (kinds) faults.garbageKinds = kinds.split(',').map((s) => s.trim()) as never;
  const duringTool = str(flags, 'audio-during-tool');
  if (duringTool) faults.audioDuringToolCall = duringTool as never;

  const byModel: Record<string, string> = {};
  for (const part of (str(flags, 'scenario-for') ?? '').split(',').filter(Boolean)) {
    const [model, file] = part.split('=');
    if (!model || !file) throw new Error(`--scenario-for: "${part}" is not MODEL=FILE`);
    byModel[model.trim()] = file.trim();
  }
  const key = str(flags, 'require-api-key');
  const timing = {
    setupLatencyMs: num(flags, 'setup-latency-ms'),
    setupLatencyJitterMs: num(flags, 'setup-latency-jitter-ms'),
    firstAudioDelayMs: num(flags, 'first-audio-delay-ms'),
    firstAudioDelayJitterMs: num(flags, 'first-audio-jitter-ms'),
    turnCompleteDelayMs: num(flags, 'turn-complete-delay-ms'),
    speechPace: num(flags, 'pace'),
    chunkMs: num(flags, 'chunk-ms'),
  };
  const vad = {
    thresholdDbfs: num(flags, 'vad-threshold-dbfs'),
    prefixPaddingMs: num(flags, 'vad-prefix-ms'),
    silenceDurationMs: num(flags, 'vad-silence-ms'),
  };
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  const cacheDir = str(flags, 'tts-cache-dir') ?? 'data/emulator-tts';
  return {
    port: num(flags, 'port') ?? 9090,
    host: str(flags, 'host') ?? '127.0.0.1',
    scenario: str(flags, 'scenario'),
    scenariosByModel: byModel,
    seed: num(flags, 'seed'),
    requireApiKey: key === undefined ? undefined : key === 'true' ? true : key.split(',').map((s) => s.trim()),
    timing: defined(timing) as never,
    vad: defined(vad) as never,
    goAwayAfterMs: num(flags, 'go-away-after-ms'),
    goAwayTimeLeftMs: num(flags, 'go-away-time-left-ms'),
    familyLimits: flags['no-family-limits'] !== true,
    faultProfile: str(flags, 'fault-profile'),
    faults,
    strictAudioMime: flags['lenient-audio'] !== true,
    rejectMediaChunks: flags['allow-media-chunks'] !== true,
    voice: str(flags, 'voice'),
    ttsCacheDir: cacheDir === '' ? undefined : cacheDir,
  };
}

async function main(): Promise<void> {
  let flags: Partial<Record<Flag, string | boolean>>;
  try {
    flags = readFlags();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage()}`);
    process.exit(2);
  }
  if (flags.help) {
    process.stdout.write(usage());
    return;
  }
  const log = createLogger({ level: str(flags, 'log-level') ?? 'info' });
  let options: EmulatorOptions;
  try {
    options = Object.fromEntries(Object.entries(buildOptions(flags)).filter(([, v]) => v !== undefined)) as EmulatorOptions;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const emulator = await startEmulator({ ...options, log });
  process.stdout.write(
    [
      '',
      'Gemini Live emulator listening',
      `  Live endpoint  ${emulator.url}`,
      `  stats          ${emulator.httpUrl}/emulator/stats`,
      '',
      'Point callbridge at it (any API key works unless --require-api-key is set):',
      `  GEMINI_LIVE_URL=${emulator.url} GEMINI_API_KEY=emulator npm start`,
      '',
      "The @google/genai SDK: new GoogleGenAI({ apiKey: 'emulator', httpOptions: { baseUrl: " + `'${emulator.httpUrl}' } })`,
      '',
    ].join('\n'),
  );
  const stop = () => {
    void emulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`emulator failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
