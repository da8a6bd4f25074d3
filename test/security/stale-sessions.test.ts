/**
 * Attack: get into the admin UI and API with a session cookie that is not a live sign-in: an
 * expired one, one edited by hand (later expiry, other id, flipped MAC byte), one made with
 * another ADMIN_TOKEN, the token itself as a cookie, or a copy of a cookie replayed after its
 * owner signed out. All are refused (401 on the API, a redirect to sign-in on pages).
 * Expired and tampered cookies were already refused (the audit's pass, kept as a regression
 * test); a copy replayed after sign-out used to be accepted until its expiry: sign-out now
 * revokes the session id on this instance (src/web/ui/auth.ts, RevokedSessions).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import { adminGuards } from '../../src/web/admin-guard.js';
import { CallsAuth, RevokedSessions, SESSION_COOKIE, SESSION_TTL_S } from '../../src/web/ui/auth.js';
import { serveCalls, stackLines, type CallsServer } from './support.js';

const TOKEN = 'stale-sessions-admin-token-0123456789abcdef';

/** The cookie value (`<expiry>.<id>.<mac>`) of a Set-Cookie header. */
function valueOf(setCookie: string | null): string {
  const m = new RegExp(`^${SESSION_COOKIE}=([^;]+)`).exec(setCookie ?? '');
  assert.ok(m, `a session cookie: ${setCookie}`);
  return m[1]!;
}

async function signIn(s: CallsServer): Promise<string> {
  const res = await fetch(`${s.base}/calls/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${TOKEN}` });
  assert.equal(res.status, 303);
  return valueOf(res.headers.get('set-cookie'));
}

async function apiWith(s: CallsServer, cookie: string): Promise<number> {
  const res = await fetch(`${s.base}/api/calls`, { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
  await res.arrayBuffer();
  return res.status;
}

async function pageWith(s: CallsServer, cookie: string): Promise<string | null> {
  const res = await fetch(`${s.base}/calls`, { redirect: 'manual', headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
  await res.arrayBuffer();
  return res.status === 303 ? res.headers.get('location') : String(res.status);
}

/** Changes one character of `s` at `i` to another of the same alphabet. */
function flip(s: string, i: number): string {
  return s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
}

describe('security: stale, forged and signed-out session cookies', () => {
  let s: CallsServer;
  before(async () => {
    s = await serveCalls({ adminToken: TOKEN });
  });
  after(() => s.close());

  it('a fresh sign-in works (the control)', async () => {
    const cookie = await signIn(s);
    assert.equal(await apiWith(s, cookie), 200);
    assert.equal(await pageWith(s, cookie), '200');
  });

  it('refuses an expired cookie, though correctly signed', async () => {
    const past = Date.now() - (SESSION_TTL_S + 60) * 1000;
    const expired = valueOf(new CallsAuth({ adminToken: TOKEN, nodeEnv: 'test' }).sessionCookie(past));
    assert.equal(await apiWith(s, expired), 401);
    assert.match((await pageWith(s, expired)) ?? '', /^\/calls\/login/);
  });

  it('refuses tampered cookies', async () => {
    const good = await signIn(s);
    const [expiry, id, mac] = good.split('.') as [string, string, string];
    const tampered: [string, string][] = [
      ['a later expiry', `${Number(expiry) + 365 * 86_400}.${id}.${mac}`],
      ['another session id', `${expiry}.${flip(id, 0)}.${mac}`],
      ['a flipped MAC byte', `${expiry}.${id}.${flip(mac, 10)}`],
      ['a truncated MAC', `${expiry}.${id}.${mac.slice(0, -1)}`],
      ['the older form with this MAC', `${expiry}.${mac}`],
      ['the token itself', TOKEN],
      ['an empty value', ''],
    ];
    for (const [what, cookie] of tampered) assert.equal(await apiWith(s, cookie), 401, what);
  });

  it('refuses a cookie made with another ADMIN_TOKEN', async () => {
    const other = valueOf(new CallsAuth({ adminToken: `${TOKEN}-other`, nodeEnv: 'test' }).sessionCookie());
    assert.equal(await apiWith(s, other), 401);
  });

  it('refuses a copy of the cookie after its owner signs out; other sessions go on', async () => {
    const stolen = await signIn(s);
    const other = await signIn(s);
    assert.equal(await apiWith(s, stolen), 200);
    const out = await fetch(`${s.base}/calls/logout`, { method: 'POST', redirect: 'manual', headers: { origin: s.base, cookie: `${SESSION_COOKIE}=${stolen}` } });
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
    assert.equal(await apiWith(s, stolen), 401, 'the signed-out session is refused on the API');
    assert.match((await pageWith(s, stolen)) ?? '', /^\/calls\/login/, 'and on the pages');
    assert.equal(await apiWith(s, other), 200, 'another sign-in is not signed out');
  });

  it('logs no 500 and no stack', () => assert.deepEqual(stackLines(s.lines), []));
});

describe('security: a sign-out holds for every admin guard of the app', () => {
  it('the phone and flows guards refuse a session the calls guard signed out', () => {
    const app = express();
    const calls = adminGuards({ adminToken: TOKEN, nodeEnv: 'test', app });
    const phone = adminGuards({ adminToken: TOKEN, nodeEnv: 'test', app });
    const elsewhere = adminGuards({ adminToken: TOKEN, nodeEnv: 'test', app: express() });
    const cookie = `${SESSION_COOKIE}=${valueOf(calls.auth.sessionCookie())}`;
    assert.equal(phone.auth.identify({ headers: { cookie } })?.user, 'admin');
    calls.auth.revoke({ headers: { cookie } });
    assert.equal(phone.auth.identify({ headers: { cookie } }), undefined);
    assert.equal(calls.auth.identify({ headers: { cookie } }), undefined);
    assert.equal(elsewhere.auth.identify({ headers: { cookie } })?.user, 'admin', 'revocations are per app (per instance)');
  });
});

describe('security: the sign-out list is bounded', () => {
  it('drops expired ids first, then the oldest, never growing past its size', () => {
    const now = 1_000_000;
    const list = new RevokedSessions(2);
    list.revoke('expired', now - 1, now);
    list.revoke('a', now + 1000, now);
    list.revoke('b', now + 1000, now); // full: the expired one goes
    assert.deepEqual(['expired', 'a', 'b'].map((id) => list.has(id)), [false, true, true]);
    list.revoke('c', now + 1000, now); // full of live ids: the oldest goes
    assert.deepEqual(['a', 'b', 'c'].map((id) => list.has(id)), [false, true, true]);
  });
});
