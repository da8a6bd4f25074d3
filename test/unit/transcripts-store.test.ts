import { describe, it, beforeEach, afterEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore, StoreOpenError, type SqliteTranscriptStore } from '../../src/transcripts/sqlite-store.js';
import { SCHEMA_VERSION } from '../../src/transcripts/sqlite-migrations.js';
import { createTranscriptWriter, type TranscriptWriter } from '../../src/transcripts/writer.js';
import { MATCH_END, MATCH_START } from '../../src/transcripts/store.js';
import { DEMO_EVENTS, demoCallSid, seedDemoCall } from '../support/transcripts-fixtures.js';
import { STORE_BACKENDS, stopStoreBackends } from '../support/store-backends.js';
import type { Stores } from '../../src/transcripts/open-store.js';
import type { TranscriptStore } from '../../src/transcripts/store.js';

const DAY = 24 * 3600 * 1000;

describe('SQLite transcript store: schema', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cb-store-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates an empty database, records the version, and re-opening is idempotent', async () => {
    const first = openSqliteStore({ dataDir: dir });
    assert.deepEqual(first.appliedMigrations, Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    assert.equal(first.schemaVersion, SCHEMA_VERSION);
    assert.equal(first.pragma('journal_mode'), 'wal');
    assert.equal(first.pragma('synchronous'), 1); // NORMAL
    await first.close();

    const again = openSqliteStore({ dataDir: dir });
    assert.deepEqual(again.appliedMigrations, []);
    assert.equal(again.schemaVersion, SCHEMA_VERSION);
    await again.close();

    const raw = new Database(join(dir, 'calls.db'), { readonly: true });
    const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type IN ('table') ORDER BY name").all() as { name: string }[];
    const names = tables.map((t) => t.name);
    for (const t of ['calls', 'call_events', 'call_text']) assert.ok(names.includes(t), `table ${t} exists`);
    assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    raw.close();
  });

  it('refuses a database newer than the code', async () => {
    const raw = new Database(join(dir, 'calls.db'));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => openSqliteStore({ dataDir: dir }), /newer than this callbridge/);
  });

  it('read-only mode needs an existing, current database and refuses writes', async () => {
    assert.throws(() => openSqliteStore({ dataDir: dir, readOnly: true }), (e: unknown) => e instanceof StoreOpenError && e.reason === 'missing');
    const rw = openSqliteStore({ dataDir: dir });
    await rw.close();
    const ro = openSqliteStore({ dataDir: dir, readOnly: true });
    await assert.rejects(ro.writeBatch({ records: [], events: [{ callSid: 'CA1', seq: 1, atMs: 0, kind: 'note', bodyJson: '{}' }] }), /readonly|query_only/i);
    await ro.close();
  });
});

after(stopStoreBackends);

for (const backend of STORE_BACKENDS) describe(`${backend.name} transcript store: a whole call`, { skip: backend.skip }, () => {
  let stores: Stores;
  let store: TranscriptStore;
  let writer: TranscriptWriter;
  beforeEach(async () => {
    stores = await backend.open();
    store = stores.transcripts;
    writer = createTranscriptWriter({ store });
  });
  afterEach(async () => {
    await writer.close();
    await stores.close();
  });

  it('stores every event of a simulated call, in order, numbered from 1', async () => {
    const { record, events } = seedDemoCall(writer);
    await writer.flush();
    const stored = await store.getEvents(record.callSid);
    assert.equal(stored.length, DEMO_EVENTS.length);
    assert.deepEqual(stored.map((e) => e.seq), events.map((_, i) => i + 1));
    assert.deepEqual(stored.map(({ seq: _seq, ...e }) => e), events);
    const call = await store.getCall(record.callSid);
    assert.equal(call?.outcome, 'ended_by_bot');
    assert.equal(call?.durationMs, 33_500);
    assert.equal(call?.reconnects, 1);
    assert.equal(call?.latency.turns.length, 4);
  });

  it('finds a call by a word said in it (FTS, prefix, stemming) and marks the match', async () => {
    seedDemoCall(writer, { callSid: demoCallSid(1) });
    const other = seedDemoCall(writer, { callSid: demoCallSid(2), open: true }).log;
    other.event({ kind: 'caller_utterance', text: 'Do you have gluten-free pasta?' }, 1000);
    await writer.flush();

    const pasta = await store.listCalls({ q: 'pasta', limit: 10 });
    assert.deepEqual(pasta.calls.map((c) => c.record.callSid), [demoCallSid(2)]);
    assert.equal(pasta.total, 1);
    assert.match(pasta.calls[0]!.match!.snippet, new RegExp(`${MATCH_START}pasta${MATCH_END}`));
    assert.equal(pasta.calls[0]!.match!.kind, 'caller_utterance');

    const booked = await store.listCalls({ q: 'Trattoria book', limit: 10 }); // "book" prefix-matches "booking"/"book"
    assert.equal(booked.total, 2);
    const none = await store.listCalls({ q: 'helicopter', limit: 10 });
    assert.equal(none.total, 0);
    const operators = await store.listCalls({ q: '"pasta*) (^', limit: 10 });
    assert.equal(operators.total, 1, 'FTS syntax in user text is neutralised, not an error');
    const bySid = await store.listCalls({ q: demoCallSid(1), limit: 10 });
    assert.deepEqual(bySid.calls.map((c) => c.record.callSid), [demoCallSid(1)]);
    const byNumber = await store.listCalls({ q: '900 123', limit: 10 });
    assert.equal(byNumber.total, 2, 'digits match part of the caller number');
  });

  it('stores words holding a NUL character instead of failing the whole batch', async () => {
    const log = seedDemoCall(writer, { callSid: demoCallSid(9), open: true }).log;
    log.event({ kind: 'caller_utterance', text: 'my order\u0000number is lost' }, 1000);
    await writer.flush(); // throws if the batch cannot be written
    const said = (await store.getEvents(demoCallSid(9))).flatMap((e) => (e.kind === 'caller_utterance' ? [e.text] : []));
    assert.ok(said.includes('my order\u0000number is lost'), 'the event body keeps the text as said');
    assert.equal((await store.listCalls({ q: 'lost', limit: 10 })).total, 1);
    await stores.deliveries.recordAttempt(
      { deliveryId: (await stores.deliveries.createDelivery({ webhookId: 'msg_n', callSid: demoCallSid(9), event: 'call.completed', endpoint: 'https://x.example', body: '{}', nowMs: 1 })).delivery.id, attempt: 1, atMs: 1, durationMs: 1, status: 500, error: 'HTTP 500', reply: 'bad\u0000reply' },
      'pending',
    );
  });

  it('filters by date range, flow and outcome, and pages with offset or cursor', async () => {
    const t0 = Date.UTC(2025, 0, 1);
    for (let i = 0; i < 25; i++) {
      seedDemoCall(writer, {
        callSid: demoCallSid(100 + i),
        startedAt: t0 + i * DAY,
        flow: i % 2 === 0 ? 'bookings' : 'support',
        outcome: i % 5 === 0 ? 'failed' : 'completed',
      });
    }
    await writer.flush();

    const all = await store.listCalls({ limit: 10 });
    assert.equal(all.total, 25);
    assert.equal(all.calls.length, 10);
    assert.equal(all.calls[0]!.record.callSid, demoCallSid(124), 'newest first');
    assert.ok(all.calls[0]!.preview?.startsWith("Hi, I'd like to book"));

    const range = await store.listCalls({ from: t0 + 3 * DAY, to: t0 + 7 * DAY, limit: 50 });
    assert.deepEqual(range.calls.map((c) => c.record.callSid), [106, 105, 104, 103].map(demoCallSid));

    const support = await store.listCalls({ flow: 'support', limit: 50 });
    assert.equal(support.total, 12);
    assert.ok(support.calls.every((c) => c.record.flow === 'support'));

    const failed = await store.listCalls({ outcome: ['failed'], limit: 50 });
    assert.deepEqual(failed.calls.map((c) => c.record.callSid), [120, 115, 110, 105, 100].map(demoCallSid));
    const failedSupport = await store.listCalls({ outcome: ['failed'], flow: 'support', limit: 50 });
    assert.deepEqual(failedSupport.calls.map((c) => c.record.callSid), [115, 105].map(demoCallSid));

    const page3 = await store.listCalls({ limit: 10, offset: 20 });
    assert.equal(page3.calls.length, 5);
    assert.equal(page3.nextCursor, undefined);
    assert.equal(page3.total, 25);

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listCalls(cursor === undefined ? { limit: 7 } : { limit: 7, cursor });
      seen.push(...page.calls.map((c) => c.record.callSid));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25);
    assert.deepEqual(await store.listFlows(), ['bookings', 'support']);
  });
});
