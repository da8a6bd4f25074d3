/**
 * `npm run probe` (scripts/probe.ts): arguments, the endpoint (the real service with
 * GEMINI_API_KEY and GEMINI_LIVE_URL, or the built-in emulator with --emulator), the run, the
 * table or JSON, the exit code. Usage and the JSON schema: docs/probe.md.
 *
 * Exit codes: 0 every model within --max-failure; 1 a model over it; 2 bad arguments, no key, or the
 * probe could not start.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_FALLBACK_MODELS, DEFAULT_MODEL } from '../gemini/index.js';
import { LIVE_URL } from '../gemini/protocol.js';
import type { Logger } from '../shared/log.js';
import type { Scenario } from '../emulator/index.js';
import { FAULT_PROFILES } from '../emulator/faults.js';
import { PROBE_FLOWS, probeScenarios } from './probe-audio.js';
import { buildReport, formatTable, type ProbeReport } from './probe-report.js';
import { runProbe, type ProbeSessionOptions } from './probe-run.js';

export const PROBE_USAGE = `Usage: npm run probe -- [options]

Opens real Gemini Live sessions on each model, plays short spoken turns (one asks for a function
call) and prints, per model: sessions, turns OK, closes by code with their reasons, setup and
first-content times, the function round trip. Exits 1 when a model's failed turns pass
--max-failure. Needs GEMINI_API_KEY (GEMINI_LIVE_URL is honoured), unless --emulator.

  --models a,b          models to probe (default: callbridge's default model and its fallbacks)
  --turns N             spoken turns per model (default 20)
  --max-failure P       % of failed turns allowed per model (default 5)
  --json                print the report as JSON (schema: docs/probe.md)
  --emulator            use the built-in Gemini Live emulator (offline, no key); alias --offline
  --fault-profile NAME  emulator faults to reproduce (seed-002: the 1011 field report); one of: ${'${PROFILES}'}
  --seed N              emulator seed (default 1)
  --pace X              audio pace, 1 = real time (default 1; with --emulator: as fast as possible)
  --reply-timeout MS    end of a turn → first content (default 10000)
  -h, --help            this text`;

export interface ProbeCliIo {
  env: Readonly<Record<string, string | undefined>>;
  out: (text: string) => void;
  err: (text: string) => void;
  log?: Logger;
  /** Test knobs for the built-in emulator (timing, fault delays), merged over the profile. */
  emulator?: Record<string, unknown>;
}

interface Parsed {
  models: string[];
  turns: number;
  maxFailurePct: number;
  json: boolean;
  emulator: boolean;
  faultProfile: string | undefined;
  seed: number;
  pace: number | undefined;
  replyTimeoutMs: number | undefined;
}

class UsageError extends Error {}

function number(value: string | undefined, name: string, min: number, max: number, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/** The command line, checked; throws UsageError with a sentence naming the bad option. */
export function parseProbeArgs(argv: readonly string[]): Parsed | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        models: { type: 'string' },
        turns: { type: 'string' },
        'max-failure': { type: 'string' },
        json: { type: 'boolean' },
        emulator: { type: 'boolean' },
        offline: { type: 'boolean' },
        'fault-profile': { type: 'string' },
        seed: { type: 'string' },
        pace: { type: 'string' },
        'reply-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const emulator = values.emulator === true || values.offline === true;
  const profile = values['fault-profile'];
  if (profile !== undefined && !emulator) throw new UsageError('--fault-profile needs --emulator (faults are the emulator\'s)');
  if (profile !== undefined && !Object.hasOwn(FAULT_PROFILES, profile)) throw new UsageError(`--fault-profile "${profile}" is not one of: ${Object.keys(FAULT_PROFILES).join(', ')}`);
  const models = (values.models ?? [DEFAULT_MODEL, ...DEFAULT_FALLBACK_MODELS].join(','))
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  if (models.length === 0) throw new UsageError('--models lists no model');
  return {
    models: [...new Set(models)],
    turns: number(values.turns, 'turns', 1, 1000, true) ?? 20,
    maxFailurePct: number(values['max-failure'], 'max-failure', 0, 100, false) ?? 5,
    json: values.json === true,
    emulator,
    faultProfile: profile,
    seed: number(values.seed, 'seed', 0, 2 ** 31 - 1, true) ?? 1,
    pace: number(values.pace, 'pace', 0.1, 1000, false),
    replyTimeoutMs: number(values['reply-timeout'], 'reply-timeout', 100, 600_000, true),
  };
}

/** Runs the probe as the command line asks; resolves with the exit code. */
export async function runProbeCli(argv: readonly string[], io: ProbeCliIo): Promise<number> {
  let args: Parsed | 'help';
  try {
    args = parseProbeArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`probe: ${err.message}\n\n${usage()}`);
    return 2;
  }
  if (args === 'help') {
    io.out(usage());
    return 0;
  }
  const apiKey = io.env['GEMINI_API_KEY'];
  if (!args.emulator && !apiKey) {
    io.err(
      'probe: GEMINI_API_KEY is not set. The probe opens real Gemini Live sessions with your key (they are billed as usual); ' +
        'set GEMINI_API_KEY (and GEMINI_LIVE_URL for another endpoint), or run it offline against the built-in emulator with --emulator.',
    );
    return 2;
  }
  try {
    return await probeAndPrint(args, io, apiKey);
  } catch (err) {
    // A missing asset, an emulator that cannot start: one sentence, no stack, exit 2.
    io.err(`probe: ${(err as Error)?.message ?? String(err)}`);
    return 2;
  }
}

async function probeAndPrint(args: Parsed, io: ProbeCliIo, apiKey: string | undefined): Promise<number> {
  const started = new Date();
  const endpoint = await openEndpoint(args, io, apiKey);
  try {
    io.err(`probe: ${args.models.length} model(s) × ${args.turns} turns on ${endpoint.label}…`);
    const runs = await runProbe({
      ...endpoint.session,
      models: args.models,
      turns: args.turns,
      ...(io.log ? { log: io.log } : {}),
      ...(args.replyTimeoutMs !== undefined ? { replyTimeoutMs: args.replyTimeoutMs } : {}),
      pace: args.pace ?? (args.emulator ? Infinity : 1),
    });
    const report: ProbeReport = buildReport(runs, { endpoint: endpoint.label, turnsPerModel: args.turns, maxFailurePct: args.maxFailurePct, startedAt: started });
    io.out(args.json ? JSON.stringify(report, null, 2) : formatTable(report));
    return report.pass ? 0 : 1;
  } finally {
    await endpoint.close();
  }
}

function usage(): string {
  return PROBE_USAGE.replace('${PROFILES}', Object.keys(FAULT_PROFILES).join(', '));
}

interface Endpoint {
  label: string;
  session: Pick<ProbeSessionOptions, 'apiKey' | 'url' | 'sessionUrl'>;
  close(): Promise<void>;
}

/** The real service (or GEMINI_LIVE_URL), or a built-in emulator serving the probe's scenarios. */
async function openEndpoint(args: Parsed, io: ProbeCliIo, apiKey: string | undefined): Promise<Endpoint> {
  if (!args.emulator) {
    const url = io.env['GEMINI_LIVE_URL'] || undefined;
    const label = new URL(url ?? LIVE_URL).host;
    return { label, session: { apiKey: apiKey!, url }, close: async () => undefined };
  }
  const { startEmulator, emulatorUrlForFlow, scenarioFromObject } = await import('../emulator/index.js');
  const scenarios = probeScenarios();
  const byFlow: Record<string, Scenario> = { [PROBE_FLOWS.function]: scenarioFromObject(scenarios.function), [PROBE_FLOWS.plain]: scenarioFromObject(scenarios.plain) };
  const extra = io.emulator ?? {};
  const emu = await startEmulator({
    port: 0,
    host: '127.0.0.1',
    seed: args.seed,
    // Speech is rendered once per machine: later runs time the emulator, not espeak-ng.
    ttsCacheDir: join(tmpdir(), 'callbridge-probe-tts'),
    scenario: byFlow[PROBE_FLOWS.plain]!,
    scenarioForFlow: (flow) => byFlow[flow] ?? byFlow[PROBE_FLOWS.plain]!,
    ...(io.log ? { log: io.log } : {}),
    ...(args.faultProfile !== undefined ? { faultProfile: args.faultProfile } : {}),
    ...extra,
  });
  return {
    label: 'emulator',
    session: {
      apiKey: 'emulator',
      url: emu.url,
      sessionUrl: (s) => emulatorUrlForFlow(emu.url, s.firstTurn === 'function' ? PROBE_FLOWS.function : PROBE_FLOWS.plain),
    },
    close: () => emu.close(),
  };
}
