/**
 * Attack: behind a proxy, one client sends wrong admin tokens until the sign-in throttle trips.
 * Before: the throttle keyed on the proxy's address and was checked before the token, so the
 * owner (same proxy) was locked out with the right token; the Bearer API had no throttle.
 * Now: TRUST_PROXY gives the real client address, a correct token is always accepted, and
 * failures are throttled per client and in total, on the form and the Bearer API alike.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { THROTTLE } from '../../src/web/ui/auth.js';
import { serveCalls, stackLines, type CallsServer } from './support.js';

const TOKEN = 'security-suite-admin-token-0123456789abcdef';

function login(s: CallsServer, token: string, client: string): Promise<Response> {
  return fetch(`${s.base}/calls/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': client },
    body: new URLSearchParams({ token, next: '/calls' }).toString(),
  });
}

function api(s: CallsServer, token: string, client: string): Promise<Response> {
  return fetch(`${s.base}/api/calls`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': client } });
}

describe('admin throttle: attackers locked out, owners not', () => {
  let s: CallsServer;
  before(async () => {
    s = await serveCalls({ adminToken: TOKEN, trustProxy: 'loopback' });
  });
  after(() => s.close());

  it('throttles one client after its failures, yet still accepts the right token from it', async () => {
    const attacker = '203.0.113.7';
    for (let i = 0; i < THROTTLE.perClient; i++) assert.equal((await login(s, `wrong-${i}`, attacker)).status, 401, `attempt ${i + 1}`);
    const throttled = await login(s, 'wrong-again', attacker);
    assert.equal(throttled.status, 429);
    assert.ok(Number(throttled.headers.get('retry-after')) > 0);
    // The Bearer API shares the count: the same client is throttled there too.
    const bearer = await api(s, 'wrong-bearer', attacker);
    assert.equal(bearer.status, 429);
    assert.equal(((await bearer.json()) as { error: string }).error, 'too_many_attempts');
    // The right token is never refused (the owner may sit behind the same address).
    const ok = await login(s, TOKEN, attacker);
    assert.equal(ok.status, 303);
    assert.match(ok.headers.get('set-cookie') ?? '', /^cb_calls=\d+\./);
    assert.equal((await api(s, TOKEN, attacker)).status, 200);
    // Another client (told apart through the trusted proxy) is not throttled.
    assert.equal((await login(s, 'typo', '198.51.100.20')).status, 401);
    assert.equal((await login(s, TOKEN, '198.51.100.20')).status, 303);
  });

  it('throttles the Bearer API on its own failures, like the form', async () => {
    const client = '203.0.113.50';
    for (let i = 0; i < THROTTLE.perClient; i++) assert.equal((await api(s, `nope-${i}`, client)).status, 401);
    assert.equal((await api(s, 'nope', client)).status, 429);
    assert.equal((await login(s, 'nope', client)).status, 429);
    assert.equal((await api(s, TOKEN, client)).status, 200);
    // No credential at all is not an attempt: 401, not counted, never 429.
    const bare = await fetch(`${s.base}/api/calls`, { headers: { 'x-forwarded-for': '203.0.113.51' } });
    assert.equal(bare.status, 401);
  });

  it('logs no stack and answers no 500 along the way', () => {
    assert.deepEqual(stackLines(s.lines), []);
  });
});

describe('admin throttle: in total', () => {
  it('throttles failures from many addresses once the total is reached; the right token still works', async () => {
    const s = await serveCalls({ adminToken: TOKEN, trustProxy: true });
    try {
      const perClient = THROTTLE.perClient / 2;
      const clients = Math.ceil(THROTTLE.total / perClient);
      let count = 0;
      for (let c = 0; c < clients; c++) {
        for (let i = 0; i < perClient && count < THROTTLE.total; i++, count++) {
          const r = i % 2 === 0 ? await login(s, 'x', `10.1.${c}.1`) : await api(s, 'x', `10.1.${c}.1`);
          assert.equal(r.status, 401, `failure ${count + 1}`);
        }
      }
      // A fresh address, never seen: over the total, its first failure is throttled.
      assert.equal((await login(s, 'x', '10.9.9.9')).status, 429);
      assert.equal((await api(s, 'x', '10.9.9.10')).status, 429);
      assert.equal((await login(s, TOKEN, '10.9.9.9')).status, 303);
      assert.equal((await api(s, TOKEN, '10.9.9.10')).status, 200);
    } finally {
      await s.close();
    }
  });
});

describe('admin throttle without TRUST_PROXY', () => {
  it('ignores X-Forwarded-For: rotating it does not escape the per-client throttle', async () => {
    const s = await serveCalls({ adminToken: TOKEN });
    try {
      for (let i = 0; i < THROTTLE.perClient; i++) assert.equal((await login(s, 'x', `192.0.2.${i}`)).status, 401);
      assert.equal((await login(s, 'x', '192.0.2.200')).status, 429);
      assert.equal((await login(s, TOKEN, '192.0.2.201')).status, 303);
    } finally {
      await s.close();
    }
  });
});
