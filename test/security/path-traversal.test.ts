/**
 * Attack: read files outside what the server means to serve, through the static UI assets
 * (/calls/assets/…) and the recording route (/api/calls/:sid/recording.wav): `../`, `%2e%2e`,
 * encoded slashes and backslashes, double encoding, NUL bytes, absolute paths, and a stored
 * record whose recordingPath points elsewhere. The audit found this holding; this is its
 * regression test: each answers 400, 403 or 404 with none of the target's bytes, never a 500.
 * Requests go out raw (node:http keeps the path as written; fetch would normalise `../` away).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { serveSeeded, type SeededServer } from './seeded-calls.js';
import { stackLines } from './support.js';

const TOKEN = 'path-traversal-admin-token-0123456789abcdef';
const REAL = 'CA' + 'd1'.repeat(16);
const FORGED = ['CA' + 'd2'.repeat(16), 'CA' + 'd3'.repeat(16), 'CA' + 'd4'.repeat(16), 'CA' + 'd5'.repeat(16)] as const;
const FORGED_PATHS = ['../../../../etc/passwd', '/etc/passwd', 'recordings/../../../../etc/passwd.wav', 'recordings/..%2f..%2fsecret.wav'];

/** Text that would show one of the targets was served: /etc/passwd, package.json, .env, a UI source file. */
const LEAKS = [/root:.*:0:0:/, /"name":\s*"callbridge"/, /timingSafeEqual/, /ADMIN_TOKEN=/, /<body/];

function raw(base: string, path: string): Promise<{ status: number; body: string; type: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method: 'GET', headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('security: path traversal', () => {
  let s: SeededServer;
  before(async () => {
    s = await serveSeeded(
      [{ callSid: REAL, said: ['hello'], recording: true }, ...FORGED.map((callSid, i) => ({ callSid, said: ['hello'], recordingPath: FORGED_PATHS[i]! }))],
      { adminToken: TOKEN },
    );
  });
  after(() => s.close());

  function assertRefused(r: { status: number; body: string }, what: string): void {
    assert.ok([400, 403, 404].includes(r.status), `${what}: ${r.status}`);
    for (const leak of LEAKS) assert.doesNotMatch(r.body, leak, `${what} leaked a file`);
  }

  it('the controls: a real asset and a real recording are served', async () => {
    const asset = await raw(s.base, '/calls/assets/list.js');
    assert.equal(asset.status, 200);
    assert.equal(asset.body, readFileSync(new URL('../../src/web/ui/static/list.js', import.meta.url), 'latin1'));
    const wav = await raw(s.base, `/api/calls/${REAL}/recording.wav`);
    assert.equal(wav.status, 200);
    assert.match(wav.type, /audio\/wav/);
    assert.equal(wav.body.slice(0, 4), 'RIFF');
  });

  const assetAttacks = [
    '/calls/assets/../auth.ts',
    '/calls/assets/../../../../package.json',
    '/calls/assets/../../../../../../../../etc/passwd',
    '/calls/assets/%2e%2e/auth.ts',
    '/calls/assets/%2e%2e%2fauth.ts',
    '/calls/assets/..%2f..%2f..%2f..%2fpackage.json',
    '/calls/assets/..%5c..%5c..%5c..%5cpackage.json',
    '/calls/assets/%252e%252e%252fauth.ts',
    '/calls/assets/..%c0%af..%c0%afauth.ts',
    '/calls/assets/list.js%00../../auth.ts',
    '/calls/assets//etc/passwd',
    '/calls/assets/%2fetc%2fpasswd',
    '/calls/assets/../html/list.html',
    '/calls/assets/.env',
    '/calls/assets/../../../../.env.example',
  ];
  for (const path of assetAttacks) {
    it(`static asset ${path}: refused, nothing outside`, async () => assertRefused(await raw(s.base, path), path));
  }

  const sidAttacks = [
    '/api/calls/..%2f..%2f..%2fetc%2fpasswd/recording.wav',
    '/api/calls/%2e%2e/recording.wav',
    `/api/calls/${REAL}%2f..%2f..%2fpackage.json/recording.wav`,
    '/api/calls/..%5cpackage.json/recording.wav',
    '/api/calls/%2fetc%2fpasswd/recording.wav',
  ];
  for (const path of sidAttacks) {
    it(`recording ${path}: refused`, async () => assertRefused(await raw(s.base, path), path));
  }

  it('a stored record whose recordingPath leaves DATA_DIR/recordings is never followed (404)', async () => {
    for (const [i, sid] of FORGED.entries()) {
      const r = await raw(s.base, `/api/calls/${sid}/recording.wav`);
      assert.equal(r.status, 404, FORGED_PATHS[i]);
      assertRefused(r, FORGED_PATHS[i]!);
    }
  });

  it('logs no 500 and no stack', () => assert.deepEqual(stackLines(s.lines), []));
});
