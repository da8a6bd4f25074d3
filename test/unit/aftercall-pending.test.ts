/**
 * A re-analysed call shows "pending" only while its analysis job can still settle it: when the job
 * fails without storing an answer (its handler kept throwing), startAfterCall's analysisOf reports
 * the analysis failed, not pending for ever. currentAnalysis, the rule behind it (and behind the
 * `calls analyse` report), case by case.
 */
import { describe, it, beforeEach, afterEach, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Stores } from '../../src/transcripts/open-store.js';
import type { CallAnalysis, Job, JobState } from '../../src/transcripts/after-call-store.js';
import type { TranscriptStore } from '../../src/transcripts/store.js';
import { startAfterCall, type AfterCall } from '../../src/aftercall/index.js';
import { analysisKey, currentAnalysis, pendingAnalysis } from '../../src/aftercall/analyse.js';
import { silentLogger } from '../../src/shared/log.js';
import { STORE_BACKENDS, stopStoreBackends } from '../support/store-backends.js';
import { demoCallSid, demoRecord } from '../support/transcripts-fixtures.js';

const T0 = Date.UTC(2026, 11, 4, 9);
const SID = demoCallSid(1);

after(stopStoreBackends);

for (const backend of STORE_BACKENDS) describe(`a pending analysis on ${backend.name}`, { skip: backend.skip }, () => {
  let stores: Stores;
  let afterCall: AfterCall;
  let now: number;
  beforeEach(async () => {
    stores = await backend.open();
    now = T0;
    await stores.transcripts.writeBatch({ records: [demoRecord({ callSid: SID, outcome: 'completed', startedAt: T0 - 60_000, endedAt: T0 })], events: [] });
    // Every run of the analysis throws before it can store an answer.
    const broken = { getCall: async () => { throw new Error('disk on fire'); }, getEvents: async () => [] } as unknown as TranscriptStore;
    afterCall = startAfterCall({
      store: broken, queue: stores.jobs, analyses: stores.analyses, flows: () => [],
      gemini: { baseUrl: 'http://127.0.0.1:9', apiKey: 'k', model: 'gemini-test' }, log: silentLogger(), nowMs: () => now, pollMs: 3_600_000,
    });
  });
  afterEach(async () => {
    await afterCall.stop();
    await stores.close();
  });

  const jobState = async () => (await stores.jobs.jobsOf(SID)).find((j) => j.key === analysisKey(SID))?.state;

  it('is reported failed once its job fails without an answer', async () => {
    await afterCall.reanalyse(SID);
    assert.equal((await afterCall.analysisOf(SID))?.status, 'pending');
    for (let round = 0; round < 20 && (await jobState()) !== 'failed'; round++) {
      now += 3_600_000; // past any backoff of a throwing handler
      await afterCall.runner.runOnce();
      await afterCall.runner.idle();
    }
    assert.equal(await jobState(), 'failed');
    assert.equal((await stores.analyses.getAnalysis(SID))?.status, 'pending', 'nothing settled it in the store');
    const shown = await afterCall.analysisOf(SID);
    assert.equal(shown?.status, 'failed');
    assert.equal(shown?.model, 'gemini-test');
    assert.match(shown?.error ?? '', /ended without an answer: handler threw: disk on fire/);
  });
});

describe('currentAnalysis', () => {
  const job = (state: JobState, lastError?: string): Job & { state: JobState } => ({
    id: 1, kind: 'analysis', key: analysisKey(SID), callSid: SID, payload: null, attempts: 1, runAtMs: T0, createdAtMs: T0 - 5, state,
    ...(lastError ? { lastError } : {}),
  });
  const pending = pendingAnalysis('m', T0);
  const ok: CallAnalysis = { ...pending, status: 'ok', summary: 'Booked.' };

  it('shows a settled analysis as stored, whatever the job', () => {
    assert.equal(currentAnalysis(ok, job('failed', 'x'), 'm2'), ok);
    assert.equal(currentAnalysis(ok, undefined, 'm2'), ok);
  });
  it('is pending while the job is queued or running', () => {
    assert.equal(currentAnalysis(pending, job('queued'), 'm2'), pending);
    assert.equal(currentAnalysis(pending, job('running'), 'm2'), pending);
    assert.deepEqual(currentAnalysis(undefined, job('queued'), 'm2'), pendingAnalysis('m2', T0 - 5));
  });
  it('turns a pending row into failed when the job ended without an answer', () => {
    const failed = currentAnalysis(pending, job('failed', 'handler threw: boom'), 'm2');
    assert.deepEqual([failed?.status, failed?.model, failed?.analysedAtMs, failed?.error], ['failed', 'm', T0, 'the analysis job ended without an answer: handler threw: boom']);
    assert.equal(currentAnalysis(pending, job('done'), 'm2')?.status, 'failed');
    assert.equal(currentAnalysis(pending, undefined, 'm2')?.status, 'failed');
  });
  it('is none with no row and no live job', () => {
    assert.equal(currentAnalysis(undefined, job('done'), 'm2'), undefined);
    assert.equal(currentAnalysis(undefined, job('failed'), 'm2'), undefined);
    assert.equal(currentAnalysis(undefined, undefined, 'm2'), undefined);
  });
});
