/**
 * References inside one flow (stages, transfer names, functions in the registry), and the
 * resolved `Flow`. The reference checks read the raw file defensively, so they run even when
 * some fields are invalid: a file with a bad time zone and a misspelt stage reports both.
 */
import { isBuiltinName } from '../tools/builtins.js';
import type { ToolRegistry } from '../tools/registry.js';
import { suggest } from './issues.js';
import type { Flow, FlowFile, Stage } from './schema.js';
import type { HttpFunctionSpec } from '../tools/http-function.js';
import type { ToolMode } from '../tools/types.js';
import { modelWarnings } from './model-advice.js';
import { problemAt, type FlowProblem, type ParsedSource } from './yaml-source.js';

type Path = (string | number)[];
type Rec = Record<string, unknown>;

const rec = (v: unknown): Rec => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/** onEnter/onExit may be one action or a list. */
const actions = (v: unknown): unknown[] => (v == null ? [] : Array.isArray(v) ? v : [v]);

function isLocalUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
  } catch {
    return true;
  }
}

const list = (names: readonly string[]): string => (names.length > 0 ? names.join(', ') : 'none');
/** A functions: entry naming a code function or built-in (a name, or { name, behavior?, scheduling? }), not declaring an HTTP one. */
const isReference = (entry: unknown): boolean => typeof entry === 'string' || (rec(entry).url === undefined && rec(entry).description === undefined);

/** Every reference problem of a (possibly partly invalid) flow file. */
export function checkReferences(raw: unknown, src: ParsedSource, registry: ToolRegistry, defaulted: readonly string[]): { errors: FlowProblem[]; warnings: FlowProblem[] } {
  const check = new ReferenceCheck(raw, src, registry);
  check.uniqueStageNames();
  check.flowFunctions(defaulted);
  check.topLevelTargets();
  const allowedIn = check.stages.map((s, i) => check.stage(s, i));
  check.unreachableStages(allowedIn);
  // Live model advice; a cascade flow's model is a text model (docs/cascade.md).
  if (check.file.pipeline !== 'cascade') for (const w of modelWarnings(check.file, registry)) check.warn(w.path, w.message);
  return { errors: check.errors, warnings: check.warnings };
}

/** The reference checks of one file, in the order their problems are reported. */
class ReferenceCheck {
  readonly errors: FlowProblem[] = [];
  readonly warnings: FlowProblem[] = [];
  readonly file: Rec;
  readonly stages: Rec[];
  readonly stageNames: string[];
  readonly transferNames: string[];
  /** Names in the flow's functions: (code, built-in or HTTP), filled by flowFunctions(). */
  readonly functionNames: string[] = [];

  constructor(
    raw: unknown,
    private readonly src: ParsedSource,
    private readonly registry: ToolRegistry,
  ) {
    this.file = rec(raw);
    this.stages = arr(this.file.stages).map(rec);
    this.stageNames = this.stages.map((s) => str(s.name)).filter((n): n is string => n !== undefined);
    this.transferNames = Object.keys(rec(this.file.transfers));
  }

  err(path: Path, message: string): void {
    this.errors.push(problemAt(this.src, path, message));
  }

  warn(path: Path, message: string): void {
    this.warnings.push(problemAt(this.src, path, message));
  }

  uniqueStageNames(): void {
    const seen = new Set<string>();
    this.stages.forEach((s, i) => {
      const name = str(s.name);
      if (name !== undefined && seen.has(name)) this.err(['stages', i, 'name'], `another stage is already named "${name}"; stage names must be unique`);
      if (name !== undefined) seen.add(name);
    });
  }

  /** The flow's functions: list: each known, listed once; HTTP ones named freshly and signed. */
  flowFunctions(defaulted: readonly string[]): void {
    arr(this.file.functions).forEach((entry, i) => this.flowFunction(entry, i));
    const firstHttp = arr(this.file.functions).findIndex((f) => !isReference(f));
    if (firstHttp >= 0 && this.file.secret === undefined) {
      this.err(['functions', firstHttp], 'this flow declares HTTP functions, so it needs a secret to sign the requests: add secret: ${MY_FLOW_SECRET} at the top level');
    }
    if (defaulted.includes('secret')) this.warn(['secret'], 'the secret comes from a built-in default; set the environment variable in production');
  }

  private flowFunction(entry: unknown, i: number): void {
    const name = typeof entry === 'string' ? entry : str(rec(entry).name);
    if (name === undefined) return;
    if (this.functionNames.includes(name)) return this.err(['functions', i], `function ${name} is listed twice`);
    this.functionNames.push(name);
    if (isReference(entry)) {
      if (!this.registry.has(name)) {
        this.err(['functions', i], `unknown function "${name}"${suggest(name, this.registry.names())}: no code function in the tools folder and no built-in has this name (an HTTP function needs name, description and url)`);
      }
      return;
    }
    if (this.registry.has(name)) this.err(['functions', i, 'name'], `"${name}" is already the name of a ${isBuiltinName(name) ? 'built-in' : 'code'} function; choose another name`);
    const url = str(rec(entry).url);
    if (url !== undefined && !url.startsWith('https:') && !isLocalUrl(url)) {
      this.warn(['functions', i, 'url'], 'uses http:// to another machine: the arguments (personal data) travel unencrypted; use https://');
    }
  }

  /** An action's goTo names a stage and its transfer a transfer target. */
  checkTarget(a: unknown, path: Path): void {
    const goTo = str(rec(a).goTo);
    const transfer = str(rec(a).transfer);
    if (goTo !== undefined && !this.stageNames.includes(goTo)) {
      this.err([...path, 'goTo'], `unknown stage "${goTo}"${suggest(goTo, this.stageNames)}; the stages are: ${list(this.stageNames)}`);
    }
    if (transfer !== undefined && !this.transferNames.includes(transfer)) {
      this.err([...path, 'transfer'], `unknown transfer target "${transfer}"${suggest(transfer, this.transferNames)}; define it under transfers: (defined: ${list(this.transferNames)})`);
    }
  }

  checkTransferCall(path: Path): void {
    if (this.transferNames.length === 0) this.err(path, 'transfer_call needs somewhere to transfer to: add a transfers: section');
  }

  /** Keys, the outside-hours and agent-unavailable actions, and transfer_call in the flow's functions. */
  topLevelTargets(): void {
    const file = this.file;
    for (const [digit, a] of Object.entries(rec(file.dtmf))) this.checkTarget(a, ['dtmf', digit]);
    this.checkTarget(rec(rec(rec(file.hours).outsideHours).then), ['hours', 'outsideHours', 'then']);
    this.checkTarget(rec(rec(file.agentUnavailable).then), ['agentUnavailable', 'then']);
    if (this.functionNames.includes('transfer_call')) this.checkTransferCall(['functions', this.functionNames.indexOf('transfer_call')]);
  }

  /** One stage's functions, keys, transitions and actions; returns the functions it allows. */
  stage(s: Rec, i: number): string[] {
    const base: Path = ['stages', i];
    const own = Array.isArray(s.functions) ? s.functions.filter((f): f is string => typeof f === 'string') : undefined;
    own?.forEach((name, j) => this.stageFunction(name, [...base, 'functions', j]));
    const allowed = own ?? this.functionNames;
    for (const [digit, a] of Object.entries(rec(s.dtmf))) this.checkTarget(a, [...base, 'dtmf', digit]);
    arr(s.transitions).forEach((t, j) => {
      this.checkTarget(t, [...base, 'transitions', j]);
      const fn = str(rec(t).onFunction);
      if (fn !== undefined && !allowed.includes(fn)) {
        this.err([...base, 'transitions', j, 'onFunction'], `this transition waits for ${fn}, which stage "${str(s.name) ?? i}" does not allow (allowed: ${list(allowed)}); add it to the stage's functions`);
      }
    });
    actions(s.onEnter).forEach((a, j) => this.checkTarget(a, [...base, 'onEnter', j]));
    actions(s.onExit).forEach((a, j) => this.checkTarget(a, [...base, 'onExit', j]));
    return allowed;
  }

  private stageFunction(name: string, path: Path): void {
    const known = isBuiltinName(name) || this.registry.has(name) || this.functionNames.includes(name);
    if (!known) {
      this.err(path, `unknown function "${name}"${suggest(name, [...this.registry.names(), ...this.functionNames])}: list code functions by name, declare HTTP functions in the flow's functions:, or use a built-in (transfer_call, end_call, go_to_stage)`);
    } else if (name === 'transfer_call') {
      this.checkTransferCall(path);
    }
  }

  /** Stages no key, transition or go_to_stage can reach (a warning: maybe work in progress). */
  unreachableStages(allowedIn: string[][]): void {
    const { stages, stageNames } = this;
    if (stageNames.length === 0) return;
    const reachable = new Set<string>([stageNames[0]!]);
    const globalTargets = Object.values(rec(this.file.dtmf)).map((a) => str(rec(a).goTo));
    for (let grew = true; grew; ) {
      grew = false;
      stages.forEach((s, i) => {
        if (!reachable.has(str(s.name) ?? '')) return;
        const targets = allowedIn[i]!.includes('go_to_stage')
          ? stageNames
          : [...Object.values(rec(s.dtmf)).map((a) => str(rec(a).goTo)), ...arr(s.transitions).map((t) => str(rec(t).goTo)), ...globalTargets];
        for (const t of targets) {
          if (t !== undefined && stageNames.includes(t) && !reachable.has(t)) {
            reachable.add(t);
            grew = true;
          }
        }
      });
    }
    stages.forEach((s, i) => {
      const name = str(s.name);
      if (name !== undefined && !reachable.has(name)) this.warn(['stages', i, 'name'], `stage "${name}" cannot be reached: no key, transition or go_to_stage leads to it`);
    });
  }
}

/** First sentence of the instructions, at most 160 characters. */
function firstSentence(text: string): string {
  const line = text.trim().split(/(?<=[.!?])\s|\n/)[0] ?? text;
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}

/** The runnable Flow of a valid file. `secret` becomes non-enumerable. */
export function resolveFlow(file: FlowFile, fileName: string, version: string): Flow {
  const flowFunctions = file.functions.map((f) => (typeof f === 'string' ? f : f.name));
  const httpFunctions = file.functions.filter((f): f is HttpFunctionSpec & { url: string } => typeof f !== 'string' && 'url' in f);
  const functionModes: Record<string, Partial<ToolMode>> = {};
  for (const f of file.functions) {
    if (typeof f === 'string' || (f.behavior === undefined && f.scheduling === undefined)) continue;
    functionModes[f.name] = { ...(f.behavior ? { behavior: f.behavior } : {}), ...(f.scheduling ? { scheduling: f.scheduling } : {}) };
  }
  const stages: Stage[] = file.stages.map((s) => ({
    ...s,
    purpose: s.purpose ?? firstSentence(s.instructions),
    functions: [...(s.functions ?? flowFunctions)],
  }));
  const { functions: _functions, stages: _stages, secret, ...rest } = file;
  const flow = { ...rest, file: fileName, version, functions: flowFunctions, httpFunctions, functionModes, stages } as Flow;
  Object.defineProperty(flow, 'secret', { value: secret, enumerable: false });
  return flow;
}
