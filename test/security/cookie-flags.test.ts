/**
 * Attack: steal or ride the admin session cookie: read it from script (XSS), have another site's
 * request carry it (CSRF), catch it on plain http, or have it sent to other paths or hosts. The
 * audit found the flags holding; this is their regression test: the session cookie is HttpOnly,
 * SameSite=Strict, Path=/, host-only (no Domain), Secure in production (where PUBLIC_BASE_URL must
 * be https: see production-config.test.ts) and whenever PUBLIC_BASE_URL is https (before, only in
 * production: a development server behind an https tunnel set it without Secure), expires with
 * the session, and never holds the token. Sign-out clears it with the same flags.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallsAuth, OPEN_SESSION_COOKIE, SESSION_COOKIE, SESSION_TTL_S } from '../../src/web/ui/auth.js';
import { serveCalls, stackLines } from './support.js';

const TOKEN = 'cookie-flags-admin-token-0123456789abcdef';

/** A Set-Cookie header as its name, value and attributes (names lower-cased). */
function parseSetCookie(header: string | null): { name: string; value: string; attrs: Map<string, string> } {
  assert.ok(header, 'a Set-Cookie header');
  const [pair, ...rest] = header.split(';');
  const eq = pair!.indexOf('=');
  const attrs = new Map(rest.map((a) => a.trim().split('=') as [string, string?]).map(([k, v]) => [k.toLowerCase(), v ?? ''] as [string, string]));
  return { name: pair!.slice(0, eq).trim(), value: pair!.slice(eq + 1), attrs };
}

async function signInAndOut(nodeEnv: string, publicBaseUrl?: string): Promise<{ signIn: ReturnType<typeof parseSetCookie>; signOut: ReturnType<typeof parseSetCookie> }> {
  const s = await serveCalls({ adminToken: TOKEN, nodeEnv, ...(publicBaseUrl ? { publicBaseUrl } : {}) });
  try {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const signIn = await fetch(`${s.base}/calls/login`, { method: 'POST', redirect: 'manual', headers: form, body: `token=${TOKEN}` });
    assert.equal(signIn.status, 303);
    const signOut = await fetch(`${s.base}/calls/logout`, { method: 'POST', redirect: 'manual', headers: { origin: s.base } });
    assert.equal(signOut.status, 303);
    assert.deepEqual(stackLines(s.lines), []);
    return { signIn: parseSetCookie(signIn.headers.get('set-cookie')), signOut: parseSetCookie(signOut.headers.get('set-cookie')) };
  } finally {
    await s.close();
  }
}

function assertFlags(c: ReturnType<typeof parseSetCookie>, secure: boolean, what: string): void {
  assert.equal(c.name, SESSION_COOKIE, what);
  assert.ok(c.attrs.has('httponly'), `${what}: HttpOnly (no script can read it)`);
  assert.equal(c.attrs.get('samesite'), 'Strict', `${what}: SameSite=Strict (no cross-site request carries it)`);
  assert.equal(c.attrs.get('path'), '/', `${what}: Path=/`);
  assert.equal(c.attrs.has('domain'), false, `${what}: host-only (no Domain)`);
  assert.equal(c.attrs.has('secure'), secure, `${what}: Secure ${secure ? 'set' : 'unset'}`);
}

describe('security: session cookie flags', () => {
  it('production: HttpOnly, SameSite=Strict, Path=/, Secure, 7-day Max-Age; sign-out clears it alike', async () => {
    const { signIn, signOut } = await signInAndOut('production');
    assertFlags(signIn, true, 'sign-in');
    assert.equal(signIn.attrs.get('max-age'), String(SESSION_TTL_S));
    assert.ok(!signIn.value.includes(TOKEN) && !signIn.value.includes(Buffer.from(TOKEN).toString('base64url')), 'the cookie never holds the token');
    assertFlags(signOut, true, 'sign-out');
    assert.equal(signOut.value, '');
    assert.equal(signOut.attrs.get('max-age'), '0');
  });

  it('development over plain http: the same flags without Secure (the browser would drop it)', async () => {
    const { signIn, signOut } = await signInAndOut('development');
    assertFlags(signIn, false, 'sign-in');
    assertFlags(signOut, false, 'sign-out');
  });

  it('development behind an https PUBLIC_BASE_URL (a tunnel): Secure as well', async () => {
    const { signIn, signOut } = await signInAndOut('development', 'https://calls.example.com');
    assertFlags(signIn, true, 'sign-in');
    assertFlags(signOut, true, 'sign-out');
  });

  it('the anonymous browser cookie of open development access has the same flags', () => {
    for (const [nodeEnv, secure] of [['development', false], ['production', true]] as const) {
      const c = parseSetCookie(new CallsAuth({ nodeEnv }).openSessionCookie());
      assert.equal(c.name, OPEN_SESSION_COOKIE);
      assert.ok(c.attrs.has('httponly'));
      assert.equal(c.attrs.get('samesite'), 'Strict');
      assert.equal(c.attrs.get('path'), '/');
      assert.equal(c.attrs.has('secure'), secure);
    }
  });
});
