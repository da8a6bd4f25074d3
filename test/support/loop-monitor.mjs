// Preloaded into a server process under test (NODE_OPTIONS="--import <this file>"): reports every
// event-loop stall of 50 ms (or LOOP_MONITOR_STALL_MS) or more as one JSON line on stderr, with what the main thread did
// meanwhile according to Linux (/proc/thread-self/schedstat): `runMs` on a CPU (the process's
// own work held the loop) or `waitMs` in the run queue (the machine was busy elsewhere).
// Plain JavaScript so it loads before any TypeScript loader. Nothing happens where /proc is absent.
import { readFileSync } from 'node:fs';

const STALL_MS = Number(process.env.LOOP_MONITOR_STALL_MS) || 50;
const TICK_MS = 10;

function schedstat() {
  try {
    const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
    return Number.isFinite(run) && Number.isFinite(wait) ? { run: run / 1e6, wait: wait / 1e6 } : undefined;
  } catch {
    return undefined;
  }
}

let last = schedstat();
if (last) {
  let lastAt = performance.now();
  setInterval(() => {
    const now = performance.now();
    const stat = schedstat();
    const stallMs = now - lastAt - TICK_MS;
    if (stat && stallMs >= STALL_MS) {
      process.stderr.write(
        `${JSON.stringify({ level: 30, msg: 'event loop stall', loopMonitor: true, time: new Date().toISOString(), monoMs: Number(process.hrtime.bigint() / 1000n) / 1000, stallMs: Math.round(stallMs), runMs: Math.round(stat.run - last.run), waitMs: Math.round(stat.wait - last.wait) })}\n`,
      );
    }
    last = stat ?? last;
    lastAt = now;
  }, TICK_MS).unref();
}
