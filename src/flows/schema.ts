/**
 * The zod schema of one flow file (flows/*.yaml) and the resolved `Flow` the engine runs.
 * Field-level checks live here (shapes, formats, time zone, phone numbers); references between
 * fields and to the function registry are checked in check.ts. Messages are written for the
 * person editing the file: they say what to write, not what the parser expected.
 */
import { z } from 'zod';
import type { HttpFunctionSpec } from '../tools/http-function.js';
import type { ToolMode } from '../tools/types.js';
import { languageProblem, voiceProblem } from './speech.js';
import { NotifyList, NOTIFY_FIELDS } from './notify-schema.js';
import { AnalysisSetting, ANALYSIS_FIELDS } from './analysis-schema.js';

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const DTMF_KEYS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#'] as const;

export const E164_RE = /^\+[1-9]\d{7,14}$/;
export const SIP_RE = /^sips?:[^@\s;]+@[^@\s;]+(;\S*)?$/i;
const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/i;
const FUNCTION_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const PHONE_MSG = 'must be a phone number in international format: + then 8 to 15 digits, no spaces (e.g. +15551234567)';
const TARGET_MSG = `${PHONE_MSG}, or a SIP address such as sip:desk@pbx.example.com`;

const Text = z.string().trim().min(1, 'is empty: write the text after the colon');
const Name = (what: string) => z.string().regex(NAME_RE, `${what} may use letters, digits, - and _ (no spaces), e.g. front-desk`);
const FunctionName = z.string().regex(FUNCTION_RE, 'function names use letters, digits and _ (no spaces or dashes), e.g. book_appointment');
const PhoneOrSip = z.string().refine((v) => E164_RE.test(v) || SIP_RE.test(v), TARGET_MSG);

/** Checks the keys of a map with a message at the key's own path. */
function keyed<V extends z.ZodType>(value: V, check: (key: string) => string | undefined) {
  return z.record(z.string(), value).superRefine((rec, ctx) => {
    for (const key of Object.keys(rec)) {
      const problem = check(key);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [key] });
    }
  });
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const TIME_RE = /^([01]\d|2[0-4]):([0-5]\d)$/;

/** "08:00-12:00, 13:00-17:00" | ["08:00-12:00", …] | "closed" → minute ranges, or a message. */
export function parseDayHours(value: string | string[]): Array<[number, number]> | string {
  const parts = (Array.isArray(value) ? value : value.split(',')).map((p) => p.trim()).filter(Boolean);
  if (parts.length === 1 && parts[0]!.toLowerCase() === 'closed') return [];
  const ranges: Array<[number, number]> = [];
  for (const part of parts) {
    const m = /^(\S+)\s*-\s*(\S+)$/.exec(part);
    const a = m && TIME_RE.exec(m[1]!);
    const b = m && TIME_RE.exec(m[2]!);
    if (!a || !b) return `"${part}" is not a time range: write it like 08:00-17:00 (24-hour clock), or "closed"`;
    const start = Number(a[1]) * 60 + Number(a[2]);
    const end = Number(b[1]) * 60 + Number(b[2]);
    if (start >= 24 * 60 || end > 24 * 60) return `"${part}": times go from 00:00 to 24:00`;
    if (end <= start) return `"${part}" ends before it starts; a range cannot cross midnight: use ${m![1]}-24:00 and 00:00-${m![2]} on the next day`;
    const overlap = ranges.find(([s, e]) => start < e && end > s);
    if (overlap) return `"${part}" overlaps another range of the same day`;
    ranges.push([start, end]);
  }
  if (ranges.length === 0) return 'write opening hours like 08:00-17:00, or "closed"';
  return ranges.sort((x, y) => x[0] - y[0]);
}

function isRealDate(v: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

const DayHours = z.union([z.string(), z.array(z.string())], { error: 'write opening hours like 08:00-17:00, a list of ranges, or "closed"' })
  .transform((v, ctx) => {
    const parsed = parseDayHours(v);
    if (typeof parsed === 'string') {
      ctx.issues.push({ code: 'custom', message: parsed, input: v });
      return z.NEVER;
    }
    return parsed;
  });

const Weekly = z
  .object(Object.fromEntries(WEEKDAYS.map((d) => [d, DayHours.optional()])) as Record<Weekday, z.ZodOptional<typeof DayHours>>)
  .strict()
  .transform((w) => Object.fromEntries(WEEKDAYS.map((d) => [d, w[d] ?? []])) as Record<Weekday, Array<[number, number]>>);

/** `then: hangup` or `then: { transfer: <name> }` (one message for every other shape). */
const Then = z.unknown().transform((v, ctx): 'hangup' | { transfer: string } => {
  if (v === 'hangup') return 'hangup';
  const keys = v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : [];
  const transfer = (v as { transfer?: unknown } | null)?.transfer;
  if (keys.length === 1 && typeof transfer === 'string' && NAME_RE.test(transfer)) return { transfer };
  ctx.issues.push({ code: 'custom', message: 'must be hangup, or { transfer: <a name under transfers> }', input: v });
  return z.NEVER;
});

const OutsideHours = z.object({ say: Text, then: Then }).strict();

/**
 * When the voice agent cannot be reached (every retry and fallback model failed): callbridge plays
 * its recorded apology, then hangs up or transfers to one of the flow's transfer targets.
 */
const AgentUnavailable = z.object({ then: Then }).strict();

const Hours = z
  .object({
    timeZone: z.string().refine(isValidTimeZone, 'is not a known time zone: use an IANA name such as America/New_York or Europe/Paris'),
    weekly: Weekly,
    closedDates: z.array(z.string().refine(isRealDate, 'must be a date written YYYY-MM-DD, e.g. 2025-12-25')).default([]),
    outsideHours: OutsideHours,
  })
  .strict();

const ACTION_KEYS = ['goTo', 'transfer', 'endCall'] as const;
const actionFields = {
  /** Words the bot says, exactly. */
  say: Text.optional(),
  goTo: Name('a stage name').optional(),
  transfer: Name('a transfer name').optional(),
  /** The reason recorded for ending the call. */
  endCall: Text.optional(),
};

function checkAction(a: Record<string, unknown>, ctx: z.RefinementCtx, opts: { goTo: boolean; trigger?: string }): void {
  const moves = ACTION_KEYS.filter((k) => a[k] !== undefined);
  if (!opts.goTo && a.goTo !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'onEnter/onExit cannot move to another stage; use a transition or a dtmf key for that', path: ['goTo'] });
  }
  if (moves.length > 1) ctx.addIssue({ code: 'custom', message: `use only one of goTo, transfer and endCall here (found ${moves.join(' and ')})` });
  if (moves.length === 0 && a.say === undefined) {
    ctx.addIssue({ code: 'custom', message: `say what should happen${opts.trigger ? ` ${opts.trigger}` : ''}: say, ${opts.goTo ? 'goTo, ' : ''}transfer or endCall` });
  }
}

const Action = z.object(actionFields).strict().superRefine((a, ctx) => checkAction(a, ctx, { goTo: true, trigger: 'when the key is pressed' }));
const EnterExitAction = z.object(actionFields).strict().superRefine((a, ctx) => checkAction(a, ctx, { goTo: false }));
const ActionList = z.preprocess((v) => (v == null ? [] : Array.isArray(v) ? v : [v]), z.array(EnterExitAction));

const Dtmf = keyed(Action, (k) =>
  (DTMF_KEYS as readonly string[]).includes(k) ? undefined : `"${k}" is not a phone key: use one of 0-9, "*" or "#" (quote * and #)`,
);

const Scalar = z.union([z.string(), z.number(), z.boolean()], { error: 'must be a single value (text, number, true or false)' });
const When = z
  .object({ field: Text, equals: Scalar.optional(), in: z.array(Scalar).min(1).optional(), exists: z.boolean().optional() })
  .strict()
  .superRefine((w, ctx) => {
    const n = [w.equals, w.in, w.exists].filter((x) => x !== undefined).length;
    if (n !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of equals, in or exists' });
  });

const Transition = z
  .object({
    onFunction: FunctionName.optional(),
    when: When.optional(),
    onSilence: z.object({ afterMs: z.int().min(1000, 'must be at least 1000 (one second)').max(600_000) }).strict().optional(),
    ...actionFields,
  })
  .strict()
  .superRefine((t, ctx) => {
    if ((t.onFunction === undefined) === (t.onSilence === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a transition starts with exactly one of onFunction or onSilence' });
    }
    if (t.when !== undefined && t.onFunction === undefined) ctx.addIssue({ code: 'custom', message: 'when only applies to onFunction', path: ['when'] });
    checkAction(t, ctx, { goTo: true, trigger: 'then' });
  });

const HttpParam = z
  .object({
    type: z.enum(['string', 'number', 'integer', 'boolean', 'array'], { error: 'must be string, number, integer, boolean or array' }),
    description: Text.optional(),
    required: z.boolean().optional(),
    enum: z.array(z.string()).min(1).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    items: z.enum(['string', 'number', 'integer', 'boolean']).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.enum && p.type !== 'string') ctx.addIssue({ code: 'custom', message: 'enum (a list of allowed values) only works with type: string', path: ['enum'] });
    if (p.items && p.type !== 'array') ctx.addIssue({ code: 'custom', message: 'items only applies to type: array', path: ['items'] });
    for (const k of ['minimum', 'maximum'] as const) {
      if (p[k] !== undefined && p.type !== 'number' && p.type !== 'integer') ctx.addIssue({ code: 'custom', message: `${k} only applies to numbers`, path: [k] });
    }
  });

/** How the model treats a function (docs/gemini-live.md §2.4), settable per function in the flow. */
const modeFields = {
  behavior: z.enum(['blocking', 'non_blocking'], { error: 'must be blocking (the bot waits for the answer) or non_blocking (the bot may keep talking while it runs)' }).optional(),
  scheduling: z.enum(['when_idle', 'interrupt', 'silent'], { error: 'must be when_idle, interrupt or silent (how a non_blocking answer is voiced)' }).optional(),
};

const HttpFunction = z
  .object({
    name: FunctionName,
    description: Text,
    url: z.string().refine((v) => {
      try {
        return ['http:', 'https:'].includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, 'must be a web address such as https://example.com/orders/lookup'),
    timeoutMs: z.int().min(100).max(60_000).optional(),
    parameters: keyed(HttpParam, (k) => (FUNCTION_RE.test(k) ? undefined : `parameter name "${k}": use letters, digits and _`)).optional(),
    ...modeFields,
  })
  .strict();

/** A code function or built-in named with its behaviour for this flow: `{ name: log_callback, behavior: non_blocking }`. */
const FunctionRef = z.object({ name: FunctionName, ...modeFields }).strict();

const FunctionEntry = z.union([FunctionName, HttpFunction, FunctionRef], {
  error: 'list a function by its name (optionally { name, behavior, scheduling }), or declare an HTTP function with name, description and url',
});

const Stage = z
  .object({
    name: Name('a stage name'),
    purpose: Text.optional(),
    instructions: Text,
    functions: z.array(FunctionName).optional(),
    dtmf: Dtmf.default({}),
    transitions: z.array(Transition).default([]),
    onEnter: ActionList,
    onExit: ActionList,
  })
  .strict();

export const FlowFileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'use lowercase letters, digits and dashes, e.g. dental-receptionist'),
    description: Text.optional(),
    /** The emulator scenario of this flow (docs/scenarios.md), relative to the flow file; default scenarios/<name>.yaml. */
    scenario: z.string().trim().regex(/\.ya?ml$/i, 'name a scenario file ending in .yaml, e.g. ../scenarios/my-line.yaml').optional(),
    numbers: z.array(PhoneOrSip).default([]),
    default: z.boolean().default(false),
    model: Text.optional(),
    fallbackModels: z.array(Text).default([]),
    voice: z.string().superRefine((v, ctx) => void (voiceProblem(v) && ctx.addIssue({ code: 'custom', message: voiceProblem(v)! }))).optional(),
    language: z.string().superRefine((v, ctx) => void (languageProblem(v) && ctx.addIssue({ code: 'custom', message: languageProblem(v)! }))).optional(),
    /** live: a Gemini Live session (default); cascade: callbridge's ears, a Gemini text model, text-to-speech (docs/cascade.md). */
    pipeline: z.enum(['live', 'cascade'], { error: 'must be live (Gemini Live, the default) or cascade (a text model with speech in and out, docs/cascade.md)' }).default('live'),
    /** The cascade's text-to-speech voice: a Cloud voice (en-US-Neural2-F) or a Gemini TTS voice (Kore); docs/cascade.md. */
    tts: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9-]{1,63}$/, 'name a text-to-speech voice, e.g. en-US-Neural2-F (Cloud) or Kore (Gemini TTS); see docs/cascade.md').optional(),
    persona: Text,
    greeting: Text,
    hours: Hours.optional(),
    agentUnavailable: AgentUnavailable.default({ then: 'hangup' }),
    maxCallDurationS: z.int().min(30).max(14_400, 'Twilio ends calls after 4 hours: at most 14400').default(1800),
    transfers: keyed(PhoneOrSip, (k) => (NAME_RE.test(k) ? undefined : `transfer name "${k}": use letters, digits, - and _ (no spaces)`)).default({}),
    recording: z.boolean().default(false),
    retentionDays: z.int().min(1).max(3650).default(30),
    redactDigits: z.boolean().default(false),
    secret: z.string().min(16, 'is too short: use at least 16 random characters (ideally from an environment variable, ${MY_SECRET})').optional(),
    functions: z.array(FunctionEntry).default([]),
    dtmf: Dtmf.default({}),
    stages: z.array(Stage).min(1, 'a flow needs at least one stage'),
    /** Signed notifications about this flow's calls (notify-schema.ts). */
    notify: NotifyList,
    /** Post-call analysis: false, or the fields to extract (analysis-schema.ts). */
    analysis: AnalysisSetting,
  })
  .strict();

export type FlowFile = z.output<typeof FlowFileSchema>;
export type HoursConfig = z.output<typeof Hours>;
export type WhenConfig = z.output<typeof When>;

/** say / goTo / transfer / endCall, as written in the file. */
export interface ConfigAction {
  say?: string | undefined;
  goTo?: string | undefined;
  transfer?: string | undefined;
  endCall?: string | undefined;
}

export interface TransitionConfig extends ConfigAction {
  onFunction?: string | undefined;
  when?: WhenConfig | undefined;
  onSilence?: { afterMs: number } | undefined;
}

export interface Stage {
  name: string;
  /** One line: what the stage is for (given, or the instructions' first sentence). */
  purpose: string;
  instructions: string;
  /** Functions allowed in this stage (the stage's list, or the flow's `functions` when it has none). */
  functions: string[];
  dtmf: Record<string, ConfigAction>;
  transitions: TransitionConfig[];
  onEnter: ConfigAction[];
  onExit: ConfigAction[];
}

/** A validated flow, ready to run. `secret` is not enumerable, so logging or serialising a flow never shows it. */
export interface Flow extends Omit<FlowFile, 'functions' | 'stages'> {
  /** The flow file, for messages. */
  file: string;
  /** Content hash of the flow file (first 12 hex of its SHA-256): the version a call records. */
  version: string;
  /** Functions of the flow-level list, by name (HTTP ones included). */
  functions: string[];
  httpFunctions: HttpFunctionSpec[];
  /** Per-function behaviour and scheduling set in the flow (named functions and HTTP ones); the rest use the function's own. */
  functionModes?: Readonly<Record<string, Partial<ToolMode>>>;
  stages: Stage[];
}

/** Every field name the schema knows, for "did you mean" suggestions. */
export const KNOWN_FIELDS: readonly string[] = Object.freeze([
  ...Object.keys(FlowFileSchema.shape),
  ...Object.keys(Stage.shape),
  ...Object.keys(Hours.shape),
  ...WEEKDAYS,
  'say', 'then', 'goTo', 'transfer', 'endCall', 'onFunction', 'when', 'onSilence', 'afterMs', 'field', 'equals', 'in', 'exists',
  ...Object.keys(HttpFunction.shape),
  ...Object.keys(HttpParam.shape),
  ...NOTIFY_FIELDS,
  ...ANALYSIS_FIELDS,
]);
