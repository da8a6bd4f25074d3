/**
 * The dashboard's SQL (sqlite-dashboard.ts, pg-dashboard.ts) on both backends: figures per
 * local day across a DST change, the median, top intents, failed functions, transfers, the
 * follow-up list (record flag or analysis) and done marks.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DashboardStore, TranscriptStore } from '../../src/transcripts/index.js';
import type { Stores } from '../../src/transcripts/open-store.js';
import { STORE_BACKENDS, stopStoreBackends } from '../support/store-backends.js';
import { ZoneCalendar } from '../../src/dashboard/days.js';
import { failedFunction, seedAnalysis, seedCall } from '../support/dashboard-fixtures.js';
import { demoCallSid } from '../support/transcripts-fixtures.js';

const AMBER = { level: 'amber' as const, reasons: ['The function book failed.'] };

after(stopStoreBackends);

for (const backend of STORE_BACKENDS) describe(`${backend.name} dashboard store`, { skip: backend.skip }, () => {
  let stores: Stores;
  let store: TranscriptStore;
  let dash: DashboardStore;
  const ny = new ZoneCalendar('America/New_York');

  before(async () => {
    stores = await backend.open();
    store = stores.transcripts;
    dash = stores.dashboard;
    // Around the spring change (2026-03-08, a 23-hour day in New York).
    await seedCall(store, { n: 1, flow: 'dental', startedAt: Date.parse('2026-03-08T04:59:59Z'), durationMs: 10_000 }); // Mar 7 23:59:59 EST
    await seedCall(store, { n: 2, flow: 'dental', startedAt: Date.parse('2026-03-08T05:00:00Z'), durationMs: 30_000, outcome: 'transferred' }); // Mar 8 00:00 EST
    await seedCall(store, { n: 3, flow: 'dental', startedAt: Date.parse('2026-03-08T15:00:00Z'), durationMs: 20_000, followUp: AMBER, events: [failedFunction('book'), failedFunction('book', 'timeout'), failedFunction('lookup', 'rejected')] });
    await seedCall(store, { n: 4, flow: 'dental', startedAt: Date.parse('2026-03-09T03:59:00Z'), durationMs: 90_000, outcome: 'caller_hung_up' }); // Mar 8 23:59 EDT
    await seedCall(store, { n: 5, flow: 'dental', startedAt: Date.parse('2026-03-09T04:00:00Z'), durationMs: 40_000 }); // Mar 9 00:00 EDT
    await seedCall(store, { n: 6, flow: 'dental', startedAt: Date.parse('2026-03-08T16:00:00Z'), outcome: 'failed' }); // no duration
    await seedCall(store, { n: 7, flow: 'other', startedAt: Date.parse('2026-03-08T16:00:00Z'), durationMs: 5_000 });
    await seedCall(store, { n: 8, flow: undefined, startedAt: Date.parse('2026-03-08T16:00:00Z') });
    await seedAnalysis(stores.analyses, demoCallSid(2), { intent: 'Booking ', followUp: false });
    await seedAnalysis(stores.analyses, demoCallSid(4), { intent: 'booking', followUp: true, followUpReason: 'Wants a call back on Monday', summary: 'Asked to move a booking.' });
    await seedAnalysis(stores.analyses, demoCallSid(3), { intent: 'billing', followUp: true, followUpReason: 'Charged twice' });
    await seedAnalysis(stores.analyses, demoCallSid(6), { status: 'failed', intent: 'ignored', followUp: true });
  });

  after(() => stores.close());

  it('counts each call in its local day across the DST change', async () => {
    const days = ny.days('2026-03-07', '2026-03-09');
    const figures = await dash.figures({ flow: 'dental', windows: days.map((d) => ({ key: d.date, startMs: d.startMs, endMs: d.endMs })) });
    assert.deepEqual(figures.map((f) => [f.key, f.calls]), [['2026-03-07', 1], ['2026-03-08', 4], ['2026-03-09', 1]]);
    const mar8 = figures[1]!;
    assert.deepEqual(mar8.outcomes, { transferred: 1, completed: 1, caller_hung_up: 1, failed: 1 });
    assert.equal(mar8.transfers, 1);
    // Durations 30, 20, 90 s (call 6 has none): the median is 30 s.
    assert.equal(mar8.medianDurationMs, 30_000);
    // Intents of ok analyses only, trimmed and lower-cased; the failed analysis does not count.
    assert.deepEqual(mar8.topIntents, [{ name: 'booking', calls: 2 }, { name: 'billing', calls: 1 }]);
    assert.equal(mar8.analysed, 3);
    assert.deepEqual(mar8.failedFunctions, [{ name: 'book', calls: 2 }, { name: 'lookup', calls: 1 }]);
    // Call 3 (record flag and analysis), call 4 (analysis); not call 6 (its analysis failed).
    assert.equal(mar8.followUps, 2);
    assert.equal(mar8.followUpsOpen, 2);
  });

  it('takes the mean of the middle two for an even count, and null without durations', async () => {
    const all = await dash.figures({ flow: 'dental', windows: [{ key: 'total', startMs: 0, endMs: Date.parse('2027-01-01T00:00:00Z') }] });
    // 10, 20, 30, 40, 90 s → 30 s; adding none changes nothing (call 6 has no duration).
    assert.equal(all[0]!.medianDurationMs, 30_000);
    const even = await dash.figures({ flow: 'dental', windows: [{ key: 'x', startMs: Date.parse('2026-03-08T05:00:00Z'), endMs: Date.parse('2026-03-09T03:58:00Z') }] });
    assert.equal(even[0]!.medianDurationMs, 25_000); // 20 and 30 s (call 4 starts after the end)
    const none = await dash.figures({ flow: null, windows: [{ key: 'x', startMs: 0, endMs: Date.parse('2027-01-01T00:00:00Z') }] });
    assert.equal(none[0]!.calls, 1);
    assert.equal(none[0]!.medianDurationMs, null);
  });

  it('gives the median of a flow over a range', async () => {
    assert.equal(await dash.medianDurationMs('dental', 0, Date.parse('2027-01-01T00:00:00Z')), 30_000);
    assert.equal(await dash.medianDurationMs('dental', Date.parse('2026-03-08T05:00:00Z'), Date.parse('2026-03-09T03:58:00Z')), 25_000);
    assert.equal(await dash.medianDurationMs(null, 0, Date.parse('2027-01-01T00:00:00Z')), null);
    assert.equal(await dash.medianDurationMs('nope', 0, 1), null);
  });

  it('keeps windows with no calls, with zero figures', async () => {
    const figures = await dash.figures({ flow: 'dental', windows: [{ key: '2020-01-01', startMs: 0, endMs: 1000 }] });
    assert.deepEqual(figures, [{ key: '2020-01-01', calls: 0, outcomes: {}, followUpsOpen: 0, followUps: 0, medianDurationMs: null, topIntents: [], analysed: 0, failedFunctions: [], transfers: 0 }]);
  });

  it('lists open follow-ups with their reasons, and moves a call to done and back', async () => {
    const open = await dash.followUps({ state: 'open', limit: 50 });
    assert.deepEqual(open.items.map((i) => i.callSid), [demoCallSid(4), demoCallSid(3)]);
    assert.equal(open.total, 2);
    const four = open.items[0]!;
    assert.equal(four.followUp, null);
    assert.deepEqual(four.analysis, { followUp: true, followUpReason: 'Wants a call back on Monday', summary: 'Asked to move a booking.', intent: 'booking' });
    assert.deepEqual(open.items[1]!.followUp, AMBER);

    assert.equal(await dash.markDone(demoCallSid(4), { by: 'Maria', via: 'admin', client: '127.0.0.1', atMs: 1234 }), true);
    assert.deepEqual(await dash.doneMarkOf(demoCallSid(4)), { by: 'Maria', via: 'admin', client: '127.0.0.1', atMs: 1234 });
    assert.deepEqual((await dash.followUps({ state: 'open', limit: 50 })).items.map((i) => i.callSid), [demoCallSid(3)]);
    const done = await dash.followUps({ state: 'done', limit: 50 });
    assert.deepEqual(done.items.map((i) => [i.callSid, i.done?.by]), [[demoCallSid(4), 'Maria']]);
    const [mar8] = await dash.figures({ flow: 'dental', windows: [{ key: 'd', startMs: Date.parse('2026-03-08T05:00:00Z'), endMs: Date.parse('2026-03-09T04:00:00Z') }] });
    assert.equal(mar8!.followUpsOpen, 1);
    assert.equal(mar8!.followUps, 2);

    assert.equal(await dash.undoDone(demoCallSid(4)), true);
    assert.equal(await dash.undoDone(demoCallSid(4)), false);
    assert.equal((await dash.followUps({ state: 'open', limit: 50 })).total, 2);
  });

  it('refuses a mark for an unknown call, filters by flow and time, and forgets marks with the call', async () => {
    assert.equal(await dash.markDone(demoCallSid(99), { by: 'x', via: 'admin', client: 'c', atMs: 1 }), false);
    assert.equal((await dash.followUps({ state: 'all', flow: 'other', limit: 50 })).total, 0);
    const late = await dash.followUps({ state: 'all', fromMs: Date.parse('2026-03-08T20:00:00Z'), limit: 50 });
    assert.deepEqual(late.items.map((i) => i.callSid), [demoCallSid(4)]);
    assert.equal((await dash.followUps({ state: 'all', limit: 1 })).items.length, 1);

    await dash.markDone(demoCallSid(3), { by: 'admin', via: 'admin', client: 'c', atMs: 1 });
    await store.deleteCallsStartedBefore(Date.parse('2026-03-08T15:30:00Z'), { flow: 'dental' }, 100);
    assert.equal(await dash.doneMarkOf(demoCallSid(3)), undefined, 'the mark went with the call');
    assert.deepEqual(await dash.flowsWithCalls(), ['dental', 'other', null]);
  });
});
