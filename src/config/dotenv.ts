/**
 * The `.env` file .env.example promises: read once at boot by src/main.ts, before the environment
 * is validated. The real environment wins: a variable already set in the process (even to an
 * empty string) keeps its value. The file is `CALLBRIDGE_ENV_FILE` when set, else `.env` in the
 * working directory (a missing `.env` is fine; a missing CALLBRIDGE_ENV_FILE is an error).
 * Processes started with NODE_ENV=test read no file unless CALLBRIDGE_ENV_FILE names one, so a
 * developer's `.env` (a real GEMINI_API_KEY, say) never leaks into the test suite.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as util from 'node:util';

export interface DotEnvResult {
  /** The file read (absolute), or undefined when none was. */
  file: string | undefined;
  /** Variables taken from the file. */
  applied: string[];
  /** Variables in the file that the real environment already set (it wins). */
  overridden: string[];
}

/** Node 20.12+ has util.parseEnv (the same syntax as --env-file); older 20.x use the small parser below. */
const nodeParseEnv = (util as { parseEnv?: (content: string) => NodeJS.Dict<string> }).parseEnv;

/** KEY=value lines; `export ` prefixes, # comments, and single, double or back quotes (double: \n escapes). */
export function parseDotEnv(content: string): Record<string, string> {
  if (nodeParseEnv) return Object.fromEntries(Object.entries(nodeParseEnv(content)).filter((e): e is [string, string] => e[1] !== undefined));
  const out: Record<string, string> = {};
  for (const raw of content.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*)$/.exec(raw);
    if (!m) continue;
    let value = m[2]!.trim();
    const q = value[0];
    if ((q === '"' || q === "'" || q === '`') && value.indexOf(q, 1) > 0) {
      value = value.slice(1, value.indexOf(q, 1));
      if (q === '"') value = value.replace(/\\n/g, '\n');
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    out[m[1]!] = value;
  }
  return out;
}

/** Reads the `.env` file into `target` (default process.env) without overriding what is set. Throws when a named file cannot be read. */
export function loadDotEnv(target: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): DotEnvResult {
  const named = target['CALLBRIDGE_ENV_FILE'];
  if (!named && target['NODE_ENV'] === 'test') return { file: undefined, applied: [], overridden: [] };
  const file = resolve(cwd, named || '.env');
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    if (!named && (err as NodeJS.ErrnoException).code === 'ENOENT') return { file: undefined, applied: [], overridden: [] };
    throw new Error(`cannot read ${named ? `CALLBRIDGE_ENV_FILE (${file})` : file}: ${(err as Error).message}`);
  }
  const applied: string[] = [];
  const overridden: string[] = [];
  for (const [key, value] of Object.entries(parseDotEnv(content))) {
    if (target[key] !== undefined) overridden.push(key);
    else {
      target[key] = value;
      applied.push(key);
    }
  }
  return { file, applied, overridden };
}
