/**
 * Attack: odd and oversized requests against the whole server (app.ts composition: Twilio edge,
 * call review, flows, phone), hoping for a 500, an HTML stack page or a stack in the log.
 * Every one must answer 4xx, JSON under /api and plain text elsewhere, and log no error.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { startRig, type Rig } from '../support/e2e.js';
import { captureLog, stackLines, type LogLine } from './support.js';

const TOKEN = 'security-suite-admin-token-0123456789abcdef';

interface Attack {
  name: string;
  path: string;
  init?: RequestInit;
  /** Sent with the right Bearer token (the attack is in the body or the path, not the credentials). */
  signedIn?: boolean;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const big = 'a'.repeat(200_000);

const ATTACKS: Attack[] = [
  { name: 'oversized sign-in form', path: '/calls/login', init: { method: 'POST', headers: FORM, body: `token=${big}` } },
  { name: 'sign-in form in an unknown charset', path: '/calls/login', init: { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=klingon' }, body: 'token=x' } },
  { name: 'sign-in form with a broken gzip body', path: '/calls/login', init: { method: 'POST', headers: { ...FORM, 'content-encoding': 'gzip' }, body: 'not gzip at all' } },
  { name: 'sign-in form in an unknown encoding', path: '/calls/login', init: { method: 'POST', headers: { ...FORM, 'content-encoding': 'zstd-ish' }, body: 'token=x' } },
  { name: 'sign-in form with too many fields', path: '/calls/login', init: { method: 'POST', headers: FORM, body: 'a&'.repeat(1500) } },
  { name: 'gzip bomb to the sign-in form', path: '/calls/login', init: { method: 'POST', headers: { ...FORM, 'content-encoding': 'gzip' }, body: gzipSync(Buffer.alloc(5_000_000, 'a')) } },
  { name: 'bad URL encoding in a page path', path: '/calls/%E0%A4%A' },
  { name: 'bad URL encoding in an API path', signedIn: true, path: '/api/calls/%E0%A4%A' },
  { name: 'bad URL encoding in an export path', signedIn: true, path: '/api/calls/%ZZ/export.json' },
  { name: 'NUL in an API path', signedIn: true, path: '/api/calls/CA%00/export.txt' },
  { name: 'array where a query value goes', signedIn: true, path: '/api/calls?limit=1&limit=2&flow[]=x' },
  { name: 'nonsense query values', signedIn: true, path: '/api/calls?limit=-1&from=yesterday&q=%22%22%22' },
  { name: 'oversized Twilio webhook', path: '/twilio/voice', init: { method: 'POST', headers: FORM, body: `CallSid=${big}` } },
  { name: 'Twilio webhook with too many parameters', path: '/twilio/voice', init: { method: 'POST', headers: FORM, body: Array.from({ length: 500 }, (_, i) => `p${i}=1`).join('&') } },
  { name: 'Twilio webhook with a broken gzip body', path: '/twilio/voice', init: { method: 'POST', headers: { ...FORM, 'content-encoding': 'gzip' }, body: 'x' } },
  { name: 'Twilio status callback in an unknown charset', path: '/twilio/status', init: { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=ebcdic-xx' }, body: 'a=b' } },
  { name: 'unsigned Twilio webhook', path: '/twilio/voice', init: { method: 'POST', headers: FORM, body: 'CallSid=CA00000000000000000000000000000000' } },
  { name: 'flow reload with a JSON body it does not want', path: '/api/flows/reload', init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' } },
  { name: 'wrong bearer token', path: '/api/calls', init: { headers: { authorization: 'Bearer nope' } } },
  { name: 'authorization header of another scheme', path: '/api/calls', init: { headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } } },
  { name: 'forged session cookie', path: '/api/calls', init: { headers: { cookie: 'cb_calls=9999999999.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' } } },
];

function checkAnswer(a: Attack, status: number, type: string, body: string): void {
  assert.ok(status >= 400 && status < 500, `${a.name}: status ${status} (${body.slice(0, 200)})`);
  assert.doesNotMatch(body, /\n\s+at |<pre>|Error:/, `${a.name}: a stack or an error message in the body`);
  if (a.path.startsWith('/api/')) assert.match(type, /application\/json/, `${a.name}: JSON under /api`);
  else assert.doesNotMatch(body, /<title>Error<\/title>/, `${a.name}: no HTML error page`);
}

for (const nodeEnv of ['development', 'test'] as const) {
  describe(`clean 4xx for bad requests (NODE_ENV=${nodeEnv})`, () => {
    let rig: Rig;
    let lines: LogLine[];
    before(async () => {
      const captured = captureLog();
      lines = captured.lines;
      rig = await startRig({ env: { NODE_ENV: nodeEnv, ADMIN_TOKEN: TOKEN }, log: captured.log, bridge: { watchFlows: false } });
    });
    after(() => rig.close());

    for (const a of ATTACKS) {
      it(a.name, async () => {
        const before = lines.length;
        const res = await fetch(rig.bridge.url + a.path, {
          redirect: 'manual',
          ...a.init,
          headers: { ...(a.signedIn ? { authorization: `Bearer ${TOKEN}` } : {}), ...(a.init?.headers as Record<string, string> | undefined) },
        });
        checkAnswer(a, res.status, res.headers.get('content-type') ?? '', await res.text());
        assert.deepEqual(stackLines(lines.slice(before)), [], `${a.name}: an error or a stack in the log`);
      });
    }
  });
}
