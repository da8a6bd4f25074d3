/**
 * The job runner over the job queue of both backends (SQLite, PostgreSQL), with an injected clock: dispatch by kind, outcomes recorded,
 * a throwing handler retried with backoff then failed, kick(), and stop() waiting for jobs in flight.
 */
import { describe, it, beforeEach, afterEach, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Stores } from '../../src/transcripts/open-store.js';
import type { JobQueue } from '../../src/transcripts/after-call-store.js';
import { STORE_BACKENDS, stopStoreBackends } from '../support/store-backends.js';
import { JobRunner, type JobOutcome } from '../../src/aftercall/runner.js';
import type { Job } from '../../src/transcripts/after-call-store.js';
import { silentLogger } from '../../src/shared/log.js';

const T0 = Date.UTC(2026, 11, 4, 9);

after(stopStoreBackends);

for (const backend of STORE_BACKENDS) describe(`job runner on ${backend.name}`, { skip: backend.skip }, () => {
  let stores: Stores;
  let queue: JobQueue;
  let now: number;
  let runner: JobRunner;
  beforeEach(async () => {
    stores = await backend.open();
    queue = stores.jobs;
    now = T0;
    runner = new JobRunner({
      queue,
      log: silentLogger(),
      nowMs: () => now,
      pollMs: 3_600_000,
      throwBackoffMs: { baseMs: 1000, maxMs: 4000, maxAttempts: 3 },
    });
  });
  afterEach(async () => {
    await runner.stop();
    await stores.close();
  });

  const state = async (sid: string) => (await queue.jobsOf(sid)).map((j) => [j.key, j.state, j.attempts, j.lastError ?? null]);

  it('dispatches each kind to its handler and records done, retry and failed', async () => {
    const seen: string[] = [];
    const outcomes: Record<string, JobOutcome> = {
      'a:1': { kind: 'done' },
      'a:2': { kind: 'retry', atMs: T0 + 60_000, error: 'HTTP 503' },
      'n:1': { kind: 'failed', error: 'HTTP 400' },
    };
    const handle = async (job: Job): Promise<JobOutcome> => {
      seen.push(`${job.kind}:${job.key}`);
      return job.attempts > 1 ? { kind: 'done' } : outcomes[job.key]!;
    };
    runner.register('analysis', handle);
    runner.register('notify', handle);
    assert.throws(() => runner.register('notify', handle), /already registered/);
    await queue.enqueue({ kind: 'analysis', key: 'a:1', callSid: 'CA1', payload: null, runAtMs: T0 });
    await queue.enqueue({ kind: 'analysis', key: 'a:2', callSid: 'CA1', payload: null, runAtMs: T0 });
    await queue.enqueue({ kind: 'notify', key: 'n:1', callSid: 'CA1', payload: null, runAtMs: T0 });
    await queue.enqueue({ kind: 'notify', key: 'n:later', callSid: 'CA2', payload: null, runAtMs: T0 + 1 });

    assert.equal(await runner.runOnce(), 3);
    await runner.idle();
    assert.deepEqual(seen.sort(), ['analysis:a:1', 'analysis:a:2', 'notify:n:1']);
    assert.deepEqual(await state('CA1'), [
      ['a:1', 'done', 1, null],
      ['a:2', 'queued', 1, 'HTTP 503'],
      ['n:1', 'failed', 1, 'HTTP 400'],
    ]);
    // The retry comes back at its time, not before.
    now = T0 + 59_999;
    assert.equal(await runner.runOnce(), 1); // n:later only
    await runner.idle();
    now = T0 + 60_000;
    assert.equal(await runner.runOnce(), 1);
    await runner.idle();
    assert.deepEqual((await state('CA1'))[1], ['a:2', 'done', 2, 'HTTP 503']);
  });

  it('retries a throwing handler with exponential backoff, then fails it, and keeps running', async () => {
    let calls = 0;
    runner.register('analysis', async () => {
      calls++;
      throw new Error('boom');
    });
    await queue.enqueue({ kind: 'analysis', key: 'a:1', callSid: 'CA1', payload: null, runAtMs: T0 });
    const runAt = async () => (await queue.jobsOf('CA1'))[0]!.runAtMs;

    await runner.runOnce();
    await runner.idle();
    assert.equal(await runAt(), T0 + 1000);
    now = T0 + 1000;
    await runner.runOnce();
    await runner.idle();
    assert.equal(await runAt(), T0 + 1000 + 2000);
    now = T0 + 3000;
    await runner.runOnce();
    await runner.idle();
    assert.equal(calls, 3);
    assert.deepEqual(await state('CA1'), [['a:1', 'failed', 3, 'handler threw: boom']]);
  });

  it('runs no more than its concurrency at once', async () => {
    const small = new JobRunner({ queue, log: silentLogger(), nowMs: () => now, pollMs: 3_600_000, concurrency: 2 });
    const release: Array<() => void> = [];
    small.register('notify', () => new Promise<JobOutcome>((resolve) => release.push(() => resolve({ kind: 'done' }))));
    for (let i = 0; i < 3; i++) await queue.enqueue({ kind: 'notify', key: `n:${i}`, callSid: 'CA1', payload: null, runAtMs: T0 });
    assert.equal(await small.runOnce(), 2);
    assert.equal(await small.runOnce(), 0);
    assert.equal(small.busy, 2);
    release.splice(0).forEach((r) => r());
    await small.idle();
    assert.equal(await small.runOnce(), 1);
    release.splice(0).forEach((r) => r());
    await small.stop();
  });

  it('picks up a job at once after kick(), long before its poll interval', async () => {
    const handled = new Promise<string>((resolve) => {
      runner.register('analysis', async (job) => {
        resolve(job.key);
        return { kind: 'done' };
      });
    });
    runner.start();
    await runner.idle();
    await queue.enqueue({ kind: 'analysis', key: 'a:kicked', callSid: 'CA1', payload: null, runAtMs: T0 });
    runner.kick();
    assert.equal(await handled, 'a:kicked'); // the poll interval is an hour: only the kick can run it
  });

  it('stop() waits for the jobs in flight and records their outcome', async () => {
    let finish!: () => void;
    runner.register('analysis', () => new Promise<JobOutcome>((resolve) => (finish = () => resolve({ kind: 'done' }))));
    await queue.enqueue({ kind: 'analysis', key: 'a:1', callSid: 'CA1', payload: null, runAtMs: T0 });
    await runner.runOnce();
    let stopped = false;
    const stopping = runner.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false);
    finish();
    await stopping;
    assert.deepEqual(await state('CA1'), [['a:1', 'done', 1, null]]);
  });
});
