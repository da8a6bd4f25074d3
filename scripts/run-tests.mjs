#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's test runner through tsx.
// Usage: node scripts/run-tests.mjs [substring …] [-- extra node --test flags]   (TEST_CONCURRENCY=1: one file at a time)
// (Node 20's --test does not expand globs itself, and npm's sh has no recursive **.)
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const filters = dash === -1 ? argv : argv.slice(0, dash);
const extra = dash === -1 ? [] : argv.slice(dash + 1);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.test.ts') ? [path] : [];
  });
}

const files = walk(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(', ')}`);
  process.exit(1);
}
// Two test files at a time (TEST_CONCURRENCY to change): most of a file's time is spent waiting on
// sockets and timers, and the tests hold on a loaded machine (none asserts a wall-clock limit).
const concurrency = Number(process.env.TEST_CONCURRENCY) || 2;
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...extra, ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'test' },
});
process.exit(result.status ?? 1);
