/**
 * Emulator scenarios: what the emulated model says, as YAML validated with zod. Errors name the
 * file, the line and the field (`scenarios/x.yaml:12:7 turns[2].toolCalls[0].name: …`).
 *
 * ```yaml
 * name: dental
 * greeting: "Thank you for calling. How can I help?"      # or a reply object (below)
 * turns:
 *   - heard: "I'd like to book a cleaning."                 # sent as inputTranscription
 *     say: "Let me check the calendar."
 *     toolCalls: [{ name: check_availability, args: { service: cleaning } }]
 *     afterTool: { say: "I have {{output.slots.0}} open." }  # templated from the tool response
 *     afterToolError: { say: "Sorry, the calendar is down: {{error}}" }
 *   - match: "pressed 0"                                    # only for client TEXT matching this regex
 *     say: { toneHz: 1000, durationMs: 500 }
 *   - match: "pressed ([0-9*#])"                            # groups: {{match.1}} in say and args
 *     repeatable: true
 *     say: "You pressed {{match.1}}."
 * endOfScenario: { mode: repeat, say: "Anything else?" }    # or mode: silent
 * ```
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isNode, type Node } from 'yaml';
import { z } from 'zod';

const TEXT_SAY = z.strictObject({ text: z.string().min(1), voice: z.string().min(1).optional() });
const TONE_SAY = z.strictObject({
  toneHz: z.number().positive().max(11000),
  durationMs: z.number().positive().max(600_000),
  amplitude: z.number().min(0).max(32767).optional(),
});

export const SaySchema = z.union([z.string().min(1), TEXT_SAY, TONE_SAY], {
  error: 'must be a line of text, {text, voice?} or {toneHz, durationMs, amplitude?}',
});
export type Say = z.infer<typeof SaySchema>;

export const ToolCallSpecSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/, 'must be a function name (letters, digits, _ . : -)'),
  args: z.record(z.string(), z.unknown()).default({}),
  /** Fixed call id; generated like the real service when absent. */
  id: z.string().min(1).optional(),
});
export type ToolCallSpec = z.infer<typeof ToolCallSpecSchema>;

export interface Reply {
  say?: Say | undefined;
  toolCalls?: ToolCallSpec[] | undefined;
  /** Spoken once every tool response arrived; `{{path}}` reads the response (see renderTemplate). */
  afterTool?: Reply | undefined;
  /** Used instead of afterTool when a response carries `error`. */
  afterToolError?: Reply | undefined;
}

const replyShape = () => ({
  say: SaySchema.optional(),
  toolCalls: z.array(ToolCallSpecSchema).min(1).optional(),
  afterTool: z.lazy((): z.ZodType<Reply> => ReplySchema).optional(),
  afterToolError: z.lazy((): z.ZodType<Reply> => ReplySchema).optional(),
});

function checkReply(r: Reply, ctx: z.core.$RefinementCtx<Reply>): void {
  if (r.say === undefined && r.toolCalls === undefined) {
    ctx.addIssue({ code: 'custom', message: 'needs `say` or `toolCalls`', path: [] });
  }
  if ((r.afterTool || r.afterToolError) && !r.toolCalls) {
    ctx.addIssue({ code: 'custom', message: 'afterTool/afterToolError need toolCalls', path: ['afterTool'] });
  }
}

export const ReplySchema: z.ZodType<Reply> = z.strictObject(replyShape()).superRefine(checkReply);

const regex = z.string().min(1).refine((s) => {
  try {
    new RegExp(s, 'i');
    return true;
  } catch {
    return false;
  }
}, 'is not a valid regular expression');

export const TurnSchema = z
  .strictObject({
    ...replyShape(),
    /** What the caller said (the emulator cannot recognise speech): sent as inputTranscription. */
    heard: z.string().optional(),
    /** Case-insensitive regex tested against client TEXT input; audio never takes such a turn. */
    match: regex.optional(),
    /** A matched turn may be used again (e.g. "pressed 0" → transfer). */
    repeatable: z.boolean().default(false),
  })
  .superRefine((t, ctx) => checkReply(t, ctx as unknown as z.core.$RefinementCtx<Reply>));
export type Turn = z.infer<typeof TurnSchema>;

export const ScenarioSchema = z.strictObject({
  name: z.string().min(1).default('scenario'),
  description: z.string().optional(),
  /** espeak-ng voice for every line (e.g. en-us+f3); default derived from the setup's voiceName. */
  voice: z.string().min(1).optional(),
  greeting: z
    .union([z.string().min(1).transform((say): Reply => ({ say })), ReplySchema])
    .optional(),
  /** Said right after the greeting, in the same turn (the no-scenario emulator's notice). */
  afterGreeting: z.string().min(1).optional(),
  turns: z.array(TurnSchema).default([]),
  endOfScenario: z
    .strictObject({ mode: z.enum(['repeat', 'silent']).default('repeat'), say: SaySchema.optional() })
    .default({ mode: 'repeat' }),
});
export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;

export class ScenarioError extends Error {
  readonly problems: string[];
  constructor(file: string, problems: string[]) {
    super(`invalid scenario ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ScenarioError';
    this.problems = problems;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(root)';
}

/** Parses and validates scenario YAML; `file` is used in error messages. */
export function parseScenario(text: string, file: string): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      file,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return `${file}:${pos.line}:${pos.col} ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const result = ScenarioSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    // The deepest node that exists on the path gives the line.
    let where = '';
    for (let n = issue.path.length; n >= 0; n--) {
      const target = n === 0 ? doc.contents : (doc.getIn(issue.path.slice(0, n) as unknown[], true) as Node | undefined);
      if (isNode(target) && target.range) {
        const pos = lineCounter.linePos(target.range[0]);
        where = `:${pos.line}:${pos.col}`;
        break;
      }
    }
    return `${file}${where} ${formatPath(issue.path)}: ${issue.message}`;
  });
  throw new ScenarioError(file, problems);
}

/** Reads and validates a scenario file. */
export async function loadScenarioFile(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ScenarioError(path, [`${path}: cannot read the file (${(cause as Error).message})`]);
  }
  return parseScenario(text, path);
}

/** Validates a scenario given as an object (options, tests). */
export function scenarioFromObject(input: ScenarioInput, name = '(inline scenario)'): Scenario {
  const result = ScenarioSchema.safeParse(input);
  if (result.success) return result.data;
  throw new ScenarioError(name, result.error.issues.map((i) => `${name} ${formatPath(i.path)}: ${i.message}`));
}

// ---------------------------------------------------------------------------------------------
// Templates in afterTool lines

export interface ToolResult {
  id: string;
  name: string;
  response: Record<string, unknown>;
}

/**
 * The values `{{path}}` can read after tool calls: the first response's fields (`output`, `error`;
 * a response with neither is all output), `id`, `name`, and every response under its function
 * name (`{{check_availability.output.slots.0}}`).
 */
export function templateContext(results: readonly ToolResult[]): Record<string, unknown> {
  const wrap = (r: ToolResult) =>
    'output' in r.response || 'error' in r.response ? r.response : { output: r.response };
  const ctx: Record<string, unknown> = {};
  for (const r of results) ctx[r.name] ??= wrap(r);
  const first = results[0];
  if (first) Object.assign(ctx, wrap(first), { id: first.id, name: first.name });
  return ctx;
}

function stringify(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
    return (value as { message: string }).message;
  }
  return JSON.stringify(value);
}

/** Replaces `{{a.b.0}}` with the value at that path of `ctx` (missing → empty). */
export function renderTemplate(text: string, ctx: Record<string, unknown>): string {
  return text.replace(/\{\{\s*([A-Za-z0-9_.:-]+)\s*\}\}/g, (_m, path: string) => {
    let value: unknown = ctx;
    for (const key of path.split('.')) {
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    }
    return stringify(value);
  });
}

/**
 * Tool-call arguments with templates: a string that is exactly one `{{path}}` becomes the value
 * at that path (numbers stay numbers); other strings are interpolated; objects and arrays recurse.
 */
export function renderArgs(value: unknown, ctx: Record<string, unknown>): unknown {
  if (typeof value === 'string') {
    const whole = /^\{\{\s*([A-Za-z0-9_.:-]+)\s*\}\}$/.exec(value);
    if (whole) {
      let v: unknown = ctx;
      for (const key of whole[1]!.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
      return v;
    }
    return isTemplated(value) ? renderTemplate(value, ctx) : value;
  }
  if (Array.isArray(value)) return value.map((v) => renderArgs(v, ctx));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderArgs(v, ctx)]));
  }
  return value;
}

/** Whether a line has template fields (then it cannot be rendered ahead of time). */
export function isTemplated(text: string): boolean {
  return /\{\{[^}]+\}\}/.test(text);
}
