import { describe, it, beforeEach, afterEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/shared/log.js';
import type { Stores } from '../../src/transcripts/open-store.js';
import { STORE_BACKENDS, stopStoreBackends } from '../support/store-backends.js';
import type { TranscriptStore, WriteBatch } from '../../src/transcripts/store.js';
import { createTranscriptWriter } from '../../src/transcripts/writer.js';
import { demoCallSid, demoRecord, seedDemoCall } from '../support/transcripts-fixtures.js';

/** Wraps a store: counts batches, can fail the next N writes, signals each write. */
class SpyStore {
  batches: WriteBatch[] = [];
  failNext = 0;
  private waiters: (() => void)[] = [];
  constructor(readonly inner: TranscriptStore) {}
  get store(): TranscriptStore {
    return new Proxy(this.inner, {
      get: (target, prop, receiver) => {
        if (prop === 'writeBatch') {
          return async (batch: WriteBatch) => {
            if (this.failNext > 0) {
              this.failNext--;
              throw Object.assign(new Error('SQLITE_FULL: database or disk is full'), { code: 'SQLITE_FULL' });
            }
            await target.writeBatch(batch);
            this.batches.push(batch);
            for (const w of this.waiters.splice(0)) w();
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
  /** Resolves after the next successful write (fails the test after 5 s). */
  nextWrite(): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no write within 5 s')), 5000);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

function captureLog() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}

after(stopStoreBackends);

for (const backend of STORE_BACKENDS) describe(`transcript writer on ${backend.name}`, { skip: backend.skip }, () => {
  let stores: Stores;
  /** The store under the spy (both backends count their write transactions). */
  let sqlite: TranscriptStore & { transactions: number };
  let spy: SpyStore;
  beforeEach(async () => {
    stores = await backend.open();
    sqlite = stores.transcripts as TranscriptStore & { transactions: number };
    spy = new SpyStore(sqlite);
  });
  afterEach(() => stores.close());

  it('only enqueues in event()/update()/close(); many events go in one transaction', async () => {
    const writer = createTranscriptWriter({ store: spy.store, flushIntervalMs: 10_000 });
    const logs = [1, 2, 3].map((n) => writer.openCall(demoRecord({ callSid: demoCallSid(n) })));
    for (let i = 0; i < 1000; i++) {
      logs[i % 3]!.event({ kind: 'caller_utterance', text: `utterance ${i}` }, i * 10);
      if (i % 100 === 0) logs[i % 3]!.update({ reconnects: i });
    }
    logs[0]!.close({ outcome: 'completed' });
    assert.equal(spy.batches.length, 0, 'nothing written synchronously');
    assert.equal(sqlite.transactions, 0);
    assert.deepEqual(writer.pending, { events: 1000, records: 3 });
    assert.equal((await sqlite.listCalls({ limit: 10 })).total, 0);

    await writer.flush();
    assert.equal(spy.batches.length, 1);
    assert.equal(sqlite.transactions, 1);
    assert.equal(spy.batches[0]!.events.length, 1000);
    for (const n of [1, 2, 3]) {
      const events = await sqlite.getEvents(demoCallSid(n));
      assert.equal(events.length, n === 1 ? 334 : 333);
      assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1), 'seq per call, from 1, in order');
      assert.deepEqual(events.map((e) => e.atMs), [...events.map((e) => e.atMs)].sort((a, b) => a - b));
    }
    assert.equal((await sqlite.getCall(demoCallSid(1)))?.outcome, 'completed');
    assert.equal((await sqlite.getCall(demoCallSid(2)))?.outcome, 'in_progress');
    await writer.close();
  });

  it('flushes on its own timer, without being asked', async () => {
    const writer = createTranscriptWriter({ store: spy.store, flushIntervalMs: 20 });
    const written = spy.nextWrite();
    const { record } = seedDemoCall(writer);
    await written;
    assert.equal(spy.batches.length, 1, 'a whole call enqueued at once is one transaction');
    assert.equal((await sqlite.getEvents(record.callSid)).length > 0, true);
    await writer.close();
  });

  it('close() writes everything and later writes are ignored', async () => {
    const writer = createTranscriptWriter({ store: spy.store, flushIntervalMs: 10_000 });
    const { record, events, log } = seedDemoCall(writer);
    await writer.close();
    assert.equal((await sqlite.getEvents(record.callSid)).length, events.length);
    const stored = await sqlite.getCall(record.callSid);
    assert.equal(stored?.outcome, 'ended_by_bot');
    log.event({ kind: 'note', text: 'too late' }, 40_000);
    assert.deepEqual(writer.pending, { events: 0, records: 0 });
  });

  it('close() on a call fills endedAt/durationMs and ends in_progress', async () => {
    const writer = createTranscriptWriter({ store: spy.store });
    const startedAt = Date.now() - 5000;
    const log = writer.openCall(demoRecord({ startedAt }));
    log.close();
    await writer.close();
    const stored = await sqlite.getCall(log.callSid);
    assert.equal(stored?.outcome, 'completed');
    assert.ok(stored?.endedAt !== undefined && stored.endedAt >= startedAt + 5000);
    assert.equal(stored?.durationMs, stored!.endedAt! - startedAt);
  });

  it('keeps the batch on a write failure, logs CB_STORE_WRITE_FAILED once, retries in order', async () => {
    const { log, lines } = captureLog();
    const writer = createTranscriptWriter({ store: spy.store, flushIntervalMs: 5, retryDelayMs: 5, maxRetryDelayMs: 20, log });
    spy.failNext = 3;
    const call = writer.openCall(demoRecord());
    for (let i = 0; i < 10; i++) call.event({ kind: 'caller_utterance', text: `before ${i}` }, i);
    await assert.rejects(writer.flush(), (e: unknown) => (e as { code?: string }).code === 'CB_STORE_WRITE_FAILED');
    for (let i = 10; i < 20; i++) call.event({ kind: 'caller_utterance', text: `during ${i}` }, i);
    while (spy.failNext > 0 || writer.pending.events > 0) await spy.nextWrite();
    const events = await sqlite.getEvents(call.callSid);
    assert.deepEqual(events.map((e) => e.atMs), Array.from({ length: 20 }, (_, i) => i));
    assert.deepEqual(events.map((e) => e.seq), Array.from({ length: 20 }, (_, i) => i + 1));
    const failures = lines.filter((l) => l.code === 'CB_STORE_WRITE_FAILED');
    assert.equal(failures.length, 1, 'logged once per outage');
    assert.ok(lines.some((l) => l.msg === 'writing call records works again'));
    await writer.close();
  });

  it('continues numbering when a closed call is opened again', async () => {
    const writer = createTranscriptWriter({ store: spy.store });
    const first = writer.openCall(demoRecord());
    first.event({ kind: 'note', text: 'one' }, 1);
    first.close({ outcome: 'transferred' });
    await writer.flush();
    const again = writer.openCall(demoRecord());
    again.event({ kind: 'note', text: 'two' }, 2);
    await writer.close();
    assert.deepEqual((await sqlite.getEvents(first.callSid)).map((e) => [e.seq, e.kind === 'note' && e.text]), [[1, 'one'], [2, 'two']]);
  });

  it('redacts stored text when asked (writer default and per call)', async () => {
    const writer = createTranscriptWriter({ store: spy.store, redact: true });
    seedDemoCall(writer, { callSid: demoCallSid(1) });
    seedDemoCall(writer, { callSid: demoCallSid(2), redact: false });
    await writer.close();
    const said = async (n: number) =>
      (await sqlite.getEvents(demoCallSid(n))).flatMap((e) => (e.kind === 'caller_utterance' ? [e.text] : []));
    assert.ok((await said(1)).includes("Yes, 8:15 is perfect. It's Maria Rossi, and my number is ••••• ••••••."));
    assert.ok((await said(2)).includes("Yes, 8:15 is perfect. It's Maria Rossi, and my number is 07700 900123."));
    const booking = (await sqlite.getEvents(demoCallSid(1))).find((e) => e.kind === 'function_call' && e.name === 'create_booking');
    assert.deepEqual(booking?.kind === 'function_call' && booking.args, {
      name: 'Maria Rossi', date: '2025-06-13', time: '20:15', partySize: 4, phone: '••••• ••••••',
    });
    const dtmf = (await sqlite.getEvents(demoCallSid(1))).find((e) => e.kind === 'dtmf');
    assert.equal(dtmf?.kind === 'dtmf' && dtmf.digit, '•');
  });
});
