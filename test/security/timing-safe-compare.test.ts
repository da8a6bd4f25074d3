/**
 * Attack: guess a secret by how it compares: a wrong ADMIN_TOKEN, stream token or Twilio
 * signature of the right length (a byte-by-byte compare would answer faster the earlier it
 * differs) or of another length (timingSafeEqual throws on unequal lengths: a 500 would tell the
 * length). The audit found this holding; this is its regression test: every such guess is
 * refused plainly (401, 'mismatch', false), never a 500 or a throw; and, since timing cannot be
 * asserted in a test, the source of each compare is checked to go through crypto.timingSafeEqual
 * (src/web/ui/auth.ts and src/metrics/index.ts through src/shared/secrets.ts, src/twilio/stream-token.ts; src/twilio/signature.ts through
 * twilio.validateRequest, whose compare is timingSafeEqual).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import twilio from 'twilio';
import { StreamTokens } from '../../src/twilio/stream-token.js';
import { verifyWebhookSignature, verifyUpgradeSignature } from '../../src/twilio/signature.js';
import { serveCalls, stackLines } from './support.js';

const TOKEN = 'timing-safe-admin-token-0123456789abcdef';
const CALL_SID = 'CA' + 'c3'.repeat(16);

/** Wrong guesses of `secret`: same length (differing first, last, in case), shorter, longer, empty-ish. */
function guesses(secret: string): [string, string][] {
  const swap = (i: number) => secret.slice(0, i) + (secret[i] === 'x' ? 'y' : 'x') + secret.slice(i + 1);
  return [
    ['same length, first character wrong', swap(0)],
    ['same length, last character wrong', swap(secret.length - 1)],
    ['same length, other case', secret.toUpperCase()],
    ['a prefix', secret.slice(0, -1)],
    ['one character', secret.slice(0, 1)],
    ['the secret plus one character', `${secret}x`],
    ['twice the secret', secret + secret],
  ];
}

/** The body of the function or method declared by `head` (a regex source) in `source`. */
function bodyOf(source: string, head: string): string {
  const m = new RegExp(head).exec(source);
  assert.ok(m, `${head} is declared`);
  // The body's brace ends its line (a parameter's object type does not).
  const open = /\{\s*\n/g;
  open.lastIndex = m.index + m[0].length;
  let i = open.exec(source)?.index ?? -1;
  assert.ok(i > 0, `${head} has a body`);
  const start = i;
  for (let depth = 0; i < source.length; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}' && --depth === 0) break;
  }
  return source.slice(start, i + 1);
}

const src = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('security: wrong secrets of any length are refused plainly', () => {
  it('the Bearer API: 401 for each, never 500; the right token still works', async () => {
    const s = await serveCalls({ adminToken: TOKEN });
    try {
      for (const [what, guess] of guesses(TOKEN)) {
        const res = await fetch(`${s.base}/api/calls`, { headers: { authorization: `Bearer ${guess}` } });
        assert.equal(res.status, 401, what);
        assert.equal(((await res.json()) as { error: string }).error, 'unauthorized');
      }
      assert.equal((await fetch(`${s.base}/api/calls`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
      assert.deepEqual(stackLines(s.lines), []);
    } finally {
      await s.close();
    }
  });

  it('the sign-in form: 401 for each, no cookie; the right token signs in', async () => {
    const s = await serveCalls({ adminToken: TOKEN });
    try {
      const post = (token: string) =>
        fetch(`${s.base}/calls/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
      for (const [what, guess] of guesses(TOKEN)) {
        const res = await post(guess);
        assert.equal(res.status, 401, what);
        assert.equal(res.headers.get('set-cookie'), null, what);
      }
      assert.equal((await post(TOKEN)).status, 303);
      assert.deepEqual(stackLines(s.lines), []);
    } finally {
      await s.close();
    }
  });

  it('stream tokens: a wrong MAC of any length is a mismatch or malformed, never a throw', () => {
    const tokens = new StreamTokens();
    const token = tokens.issue(CALL_SID, { flow: 'support' });
    const [version, expires, mac] = token.split('.') as [string, string, string];
    for (const [what, guess] of guesses(mac)) {
      const check = tokens.verify(`${version}.${expires}.${guess}`, CALL_SID, { flow: 'support' });
      assert.equal(check.ok, false, what);
      assert.ok(!check.ok && (guess.length === mac.length ? check.reason === 'mismatch' : check.reason === 'malformed'), `${what}: ${JSON.stringify(check)}`);
    }
    assert.deepEqual(tokens.verify(token, CALL_SID, { flow: 'support' }), { ok: true });
  });

  it('Twilio signatures: a wrong one of any length is false, never a throw', () => {
    const url = 'https://bot.example.test/twilio/voice';
    const form = { CallSid: CALL_SID };
    const good = twilio.getExpectedTwilioSignature(TOKEN, url, form);
    for (const [what, guess] of guesses(good)) {
      assert.equal(verifyWebhookSignature(TOKEN, guess, url, form), false, what);
      assert.equal(verifyUpgradeSignature(TOKEN, guess, 'wss://bot.example.test/twilio/media', '/twilio/media'), false, what);
    }
    assert.equal(verifyWebhookSignature(TOKEN, good, url, form), true);
  });
});

describe('security: the compares are constant-time (source check)', () => {
  it('src/web/ui/auth.ts compares the token and the session MAC with timingSafeEqual only', () => {
    const auth = src('src/web/ui/auth.ts');
    assert.match(bodyOf(src('src/shared/secrets.ts'), 'function sameSecret\\('), /timingSafeEqual\(digest\(a\), digest\(b\)\)/);
    assert.match(auth, /import \{[^}]*\bsameSecret\b[^}]*\} from '\.\.\/\.\.\/shared\/secrets\.js'/);
    // The metrics endpoint compares its tokens the same way.
    assert.match(bodyOf(src('src/metrics/index.ts'), 'function verdict\\('), /sameSecret\(/);
    for (const method of ['isAuthorized\\(req: Request\\)', 'identify\\(req', 'checkToken\\(candidate: string\\)']) {
      assert.match(bodyOf(auth, `\\n  ${method}`), /sameSecret\(/, method);
    }
    assert.match(bodyOf(auth, '\\n  private sessionId\\('), /timingSafeEqual\(Buffer\.from\(m\[3\]!\), Buffer\.from\(expected\)\)/);
    // No other way of comparing a secret: == / != / .equals / localeCompare against the token or a MAC.
    assert.doesNotMatch(auth, /[!=]==?\s*this\.token\b|this\.token\s*[!=]==?\s*(?!undefined\b)\w|[!=]==?\s*expected\b(?!\.length)|\.equals\(|localeCompare\(/);
  });

  it('src/twilio/stream-token.ts compares the MAC with timingSafeEqual only', () => {
    const verify = bodyOf(src('src/twilio/stream-token.ts'), '\\n  verify\\(');
    assert.match(verify, /timingSafeEqual\(given, expected\)/);
    assert.doesNotMatch(verify, /[!=]==?\s*(mac|expected|given)\b(?!\.length)|\b(mac|expected|given)\b(?!\.length)\s*[!=]==?|\.equals\(/);
  });

  it('src/twilio/signature.ts leaves the compare to twilio.validateRequest, which uses timingSafeEqual', () => {
    const signature = src('src/twilio/signature.ts');
    for (const fn of ['function verifyWebhookSignature\\(', 'function verifyUpgradeSignature\\(']) {
      const body = bodyOf(signature, fn);
      assert.match(body, /return twilio\.validateRequest\(authToken, signature, /, fn);
      assert.doesNotMatch(body, /(?<!typeof )\bsignature\s*[!=]==?|[!=]==?\s*signature\b|getExpectedTwilioSignature/, fn);
    }
    const webhooks = readFileSync(createRequire(import.meta.url).resolve('twilio/lib/webhooks/webhooks.js'), 'utf8');
    assert.match(bodyOf(webhooks, 'function validateSignatureWithUrl\\('), /return safeCompare\(/);
    assert.match(bodyOf(webhooks, 'function safeCompare\\('), /timingSafeEqual\(a, b\)/);
  });
});
