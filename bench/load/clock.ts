/**
 * The clock every process of the load benchmark stamps frames with: CLOCK_MONOTONIC through
 * process.hrtime, which is one clock for the whole machine, so a time taken in the driver and one
 * taken in the emulator can be subtracted (performance.now() cannot: each process has its own origin).
 */
export function monoMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1000 + ns / 1e6;
}
