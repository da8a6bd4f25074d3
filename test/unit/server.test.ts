import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createApp, listen } from '../../src/web/server.js';
import { silentLogger } from '../../src/shared/log.js';
import { loadEnv, ConfigError } from '../../src/config/env.js';

describe('HTTP server', () => {
  it('answers GET /healthz', async () => {
    const server = await listen(createApp({ log: silentLogger() }), 0, '127.0.0.1');
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { ok: boolean };
      assert.equal(body.ok, true);
    } finally {
      server.close();
    }
  });
});

describe('environment', () => {
  it('applies defaults', () => {
    const env = loadEnv({});
    assert.equal(env.PORT, 8080);
    assert.equal(env.DATA_DIR, './data');
    assert.ok(Object.isFrozen(env));
  });

  it('reports every problem at once, naming the variable', () => {
    assert.throws(
      () => loadEnv({ PORT: 'eighty', LOG_LEVEL: 'loud' }),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 2 && /PORT/.test(err.message) && /LOG_LEVEL/.test(err.message),
    );
  });
});
