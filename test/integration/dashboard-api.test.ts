/**
 * The dashboard's HTTP API (src/web/dashboard-routes.ts) over a seeded SQLite store: figures per
 * day in each flow's time zone, the follow-up list and its CSV, done / undo with who and when,
 * 400 on bad input, the admin guard (401 without sign-in, 403 cross-site), and `timeZone` in the
 * call list and call detail.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { silentLogger } from '../../src/shared/log.js';
import { openSqliteStore, type SqliteTranscriptStore } from '../../src/transcripts/sqlite-store.js';
import { SqliteDashboardStore } from '../../src/transcripts/sqlite-dashboard.js';
import { mountCalls } from '../../src/web/calls-routes.js';
import { mountDashboard } from '../../src/web/dashboard-routes.js';
import { timeZoneResolver } from '../../src/dashboard/time-zones.js';
import { finishApp } from '../../src/web/server.js';
import { failedFunction, seedAnalysis, seedCall } from '../support/dashboard-fixtures.js';
import { demoCallSid } from '../support/transcripts-fixtures.js';

const TOKEN = 'dashboard-test-token-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const NOW = Date.parse('2026-03-09T15:00:00Z');

describe('dashboard API', () => {
  let dir: string;
  let store: SqliteTranscriptStore;
  let server: http.Server;
  let base: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cb-dash-api-'));
    store = openSqliteStore({ dataDir: dir });
    // dental is in New York; "bookings" has no hours (TIME_ZONE: Europe/London).
    await seedCall(store, { n: 1, flow: 'dental', startedAt: Date.parse('2026-03-09T03:30:00Z'), durationMs: 60_000, from: '+15551230001' }); // Mar 8 23:30 EDT
    await seedCall(store, { n: 2, flow: 'dental', startedAt: Date.parse('2026-03-09T14:00:00Z'), durationMs: 120_000, outcome: 'transferred', from: '+15551230002' });
    await seedCall(store, { n: 3, flow: 'dental', startedAt: Date.parse('2026-03-09T14:30:00Z'), durationMs: 30_000, followUp: { level: 'amber', reasons: ['The function book failed.'] }, events: [failedFunction('book')], from: '=cmd|calc' });
    await seedCall(store, { n: 4, flow: 'bookings', startedAt: Date.parse('2026-03-09T00:30:00Z'), durationMs: 45_000 }); // Mar 9 00:30 GMT
    await seedAnalysis(store, demoCallSid(2), { intent: 'Booking', followUp: true, followUpReason: 'Wants a call back, "after 5"', summary: 'Asked for a dentist, then was transferred.' });
    await seedAnalysis(store, demoCallSid(1), { intent: 'booking' });

    const app = express();
    const flows = [{ name: 'dental', hours: { timeZone: 'America/New_York' } }, { name: 'bookings' }];
    const timeZoneOf = timeZoneResolver(() => flows, 'Europe/London');
    mountCalls(app, { store, dataDir: dir, log: silentLogger(), nodeEnv: 'test', adminToken: TOKEN, timeZoneOf });
    mountDashboard(app, { dashboard: new SqliteDashboardStore(store.database), timeZoneOf, now: () => new Date(NOW), log: silentLogger(), nodeEnv: 'test', adminToken: TOKEN, publicBaseUrl: 'https://bot.example.com' });
    finishApp(app, silentLogger());
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = AUTH) => fetch(`${base}${path}`, { headers });

  it('gives a week per flow by default, each day in the flow\'s zone', async () => {
    const res = await get('/api/dashboard');
    assert.equal(res.status, 200);
    const body = (await res.json()) as any;
    assert.equal(body.to, '2026-03-09');
    assert.equal(body.from, '2026-03-03');
    assert.deepEqual(body.knownFlows, ['bookings', 'dental']);
    const dental = body.flows.find((f: any) => f.flow === 'dental');
    assert.equal(dental.timeZone, 'America/New_York');
    assert.equal(dental.days.length, 7);
    const calls = Object.fromEntries(dental.days.map((d: any) => [d.date, d.calls]));
    assert.equal(calls['2026-03-08'], 1); // 03:30Z is 23:30 the day before in New York
    assert.equal(calls['2026-03-09'], 2);
    const mar9 = dental.days.find((d: any) => d.date === '2026-03-09');
    assert.deepEqual(mar9.topIntents, [{ name: 'booking', calls: 1 }]);
    assert.deepEqual(mar9.failedFunctions, [{ name: 'book', calls: 1 }]);
    assert.equal(mar9.transfers, 1);
    assert.equal(mar9.followUpsOpen, 2);
    assert.equal(mar9.medianDurationMs, 75_000);
    assert.equal(dental.total.calls, 3);
    assert.equal(dental.total.medianDurationMs, 60_000);
    const bookings = body.flows.find((f: any) => f.flow === 'bookings');
    assert.equal(bookings.timeZone, 'Europe/London');
    assert.equal(bookings.days.find((d: any) => d.date === '2026-03-09').calls, 1);
  });

  it('takes a range and a flow, and refuses bad ones with 400', async () => {
    const body = (await (await get('/api/dashboard?from=2026-03-08&to=2026-03-08&flow=dental')).json()) as any;
    assert.deepEqual(body.flows.map((f: any) => [f.flow, f.days.length, f.total.calls]), [['dental', 1, 1]]);
    const empty = (await (await get('/api/dashboard?from=2020-01-01&to=2020-01-02')).json()) as any;
    assert.deepEqual(empty.flows, []);
    for (const q of ['from=2026-02-30', 'from=9999-12-30&to=9999-12-31', 'to=1969-12-31', 'from=2026-03-09&to=2026-03-01', 'from=2026-01-01&to=2026-12-31', 'nope=1', 'from=2026-03-01&from=2026-03-02', `flow=${'x'.repeat(101)}`]) {
      const res = await get(`/api/dashboard?${q}`);
      assert.equal(res.status, 400, q);
      assert.match(((await res.json()) as any).message, /\w+: /, q);
    }
  });

  it('lists open follow-ups with reasons, times in the flow\'s zone and a link', async () => {
    const body = (await (await get('/api/follow-ups')).json()) as any;
    assert.equal(body.total, 2);
    assert.deepEqual(body.items.map((i: any) => i.callSid), [demoCallSid(3), demoCallSid(2)]);
    const two = body.items[1];
    assert.equal(two.analysis.followUpReason, 'Wants a call back, "after 5"');
    assert.equal(two.timeZone, 'America/New_York');
    assert.equal(two.link, `/calls/${demoCallSid(2)}`);
    assert.equal((await get('/api/follow-ups?state=maybe')).status, 400);
    assert.equal((await get('/api/follow-ups?limit=0')).status, 400);
  });

  it('exports the list as formula-safe CSV with local times', async () => {
    const res = await get('/api/follow-ups.csv');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="follow-ups-open-2026-03-09\.csv"/);
    const text = (await res.text()).replace(/^\uFEFF/, '');
    const lines = text.split('\r\n');
    assert.equal(lines[0], 'call_sid,started,time_zone,flow,caller,outcome,duration_s,level,reasons,analysis_reason,summary,intent,done_by,done_at,link');
    assert.equal(lines[1], `${demoCallSid(3)},2026-03-09 10:30,America/New_York,dental,'=cmd|calc,completed,30,amber,The function book failed.,,,,,,https://bot.example.com/calls/${demoCallSid(3)}`);
    assert.equal(lines[2], `${demoCallSid(2)},2026-03-09 10:00,America/New_York,dental,'+15551230002,transferred,120,analysis,,"Wants a call back, ""after 5""",Asked for a dentist, then was transferred.,Booking,,,https://bot.example.com/calls/${demoCallSid(2)}`.replace('Asked for a dentist, then was transferred.', '"Asked for a dentist, then was transferred."'));
    assert.equal(lines[3], '');
  });

  it('marks a follow-up done with who and when, and undoes it', async () => {
    const post = (sid: string, body: unknown) => fetch(`${base}/api/follow-ups/${sid}/done`, { method: 'POST', headers: { ...AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const res = await post(demoCallSid(3), { by: '  Maria  ' });
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as any).done, { by: 'Maria', via: 'api', client: '127.0.0.1', atMs: NOW });
    const open = (await (await get('/api/follow-ups')).json()) as any;
    assert.deepEqual(open.items.map((i: any) => i.callSid), [demoCallSid(2)]);
    const done = (await (await get('/api/follow-ups?state=done')).json()) as any;
    assert.deepEqual(done.items.map((i: any) => [i.callSid, i.done.by]), [[demoCallSid(3), 'Maria']]);
    const figures = (await (await get('/api/dashboard?from=2026-03-09&to=2026-03-09&flow=dental')).json()) as any;
    assert.equal(figures.flows[0].days[0].followUpsOpen, 1);

    const anonymous = await post(demoCallSid(2), {});
    assert.equal(((await anonymous.json()) as any).done.by, 'api');

    const undo = await fetch(`${base}/api/follow-ups/${demoCallSid(3)}/done`, { method: 'DELETE', headers: AUTH });
    assert.equal(undo.status, 200);
    assert.equal((await fetch(`${base}/api/follow-ups/${demoCallSid(3)}/done`, { method: 'DELETE', headers: AUTH })).status, 404);
    assert.equal(((await (await get('/api/follow-ups')).json()) as any).total, 1);
  });

  it('refuses bad marks: unknown call, bad sid, bad name, bad JSON', async () => {
    const post = (sid: string, body: string) => fetch(`${base}/api/follow-ups/${sid}/done`, { method: 'POST', headers: { ...AUTH, 'Content-Type': 'application/json' }, body });
    assert.equal((await post(demoCallSid(77), '{}')).status, 404);
    assert.equal((await post('CA123', '{}')).status, 400);
    assert.equal((await post(demoCallSid(1), JSON.stringify({ by: 'x'.repeat(81) }))).status, 400);
    assert.equal((await post(demoCallSid(1), JSON.stringify({ by: 'a\u0007b' }))).status, 400);
    assert.equal((await post(demoCallSid(1), JSON.stringify({ who: 'x' }))).status, 400);
    assert.equal((await post(demoCallSid(1), '{not json')).status, 400);
    assert.equal(await new SqliteDashboardStore(store.database).doneMarkOf(demoCallSid(1)), undefined);
  });

  it('is behind the admin guard', async () => {
    assert.equal((await get('/api/dashboard', {})).status, 401);
    assert.equal((await get('/api/follow-ups.csv', {})).status, 401);
    assert.equal((await get('/api/follow-ups', { Authorization: 'Bearer wrong-token-wrong-token' })).status, 401);
    const page = await fetch(`${base}/dashboard`, { redirect: 'manual' });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/calls/login?next=%2Fdashboard');
    const cross = await fetch(`${base}/api/follow-ups/${demoCallSid(1)}/done`, { method: 'POST', headers: { ...AUTH, 'Sec-Fetch-Site': 'cross-site' }, body: '{}' });
    assert.equal(cross.status, 403);
    const signedIn = await get('/dashboard');
    assert.equal(signedIn.status, 200);
    assert.match(signedIn.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  });

  it('puts each call\'s business time zone in the call list and call detail', async () => {
    const list = (await (await get('/api/calls')).json()) as any;
    const zones = Object.fromEntries(list.calls.map((c: any) => [c.callSid, c.timeZone]));
    assert.equal(zones[demoCallSid(1)], 'America/New_York');
    assert.equal(zones[demoCallSid(4)], 'Europe/London');
    const detail = (await (await get(`/api/calls/${demoCallSid(4)}`)).json()) as any;
    assert.equal(detail.timeZone, 'Europe/London');
    const text = await (await get(`/api/calls/${demoCallSid(1)}/export.txt`)).text();
    assert.match(text, /^Started: +2026-03-08 23:30 America\/New_York \(2026-03-09T03:30:00\.000Z\)$/m);
  });

  it('reads the call list\'s from/to dates as days of the flow\'s zone (else TIME_ZONE)', async () => {
    const sids = async (q: string) => ((await (await get(`/api/calls?${q}`)).json()) as any).calls.map((c: any) => c.callSid).sort();
    // Call 1 started 03:30Z on the 9th: the 8th in New York.
    assert.deepEqual(await sids('flow=dental&from=2026-03-08&to=2026-03-08'), [demoCallSid(1)]);
    assert.deepEqual(await sids('flow=dental&from=2026-03-09&to=2026-03-09'), [demoCallSid(2), demoCallSid(3)]);
    // Call 4 started 00:30Z on the 9th: the 9th in London (the default zone), not the 8th.
    assert.deepEqual(await sids('flow=bookings&from=2026-03-08&to=2026-03-08'), []);
    assert.deepEqual(await sids('from=2026-03-09&to=2026-03-09'), [1, 2, 3, 4].map(demoCallSid));
    assert.deepEqual(await sids('from=9999-12-31&to=9999-12-31'), []);
    // Instants are instants.
    assert.deepEqual(await sids(`flow=dental&from=${Date.parse('2026-03-09T03:00:00Z')}&to=${Date.parse('2026-03-09T04:00:00Z')}`), [demoCallSid(1)]);
  });
});
