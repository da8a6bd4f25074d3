/**
 * The live catalogue of flows and functions: what the next call runs on. Built at boot from
 * FLOWS_DIR and TOOLS_DIR (an invalid start throws CB_FLOW_INVALID, as before hot reload), then
 * reloaded when a file changes (`watch`, debounced) or on demand (`reload`, POST /api/flows/reload).
 *
 * A reload either applies as a whole or is refused as a whole: flows are checked across files
 * (names, numbers, the default flow), so a broken file refuses the change and the last good
 * version keeps serving; its problems (file:line) are logged and kept for /flows. A function
 * file that fails to load keeps its last good version (src/tools/registry.ts). Calls in progress
 * keep the Flow and registry they were created with: a reload only changes what `current` gives
 * the next call.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { CallbridgeError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { loadToolModules, ToolRegistry, type LoadedToolModule } from '../tools/registry.js';
import { loadFlowDirAsync, type LoadedFlows, type LoadOptions } from './load.js';
import { formatProblem, type FlowProblem } from './yaml-source.js';
import type { Flow } from './schema.js';

export interface CatalogOptions {
  flowsDir: string;
  toolsDir: string;
  log: Logger;
  /** For `${VAR}` interpolation; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The numbers this server answers, when known (see LoadOptions). */
  numbers?: readonly string[];
  /** Quiet time after the last file event before reloading (default 150 ms): editors write in bursts. */
  debounceMs?: number;
  /**
   * Checks a reload's valid flows against the world outside the files (the app: models the Gemini
   * endpoint refuses). Problems refuse the reload like a file error; it must not throw.
   */
  vet?: (flows: readonly Flow[]) => Promise<FlowProblem[]>;
}

export interface ReloadResult {
  /** True when the files on disk now serve the next calls; false when the change was refused. */
  applied: boolean;
  /**
   * Every problem found. Refused: what to fix (nothing changed). Applied: function files that
   * failed to load and kept their last good version, or are left out.
   */
  problems: FlowProblem[];
  warnings: FlowProblem[];
  /** Flow name → version, of what serves after this reload. */
  versions: Record<string, string>;
  /** Flows by name compared with what served before (empty when refused). */
  changed: { added: string[]; removed: string[]; updated: string[] };
  /** Epoch ms when the reload finished, and how long it took. */
  at: number;
  durationMs: number;
  /** What started it: "boot", "watch", "api", … */
  reason: string;
}

interface Attempt {
  loaded: LoadedFlows | undefined;
  modules: Map<string, LoadedToolModule>;
  problems: FlowProblem[];
  warnings: FlowProblem[];
}

const FLOW_FILE = /\.ya?ml$/i;
const TOOL_FILE = /\.(?:ts|mts|js|mjs)$/i;

export class FlowCatalog {
  readonly #o: CatalogOptions;
  #loaded: LoadedFlows;
  #modules: Map<string, LoadedToolModule>;
  #last: ReloadResult;
  #running: Promise<ReloadResult> | undefined;
  #queued: Promise<ReloadResult> | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #watchers: FSWatcher[] = [];
  readonly #listeners = new Set<(result: ReloadResult) => void>();

  private constructor(options: CatalogOptions, attempt: Attempt & { loaded: LoadedFlows }, first: ReloadResult) {
    this.#o = options;
    this.#loaded = attempt.loaded;
    this.#modules = attempt.modules;
    this.#last = first;
  }

  /** Loads both folders; throws CB_FLOW_INVALID listing every problem when anything is wrong. */
  static async open(options: CatalogOptions): Promise<FlowCatalog> {
    const started = performance.now();
    const attempt = await load(options, undefined);
    if (!attempt.loaded || attempt.problems.length > 0) {
      const problems = attempt.problems;
      throw new CallbridgeError('CB_FLOW_INVALID', `invalid flows (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, {
        detail: { problems },
      });
    }
    const loaded = attempt.loaded;
    const first = result(true, attempt, loaded, { added: loaded.flows.map((f) => f.name), removed: [], updated: [] }, started, 'boot');
    for (const w of attempt.warnings) options.log.warn({ file: w.file, line: w.line, field: w.field }, `flow warning: ${w.message}`);
    return new FlowCatalog(options, { ...attempt, loaded }, first);
  }

  /** What the next call runs on. */
  get current(): LoadedFlows {
    return this.#loaded;
  }

  /** The last reload (or the boot load): its problems are what /flows shows. */
  get lastReload(): ReloadResult {
    return this.#last;
  }

  /**
   * Reads both folders again and applies them when valid. Never throws. Reloads never overlap:
   * one asked for while another runs starts when it ends (and requests meanwhile share it).
   */
  reload(reason = 'api'): Promise<ReloadResult> {
    if (this.#queued) return this.#queued;
    if (!this.#running) {
      this.#running = this.#run(reason).finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    this.#queued = this.#running.then(() => {
      this.#queued = undefined;
      return this.reload(reason);
    });
    return this.#queued;
  }

  /** Calls `listener` after every reload (applied or refused); returns the unsubscribe. */
  onReload(listener: (result: ReloadResult) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Watches FLOWS_DIR and TOOLS_DIR (top level) and reloads after a burst of changes to flow or
   * function files. A folder that cannot be watched is logged; POST /api/flows/reload still works.
   */
  watch(): void {
    if (this.#watchers.length > 0) return;
    const folders: Array<[string, RegExp]> = [[this.#o.flowsDir, FLOW_FILE], [this.#o.toolsDir, TOOL_FILE]];
    for (const [dir, files] of folders) {
      try {
        const watcher = fsWatch(dir, { persistent: false }, (_event, name) => {
          if (name === null || files.test(String(name))) this.#schedule();
        });
        watcher.on('error', (err) => this.#o.log.warn({ err, dir }, 'watching a flows/tools folder failed: hot reload of it stopped (POST /api/flows/reload still works)'));
        this.#watchers.push(watcher);
      } catch (err) {
        this.#o.log.warn({ err: (err as Error).message, dir }, 'cannot watch the folder: its changes need POST /api/flows/reload or a restart');
      }
    }
  }

  /** Stops watching (shutdown). */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#watchers.splice(0)) w.close();
  }

  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.reload('watch');
    }, this.#o.debounceMs ?? 150);
    this.#timer.unref();
  }

  async #run(reason: string): Promise<ReloadResult> {
    const started = performance.now();
    let attempt: Attempt;
    try {
      attempt = await load(this.#o, this.#modules);
      const vetted = attempt.loaded && this.#o.vet ? await this.#o.vet(attempt.loaded.flows) : [];
      if (vetted.length > 0) attempt = { ...attempt, loaded: undefined, modules: this.#modules, problems: [...attempt.problems, ...vetted] };
    } catch (err) {
      attempt = { loaded: undefined, modules: this.#modules, problems: [{ file: this.#o.flowsDir, message: `reload failed: ${(err as Error).message}` }], warnings: [] };
    }
    const before = this.#loaded;
    let outcome: ReloadResult;
    if (attempt.loaded) {
      this.#loaded = attempt.loaded;
      this.#modules = attempt.modules;
      outcome = result(true, attempt, attempt.loaded, diff(before, attempt.loaded), started, reason);
    } else {
      outcome = result(false, attempt, before, { added: [], removed: [], updated: [] }, started, reason);
    }
    this.#last = outcome;
    this.#report(outcome);
    for (const listener of this.#listeners) {
      try {
        listener(outcome);
      } catch (err) {
        this.#o.log.error({ err }, 'a flow reload listener threw');
      }
    }
    return outcome;
  }

  #report(r: ReloadResult): void {
    const log = this.#o.log;
    for (const p of r.problems) log.warn({ file: p.file, line: p.line, field: p.field }, `flow reload: ${formatProblem(p)}`);
    if (!r.applied) {
      log.error({ problems: r.problems.length, reason: r.reason }, 'flow reload refused: the last good flows keep serving (see the problems above, or /flows)');
      return;
    }
    const { added, removed, updated } = r.changed;
    if (added.length + removed.length + updated.length > 0 || r.reason !== 'watch') {
      log.info({ added, removed, updated, versions: r.versions, ms: Math.round(r.durationMs), reason: r.reason }, 'flows reloaded: the next calls use them');
    }
  }
}

/** Both folders, checked together; `loaded` is undefined when the flows are invalid. */
async function load(o: CatalogOptions, previous: ReadonlyMap<string, LoadedToolModule> | undefined): Promise<Attempt> {
  const { tools, problems: toolProblems, modules } = await loadToolModules(o.toolsDir, previous);
  const problems: FlowProblem[] = toolProblems.map((p) => ({ file: p.file, message: p.message }));
  let registry: ToolRegistry;
  try {
    registry = ToolRegistry.create(tools);
  } catch (err) {
    return { loaded: undefined, modules, problems: [...problems, { file: o.toolsDir, message: (err as Error).message }], warnings: [] };
  }
  const options: LoadOptions = { registry, ...(o.env ? { env: o.env } : {}), ...(o.numbers ? { numbers: o.numbers } : {}) };
  const flows = await loadFlowDirAsync(o.flowsDir, options);
  if (!flows.ok) return { loaded: undefined, modules, problems: [...problems, ...flows.errors], warnings: flows.warnings };
  const { ok: _ok, ...loaded } = flows;
  return { loaded, modules, problems, warnings: flows.warnings };
}

function versionsOf(loaded: LoadedFlows): Record<string, string> {
  return Object.fromEntries(loaded.flows.map((f) => [f.name, f.version]));
}

function diff(before: LoadedFlows, after: LoadedFlows): ReloadResult['changed'] {
  const old = versionsOf(before);
  const now = versionsOf(after);
  return {
    added: Object.keys(now).filter((n) => old[n] === undefined),
    removed: Object.keys(old).filter((n) => now[n] === undefined),
    updated: Object.keys(now).filter((n) => old[n] !== undefined && old[n] !== now[n]),
  };
}

function result(applied: boolean, attempt: Attempt, serving: LoadedFlows, changed: ReloadResult['changed'], started: number, reason: string): ReloadResult {
  return {
    applied,
    problems: attempt.problems,
    warnings: attempt.warnings,
    versions: versionsOf(serving),
    changed,
    at: Date.now(),
    durationMs: performance.now() - started,
    reason,
  };
}
