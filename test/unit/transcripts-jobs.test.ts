/**
 * The durable job queue and analysis store on both backends (SQLite migration 3, PostgreSQL
 * migration 1): idempotent enqueue by key, leases, due times, expired leases, requeue, survival
 * across a close and reopen, and (PostgreSQL) concurrent claims from two instances.
 */
import { describe, it, beforeEach, afterEach, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AnalysisStore, CallAnalysis, JobQueue } from '../../src/transcripts/after-call-store.js';
import type { TranscriptStore } from '../../src/transcripts/store.js';
import type { Stores } from '../../src/transcripts/open-store.js';
import { STORE_BACKENDS, stopStoreBackends } from '../support/store-backends.js';
import { demoRecord } from '../support/transcripts-fixtures.js';

const T0 = Date.UTC(2026, 11, 4, 9);

function analysis(over: Partial<CallAnalysis> = {}): CallAnalysis {
  return {
    status: 'ok', summary: 'The caller booked a cleaning.', intent: 'booking', resolved: true, followUp: false,
    followUpReason: null, sentiment: 'positive', fields: { reason: 'booking', callback_number: null },
    model: 'gemini-3.8-flash', promptVersion: 'v1', analysedAtMs: T0, ...over,
  };
}

after(stopStoreBackends);

for (const backend of STORE_BACKENDS) describe(`${backend.name} job queue`, { skip: backend.skip }, () => {
  let stores: Stores;
  let queue: JobQueue;
  beforeEach(async () => {
    stores = await backend.open();
    queue = stores.jobs;
  });
  afterEach(() => stores.close());

  it('enqueues once per key', async () => {
    assert.equal(await queue.enqueue({ kind: 'analysis', key: 'analysis:CA1', callSid: 'CA1', payload: { a: 1 }, runAtMs: T0 }), true);
    assert.equal(await queue.enqueue({ kind: 'analysis', key: 'analysis:CA1', callSid: 'CA1', payload: { a: 2 }, runAtMs: T0 }), false);
    const jobs = await queue.jobsOf('CA1');
    assert.equal(jobs.length, 1);
    assert.deepEqual(jobs[0]!.payload, { a: 1 });
    assert.equal(jobs[0]!.state, 'queued');
    assert.equal(jobs[0]!.attempts, 0);
  });

  it('claims only due jobs of the asked kinds, leases them and counts the attempt', async () => {
    await queue.enqueue({ kind: 'analysis', key: 'a:1', callSid: 'CA1', payload: null, runAtMs: T0 });
    await queue.enqueue({ kind: 'analysis', key: 'a:2', callSid: 'CA2', payload: null, runAtMs: T0 + 5000 });
    await queue.enqueue({ kind: 'notify', key: 'n:1', callSid: 'CA1', payload: null, runAtMs: T0 });

    const first = await queue.claim(['analysis'], T0, 10, 60_000);
    assert.deepEqual(first.map((j) => j.key), ['a:1']);
    assert.equal(first[0]!.attempts, 1);
    // Leased: not claimable again while the lease holds, even when other jobs come due.
    const second = await queue.claim(['analysis'], T0 + 5000, 10, 60_000);
    assert.deepEqual(second.map((j) => j.key), ['a:2']);
    assert.deepEqual(await queue.claim(['analysis'], T0 + 59_999, 10, 60_000), []);
    assert.deepEqual((await queue.claim(['notify'], T0, 10, 60_000)).map((j) => j.key), ['n:1']);
    assert.equal((await queue.jobsOf('CA1')).find((j) => j.key === 'a:1')!.state, 'running');
  });

  it('respects the limit and orders by due time', async () => {
    for (let i = 0; i < 5; i++) {
      await queue.enqueue({ kind: 'notify', key: `n:${i}`, callSid: 'CA1', payload: i, runAtMs: T0 + (5 - i) });
    }
    const jobs = await queue.claim(['notify'], T0 + 10, 2, 1000);
    assert.deepEqual(jobs.map((j) => j.payload), [4, 3]);
  });

  it('re-claims a job whose lease expired (the worker died), counting a second attempt', async () => {
    await queue.enqueue({ kind: 'analysis', key: 'a:1', callSid: 'CA1', payload: null, runAtMs: T0 });
    await queue.claim(['analysis'], T0, 1, 1000);
    const again = await queue.claim(['analysis'], T0 + 1000, 1, 1000);
    assert.equal(again.length, 1);
    assert.equal(again[0]!.attempts, 2);
  });

  it('completes, retries later and fails', async () => {
    await queue.enqueue({ kind: 'analysis', key: 'a:1', callSid: 'CA1', payload: null, runAtMs: T0 });
    await queue.enqueue({ kind: 'analysis', key: 'a:2', callSid: 'CA1', payload: null, runAtMs: T0 });
    await queue.enqueue({ kind: 'analysis', key: 'a:3', callSid: 'CA1', payload: null, runAtMs: T0 });
    const [j1, j2, j3] = await queue.claim(['analysis'], T0, 3, 1000);
    await queue.complete(j1!.id, T0 + 1);
    await queue.retryAt(j2!.id, T0 + 30_000, 'HTTP 503', T0 + 1);
    await queue.fail(j3!.id, 'HTTP 400', T0 + 1);
    // Done and failed jobs never come back, even long after their lease; the retry comes back when due.
    assert.deepEqual(await queue.claim(['analysis'], T0 + 29_999, 10, 1000), []);
    const retried = await queue.claim(['analysis'], T0 + 30_000, 10, 1000);
    assert.deepEqual(retried.map((j) => [j.key, j.attempts, j.lastError]), [['a:2', 2, 'HTTP 503']]);
    const states = Object.fromEntries((await queue.jobsOf('CA1')).map((j) => [j.key, j.state]));
    assert.deepEqual(states, { 'a:1': 'done', 'a:2': 'running', 'a:3': 'failed' });
  });

  it('requeues a finished job by key with a fresh attempt count', async () => {
    await queue.enqueue({ kind: 'notify', key: 'msg_1', callSid: 'CA1', payload: null, runAtMs: T0 });
    const [job] = await queue.claim(['notify'], T0, 1, 1000);
    await queue.fail(job!.id, 'gave up', T0);
    assert.equal(await queue.requeue('msg_1', T0 + 10, T0 + 5), true);
    assert.equal(await queue.requeue('msg_missing', T0 + 10, T0 + 5), false);
    assert.deepEqual(await queue.claim(['notify'], T0 + 9, 1, 1000), []);
    const [again] = await queue.claim(['notify'], T0 + 10, 1, 1000);
    assert.equal(again!.attempts, 1);
    assert.equal(again!.lastError, undefined);
  });

  it('reports the next wake-up time', async () => {
    assert.equal(await queue.nextRunAt!(['analysis']), undefined);
    await queue.enqueue({ kind: 'analysis', key: 'a:1', callSid: 'CA1', payload: null, runAtMs: T0 + 700 });
    await queue.enqueue({ kind: 'notify', key: 'n:1', callSid: 'CA1', payload: null, runAtMs: T0 + 100 });
    assert.equal(await queue.nextRunAt!(['analysis']), T0 + 700);
    assert.equal(await queue.nextRunAt!(['analysis', 'notify']), T0 + 100);
  });

  it('keeps queued and leased jobs across a close and reopen of the database file', async () => {
    await queue.enqueue({ kind: 'analysis', key: 'a:1', callSid: 'CA1', payload: { flow: 'dental' }, runAtMs: T0 });
    await queue.enqueue({ kind: 'analysis', key: 'a:2', callSid: 'CA2', payload: null, runAtMs: T0 });
    await queue.claim(['analysis'], T0, 1, 1000); // a:1 leased, then the process "dies"
    await stores.close();

    stores = await backend.reopen();
    queue = stores.jobs;
    assert.deepEqual(stores.appliedMigrations, []);
    const after = await queue.claim(['analysis'], T0 + 1000, 10, 1000);
    assert.deepEqual(after.map((j) => [j.key, j.attempts]), [['a:1', 2], ['a:2', 1]]);
    assert.deepEqual(after[0]!.payload, { flow: 'dental' });
  });
});

for (const backend of STORE_BACKENDS) describe(`${backend.name} analysis store`, { skip: backend.skip }, () => {
  let stores: Stores;
  let store: TranscriptStore;
  let analyses: AnalysisStore;
  beforeEach(async () => {
    stores = await backend.open();
    store = stores.transcripts;
    analyses = stores.analyses;
  });
  afterEach(() => stores.close());

  it('stores, replaces and reads analyses, one or many', async () => {
    assert.equal(await analyses.getAnalysis('CA1'), undefined);
    await analyses.putAnalysis('CA1', analysis({ status: 'pending' }), T0);
    await analyses.putAnalysis('CA1', analysis({ followUp: true, followUpReason: 'wants a call back' }), T0 + 1);
    await analyses.putAnalysis('CA2', analysis({ status: 'skipped', summary: '' }), T0 + 1);
    const one = await analyses.getAnalysis('CA1');
    assert.equal(one?.followUpReason, 'wants a call back');
    assert.deepEqual(one?.fields, { reason: 'booking', callback_number: null });
    const many = await analyses.analysesOf(['CA1', 'CA2', 'CA3']);
    assert.deepEqual([...many.keys()].sort(), ['CA1', 'CA2']);
    assert.equal(many.get('CA2')?.status, 'skipped');
    assert.equal((await analyses.analysesOf([])).size, 0);
  });

  it('lists calls with their analysis, filters followUp=true (rules or analysis) and by field values', async () => {
    await store.writeBatch({
      records: [
        demoRecord({ callSid: 'CAa', startedAt: T0, outcome: 'completed' }),
        demoRecord({ callSid: 'CAb', startedAt: T0 + 1, outcome: 'completed', followUp: { level: 'amber', reasons: ['x'] } }),
        demoRecord({ callSid: 'CAc', startedAt: T0 + 2, outcome: 'completed' }),
        demoRecord({ callSid: 'CAd', startedAt: T0 + 3, outcome: 'completed' }),
      ],
      events: [],
    });
    await analyses.putAnalysis('CAa', analysis({ followUp: true, fields: { reason: 'billing', party: 4, booked: true, cb: null } }), T0);
    await analyses.putAnalysis('CAc', analysis({ fields: { reason: 'booking', party: 2, booked: false, cb: '+1555' } }), T0);
    await analyses.putAnalysis('CAd', analysis({ status: 'failed', followUp: true, fields: { reason: 'billing' } }), T0);
    const sids = async (q: Parameters<typeof store.listCalls>[0]) => (await store.listCalls(q)).calls.map((c) => c.record.callSid).sort();
    assert.deepEqual(await sids({ limit: 10, followUp: 'true' }), ['CAa', 'CAb']);
    assert.deepEqual(await sids({ limit: 10, followUp: 'any' }), ['CAb']);
    assert.deepEqual(await sids({ limit: 10, fields: { reason: 'Billing' } }), ['CAa']); // failed analyses never match
    assert.deepEqual(await sids({ limit: 10, fields: { party: '4' } }), ['CAa']);
    assert.deepEqual(await sids({ limit: 10, fields: { booked: 'false' } }), ['CAc']);
    assert.deepEqual(await sids({ limit: 10, fields: { cb: 'null' } }), ['CAa']);
    assert.deepEqual(await sids({ limit: 10, fields: { reason: 'booking', party: '2' } }), ['CAc']);
    assert.deepEqual(await sids({ limit: 10, fields: { party: 'x' } }), []);
    assert.equal((await store.listCalls({ limit: 10, followUp: 'true', fields: { reason: 'billing' } })).total, 1);
    const page = await store.listCalls({ limit: 10 });
    assert.equal(page.calls.find((c) => c.record.callSid === 'CAa')?.analysis?.summary, 'The caller booked a cleaning.');
    assert.equal(page.calls.find((c) => c.record.callSid === 'CAb')?.analysis, undefined);
    await assert.rejects(store.listCalls({ limit: 10, fields: { "x') OR 1=1 --": 'a' } }), /not a field name/);
  });

  it('retention deletes the analysis and jobs of a deleted call', async () => {
    const queue = stores.jobs;
    await store.writeBatch({ records: [demoRecord({ callSid: 'CAold', startedAt: T0, outcome: 'completed' }), demoRecord({ callSid: 'CAnew', startedAt: T0 + 10, outcome: 'completed' })], events: [] });
    await analyses.putAnalysis('CAold', analysis(), T0);
    await analyses.putAnalysis('CAnew', analysis(), T0);
    const deleted = await store.deleteCallsStartedBefore(T0 + 5, { exceptFlows: [] }, 10);
    assert.deepEqual(deleted.map((d) => d.callSid), ['CAold']);
    assert.equal(await analyses.getAnalysis('CAold'), undefined);
    assert.deepEqual(await queue.jobsOf('CAold'), []);
    assert.equal((await analyses.getAnalysis('CAnew'))?.status, 'ok');
    assert.equal((await queue.jobsOf('CAnew')).length, 1);
  });
});
