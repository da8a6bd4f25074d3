/**
 * CPU share and resident memory of a process, from /proc (Linux), and this process's event-loop
 * lag. CPU % is of one core over the window since the last reset (100 % = one core busy).
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { monoMs } from './clock.js';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** utime + stime of a process in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Resident set size in MB (VmRSS of /proc/<pid>/status). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export class ProcStats {
  readonly #pid: number;
  #ticks = 0;
  #atMs = 0;
  readonly #lag: IntervalHistogram | undefined;

  constructor(pid: number) {
    this.#pid = pid;
    this.#lag = pid === process.pid ? monitorEventLoopDelay({ resolution: 5 }) : undefined;
    this.#lag?.enable();
    this.reset();
  }

  reset(): void {
    this.#ticks = cpuTicks(this.#pid);
    this.#atMs = monoMs();
    this.#lag?.reset();
  }

  read(): { cpuPct: number; rssMb: number; lagP99Ms: number } {
    const seconds = (monoMs() - this.#atMs) / 1000;
    const cpuPct = seconds > 0 ? ((cpuTicks(this.#pid) - this.#ticks) / TICKS_PER_S / seconds) * 100 : 0;
    const lagP99Ms = this.#lag && this.#lag.count > 0 ? this.#lag.percentile(99) / 1e6 : 0;
    return { cpuPct, rssMb: rssMb(this.#pid), lagP99Ms };
  }
}
