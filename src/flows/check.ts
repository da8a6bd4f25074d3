/**
 * References inside one flow (stages, transfer names, functions in the registry), and the
 * resolved `Flow`. The reference checks read the raw file defensively, so they run even when
 * some fields are invalid: a file with a bad time zone and a misspelt stage reports both.
 */
import { isBuiltinName } from '../tools/builtins.js';
import type { ToolRegistry } from '../tools/registry.js';
import { suggest } from './issues.js';
import type { Flow, FlowFile, Stage } from './schema.js';
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

/** Every reference problem of a (possibly partly invalid) flow file. */
export function checkReferences(raw: unknown, src: ParsedSource, registry: ToolRegistry, defaulted: readonly string[]): { errors: FlowProblem[]; warnings: FlowProblem[] } {
  const errors: FlowProblem[] = [];
  const warnings: FlowProblem[] = [];
  const err = (path: Path, message: string): void => void errors.push(problemAt(src, path, message));
  const warn = (path: Path, message: string): void => void warnings.push(problemAt(src, path, message));
  const file = rec(raw);
  const stages = arr(file.stages).map(rec);
  const stageNames = stages.map((s) => str(s.name)).filter((n): n is string => n !== undefined);
  const transferNames = Object.keys(rec(file.transfers));
  const list = (names: readonly string[]): string => (names.length > 0 ? names.join(', ') : 'none');

  const seen = new Set<string>();
  stages.forEach((s, i) => {
    const name = str(s.name);
    if (name !== undefined && seen.has(name)) err(['stages', i, 'name'], `another stage is already named "${name}"; stage names must be unique`);
    if (name !== undefined) seen.add(name);
  });

  const flowFunctions: string[] = [];
  arr(file.functions).forEach((entry, i) => {
    const name = typeof entry === 'string' ? entry : str(rec(entry).name);
    if (name === undefined) return;
    if (flowFunctions.includes(name)) return err(['functions', i], `function ${name} is listed twice`);
    flowFunctions.push(name);
    if (typeof entry === 'string') {
      if (!registry.has(name)) {
        err(['functions', i], `unknown function "${name}"${suggest(name, registry.names())}: no code function in the tools folder and no built-in has this name (an HTTP function needs name, description and url)`);
      }
      return;
    }
    if (registry.has(name)) err(['functions', i, 'name'], `"${name}" is already the name of a ${isBuiltinName(name) ? 'built-in' : 'code'} function; choose another name`);
    const url = str(rec(entry).url);
    if (url !== undefined && !url.startsWith('https:') && !isLocalUrl(url)) {
      warn(['functions', i, 'url'], 'uses http:// to another machine: the arguments (personal data) travel unencrypted; use https://');
    }
  });
  const firstHttp = arr(file.functions).findIndex((f) => typeof f !== 'string');
  if (firstHttp >= 0 && file.secret === undefined) {
    err(['functions', firstHttp], 'this flow declares HTTP functions, so it needs a secret to sign the requests: add secret: ${MY_FLOW_SECRET} at the top level');
  }
  if (defaulted.includes('secret')) warn(['secret'], 'the secret comes from a built-in default; set the environment variable in production');

  const checkTarget = (a: unknown, path: Path): void => {
    const goTo = str(rec(a).goTo);
    const transfer = str(rec(a).transfer);
    if (goTo !== undefined && !stageNames.includes(goTo)) {
      err([...path, 'goTo'], `unknown stage "${goTo}"${suggest(goTo, stageNames)}; the stages are: ${list(stageNames)}`);
    }
    if (transfer !== undefined && !transferNames.includes(transfer)) {
      err([...path, 'transfer'], `unknown transfer target "${transfer}"${suggest(transfer, transferNames)}; define it under transfers: (defined: ${list(transferNames)})`);
    }
  };
  const checkTransferCall = (path: Path): void => {
    if (transferNames.length === 0) err(path, 'transfer_call needs somewhere to transfer to: add a transfers: section');
  };

  for (const [digit, a] of Object.entries(rec(file.dtmf))) checkTarget(a, ['dtmf', digit]);
  checkTarget(rec(rec(rec(file.hours).outsideHours).then), ['hours', 'outsideHours', 'then']);
  checkTarget(rec(rec(file.agentUnavailable).then), ['agentUnavailable', 'then']);
  if (flowFunctions.includes('transfer_call')) checkTransferCall(['functions', flowFunctions.indexOf('transfer_call')]);

  const known = (name: string): boolean => isBuiltinName(name) || registry.has(name) || flowFunctions.includes(name);
  const allowedIn: string[][] = stages.map((s, i) => {
    const base: Path = ['stages', i];
    const own = Array.isArray(s.functions) ? s.functions.filter((f): f is string => typeof f === 'string') : undefined;
    own?.forEach((name, j) => {
      if (!known(name)) {
        err([...base, 'functions', j], `unknown function "${name}"${suggest(name, [...registry.names(), ...flowFunctions])}: list code functions by name, declare HTTP functions in the flow's functions:, or use a built-in (transfer_call, end_call, go_to_stage)`);
      } else if (name === 'transfer_call') {
        checkTransferCall([...base, 'functions', j]);
      }
    });
    const allowed = own ?? flowFunctions;
    for (const [digit, a] of Object.entries(rec(s.dtmf))) checkTarget(a, [...base, 'dtmf', digit]);
    arr(s.transitions).forEach((t, j) => {
      checkTarget(t, [...base, 'transitions', j]);
      const fn = str(rec(t).onFunction);
      if (fn !== undefined && !allowed.includes(fn)) {
        err([...base, 'transitions', j, 'onFunction'], `this transition waits for ${fn}, which stage "${str(s.name) ?? i}" does not allow (allowed: ${list(allowed)}); add it to the stage's functions`);
      }
    });
    actions(s.onEnter).forEach((a, j) => checkTarget(a, [...base, 'onEnter', j]));
    actions(s.onExit).forEach((a, j) => checkTarget(a, [...base, 'onExit', j]));
    return allowed;
  });

  // Stages no key, transition or go_to_stage can reach (a warning: maybe work in progress).
  if (stageNames.length > 0) {
    const reachable = new Set<string>([stageNames[0]!]);
    const globalTargets = Object.values(rec(file.dtmf)).map((a) => str(rec(a).goTo));
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
      if (name !== undefined && !reachable.has(name)) warn(['stages', i, 'name'], `stage "${name}" cannot be reached: no key, transition or go_to_stage leads to it`);
    });
  }
  return { errors, warnings };
}

/** First sentence of the instructions, at most 160 characters. */
function firstSentence(text: string): string {
  const line = text.trim().split(/(?<=[.!?])\s|\n/)[0] ?? text;
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}

/** The runnable Flow of a valid file. `secret` becomes non-enumerable. */
export function resolveFlow(file: FlowFile, fileName: string): Flow {
  const flowFunctions = file.functions.map((f) => (typeof f === 'string' ? f : f.name));
  const httpFunctions = file.functions.filter((f) => typeof f !== 'string');
  const stages: Stage[] = file.stages.map((s) => ({
    ...s,
    purpose: s.purpose ?? firstSentence(s.instructions),
    functions: [...(s.functions ?? flowFunctions)],
  }));
  const { functions: _functions, stages: _stages, secret, ...rest } = file;
  const flow = { ...rest, file: fileName, functions: flowFunctions, httpFunctions, stages } as Flow;
  Object.defineProperty(flow, 'secret', { value: secret, enumerable: false });
  return flow;
}
