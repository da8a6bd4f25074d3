/**
 * Loads every flow file of a folder, validates them all and reports every problem at once with
 * file, line and field: YAML syntax, fields (schema.ts), references (check.ts), and what spans
 * files (flow names, called numbers, the default flow). Boot calls `loadBusinessConfig`, which
 * also loads the tools folder and throws one CB_FLOW_INVALID listing everything.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { CallbridgeError } from '../shared/errors.js';
import { createHttpTool } from '../tools/http-function.js';
import { loadToolModules, ToolRegistry } from '../tools/registry.js';
import { checkReferences, resolveFlow } from './check.js';
import { issueToProblems } from './issues.js';
import { normalizeNumber, FlowRouter } from './routing.js';
import { FlowFileSchema, type Flow } from './schema.js';
import { formatProblem, interpolateEnv, parseFlowYaml, problemAt, toData, type FlowProblem, type ParsedSource } from './yaml-source.js';

export interface FlowSource {
  /** Shown in messages (a path relative to the working directory). */
  file: string;
  text: string;
}

export interface LoadOptions {
  /** Built-ins and code functions; the result's registry adds the flows' HTTP functions. */
  registry: ToolRegistry;
  /** For `${VAR}` interpolation; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The numbers this server answers, when known. Without a default flow, each must be listed by a
   * flow; with them all routed, no default flow is needed.
   */
  numbers?: readonly string[];
}

export interface LoadedFlows {
  flows: Flow[];
  /** The options' registry plus every flow's HTTP functions: give it to FlowSession and ToolDispatcher. */
  registry: ToolRegistry;
  router: FlowRouter;
  warnings: FlowProblem[];
}

export type LoadResult = ({ ok: true } & LoadedFlows) | { ok: false; errors: FlowProblem[]; warnings: FlowProblem[] };

interface Parsed {
  /** The file after ${VAR} interpolation, not yet validated. */
  raw: Record<string, unknown>;
  src: ParsedSource;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A flow file's version: the first 12 hex digits of the SHA-256 of its text (what a call record keeps). */
export function flowVersion(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** One file's findings: its problems, and when it parsed, its data (and its flow when valid). */
interface FileCheck {
  errors: FlowProblem[];
  warnings: FlowProblem[];
  parsed?: Parsed;
  flow?: Flow;
}

/** Parses and checks one flow file on its own (rules across files come after, in `finish`). */
function checkSource({ file, text }: FlowSource, options: LoadOptions): FileCheck {
  const parsed = parseFlowYaml(file, text);
  const errors: FlowProblem[] = [...parsed.problems];
  const src = parsed.source;
  if (!src) return { errors, warnings: [] };
  const data = toData(src);
  if (data.problem) return { errors: [...errors, data.problem], warnings: [] };
  const interpolated = interpolateEnv(src, data.value, options.env ?? process.env);
  errors.push(...interpolated.problems);
  const result = FlowFileSchema.safeParse(interpolated.value, { reportInput: true });
  const refs = checkReferences(interpolated.value, src, options.registry, interpolated.defaulted);
  // One problem per field: a missing variable hides "too short", a malformed name hides "unknown".
  const reported = new Set(interpolated.problems.map((p) => p.field));
  const fieldProblems = (result.success ? [] : result.error.issues.flatMap((i) => issueToProblems(src, i))).filter((p) => !reported.has(p.field));
  for (const p of fieldProblems) reported.add(p.field);
  const refErrors = refs.errors.filter((p) => !reported.has(p.field));
  errors.push(...fieldProblems, ...refErrors);
  const check: FileCheck = { errors, warnings: refs.warnings, parsed: { raw: interpolated.value as Record<string, unknown>, src } };
  if (result.success && parsed.problems.length === 0 && interpolated.problems.length === 0 && refErrors.length === 0) {
    check.flow = deepFreeze(resolveFlow(result.data, file, flowVersion(text)));
  }
  return check;
}

/** The rules across files, then the registry and router of a valid set. */
function finish(checks: readonly FileCheck[], options: LoadOptions): LoadResult {
  const errors = checks.flatMap((c) => c.errors);
  const warnings = checks.flatMap((c) => c.warnings);
  const flows = checks.flatMap((c) => (c.flow ? [c.flow] : []));
  errors.push(...checkAcross(checks.flatMap((c) => (c.parsed ? [c.parsed] : [])), options.numbers));
  if (checks.length === 0) errors.push({ file: '(flows)', message: 'no flow files found: add at least one flows/*.yaml' });
  if (errors.length > 0) return { ok: false, errors: sortProblems(errors), warnings: sortProblems(warnings) };

  let registry = options.registry;
  for (const flow of flows) {
    const secret = flow.secret ?? '';
    registry = registry.withFlowFunctions(flow.name, flow.httpFunctions.map((spec) => createHttpTool(spec, { secret, source: flow.file })));
  }
  return { ok: true, flows, registry, router: new FlowRouter(flows), warnings: sortProblems(warnings) };
}

/** Validates flow sources (already read); never throws. */
export function loadFlowSources(sources: readonly FlowSource[], options: LoadOptions): LoadResult {
  return finish(sources.map((s) => checkSource(s, options)), options);
}

/** Names, called numbers and the default flow across files (read defensively: a file may be partly invalid). */
function checkAcross(files: readonly Parsed[], numbers: readonly string[] | undefined): FlowProblem[] {
  const problems: FlowProblem[] = [];
  const names = new Map<string, string>();
  const routed = new Map<string, string>();
  const defaults: Parsed[] = [];
  for (const f of files) {
    const { raw, src } = f;
    const name = typeof raw.name === 'string' ? raw.name : src.file;
    if (typeof raw.name === 'string') {
      const other = names.get(raw.name);
      if (other) problems.push(problemAt(src, ['name'], `another flow is already named "${raw.name}" (${other}); flow names must be unique`));
      else names.set(raw.name, src.file);
    }
    const own = Array.isArray(raw.numbers) ? raw.numbers : [];
    own.forEach((n, i) => {
      if (typeof n !== 'string') return;
      const key = normalizeNumber(n);
      const owner = routed.get(key);
      if (owner) problems.push(problemAt(src, ['numbers', i], `${n} is also routed to flow "${owner}"; a number can go to one flow only`));
      else routed.set(key, name);
    });
    if (raw.default === true) defaults.push(f);
    else if (own.length === 0) problems.push(problemAt(src, ['name'], 'no call can reach this flow: list the phone numbers it answers under numbers:, or set default: true'));
  }
  if (defaults.length > 1) {
    const which = defaults.map((d) => (typeof d.raw.name === 'string' ? d.raw.name : d.src.file)).join(', ');
    for (const { src } of defaults) problems.push(problemAt(src, ['default'], `several flows are the default (${which}); exactly one may have default: true`));
  }
  if (defaults.length === 0 && files.length > 0) {
    const unrouted = (numbers ?? []).filter((n) => !routed.has(normalizeNumber(n)));
    if (!numbers || unrouted.length > 0) {
      const why = numbers ? `these numbers have no flow: ${unrouted.join(', ')}` : 'calls to numbers that no flow lists would have nowhere to go';
      problems.push({ file: files[0]!.src.file, message: `no default flow: set default: true in one flow (${why})` });
    }
  }
  return problems;
}

function sortProblems(problems: FlowProblem[]): FlowProblem[] {
  return problems.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/** Reads `*.yaml` / `*.yml` of a folder (sorted) and validates them. */
export function loadFlowDir(dir: string, options: LoadOptions): LoadResult {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    names = readdirSync(dir).filter((n) => /\.ya?ml$/i.test(n)).sort();
  } catch (err) {
    return { ok: false, errors: [{ file: dir, message: `cannot read the flows folder: ${(err as Error).message}` }], warnings: [] };
  }
  const sources: FlowSource[] = [];
  const errors: FlowProblem[] = [];
  for (const n of names) {
    const path = join(dir, n);
    const file = relative(process.cwd(), path) || path;
    try {
      sources.push({ file, text: readFileSync(path, 'utf8') });
    } catch (err) {
      errors.push({ file, message: `cannot read the file: ${(err as Error).message}` });
    }
  }
  const result = loadFlowSources(sources, options);
  if (errors.length === 0) return result;
  return { ok: false, errors: [...errors, ...(result.ok ? [] : result.errors)], warnings: result.warnings };
}

/**
 * loadFlowDir for a running server (hot reload): reads without blocking and yields to the event
 * loop between files, so calls in progress wait for one file's checks at most, not the folder's.
 */
export async function loadFlowDirAsync(dir: string, options: LoadOptions): Promise<LoadResult> {
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a folder');
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/i.test(n)).sort();
  } catch (err) {
    return { ok: false, errors: [{ file: dir, message: `cannot read the flows folder: ${(err as Error).message}` }], warnings: [] };
  }
  const checks: FileCheck[] = [];
  const readErrors: FlowProblem[] = [];
  for (const n of names) {
    const path = join(dir, n);
    const file = relative(process.cwd(), path) || path;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      readErrors.push({ file, message: `cannot read the file: ${(err as Error).message}` });
      continue;
    }
    checks.push(checkSource({ file, text }, options));
    await new Promise<void>((ok) => setImmediate(ok));
  }
  const result = finish(checks, options);
  if (readErrors.length === 0) return result;
  return { ok: false, errors: [...readErrors, ...(result.ok ? [] : result.errors)], warnings: result.warnings };
}

export interface BusinessConfigOptions {
  /** Default "flows". */
  flowsDir?: string;
  /** Default "tools". */
  toolsDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
  numbers?: readonly string[];
}

/** Tool modules and flows together, every problem of both; never throws (flows:check prints it). */
export async function checkBusinessConfig(options: BusinessConfigOptions = {}): Promise<LoadResult> {
  const { tools, problems } = await loadToolModules(options.toolsDir ?? 'tools');
  const toolErrors: FlowProblem[] = problems.map((p) => ({ file: p.file, message: p.message }));
  const registry = ToolRegistry.create(tools);
  const loadOptions: LoadOptions = { registry };
  if (options.env) loadOptions.env = options.env;
  if (options.numbers) loadOptions.numbers = options.numbers;
  const result = loadFlowDir(options.flowsDir ?? 'flows', loadOptions);
  if (toolErrors.length === 0) return result;
  return { ok: false, errors: [...toolErrors, ...(result.ok ? [] : result.errors)], warnings: result.warnings };
}

/**
 * Boot: loads the tools folder and every flow. Throws CallbridgeError CB_FLOW_INVALID whose
 * message lists every problem (file:line field — message); warnings are returned for logging.
 */
export async function loadBusinessConfig(options: BusinessConfigOptions = {}): Promise<LoadedFlows> {
  const result = await checkBusinessConfig(options);
  if (!result.ok) {
    throw new CallbridgeError('CB_FLOW_INVALID', `invalid flows (${result.errors.length} problem${result.errors.length === 1 ? '' : 's'}):\n${result.errors.map((p) => `  ${formatProblem(p)}`).join('\n')}`, {
      detail: { problems: result.errors },
    });
  }
  const { flows, registry, router, warnings } = result;
  return { flows, registry, router, warnings };
}
