/**
 * `--workers N` of the load bench (bench/README.md): callbridge as a WORKERS=N cluster
 * (src/workers/primary.ts). Its CPU and memory are the whole process tree's (the primary and
 * every worker), read from /proc like ./proc-stats.ts does for one process.
 */
import { readFileSync } from 'node:fs';
import { ProcStats, rssMb } from './proc-stats.js';

/** `pid` and its descendants (from /proc/<pid>/task/<tid>/children), read now. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let children = '';
    try {
      children = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8');
    } catch {
      continue; // gone, or no such file on this kernel
    }
    for (const c of children.trim().split(/\s+/)) if (c) out.push(Number(c));
  }
  return out;
}

/** The Node processes of the tree: the primary and its workers (tsx's esbuild helpers left out, as with one process). */
export function nodeProcesses(pid: number): number[] {
  return processTree(pid).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'node';
    } catch {
      return false;
    }
  });
}

/** Resident memory of the primary and its workers, in MB (a worker that exited meanwhile counts 0). */
export function treeRssMb(pid: number): number {
  let sum = 0;
  for (const p of nodeProcesses(pid)) {
    try {
      const mb = rssMb(p);
      if (!Number.isNaN(mb)) sum += mb;
    } catch {
      // gone between the listing and the read
    }
  }
  return sum;
}

/** CPU of the whole tree over a window (the tree is read when the window starts). */
export class TreeStats {
  readonly #stats: ProcStats[];

  constructor(pid: number) {
    this.#stats = nodeProcesses(pid).map((p) => new ProcStats(p));
  }

  /** CPU in % of one core (200 % = two cores busy). */
  read(): { cpuPct: number } {
    return { cpuPct: this.#stats.reduce((sum, s) => sum + s.read().cpuPct, 0) };
  }
}
