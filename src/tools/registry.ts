/**
 * Every function a call may use: the built-ins, code functions loaded from the tools folder
 * (`tools/*.ts`, each default-exporting a defineTool(...) result) and the HTTP functions declared
 * in flow files (scoped to their flow, since each flow signs with its own secret).
 * Immutable once built; `withFlowFunctions` returns a new registry.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CallbridgeError } from '../shared/errors.js';
import { builtinTools, isBuiltinName } from './builtins.js';
import { isCodeTool } from './define.js';
import type { Tool } from './types.js';

const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
const moduleCache = createRequire(import.meta.url).cache;

export interface ToolModuleProblem {
  file: string;
  message: string;
}

export class ToolRegistry {
  readonly #shared: ReadonlyMap<string, Tool>;
  readonly #perFlow: ReadonlyMap<string, ReadonlyMap<string, Tool>>;

  private constructor(shared: ReadonlyMap<string, Tool>, perFlow: ReadonlyMap<string, ReadonlyMap<string, Tool>>) {
    this.#shared = shared;
    this.#perFlow = perFlow;
  }

  /** Built-ins plus the given code functions. Throws on a duplicate name (loadToolModules reports those first). */
  static create(codeTools: readonly Tool[] = []): ToolRegistry {
    const shared = new Map<string, Tool>();
    for (const tool of [...builtinTools(), ...codeTools]) {
      const existing = shared.get(tool.name);
      if (existing) throw new Error(`two functions are named ${tool.name} (${existing.source} and ${tool.source})`);
      shared.set(tool.name, tool);
    }
    return new ToolRegistry(shared, new Map());
  }

  /** A registry that also knows a flow's HTTP functions (replacing that flow's previous ones). */
  withFlowFunctions(flowName: string, tools: readonly Tool[]): ToolRegistry {
    const own = new Map<string, Tool>();
    for (const tool of tools) {
      if (this.#shared.has(tool.name) || own.has(tool.name)) throw new Error(`flow ${flowName}: function ${tool.name} is defined twice`);
      own.set(tool.name, tool);
    }
    const perFlow = new Map(this.#perFlow);
    perFlow.set(flowName, own);
    return new ToolRegistry(this.#shared, perFlow);
  }

  /** The function called `name` as seen from a flow (its HTTP functions, then code functions and built-ins). */
  get(name: string, flowName?: string): Tool | undefined {
    return (flowName === undefined ? undefined : this.#perFlow.get(flowName)?.get(name)) ?? this.#shared.get(name);
  }

  has(name: string, flowName?: string): boolean {
    return this.get(name, flowName) !== undefined;
  }

  /** Names visible from a flow (or the shared ones), sorted. */
  names(flowName?: string): string[] {
    const own = flowName === undefined ? [] : [...(this.#perFlow.get(flowName)?.keys() ?? [])];
    return [...own, ...this.#shared.keys()].sort();
  }

  /** The code functions (from the tools folder). */
  codeTools(): Tool[] {
    return [...this.#shared.values()].filter((t) => t.kind === 'code');
  }
}

function moduleFiles(dir: string): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return [];
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => MODULE_EXTENSIONS.some((e) => n.endsWith(e)) && !n.endsWith('.d.ts') && !/\.test\.[mc]?[jt]s$/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

/** A code function as loaded from its file, kept so a reload can reuse (or fall back to) it. */
export interface LoadedToolModule {
  /** SHA-256 of the file's text: an unchanged file is not imported again. */
  hash: string;
  tool: Tool;
}

export interface ToolModulesResult {
  tools: Tool[];
  problems: ToolModuleProblem[];
  /** Absolute path → what was loaded from it (or the previous version still in use). */
  modules: Map<string, LoadedToolModule>;
}

/**
 * Imports every module of the tools folder (top level only: put helpers in a sub-folder).
 * A missing folder means no code functions. Never throws: every problem is returned, naming the file.
 *
 * Reloading: ESM caches a module by its URL, so each file is imported as `file.ts?v=<hash of its
 * text>`: an edited file is imported afresh, an unchanged one is taken from `previous`. A file that
 * fails to load, when `previous` has a version of it, keeps that version (its problem is still
 * reported). Modules it imports itself (tools/lib) stay cached until the process restarts.
 */
export async function loadToolModules(dir: string, previous?: ReadonlyMap<string, LoadedToolModule>): Promise<ToolModulesResult> {
  const tools: Tool[] = [];
  const problems: ToolModuleProblem[] = [];
  const modules = new Map<string, LoadedToolModule>();
  const byName = new Map<string, string>();
  for (const path of moduleFiles(resolve(dir))) {
    const file = relative(process.cwd(), path) || path;
    const loaded = await loadToolModule(path, file, previous?.get(path));
    if ('problem' in loaded) {
      problems.push({ file, message: loaded.problem });
      if (!loaded.kept) continue;
    }
    const { tool } = 'problem' in loaded ? loaded.kept! : loaded;
    const other = byName.get(tool.name);
    if (other) {
      problems.push({ file, message: `function ${tool.name} is also defined in ${other}; function names must be unique` });
      continue;
    }
    byName.set(tool.name, file);
    modules.set(path, 'problem' in loaded ? loaded.kept! : loaded);
    tools.push(tool);
  }
  return { tools, problems, modules };
}

type ModuleLoad = LoadedToolModule | { problem: string; kept: LoadedToolModule | undefined };

/** One module of the tools folder: its code function, or why not (with the previous version, if any). */
async function loadToolModule(path: string, file: string, previous: LoadedToolModule | undefined): Promise<ModuleLoad> {
  let hash: string;
  try {
    hash = createHash('sha256').update(await readFile(path)).digest('hex');
  } catch (err) {
    return { problem: `cannot read the file: ${firstLine(err)}`, kept: previous };
  }
  if (previous?.hash === hash) return previous;
  const kept = previous ? { kept: previous, note: ' (the last good version of this file is still used)' } : { kept: undefined, note: '' };
  let mod: Record<string, unknown>;
  try {
    // A folder without "type": "module" is loaded as CommonJS (by tsx too), cached by path, not URL.
    delete moduleCache[path];
    mod = (await import(`${pathToFileURL(path).href}?v=${hash.slice(0, 16)}`)) as Record<string, unknown>;
  } catch (err) {
    return { problem: `cannot load the module: ${firstLine(err)}${kept.note}`, kept: kept.kept };
  }
  const tool = mod.default;
  if (!isCodeTool(tool)) {
    const problem = tool === undefined
      ? 'the module has no default export; end it with `export default defineTool({ ... })`'
      : 'the default export is not a defineTool(...) result; export default defineTool({ name, description, schema, handler })';
    return { problem: problem + kept.note, kept: kept.kept };
  }
  if (isBuiltinName(tool.name)) return { problem: `function ${tool.name} has the name of a built-in function; choose another name${kept.note}`, kept: kept.kept };
  return { hash, tool: { ...tool, source: file } };
}

/** Boot helper: loads the tools folder into a registry, or throws CB_FLOW_INVALID listing every broken module. */
export async function loadToolRegistry(dir: string): Promise<ToolRegistry> {
  const { tools, problems } = await loadToolModules(dir);
  if (problems.length > 0) {
    throw new CallbridgeError('CB_FLOW_INVALID', `invalid function modules:\n${problems.map((p) => `  ${p.file} — ${p.message}`).join('\n')}`, {
      detail: { problems },
    });
  }
  return ToolRegistry.create(tools);
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
