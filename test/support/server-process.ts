/**
 * Runs callbridge as its own process (`node --import tsx src/main.ts`, as `npm start` does) for
 * tests that kill or signal it, and reads its URL from its log.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;

/**
 * A fresh temporary directory for a server process: `flows/` holding `flows` (file name → YAML),
 * an empty `tools/`, and `data/` to be; `env` points the server at them.
 */
export function serverDirs(prefix: string, flows: Readonly<Record<string, string>>): { dir: string; env: { DATA_DIR: string; FLOWS_DIR: string; TOOLS_DIR: string } } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env = { DATA_DIR: join(dir, 'data'), FLOWS_DIR: join(dir, 'flows'), TOOLS_DIR: join(dir, 'tools') };
  mkdirSync(env.FLOWS_DIR);
  mkdirSync(env.TOOLS_DIR);
  for (const [file, yaml] of Object.entries(flows)) writeFileSync(join(env.FLOWS_DIR, file), yaml);
  return { dir, env };
}

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves with the exit code (or signal) once it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `wrap`: a command to run it under (e.g. ['taskset', '-c', '0']); it must exec node, keeping the
 * pid. `nodeArgs`: extra options for node (e.g. --cpu-prof, which NODE_OPTIONS may not carry).
 * `entry`: the script to run instead of src/main.ts (the load bench's floor relay).
 */
export async function startServerProcess(env: Record<string, string>, wrap: readonly string[] = [], nodeArgs: readonly string[] = [], entry = 'src/main.ts'): Promise<ServerProcess> {
  const command = [...wrap, process.execPath, ...nodeArgs, '--import', 'tsx', entry];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${output}`)), 30_000);
    const check = () => {
      const m = /callbridge listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', check);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${output}`));
    });
  });
  return { child, url, output: () => output, exited };
}
