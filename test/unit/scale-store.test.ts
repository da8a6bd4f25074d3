/**
 * What several instances share (src/scale/), on SQLite and on PostgreSQL: the instance registry
 * (heartbeat, draining, stale instances left out), call ownership (claim, takeover, a final record
 * never taken over), the stream-token ledger (a token once across instances), and the write filter
 * that keeps an instance from writing a call another one took over.
 */
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_BACKENDS, stopStoreBackends } from '../support/store-backends.js';
import { demoCallSid, demoRecord } from '../support/transcripts-fixtures.js';
import { openScaleOut, scaleProblems, type ScaleOut } from '../../src/scale/wire.js';
import { readyPeers } from '../../src/scale/instances.js';
import { StreamTokens } from '../../src/twilio/stream-token.js';
import { createTranscriptWriter } from '../../src/transcripts/writer.js';
import { silentLogger } from '../../src/shared/log.js';
import type { Stores } from '../../src/transcripts/open-store.js';
import type { LiveChange } from '../../src/transcripts/writer.js';

const log = silentLogger();
after(stopStoreBackends);

for (const backend of STORE_BACKENDS) {
  describe(`${backend.name}: state shared by several instances`, { skip: backend.skip }, () => {
    let stores: Stores;
    let a: ScaleOut;
    let b: ScaleOut;
    beforeEach(async () => {
      stores = await backend.open();
      a = (await openScaleOut({ INSTANCE_ID: 'inst-a' }, stores, log))!;
      b = (await openScaleOut({ INSTANCE_ID: 'inst-b' }, stores, log))!;
    });
    afterEach(async () => {
      await a.stop();
      await b.stop();
      await stores.close();
    });

    it('is off without a reason to share (SQLite, no INSTANCE_ID, URL or secret)', async () => {
      assert.equal(await openScaleOut({}, { ...stores, backend: 'sqlite' }, log), undefined);
    });

    it('lists live instances with their URL; a draining one is not a ready peer; a removed one is gone', async () => {
      let drainingB = false;
      await a.start('https://a.example.test', () => false);
      await b.start('https://b.example.test', () => drainingB);
      assert.deepEqual(await a.readyPeers(), [{ id: 'inst-b', url: 'https://b.example.test' }]);
      assert.deepEqual(await b.readyPeers(), [{ id: 'inst-a', url: 'https://a.example.test' }]);
      drainingB = true;
      await a.shared.heartbeat({ id: 'inst-b', url: 'https://b.example.test', state: 'draining', startedAt: 1 });
      assert.deepEqual(await a.readyPeers(), []);
      const live = await a.shared.live(15_000);
      assert.deepEqual(live.map((i) => [i.id, i.state]), [['inst-a', 'ready'], ['inst-b', 'draining']]);
      await b.stop();
      assert.deepEqual((await a.shared.live(15_000)).map((i) => i.id), ['inst-a']);
    });

    it('leaves out an instance whose heartbeat is stale', async () => {
      await a.shared.heartbeat({ id: 'inst-old', url: 'https://old.example.test', state: 'ready', startedAt: 1 });
      assert.deepEqual((await readyPeers(a.shared, 'inst-a')).map((p) => p.id), ['inst-old']);
      assert.deepEqual(await a.shared.live(-60_000), [], 'a heartbeat older than the limit counts as gone');
    });

    it('takes a call over from the instance that claimed it, continuing its event numbers; a final record is never taken', async () => {
      const sid = demoCallSid(1);
      const writerA = createTranscriptWriter({ store: a.transcripts, log });
      await a.ownership.claim(sid);
      const logA = writerA.openCall(demoRecord({ callSid: sid, instance: 'inst-a', from: '+15550001111' }));
      logA.event({ kind: 'note', text: 'admitted on A' }, 0);
      await writerA.flush();
      assert.equal(await a.ownership.owner(sid), 'inst-a');
      await b.ownership.claim(sid); // a claim never displaces the owner
      assert.equal(await a.ownership.owner(sid), 'inst-a');

      const taken = await b.ownership.takeOver(sid);
      assert.ok(taken.ok);
      assert.equal(taken.lastSeq, 1);
      assert.equal(taken.record?.from, '+15550001111', 'the stored record comes along');
      assert.equal(await a.ownership.owner(sid), 'inst-b');

      // A's late writes (its unused pre-opened call ending at the no-stream timeout) are dropped.
      logA.event({ kind: 'error', code: 'CB_CALL_NO_STREAM', message: 'no media' }, 10_000);
      logA.close({ outcome: 'failed', outcomeDetail: { errorCode: 'CB_CALL_NO_STREAM' } });
      await writerA.flush();
      assert.deepEqual(a.writes.dropped, { records: 1, events: 1 });
      const writerB = createTranscriptWriter({ store: b.transcripts, log });
      const logB = writerB.openCall(demoRecord({ callSid: sid, instance: 'inst-b', from: taken.record!.from }), { lastSeq: taken.lastSeq });
      logB.event({ kind: 'note', text: 'media on B' }, 5);
      logB.close({ outcome: 'completed' });
      await writerB.flush();
      const stored = await stores.transcripts.getCall(sid);
      assert.equal(stored?.outcome, 'completed');
      assert.equal(stored?.instance, 'inst-b');
      const events = await stores.transcripts.getEvents(sid);
      assert.deepEqual(events.map((e) => [e.seq, e.kind]), [[1, 'note'], [2, 'note']]);

      assert.deepEqual(await a.ownership.takeOver(sid), { ok: false }, 'an ended call is not taken over again');
      assert.equal(await a.shared.forgetOwners(Date.now() - 60_000), 0, 'a recent owner is kept');
      assert.equal(await a.shared.forgetOwners(Date.now() + 1), 1);
      assert.equal(await a.ownership.owner(sid), undefined);
    });

    it("shows the other instances' running calls in the live feed: record, new events, then the final record", async () => {
      await a.start('https://a.example.test', () => false);
      await b.start('https://b.example.test', () => false);
      const writerA = createTranscriptWriter({ store: a.transcripts, log });
      const writerB = createTranscriptWriter({ store: b.transcripts, log });
      const mine = writerA.openCall(demoRecord({ callSid: demoCallSid(10), instance: 'inst-a', endedAt: undefined }));
      // Admitted on A, taken over by B: A's writer still holds it, under B's name; it is B's to show.
      writerA.openCall(demoRecord({ callSid: demoCallSid(11), instance: 'inst-b' }));
      const sid = demoCallSid(12);
      const onB = writerB.openCall(demoRecord({ callSid: sid, instance: 'inst-b' }));
      onB.event({ kind: 'caller_utterance', text: 'hello from B' }, 100);
      await writerB.flush();

      const feed = a.liveFeed(writerA);
      const changes: LiveChange[] = [];
      const seen = (): unknown[] => changes.map((c) => (c.type === 'call' ? ['call', c.record.callSid, c.record.outcome] : ['event', c.callSid, c.seq]));
      const unsubscribe = feed.subscribe((c) => changes.push(c));
      await feed.poll();
      assert.deepEqual(feed.openRecords().map((r) => r.callSid), [mine.callSid, sid]);
      assert.deepEqual(seen(), [
        ['call', sid, 'in_progress'],
        ['event', sid, 1],
      ]);
      changes.splice(0);
      await feed.poll();
      assert.equal(changes.length, 0, 'nothing new, nothing sent');

      onB.event({ kind: 'bot_utterance', text: 'hello caller', heardMs: 900, sentMs: 900, interrupted: false }, 200);
      onB.close({ outcome: 'completed' });
      await writerB.flush();
      await feed.poll();
      assert.deepEqual(seen(), [
        ['event', sid, 2],
        ['call', sid, 'completed'],
      ]);
      assert.deepEqual(feed.openRecords().map((r) => r.callSid), [mine.callSid]);
      unsubscribe();
    });

    it('redeems a stream token once across instances sharing the secret', async () => {
      const secret = 'x'.repeat(40);
      const onA = new StreamTokens({ secret });
      const onB = new StreamTokens({ secret });
      const sid = demoCallSid(2);
      const token = onA.issue(sid, { flow: 'test-line' });
      const fail = (err: unknown): void => assert.fail(String(err));
      assert.deepEqual(await onB.redeemShared(token, sid, { flow: 'test-line' }, b.shared, fail), { ok: true });
      assert.deepEqual(await onA.redeemShared(token, sid, { flow: 'test-line' }, a.shared, fail), { ok: false, reason: 'replayed' });
      assert.deepEqual(await onB.redeemShared(token, sid, { flow: 'test-line' }, b.shared, fail), { ok: false, reason: 'replayed' });
      assert.deepEqual(await onA.redeemShared(token, sid, { flow: 'other' }, a.shared, fail), { ok: false, reason: 'mismatch' });
    });

    it('takes the token as unused when the ledger fails, and says so', async () => {
      const tokens = new StreamTokens({ secret: 'y'.repeat(40) });
      const sid = demoCallSid(3);
      const errors: unknown[] = [];
      const broken = { redeem: () => Promise.reject(new Error('database down')) };
      assert.deepEqual(await tokens.redeemShared(tokens.issue(sid), sid, {}, broken, (e) => errors.push(e)), { ok: true });
      assert.equal(errors.length, 1);
    });
  });
}

describe('settings several instances need', () => {
  it('warns without a shared stream-token secret, and about an http INSTANCE_URL in production', () => {
    const secret = { STREAM_TOKEN_SECRET: 's'.repeat(32) };
    assert.deepEqual(scaleProblems({ ...secret, INSTANCE_URL: 'https://a.example.test' }), []);
    assert.match(scaleProblems({ INSTANCE_ID: 'a' }).join(), /STREAM_TOKEN_SECRET is not set/);
    assert.deepEqual(scaleProblems({ ...secret, INSTANCE_URL: 'http://a.internal', NODE_ENV: 'development' }), []);
    assert.match(scaleProblems({ ...secret, INSTANCE_URL: 'http://a.internal', NODE_ENV: 'production' }).join(), /wss:\/\/ only/);
  });
});
