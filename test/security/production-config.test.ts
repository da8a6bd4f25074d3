/**
 * Attack: a production deployment with unsafe settings. Before: it started without ADMIN_TOKEN
 * or with a 12-character one, with an http PUBLIC_BASE_URL, and with a flow's HTTP-function
 * secret left at its public built-in default (only a warning). Now NODE_ENV=production refuses
 * to start, with one error naming every problem.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnv } from '../../src/config/env.js';
import { checkProduction, startCallbridge, PRODUCTION_ADMIN_TOKEN_MIN } from '../../src/app.js';
import { silentLogger } from '../../src/shared/log.js';

const GOOD = {
  NODE_ENV: 'production',
  TWILIO_AUTH_TOKEN: 'twilio-auth-token-0123456789abcdef',
  PUBLIC_BASE_URL: 'https://bot.example.com',
  ADMIN_TOKEN: 'x'.repeat(PRODUCTION_ADMIN_TOKEN_MIN),
  GEMINI_API_KEY: 'key',
};

function refusal(vars: Record<string, string>, warnings: { file: string; message: string }[] = []): string {
  try {
    checkProduction(loadEnv(vars), warnings);
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'CB_CONFIG_INVALID');
    return (err as Error).message;
  }
  assert.fail('production started');
}

describe('NODE_ENV=production refuses unsafe settings', () => {
  it('starts with safe settings', () => {
    assert.doesNotThrow(() => checkProduction(loadEnv(GOOD)));
  });

  it('names every problem in one error', () => {
    const message = refusal({ NODE_ENV: 'production' });
    for (const name of ['TWILIO_AUTH_TOKEN', 'PUBLIC_BASE_URL', 'ADMIN_TOKEN', 'GEMINI_API_KEY']) assert.match(message, new RegExp(`- ${name}`), name);
  });

  it('refuses an http PUBLIC_BASE_URL', () => {
    assert.match(refusal({ ...GOOD, PUBLIC_BASE_URL: 'http://bot.example.com' }), /PUBLIC_BASE_URL must be https/);
  });

  it(`refuses an ADMIN_TOKEN shorter than ${PRODUCTION_ADMIN_TOKEN_MIN} characters, and says how to make one`, () => {
    const message = refusal({ ...GOOD, ADMIN_TOKEN: 'twelve-chars' });
    assert.match(message, /ADMIN_TOKEN must be at least 32 characters/);
    assert.match(message, /openssl rand -base64 32/);
  });

  it('refuses a flow whose HTTP-function secret is the built-in default', () => {
    const warning = { file: 'flows/orders.yaml', message: 'the secret comes from a built-in default; set the environment variable in production' };
    assert.match(refusal(GOOD, [warning]), /flows\/orders\.yaml: the HTTP-function secret is the built-in default/);
  });

  it('refuses at boot, one error listing the flow secret with the other problems', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cb-prod-'));
    const flowsDir = join(root, 'flows');
    mkdirSync(flowsDir);
    delete process.env['CB_TEST_UNSET_SECRET'];
    writeFileSync(
      join(flowsDir, 'orders.yaml'),
      [
        'name: orders',
        'default: true',
        'persona: You look up orders.',
        'greeting: Hello.',
        'secret: ${CB_TEST_UNSET_SECRET:-public-default-secret}',
        'functions:',
        '  - name: order_status',
        '    description: Looks up an order.',
        '    url: https://orders.example.com/status',
        '    parameters: { id: { type: string, description: The order id. } }',
        'stages:',
        '  - name: main',
        '    instructions: Help.',
        '    functions: [order_status, end_call]',
      ].join('\n'),
    );
    try {
      const env = loadEnv({ ...GOOD, ADMIN_TOKEN: 'short-admin-token', PORT: '0', HOST: '127.0.0.1', DATA_DIR: join(root, 'data'), GEMINI_API_KEY: '', GEMINI_LIVE_URL: 'ws://127.0.0.1:9' });
      await assert.rejects(startCallbridge({ env, log: silentLogger(), flowsDir, toolsDir: join(root, 'tools'), watchFlows: false }), (err: Error) => {
        assert.match(err.message, /orders\.yaml: the HTTP-function secret is the built-in default/);
        assert.match(err.message, /ADMIN_TOKEN must be at least 32/);
        return true;
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
