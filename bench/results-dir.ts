/**
 * Where benchmarks write what they keep (JSON figures, logs, profiles): bench/results/ (ignored by
 * git, so absent on a fresh clone), or BENCH_RESULTS_DIR when set (the smoke test points it at an
 * empty temporary folder). Every writer asks here first, so the folder exists before anything is
 * opened in it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const DEFAULT_DIR = new URL('./results/', import.meta.url).pathname;

/** The results folder (or a sub-folder of it), created if missing; returns its path. */
export function resultsDir(...sub: string[]): string {
  const dir = join(process.env['BENCH_RESULTS_DIR'] || DEFAULT_DIR, ...sub);
  mkdirSync(dir, { recursive: true });
  return dir;
}
