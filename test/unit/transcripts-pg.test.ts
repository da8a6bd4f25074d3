/**
 * What only the PostgreSQL store has to show (the shared behaviour runs on both backends in
 * transcripts-store/-jobs and dashboard-store tests): migrations taken once when instances start
 * together, refusing a newer schema, the read-only open of tools, two instances claiming from one
 * job queue without taking a job twice, and openStore choosing the backend by DATABASE_URL.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgresStores, openStore, isPostgresUrl } from '../../src/transcripts/open-store.js';
import { PG_SCHEMA_VERSION } from '../../src/transcripts/pg-migrations.js';
import { StoreOpenError } from '../../src/transcripts/sqlite-store.js';
import { redactDatabaseUrl } from '../../src/transcripts/pg-pool.js';
import { CallbridgeError } from '../../src/shared/errors.js';
import { STORE_BACKENDS, freshPostgresUrl, stopStoreBackends } from '../support/store-backends.js';
import { demoCallSid, demoRecord, seedDemoCall, DEMO_EVENTS } from '../support/transcripts-fixtures.js';
import { startPostgres } from '../support/postgres.js';
import { createTranscriptWriter } from '../../src/transcripts/writer.js';

const skip = STORE_BACKENDS.find((b) => b.name === 'postgres')!.skip;

after(stopStoreBackends);

async function sql<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe('PostgreSQL store: schema', { skip }, () => {
  it('migrates once when three instances open an empty database at the same time', async () => {
    const url = await freshPostgresUrl();
    const opened = await Promise.all([openPostgresStores(url), openPostgresStores(url), openPostgresStores(url)]);
    const applied = opened.map((s) => s.appliedMigrations);
    assert.equal(applied.filter((a) => a.length > 0).length, 1, `one instance migrated: ${JSON.stringify(applied)}`);
    assert.deepEqual(applied.find((a) => a.length > 0), Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1));
    await Promise.all(opened.map((s) => s.close()));
    const again = await openPostgresStores(url);
    assert.deepEqual(again.appliedMigrations, []);
    await again.close();
    const versions = await sql<{ version: number }>(url, 'SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(versions.map((v) => v.version), Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('refuses a database newer than the code, and a tool refuses one not yet migrated', async () => {
    const url = await freshPostgresUrl();
    await assert.rejects(openPostgresStores(url, { readOnly: true }), (e: unknown) => e instanceof StoreOpenError && e.reason === 'outdated');
    await (await openPostgresStores(url)).close();
    const ro = await openPostgresStores(url, { readOnly: true });
    await ro.close();
    await sql(url, 'INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)', [PG_SCHEMA_VERSION + 1]);
    await assert.rejects(openPostgresStores(url), /newer than this callbridge/);
  });

  it('reports a database it cannot reach as a configuration error naming it without its password', async () => {
    await assert.rejects(openPostgresStores('postgres://nobody:hunter22@127.0.0.1:1/none'), (e: unknown) => {
      assert.ok(e instanceof CallbridgeError && e.code === 'CB_CONFIG_INVALID', String(e));
      assert.match(e.message, /postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none \(DATABASE_URL\) cannot be opened: .*ECONNREFUSED/);
      assert.doesNotMatch(e.message, /hunter22/);
      return true;
    });
  });
});

describe('PostgreSQL store: two instances on one database', { skip }, () => {
  it('never hands the same job to both when they claim at the same time', async () => {
    const url = await freshPostgresUrl();
    const a = await openPostgresStores(url);
    const b = await openPostgresStores(url);
    const T0 = 1_000_000;
    for (let i = 0; i < 60; i++) await a.jobs.enqueue({ kind: 'analysis', key: `a:${i}`, callSid: `CA${i}`, payload: null, runAtMs: T0 });
    const taken: string[] = [];
    const drain = async (q: typeof a.jobs): Promise<void> => {
      for (;;) {
        const jobs = await q.claim(['analysis'], T0, 4, 60_000);
        if (jobs.length === 0) return;
        taken.push(...jobs.map((j) => j.key));
      }
    };
    await Promise.all([drain(a.jobs), drain(b.jobs), drain(a.jobs), drain(b.jobs)]);
    assert.equal(taken.length, 60);
    assert.equal(new Set(taken).size, 60, 'no job claimed twice');
    await a.close();
    await b.close();
  });

  it("shows one instance's calls in the other's list, and a final record queues one analysis", async () => {
    const url = await freshPostgresUrl();
    const a = await openPostgresStores(url);
    const b = await openPostgresStores(url);
    const record = demoRecord({ callSid: 'CAshared', outcome: 'completed' });
    await a.transcripts.writeBatch({ records: [record, record], events: [{ callSid: 'CAshared', seq: 1, atMs: 5, kind: 'caller_utterance', bodyJson: '{"kind":"caller_utterance","text":"hello there"}', text: 'hello there' }] });
    await b.transcripts.writeBatch({ records: [record], events: [] }); // the same final state again: still one job
    const listed = await b.transcripts.listCalls({ limit: 10, q: 'hell' });
    assert.deepEqual(listed.calls.map((c) => [c.record.callSid, c.preview]), [['CAshared', 'hello there']]);
    assert.deepEqual((await b.jobs.jobsOf('CAshared')).map((j) => j.key), ['analysis:CAshared']);
    await a.close();
    await b.close();
  });
});

describe('PostgreSQL store: the database goes down mid-call', { skip }, () => {
  it('keeps the writer\'s batches while it is down, the process up, and stores them all once it is back', async () => {
    const SID = demoCallSid(77);
    const server = await startPostgres();
    if ('skip' in server) return;
    const stores = await openPostgresStores(await server.freshDatabase());
    const writer = createTranscriptWriter({ store: stores.transcripts, flushIntervalMs: 10, retryDelayMs: 20, maxRetryDelayMs: 100 });
    try {
      const { log } = seedDemoCall(writer, { callSid: SID, open: true });
      await writer.flush();
      const before = (await stores.transcripts.getEvents(SID)).length;
      await server.kill();
      log.event({ kind: 'caller_utterance', text: 'said while the database was down' }, 40_000);
      log.close({ outcome: 'completed', endedAt: Date.UTC(2025, 5, 10, 18, 5) });
      await assert.rejects(writer.flush(), (e: unknown) => e instanceof CallbridgeError && e.code === 'CB_STORE_WRITE_FAILED');
      await server.restart();
      await writer.close(); // retries until the batch is written
      const events = await stores.transcripts.getEvents(SID);
      assert.equal(events.length, before + 1);
      const last = events.at(-1);
      assert.equal(last?.kind === 'caller_utterance' ? last.text : undefined, 'said while the database was down');
      assert.equal((await stores.transcripts.getCall(SID))?.outcome, 'completed');
      assert.deepEqual((await stores.jobs.jobsOf(SID)).map((j) => j.key), [`analysis:${SID}`]);
      assert.ok(before >= DEMO_EVENTS.length);
    } finally {
      await stores.close();
      await server.stop();
    }
  });
});

describe('openStore', () => {
  it('chooses PostgreSQL only for a postgres:// URL, and never logs its password', async () => {
    assert.equal(isPostgresUrl('postgres://u:p@h/db'), true);
    assert.equal(isPostgresUrl('postgresql://h/db'), true);
    assert.equal(isPostgresUrl(undefined), false);
    assert.equal(isPostgresUrl('mysql://h/db'), false);
    assert.equal(redactDatabaseUrl('postgres://u:s3cret@h:5432/db'), 'postgres://u:***@h:5432/db');
    const dir = mkdtempSync(join(tmpdir(), 'cb-open-'));
    const stores = await openStore({}, { dataDir: dir });
    assert.equal(stores.backend, 'sqlite');
    assert.equal(stores.location, join(dir, 'calls.db'));
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
