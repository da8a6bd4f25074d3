import { describe, it, beforeEach, afterEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TranscriptStore } from '../../src/transcripts/store.js';
import type { Stores } from '../../src/transcripts/open-store.js';
import { STORE_BACKENDS, stopStoreBackends } from '../support/store-backends.js';
import { createTranscriptWriter } from '../../src/transcripts/writer.js';
import { applyRetention, startRetentionJob } from '../../src/transcripts/retention.js';
import { recordingRelativePath } from '../../src/transcripts/recording.js';
import { demoCallSid, seedDemoCall } from '../support/transcripts-fixtures.js';

const DAY = 24 * 3600 * 1000;
const NOW = Date.UTC(2025, 6, 1, 12);

after(stopStoreBackends);

for (const backend of STORE_BACKENDS) describe(`retention on ${backend.name}`, { skip: backend.skip }, () => {
  let dir: string;
  let stores: Stores;
  let store: TranscriptStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cb-retention-'));
    stores = await backend.open();
    store = stores.transcripts;
    const writer = createTranscriptWriter({ store });
    mkdirSync(join(dir, 'recordings'));
    // [n, flow, age in days]
    const calls: [number, string | undefined, number][] = [
      [1, 'bookings', 31], [2, 'bookings', 29], [3, 'support', 8], [4, 'support', 6],
      [5, undefined, 100], [6, 'other', 100], [7, 'other', 89], [8, 'bookings', 400],
    ];
    for (const [n, flow, ageDays] of calls) {
      const callSid = demoCallSid(n);
      const recordingPath = recordingRelativePath(callSid);
      writeFileSync(join(dir, recordingPath), 'RIFF');
      seedDemoCall(writer, { callSid, startedAt: NOW - ageDays * DAY, recordingPath, ...(flow === undefined ? { flow: undefined } : { flow }) });
    }
    await writer.close();
  });
  afterEach(async () => {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const remaining = async () => (await store.listCalls({ limit: 100 })).calls.map((c) => c.record.callSid).sort();

  it('deletes calls, events and recordings older than their flow’s retention, keeps the rest', async () => {
    const result = await applyRetention({
      store, dataDir: dir, now: () => NOW, batchSize: 2,
      policy: { flows: { bookings: 30, support: 7 }, defaultDays: 90 },
    });
    assert.deepEqual(result, { deletedCalls: 5, deletedRecordings: 5 });
    assert.deepEqual(await remaining(), [2, 4, 7].map(demoCallSid));
    for (const n of [1, 3, 5, 6, 8]) {
      assert.equal(existsSync(join(dir, recordingRelativePath(demoCallSid(n)))), false, `recording ${n} deleted`);
      assert.deepEqual(await store.getEvents(demoCallSid(n)), [], `events ${n} deleted`);
    }
    for (const n of [2, 4, 7]) assert.equal(existsSync(join(dir, recordingRelativePath(demoCallSid(n)))), true);
    const search = await store.listCalls({ q: 'Trattoria', limit: 100 });
    assert.equal(search.total, 3, 'the full-text index forgot the deleted calls');
  });

  it('keeps calls of flows without a retention when there is no default', async () => {
    await applyRetention({ store, dataDir: dir, now: () => NOW, policy: { flows: { support: 7 } } });
    assert.deepEqual(await remaining(), [1, 2, 4, 5, 6, 7, 8].map(demoCallSid));
  });

  it('runs periodically via a job that can be stopped', async () => {
    const job = startRetentionJob({
      store, dataDir: dir, now: () => NOW, firstRunDelayMs: 60_000, intervalMs: 60_000,
      policy: () => ({ flows: {}, defaultDays: 30 }),
    });
    try {
      const [a, b] = await Promise.all([job.runOnce(), job.runOnce()]);
      assert.equal(a.deletedCalls, 5);
      assert.equal(b.deletedCalls, 0, 'runs do not overlap; the second finds nothing left');
    } finally {
      job.stop();
    }
    assert.deepEqual(await remaining(), [2, 3, 4].map(demoCallSid));
  });
});
