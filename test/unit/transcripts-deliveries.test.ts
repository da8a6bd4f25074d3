/**
 * The notifications' delivery log on both backends (sqlite-deliveries.ts, pg-deliveries.ts): one
 * delivery per call, event and endpoint; attempts logged in order with the state they lead to;
 * a state change keeps the last error unless given one; removed with the call by retention.
 */
import { describe, it, beforeEach, afterEach, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Stores } from '../../src/transcripts/open-store.js';
import { STORE_BACKENDS, stopStoreBackends } from '../support/store-backends.js';
import { demoRecord } from '../support/transcripts-fixtures.js';

const T0 = Date.UTC(2026, 11, 4, 9);
const NEW = { webhookId: 'msg_1', callSid: 'CA1', event: 'call.completed', endpoint: 'https://hooks.example/a', body: '{"a":1}', nowMs: T0 };

after(stopStoreBackends);

for (const backend of STORE_BACKENDS) describe(`${backend.name} delivery log`, { skip: backend.skip }, () => {
  let stores: Stores;
  beforeEach(async () => (stores = await backend.open()));
  afterEach(() => stores.close());

  it('creates one delivery per call, event and endpoint, and returns the existing one after', async () => {
    const first = await stores.deliveries.createDelivery(NEW);
    assert.equal(first.created, true);
    assert.deepEqual(
      { ...first.delivery, id: 0 },
      { id: 0, webhookId: 'msg_1', callSid: 'CA1', event: 'call.completed', endpoint: 'https://hooks.example/a', body: '{"a":1}', state: 'pending', attempts: 0, lastStatus: null, lastError: null, deliveredAtMs: null, createdAtMs: T0, updatedAtMs: T0 },
    );
    const again = await stores.deliveries.createDelivery({ ...NEW, webhookId: 'msg_2', body: '{"b":2}', nowMs: T0 + 5 });
    assert.equal(again.created, false);
    assert.deepEqual(again.delivery, first.delivery);
    const other = await stores.deliveries.createDelivery({ ...NEW, webhookId: 'msg_3', endpoint: 'https://hooks.example/b' });
    assert.equal(other.created, true);
    assert.deepEqual((await stores.deliveries.deliveriesOf('CA1')).map((d) => d.webhookId), ['msg_1', 'msg_3']);
    assert.equal(await stores.deliveries.getDelivery(999_999), undefined);
  });

  it('logs attempts in order and moves the delivery to the state they lead to', async () => {
    const { delivery } = await stores.deliveries.createDelivery(NEW);
    const id = delivery.id;
    await stores.deliveries.recordAttempt({ deliveryId: id, attempt: 1, atMs: T0 + 100, durationMs: 50, status: 503, error: 'HTTP 503', reply: 'busy' }, 'pending');
    await stores.deliveries.recordAttempt({ deliveryId: id, attempt: 2, atMs: T0 + 1000, durationMs: 20, status: 200, error: null, reply: 'ok' }, 'delivered');
    const d = await stores.deliveries.getDelivery(id);
    assert.deepEqual([d?.state, d?.attempts, d?.lastStatus, d?.lastError, d?.deliveredAtMs, d?.updatedAtMs], ['delivered', 2, 200, null, T0 + 1020, T0 + 1020]);
    assert.deepEqual((await stores.deliveries.attemptsOf(id)).map((a) => [a.attempt, a.status, a.error, a.reply, a.durationMs]), [[1, 503, 'HTTP 503', 'busy', 50], [2, 200, null, 'ok', 20]]);

    await stores.deliveries.setState(id, 'failed', 'gave up', T0 + 2000);
    await stores.deliveries.setState(id, 'pending', null, T0 + 3000);
    const resent = await stores.deliveries.getDelivery(id);
    assert.deepEqual([resent?.state, resent?.lastError, resent?.updatedAtMs], ['pending', 'gave up', T0 + 3000]);
  });

  it('goes with its call when retention deletes the call', async () => {
    await stores.transcripts.writeBatch({ records: [demoRecord({ callSid: 'CA1', startedAt: T0, outcome: 'completed' }), demoRecord({ callSid: 'CA2', startedAt: T0 + 10, outcome: 'completed' })], events: [] });
    const { delivery } = await stores.deliveries.createDelivery(NEW);
    await stores.deliveries.recordAttempt({ deliveryId: delivery.id, attempt: 1, atMs: T0, durationMs: 1, status: 200, error: null, reply: null }, 'delivered');
    await stores.deliveries.createDelivery({ ...NEW, webhookId: 'msg_k', callSid: 'CA2' });
    await stores.transcripts.deleteCallsStartedBefore(T0 + 5, { exceptFlows: [] }, 10);
    assert.deepEqual(await stores.deliveries.deliveriesOf('CA1'), []);
    assert.deepEqual(await stores.deliveries.attemptsOf(delivery.id), []);
    assert.equal((await stores.deliveries.deliveriesOf('CA2')).length, 1);
  });
});
