/**
 * A throwaway PostgreSQL cluster for tests: initdb + pg_ctl in a temp dir (as an unprivileged
 * user when the tests run as root: initdb refuses root), listening on a random free port of
 * 127.0.0.1 only, its unix socket in the temp dir, trust auth, fsync off (a killed server keeps
 * its commits: the OS still has them; only a machine crash could lose them). `stop()` stops it and
 * removes the directory; a process that exits without stopping it stops it on exit.
 *
 * The binaries come from PG_BIN, else `initdb` on PATH, else Debian's /usr/lib/postgresql/<ver>/bin
 * (the `postgresql` package; `.ci/run` installs it). Without them `startPostgres()` returns a skip
 * reason, for `test(..., { skip })`.
 *
 *   const pg = await startPostgres();
 *   if ('skip' in pg) ... else { const url = await pg.freshDatabase(); ...; await pg.stop(); }
 */
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './wait.js';

const run = promisify(execFile);

export interface TestPostgres {
  /** The cluster's maintenance database (`postgres`), as superuser `callbridge`. */
  url: string;
  /** Creates an empty database and returns its URL (one per test, or per test file). */
  freshDatabase(): Promise<string>;
  /** Kills the server as a crash would (pg_ctl stop -m immediate), keeping its data. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data after `kill()`. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Where initdb/pg_ctl are, or undefined. */
export function postgresBinDir(): string | undefined {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(join(debian, v, 'bin'));
  }
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
}

/** The unprivileged account to run the cluster as when we are root (postgres, else nobody). */
function unprivilegedUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'));
  for (const name of ['postgres', 'nobody']) {
    const row = passwd.find((f) => f[0] === name);
    if (row && row[2] && row[3]) return { name, uid: Number(row[2]), gid: Number(row[3]) };
  }
  return undefined;
}

/** Why PostgreSQL tests cannot run here (no binaries; root without an account to run the cluster as), or false. */
export function postgresSkipReason(): string | false {
  if (!postgresBinDir()) {
    return 'PostgreSQL tests skipped: no initdb/pg_ctl found (install Debian\'s postgresql package, as .ci/run does, or set PG_BIN to the directory holding them)';
  }
  if (process.getuid?.() === 0 && !unprivilegedUser()) return 'PostgreSQL tests skipped: running as root and no postgres/nobody account to run the cluster as';
  return false;
}

let dbCounter = 0;

/** Starts a cluster, or says why it cannot (no binaries; a failed start is an error, not a skip). */
export async function startPostgres(): Promise<TestPostgres | { skip: string }> {
  const skip = postgresSkipReason();
  if (skip) return { skip };
  const bin = postgresBinDir()!;
  const user = unprivilegedUser();
  const dir = mkdtempSync(join(tmpdir(), 'callbridge-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const as = (cmd: string, args: string[]): [string, string[]] => (user ? ['runuser', ['-u', user.name, '--', cmd, ...args]] : [cmd, args]);
  const port = await freePort();
  const pgCtl = join(bin, 'pg_ctl');
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=16MB`;
  const start = () => run(...as(pgCtl, ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'log'), '-o', opts]));
  try {
    await run(...as(join(bin, 'initdb'), ['-D', data, '-U', 'callbridge', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']));
    await start();
  } catch (err) {
    const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start PostgreSQL from ${bin}: ${(err as Error).message}\n${log}`);
  }
  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    const [cmd, args] = as(pgCtl, ['stop', '-m', 'immediate', '-D', data]);
    spawnSync(cmd, args, { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);
  const base = `postgres://callbridge@127.0.0.1:${port}`;
  return {
    url: `${base}/postgres`,
    async freshDatabase() {
      const name = `t${process.pid}_${++dbCounter}`;
      const client = new pg.Client({ connectionString: `${base}/postgres` });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `${base}/${name}`;
    },
    async kill() {
      await run(...as(pgCtl, ['stop', '-m', 'immediate', '-D', data]));
    },
    async restart() {
      await start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', stopSync);
      await run(...as(pgCtl, ['stop', '-m', 'fast', '-D', data])).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
