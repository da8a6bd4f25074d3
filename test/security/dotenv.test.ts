/**
 * Issue 17, item 6: `.env` is read, as .env.example promises, and the real environment wins.
 * Before, `.env` was never read: a server configured only through it ran with the defaults.
 * The unit part drives src/config/dotenv.ts on a plain object; the process part starts the real
 * server (src/main.ts) and reads the limits back from /readyz.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDotEnv, parseDotEnv } from '../../src/config/dotenv.js';
import { EnvSchema, loadEnv } from '../../src/config/env.js';
import { testFlow } from '../support/e2e.js';
import { serverDirs, startServerProcess } from '../support/server-process.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'cb-dotenv-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('.env loading (src/config/dotenv.ts)', () => {
  it('reads .env from the working directory; a variable already in the environment keeps its value', () => {
    writeFileSync(join(dir, '.env'), '# comment\nADMIN_TOKEN=from-file\nexport LOG_LEVEL="debug"\nPORT=9999 # trailing comment\nEMPTY_IN_ENV=file\n');
    const target: NodeJS.ProcessEnv = { PORT: '8081', EMPTY_IN_ENV: '' };
    const result = loadDotEnv(target, dir);
    assert.equal(result.file, join(dir, '.env'));
    assert.equal(target['ADMIN_TOKEN'], 'from-file');
    assert.equal(target['LOG_LEVEL'], 'debug');
    assert.equal(target['PORT'], '8081', 'the real environment wins');
    assert.equal(target['EMPTY_IN_ENV'], '', 'set to empty in the environment still wins');
    assert.deepEqual(result.applied.sort(), ['ADMIN_TOKEN', 'LOG_LEVEL']);
    assert.deepEqual(result.overridden.sort(), ['EMPTY_IN_ENV', 'PORT']);
  });

  it('no .env is fine; a named CALLBRIDGE_ENV_FILE that is missing is an error naming it', () => {
    const empty = mkdtempSync(join(dir, 'none-'));
    assert.deepEqual(loadDotEnv({}, empty), { file: undefined, applied: [], overridden: [] });
    assert.throws(() => loadDotEnv({ CALLBRIDGE_ENV_FILE: 'missing.env' }, empty), /CALLBRIDGE_ENV_FILE .*missing\.env/);
  });

  it('NODE_ENV=test reads no .env unless CALLBRIDGE_ENV_FILE names one (a developer .env never reaches the tests)', () => {
    writeFileSync(join(dir, '.env'), 'GEMINI_API_KEY=real-key\n');
    const target: NodeJS.ProcessEnv = { NODE_ENV: 'test' };
    assert.equal(loadDotEnv(target, dir).file, undefined);
    assert.equal(target['GEMINI_API_KEY'], undefined);
    const named: NodeJS.ProcessEnv = { NODE_ENV: 'test', CALLBRIDGE_ENV_FILE: '.env' };
    loadDotEnv(named, dir);
    assert.equal(named['GEMINI_API_KEY'], 'real-key');
  });

  it('parses quotes and escapes like Node’s --env-file', () => {
    assert.deepEqual(parseDotEnv(`A='single # not a comment'\nB="line\\nbreak"\nC=plain\n`), { A: 'single # not a comment', B: 'line\nbreak', C: 'plain' });
  });
});

describe('.env loading in the server process (src/main.ts)', () => {
  it('the server runs with the limits from its env file, except the one the real environment sets', async () => {
    const file = join(dir, 'server.env');
    writeFileSync(file, 'MAX_CALLS=7\nMAX_PENDING_CALLS=9\n');
    const { dir: serverDir, env } = serverDirs('cb-dotenv-server-', { 'line.yaml': testFlow() });
    const server = await startServerProcess({ ...env, CALLBRIDGE_ENV_FILE: file, MAX_PENDING_CALLS: '5' });
    try {
      const body = (await (await fetch(`${server.url}/readyz`)).json()) as { calls: { maxCalls: number; maxPendingCalls: number } };
      assert.equal(body.calls.maxCalls, 7, 'from the file');
      assert.equal(body.calls.maxPendingCalls, 5, 'the real environment wins');
      assert.match(server.output(), /read variables from the \.env file/);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
      rmSync(serverDir, { recursive: true, force: true });
    }
  });
});

describe('.env.example', () => {
  it('names every variable the server reads, and as copied to .env it boots in development', () => {
    const vars = parseDotEnv(readFileSync(join(ROOT, '.env.example'), 'utf8'));
    assert.deepEqual(Object.keys(EnvSchema.shape).filter((k) => !(k in vars)), [], 'variables missing from .env.example');
    const env = loadEnv(vars);
    assert.equal(env.MAX_CALLS, 100);
    assert.equal(env.MAX_PENDING_CALLS, 20);
  });
});
