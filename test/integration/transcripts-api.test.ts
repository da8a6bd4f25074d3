import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { silentLogger } from '../../src/shared/log.js';
import { ERRORS } from '../../src/shared/errors.js';
import { openSqliteStore, type SqliteTranscriptStore } from '../../src/transcripts/sqlite-store.js';
import { createTranscriptWriter } from '../../src/transcripts/writer.js';
import { openCallRecording } from '../../src/transcripts/recording.js';
import { mountCalls } from '../../src/web/calls-routes.js';
import { DEMO_EVENTS, demoCallSid, seedDemoCall } from '../support/transcripts-fixtures.js';

const TOKEN = 'test-admin-token-0123456789';
const DAY = 86_400_000;
const T0 = Date.UTC(2025, 5, 1, 9);

interface Running {
  base: string;
  close(): Promise<void>;
}

async function serve(store: SqliteTranscriptStore, dataDir: string, options: { adminToken?: string; nodeEnv?: string }): Promise<Running> {
  const app = express();
  mountCalls(app, { store, dataDir, log: silentLogger(), nodeEnv: options.nodeEnv ?? 'test', adminToken: options.adminToken });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('calls API and review pages', () => {
  let dir: string;
  let store: SqliteTranscriptStore;
  let app: Running;
  const auth = { Authorization: `Bearer ${TOKEN}` };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cb-api-'));
    store = openSqliteStore({ dataDir: dir });
    const writer = createTranscriptWriter({ store });
    const rec = openCallRecording({ dataDir: dir, callSid: demoCallSid(1) });
    rec.caller(0, new Int16Array(8000).fill(1000));
    await rec.close();
    seedDemoCall(writer, { callSid: demoCallSid(1), startedAt: T0, recordingPath: rec.relativePath });
    seedDemoCall(writer, { callSid: demoCallSid(2), startedAt: T0 + DAY, flow: 'support', outcome: 'transferred', outcomeDetail: { transferTarget: '+442079460000' } });
    const failed = seedDemoCall(writer, { callSid: demoCallSid(3), startedAt: T0 + 2 * DAY, open: true }).log;
    failed.event({ kind: 'caller_utterance', text: 'I need a refund for my deposit' }, 31_000);
    failed.event({ kind: 'error', code: 'CB_CALL_GEMINI_UNAVAILABLE', message: 'all models failed' }, 32_000);
    failed.close({ outcome: 'failed', outcomeDetail: { errorCode: 'CB_CALL_GEMINI_UNAVAILABLE' }, endedAt: T0 + 2 * DAY + 33_000 });
    for (let i = 0; i < 7; i++) seedDemoCall(writer, { callSid: demoCallSid(10 + i), startedAt: T0 + (10 + i) * DAY, outcome: 'completed' });
    await writer.close();
    app = await serve(store, dir, { adminToken: TOKEN });
  });
  after(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = auth) => fetch(`${app.base}${path}`, { headers, redirect: 'manual' });

  it('refuses the API without the token (401) and serves it with Bearer (200)', async () => {
    const none = await get('/api/calls', {});
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.match(((await none.json()) as { message: string }).message, /Bearer/);
    assert.equal((await get('/api/calls', { Authorization: 'Bearer wrong-token-000000000' })).status, 401);
    assert.equal((await get(`/api/calls/${demoCallSid(1)}/export.txt`, {})).status, 401);
    const ok = await get('/api/calls');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('cache-control'), 'no-store');
    assert.match(ok.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  });

  it('sends browsers to the sign-in page and signs in with an httpOnly SameSite=Strict cookie', async () => {
    const page = await get('/calls?q=refund', {});
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/calls/login?next=%2Fcalls%3Fq%3Drefund');
    const loginForm = await get('/calls/login?next=%2Fcalls%3Fq%3Drefund', {});
    assert.equal(loginForm.status, 200);
    assert.match(await loginForm.text(), /name="next" value="\/calls\?q=refund"/);

    const post = (token: string, next = '/calls?q=refund') =>
      fetch(`${app.base}/calls/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, next }).toString(),
        redirect: 'manual',
      });
    const wrong = await post('not-the-token');
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /not right/);
    assert.equal(wrong.headers.get('set-cookie'), null);

    const good = await post(TOKEN);
    assert.equal(good.status, 303);
    assert.equal(good.headers.get('location'), '/calls?q=refund');
    const setCookie = good.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(setCookie, /Path=\//);
    assert.ok(!setCookie.includes(TOKEN), 'the cookie does not hold the token');
    const cookie = setCookie.split(';')[0]!;

    assert.equal((await get('/api/calls', { Cookie: cookie })).status, 200);
    const html = await get('/calls', { Cookie: cookie });
    assert.equal(html.status, 200);
    assert.match(await html.text(), /<body data-auth="token"/);
    const tampered = cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    assert.equal((await get('/api/calls', { Cookie: tampered })).status, 401);

    const offsite = await post(TOKEN, 'https://evil.example/calls');
    assert.equal(offsite.headers.get('location'), '/calls', 'next is kept on this site');
    const logout = await fetch(`${app.base}/calls/logout`, { method: 'POST', headers: { Cookie: cookie }, redirect: 'manual' });
    assert.equal(logout.status, 303);
    assert.match(logout.headers.get('set-cookie') ?? '', /Max-Age=0/);
  });

  it('lists calls with total, filters and paging', async () => {
    type List = { calls: { callSid: string; outcome: string; flow?: string; match?: { snippet: string } }[]; total: number; nextCursor?: string; flows: string[] };
    const all = (await (await get('/api/calls?limit=4')).json()) as List;
    assert.equal(all.total, 10);
    assert.equal(all.calls.length, 4);
    assert.deepEqual(all.flows, ['bookings', 'support']);
    assert.ok(all.nextCursor);
    const after = (await (await get(`/api/calls?limit=4&cursor=${all.nextCursor}`)).json()) as List;
    assert.equal(after.calls[0]!.callSid, demoCallSid(12));
    const page3 = (await (await get('/api/calls?limit=4&offset=8')).json()) as List;
    assert.deepEqual(page3.calls.map((c) => c.callSid), [demoCallSid(2), demoCallSid(1)]);

    const refund = (await (await get('/api/calls?q=refund')).json()) as List;
    assert.deepEqual(refund.calls.map((c) => c.callSid), [demoCallSid(3)]);
    assert.match(refund.calls[0]!.match!.snippet, /\u0002refund\u0003/);
    const failed = (await (await get('/api/calls?outcome=failed,transferred')).json()) as List;
    assert.deepEqual(failed.calls.map((c) => c.callSid), [demoCallSid(3), demoCallSid(2)]);
    const support = (await (await get('/api/calls?flow=support')).json()) as List;
    assert.deepEqual(support.calls.map((c) => c.callSid), [demoCallSid(2)]);
    const days = (await (await get('/api/calls?from=2025-06-02&to=2025-06-03')).json()) as List;
    assert.deepEqual(days.calls.map((c) => c.callSid), [demoCallSid(3), demoCallSid(2)], 'to includes its whole day');
    const ms = (await (await get(`/api/calls?from=${T0}&to=${T0 + DAY}`)).json()) as List;
    assert.deepEqual(ms.calls.map((c) => c.callSid), [demoCallSid(1)]);
    const empty = (await (await get('/api/calls?q=&flow=')).json()) as List;
    assert.equal(empty.total, 10, 'empty parameters mean "no filter"');
  });

  it('answers bad parameters with 400 and a clear message', async () => {
    const cases: [string, RegExp][] = [
      ['limit=abc', /limit: must be a number/],
      ['limit=1000', /limit: must be at most 200/],
      ['offset=-1', /offset: must be 0 or more/],
      ['outcome=bogus', /outcome: unknown outcome "bogus"/],
      ['from=yesterday', /from: must be a date/],
      ['from=2025-06-03&to=2025-06-01', /from: must be before to/],
      ['cursor=nonsense', /cursor: is not a cursor/],
      ['q=a&q=b', /q: must be given once/],
      ['colour=blue', /colour: unknown parameter/],
    ];
    for (const [query, message] of cases) {
      const res = await get(`/api/calls?${query}`);
      assert.equal(res.status, 400, query);
      const body = (await res.json()) as { error: string; message: string };
      assert.equal(body.error, 'bad_request');
      assert.match(body.message, message, query);
    }
    assert.equal((await get('/api/calls/not%20a%20sid')).status, 400);
    assert.equal((await get(`/api/calls/${demoCallSid(999)}`)).status, 404);
  });

  it('returns a call with its events, latency and the catalogue’s words for its errors', async () => {
    const body = (await (await get(`/api/calls/${demoCallSid(3)}`)).json()) as {
      call: { outcome: string }; events: { seq: number; kind: string }[]; latency: { p95Ms: number };
      explanations: Record<string, { explanation: string; fix: string }>; recordingUrl?: string;
    };
    assert.equal(body.call.outcome, 'failed');
    assert.equal(body.events.length, DEMO_EVENTS.length + 2);
    assert.deepEqual(body.events.map((e) => e.seq), body.events.map((_, i) => i + 1));
    assert.equal(body.latency.p95Ms, 7400);
    assert.deepEqual(body.explanations.CB_CALL_GEMINI_UNAVAILABLE, {
      explanation: ERRORS.CB_CALL_GEMINI_UNAVAILABLE.explanation, fix: ERRORS.CB_CALL_GEMINI_UNAVAILABLE.fix,
    });
    assert.equal(body.recordingUrl, undefined);
  });

  it('exports JSON and text', async () => {
    const json = await get(`/api/calls/${demoCallSid(1)}/export.json`);
    assert.equal(json.status, 200);
    assert.match(json.headers.get('content-type') ?? '', /application\/json/);
    assert.match(json.headers.get('content-disposition') ?? '', new RegExp(`attachment; filename="call-${demoCallSid(1)}.json"`));
    const exported = (await json.json()) as { format: string; call: { callSid: string }; events: unknown[] };
    assert.equal(exported.format, 'callbridge.call');
    assert.equal(exported.call.callSid, demoCallSid(1));
    assert.equal(exported.events.length, DEMO_EVENTS.length);

    const txt = await get(`/api/calls/${demoCallSid(1)}/export.txt`);
    assert.match(txt.headers.get('content-type') ?? '', /text\/plain; charset=utf-8/);
    const text = await txt.text();
    assert.match(text, /^Call CA0+1$/m);
    assert.match(text, /^\[00:04\.8\] Caller: Hi, I'd like to book a table for four people/m);
    assert.match(text, /^\[00:06\.1\] Bot \(interrupted, heard 1\.2 s of 3\.4 s\)/m);
    assert.match(text, /Fix: /);
  });

  it('serves the recording with Range support (206) for seeking', async () => {
    const full = await get(`/api/calls/${demoCallSid(1)}/recording.wav`);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('content-type'), 'audio/wav');
    assert.equal(full.headers.get('accept-ranges'), 'bytes');
    const bytes = Buffer.from(await full.arrayBuffer());
    assert.deepEqual(bytes, readFileSync(join(dir, 'recordings', `${demoCallSid(1)}.wav`)));

    const part = await get(`/api/calls/${demoCallSid(1)}/recording.wav`, { ...auth, Range: 'bytes=44-143' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 44-143/${bytes.length}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(44, 144));
    assert.equal((await get(`/api/calls/${demoCallSid(2)}/recording.wav`)).status, 404);
    assert.equal((await get(`/api/calls/${demoCallSid(1)}/recording.wav`, {})).status, 401);
  });
});

describe('calls API without ADMIN_TOKEN', () => {
  let dir: string;
  let store: SqliteTranscriptStore;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cb-api-open-'));
    store = openSqliteStore({ dataDir: dir });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('in production refuses to serve, explaining that ADMIN_TOKEN is required (503)', async () => {
    const app = await serve(store, dir, { nodeEnv: 'production' });
    try {
      const api = await fetch(`${app.base}/api/calls`);
      assert.equal(api.status, 503);
      assert.match(((await api.json()) as { message: string }).message, /ADMIN_TOKEN/);
      const page = await fetch(`${app.base}/calls`);
      assert.equal(page.status, 503);
      assert.match(await page.text(), /set <code>ADMIN_TOKEN<\/code>/);
      assert.equal((await fetch(`${app.base}/calls/login`)).status, 503);
    } finally {
      await app.close();
    }
  });

  it('in development serves, with the open-access warning banner', async () => {
    const app = await serve(store, dir, { nodeEnv: 'development' });
    try {
      assert.equal((await fetch(`${app.base}/api/calls`)).status, 200);
      const html = await (await fetch(`${app.base}/calls`)).text();
      assert.match(html, /<body data-auth="open"/);
      assert.match(html, /ADMIN_TOKEN is not set/);
    } finally {
      await app.close();
    }
  });
});
