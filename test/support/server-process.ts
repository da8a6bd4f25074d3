/**
 * Runs callbridge as its own process (`node --import tsx src/main.ts`, as `npm start` does) for
 * tests that kill or signal it, and reads its URL from its log.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

const ROOT = new URL('../..', import.meta.url).pathname;

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
 */
export async function startServerProcess(env: Record<string, string>, wrap: readonly string[] = [], nodeArgs: readonly string[] = []): Promise<ServerProcess> {
  const command = [...wrap, process.execPath, ...nodeArgs, '--import', 'tsx', 'src/main.ts'];
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
