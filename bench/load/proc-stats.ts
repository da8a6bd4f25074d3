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

/** Cumulative clock ticks of one CPU, from a `cpuN` line of /proc/stat. */
export interface CpuTicks {
  /** user + nice + system + irq + softirq: the guest kernel ran something. */
  busy: number;
  idle: number;
  /** The CPU had work but the hypervisor ran something else (a virtual machine's lost time). */
  steal: number;
}

/**
 * Per-CPU ticks from the text of /proc/stat (proc(5): user nice system idle iowait irq softirq
 * steal …), keyed by CPU number. Lines it cannot read are skipped.
 */
export function parseProcStat(text: string): Map<number, CpuTicks> {
  const cpus = new Map<number, CpuTicks>();
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)((?:\s+\d+){8})/.exec(line);
    if (!m) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2]!.trim().split(/\s+/).map(Number) as [number, number, number, number, number, number, number, number];
    cpus.set(Number(m[1]), { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal });
  }
  return cpus;
}

/** Share of each CPU's time over a window, in % (busy + idle + steal ≈ 100). */
export interface CpuShare {
  cpu: number;
  busyPct: number;
  stealPct: number;
}

/**
 * What every CPU of the machine did over a window: how much of the time the guest kernel ran
 * something, and how much the hypervisor took away (steal). On a virtual machine, steal is time
 * a process was ready to run and could not, whatever it does itself.
 */
export class MachineStats {
  #start = new Map<number, CpuTicks>();

  constructor(readonly read = () => readFileSync('/proc/stat', 'utf8')) {
    this.reset();
  }

  reset(): void {
    this.#start = parseProcStat(this.read());
  }

  shares(): CpuShare[] {
    const out: CpuShare[] = [];
    for (const [cpu, now] of parseProcStat(this.read())) {
      const was = this.#start.get(cpu);
      if (!was) continue;
      const busy = now.busy - was.busy;
      const steal = now.steal - was.steal;
      const total = busy + (now.idle - was.idle) + steal;
      out.push({ cpu, busyPct: total > 0 ? (busy / total) * 100 : 0, stealPct: total > 0 ? (steal / total) * 100 : 0 });
    }
    return out;
  }
}
