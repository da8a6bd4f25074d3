/**
 * Attack: a page on another site posts to /calls/logout (forced sign-out), to /calls/login
 * (login CSRF) or to a state-changing admin API. Before: logout checked nothing. Now: every
 * state-changing request whose Origin (or Sec-Fetch-Site) names another site is refused with
 * 403 and changes nothing; same-origin forms and clients without Origin (curl) still work.
 * Also: the usual security headers on every answer, HSTS when PUBLIC_BASE_URL is https.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HSTS } from '../../src/web/server.js';
import { startRig, type Rig } from '../support/e2e.js';
import { serveCalls, stackLines, type CallsServer } from './support.js';

const TOKEN = 'security-suite-admin-token-0123456789abcdef';

function post(s: CallsServer, path: string, headers: Record<string, string>, body = ''): Promise<Response> {
  return fetch(`${s.base}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
}

describe('Origin check on logout and sign-in', () => {
  let s: CallsServer;
  before(async () => {
    s = await serveCalls({ adminToken: TOKEN });
  });
  after(() => s.close());

  for (const [what, headers] of [
    ['another Origin', { origin: 'https://evil.example' }],
    ['the same host on another port', { origin: 'http://127.0.0.1:1' }],
    ['Origin: null', { origin: 'null' }],
    ['no Origin but Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['a sibling site (Sec-Fetch-Site: same-site)', { origin: 'http://admin.127.0.0.1.nip.io', 'sec-fetch-site': 'same-site' }],
  ] as const) {
    it(`refuses logout from ${what} (403, cookie kept)`, async () => {
      const res = await post(s, '/calls/logout', headers);
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('set-cookie'), null);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    });
  }

  it('refuses a cross-site sign-in even with the right token (login CSRF)', async () => {
    const res = await post(s, '/calls/login', { origin: 'https://evil.example' }, `token=${TOKEN}`);
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('set-cookie'), null);
  });

  it('signs out from its own pages, and from clients that send no Origin', async () => {
    // Chromium's own form post under Referrer-Policy: no-referrer says Origin: null, Sec-Fetch-Site: same-origin.
    const sameSite: Record<string, string>[] = [{ origin: s.base, 'sec-fetch-site': 'same-origin' }, { origin: 'null', 'sec-fetch-site': 'same-origin' }, { origin: s.base }, {}];
    for (const headers of sameSite) {
      const res = await post(s, '/calls/logout', headers);
      assert.equal(res.status, 303);
      assert.match(res.headers.get('set-cookie') ?? '', /^cb_calls=;.*Max-Age=0/);
    }
    const signIn = await post(s, '/calls/login', { origin: s.base }, `token=${TOKEN}`);
    assert.equal(signIn.status, 303);
  });

  it('logs no stack', () => assert.deepEqual(stackLines(s.lines), []));
});

describe('Origin check behind a proxy', () => {
  it('accepts the forwarded host only from a trusted proxy', async () => {
    const trusted = await serveCalls({ adminToken: TOKEN, trustProxy: 'loopback' });
    const untrusted = await serveCalls({ adminToken: TOKEN });
    try {
      const headers = { origin: 'https://calls.example.com', 'x-forwarded-host': 'calls.example.com' };
      assert.equal((await post(trusted, '/calls/logout', headers)).status, 303);
      assert.equal((await post(untrusted, '/calls/logout', headers)).status, 403);
    } finally {
      await trusted.close();
      await untrusted.close();
    }
  });
});

describe('Origin check on state-changing admin APIs', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({ env: { ADMIN_TOKEN: TOKEN }, bridge: { watchFlows: false } });
  });
  after(() => rig.close());

  it('refuses a cross-site flow reload (403 JSON) and accepts a same-origin one', async () => {
    const url = `${rig.bridge.url}/api/flows/reload`;
    const cross = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' } });
    assert.equal(cross.status, 403);
    assert.equal(((await cross.json()) as { error: string }).error, 'cross_site');
    const same = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, origin: rig.bridge.url } });
    assert.equal(same.status, 200);
  });
});

describe('security headers', () => {
  it('sends HSTS when the public origin is https, with the usual headers on every answer', async () => {
    const https = await serveCalls({ adminToken: TOKEN, publicBaseUrl: 'https://calls.example.com' });
    const http = await serveCalls({ adminToken: TOKEN });
    try {
      for (const path of ['/healthz', '/calls/login', '/api/calls', '/nowhere']) {
        const res = await fetch(https.base + path, { redirect: 'manual' });
        assert.equal(res.headers.get('strict-transport-security'), HSTS, path);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
        assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
        assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
        const plain = await fetch(http.base + path, { redirect: 'manual' });
        assert.equal(plain.headers.get('strict-transport-security'), null, `${path}: no HSTS over http`);
        assert.equal(plain.headers.get('x-content-type-options'), 'nosniff', path);
      }
    } finally {
      await https.close();
      await http.close();
    }
  });
});
