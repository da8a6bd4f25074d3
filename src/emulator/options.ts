/**
 * startEmulator's options: the knobs of a run (timing, lifetimes, faults), validated once with zod
 * so a bad flag or option is a clear error naming the field, then frozen.
 */
import { z } from 'zod';
import type { Logger } from '../shared/log.js';
import { FAULT_PROFILES, type FaultOptions } from './faults.js';
import { FAMILIES, type ModelSpec } from './models.js';
import type { Scenario, ScenarioInput } from './scenario.js';
import type { SpeechSynth } from './tts.js';
import type { VadDefaults } from './vad.js';

export interface EmulatorTiming {
  /** Delay between the setup message and setupComplete (plus uniform jitter 0..jitter). */
  setupLatencyMs: number;
  setupLatencyJitterMs: number;
  /** Delay between the end of client input and the turn's first audio. */
  firstAudioDelayMs: number;
  firstAudioDelayJitterMs: number;
  /** Gap between generationComplete and turnComplete. */
  turnCompleteDelayMs: number;
  /** Audio is streamed at this multiple of real time (Infinity: as fast as the socket takes it). */
  speechPace: number;
  /** Duration of each outgoing audio chunk. */
  chunkMs: number;
}

export type ScenarioSource = Scenario | ScenarioInput | string;

export interface EmulatorOptions {
  port?: number;
  host?: string;
  /** true: a non-empty key is needed; string(s): exactly one of these keys. Missing/wrong → 1008. */
  requireApiKey?: boolean | string | readonly string[];
  /** Scenario object or YAML path; default scenarios/default.yaml. */
  scenario?: ScenarioSource;
  /** Scenario per model id (without `models/`), overriding `scenario`. */
  scenariosByModel?: Readonly<Record<string, ScenarioSource>>;
  /**
   * Scenario chosen by the setup's system instruction: the first entry whose `match` (a
   * case-insensitive regex) finds the instruction text wins, before `scenariosByModel`. Lets one
   * emulator serve several flows (callbridge puts each flow's persona in the instruction).
   */
  scenariosBySystemInstruction?: ReadonlyArray<{ match: string; scenario: ScenarioSource }>;
  /**
   * Scenario of a flow, for connections whose URL names one (`?flow=<name>`, as callbridge's
   * built-in emulator connects): wins over every other choice. Called once per connection, before
   * the upgrade completes (see flow-scenarios.ts). Without it the `flow` parameter is ignored.
   */
  scenarioForFlow?: (flow: string) => Scenario | Promise<Scenario>;
  /** Served models, merged over the built-in catalogue (models.ts). */
  models?: Readonly<Record<string, ModelSpec>>;
  /** Seed of every random decision (faults, jitter, ids, handles). Default 1. */
  seed?: number;
  /** Only audio/pcm;rate=16000 or audio/pcm accepted (default true); off: any audio/pcm rate. */
  strictAudioMime?: boolean;
  /** realtimeInput.mediaChunks closes with 1007 (default true, like current models). */
  rejectMediaChunks?: boolean;
  timing?: Partial<EmulatorTiming>;
  /** VAD defaults when the setup's automaticActivityDetection does not say. */
  vad?: Partial<VadDefaults>;
  /** Send goAway this long after setupComplete; then close unless the client did. */
  goAwayAfterMs?: number;
  /** goAway.timeLeft: how long the client has to close after goAway. Default 5000. */
  goAwayTimeLeftMs?: number;
  /** How long a resumption handle stays valid after its session's socket closed. Default 2 h. */
  handleTtlMs?: number;
  /**
   * Each family's connection and session limits (lifetimes.ts; docs/gemini-live.md §5): goAway a
   * minute before a 10-minute connection ends, a 15-minute audio-only session without compression.
   * Default true; `goAwayAfterMs` overrides the goAway timing.
   */
  familyLimits?: boolean;
  /** Multiplies the family limits (tests: 0.001 makes a connection last 600 ms). Default 1. */
  familyLimitScale?: number;
  /** A named fault profile (faults.ts FAULT_PROFILES, e.g. 'seed-002'); `faults` fields win over it. */
  faultProfile?: string;
  faults?: FaultOptions;
  /** Attach usageMetadata to turnComplete messages (default true). */
  usageMetadata?: boolean;
  /** Shared speech synthesizer (its cache is shared too); otherwise one per emulator. */
  tts?: SpeechSynth;
  ttsCacheDir?: string;
  ttsRateWpm?: number;
  /** espeak voice for every session, overriding scenario and setup voice. */
  voice?: string;
  /** Keep audio payloads in the record of received messages (default true). */
  recordAudioPayloads?: boolean;
  /** Received messages kept per session; older ones are dropped (default 20000). */
  maxRecordedPerSession?: number;
  /** Session records kept (closed ones beyond this are forgotten, oldest first; default 10000). */
  maxSessionRecords?: number;
  log?: Logger;
  /**
   * Echo models only: talk in windows, as a bot that speaks part of the time. Measured in caller
   * audio received: echo `talkMs`, then stay quiet `quietMs` (the window ends with
   * generationComplete → turnComplete, or, every `bargeInEvery`-th window, with interrupted →
   * turnComplete as if the caller had barged in). Default: echo all the time.
   */
  echo?: { talkMs: number; quietMs: number; bargeInEvery?: number };
  /** Sees every chunk of audio a session receives and sends (the load benchmark times frames with it). */
  audioTap?: AudioTap;
}

export interface AudioTap {
  /** Caller audio as the session received it (before any processing). */
  received(sessionId: number, samples: Int16Array, sampleRateHz: number): void;
  /** Model audio just handed to the socket. */
  sent(sessionId: number, samples: Int16Array, sampleRateHz: number): void;
}

const nonNegative = z.number().min(0);
const range = z.tuple([nonNegative, nonNegative]).refine(([a, b]) => a <= b, 'min must not exceed max');
const rate = z.union([z.number().min(0).max(1), z.record(z.string(), z.number().min(0).max(1))]);

const FaultsSchema = z.strictObject({
  internalErrorBeforeContent: z.strictObject({ rate, delayMs: range.optional() }).optional(),
  closeAfterToolResponse: z
    .strictObject({ rate, kind: z.enum(['either', 'entity-not-found', 'internal', 'not-implemented']).optional(), delayMs: range.optional() })
    .optional(),
  maxConcurrentSessions: z.number().int().min(0).optional(),
  cutSocketAfterMs: nonNegative.optional(),
  cutSocketPerTurnRate: rate.optional(),
  garbageRate: z.number().min(0).max(1).optional(),
  garbageKinds: z.array(z.enum(['binary', 'truncated-json', 'wrong-types', 'unknown-message'])).min(1).optional(),
  audioDuringToolCall: z.enum(['ignore', 'abort']).optional(),
});

const PlainSchema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(0),
  host: z.string().min(1).default('127.0.0.1'),
  seed: z.number().int().default(1),
  strictAudioMime: z.boolean().default(true),
  rejectMediaChunks: z.boolean().default(true),
  timing: z
    .strictObject({
      setupLatencyMs: nonNegative.default(150),
      setupLatencyJitterMs: nonNegative.default(50),
      firstAudioDelayMs: nonNegative.default(350),
      firstAudioDelayJitterMs: nonNegative.default(100),
      turnCompleteDelayMs: nonNegative.default(40),
      speechPace: z.number().positive().default(2),
      chunkMs: z.number().int().min(10).max(200).default(40),
    })
    .prefault({}),
  vad: z
    .strictObject({
      thresholdDbfs: z.number().max(0).default(-40),
      prefixPaddingMs: nonNegative.default(40),
      silenceDurationMs: nonNegative.default(600),
    })
    .prefault({}),
  goAwayAfterMs: nonNegative.optional(),
  goAwayTimeLeftMs: nonNegative.default(5000),
  handleTtlMs: nonNegative.default(2 * 60 * 60 * 1000),
  familyLimits: z.boolean().default(true),
  familyLimitScale: z.number().positive().max(1000).default(1),
  faultProfile: z
    .string()
    .refine((p) => Object.hasOwn(FAULT_PROFILES, p), { message: `is not a fault profile (known: ${Object.keys(FAULT_PROFILES).join(', ')})` })
    .optional(),
  faults: FaultsSchema.default({}),
  usageMetadata: z.boolean().default(true),
  ttsRateWpm: z.number().min(80).max(450).default(170),
  recordAudioPayloads: z.boolean().default(true),
  maxRecordedPerSession: z.number().int().positive().default(20000),
  maxSessionRecords: z.number().int().positive().default(10_000),
  echo: z
    .strictObject({ talkMs: z.number().positive(), quietMs: nonNegative, bargeInEvery: z.number().int().min(0).default(0) })
    .optional(),
});

export type ResolvedOptions = Readonly<
  Omit<z.infer<typeof PlainSchema>, 'faults'> & { faults: FaultOptions } &
    Pick<EmulatorOptions, 'requireApiKey' | 'scenario' | 'scenariosByModel' | 'scenariosBySystemInstruction' | 'scenarioForFlow' | 'models' | 'tts' | 'ttsCacheDir' | 'voice' | 'log' | 'audioTap'>
>;

export class EmulatorOptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid emulator options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'EmulatorOptionsError';
  }
}

/** Applies defaults and checks ranges; throws EmulatorOptionsError naming every bad field. */
export function resolveOptions(options: EmulatorOptions = {}): ResolvedOptions {
  const { requireApiKey, scenario, scenariosByModel, scenariosBySystemInstruction, scenarioForFlow, models, tts, ttsCacheDir, voice, log, audioTap, ...plain } = options;
  const result = PlainSchema.safeParse(plain);
  if (!result.success) {
    throw new EmulatorOptionsError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const problems: string[] = [];
  for (const [id, spec] of Object.entries(models ?? {})) {
    if (!Object.hasOwn(FAMILIES, spec.family)) problems.push(`models.${id}.family: "${String(spec.family)}" is not one of ${Object.keys(FAMILIES).join(', ')}`);
  }
  for (const [i, route] of (scenariosBySystemInstruction ?? []).entries()) {
    try {
      new RegExp(route.match, 'i');
    } catch {
      problems.push(`scenariosBySystemInstruction[${i}].match: is not a valid regular expression`);
    }
  }
  if (problems.length > 0) throw new EmulatorOptionsError(problems);
  const data = result.data;
  const profile = data.faultProfile === undefined ? {} : FAULT_PROFILES[data.faultProfile];
  return Object.freeze({ ...data, faults: { ...profile, ...data.faults }, requireApiKey, scenario, scenariosByModel, scenariosBySystemInstruction, scenarioForFlow, models, tts, ttsCacheDir, voice, log, audioTap });
}
