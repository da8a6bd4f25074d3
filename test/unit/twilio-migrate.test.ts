/**
 * TwilioMigration (src/call/adapters/twilio-migrate.ts): the order of a move (flush, hand-off,
 * agent closed, owner changed, then the call update), the TwiML it sends (a stream at the peer
 * with a token the peer accepts), and its failures: no ready peer leaves the call alone; a failed
 * call update gives the call back, drops the hand-off and ends the call with CB_MIGRATION_FAILED.
 * The hand-off rows: a broken row reads as none.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { TwilioMigration, HANDOFF_PARAMETER, type MigrationStore } from '../../src/call/adapters/twilio-migrate.js';
import type { Handoff, MovableCall } from '../../src/call/migration.js';
import { CallbridgeError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/log.js';
import { StreamTokens } from '../../src/twilio/stream-token.js';
import type { TwilioCallControl } from '../../src/twilio/rest.js';
import { parseHandoff, SqliteHandoffStore } from '../../src/scale/handoffs.js';
import { migrationProblem } from '../../src/scale/migrate-wire.js';
import type { ScaleOut } from '../../src/scale/wire.js';

const SECRET = 'unit-test-stream-token-secret-0123456789';

function rig(options: { peers?: Array<{ id: string; url: string }>; restFails?: boolean } = {}) {
  const journal: string[] = [];
  const stored = new Map<string, Handoff>();
  const twiml: string[] = [];
  const aborted: string[] = [];
  const store: MigrationStore = {
    put: async (h) => void (journal.push(`put ${h.to}`), stored.set(h.callSid, h)),
    take: async (sid) => stored.get(sid),
    drop: async (sid) => void (journal.push('drop'), stored.delete(sid)),
    giveTo: async (sid, instance) => (journal.push(`owner ${instance}`), true),
  };
  const rest = {
    updateCallTwiml: async (_sid: string, body: string) => {
      journal.push('call update');
      if (options.restFails) throw new CallbridgeError('CB_TWILIO_REST_FAILED', 'Twilio REST update TwiML failed (HTTP 400)');
      twiml.push(body);
      return { callSid: _sid, status: 'in-progress' };
    },
  } as unknown as TwilioCallControl;
  const migration = new TwilioMigration({
    onDrain: true,
    self: 'inst-a',
    rest,
    tokens: new StreamTokens({ secret: SECRET }),
    peers: async () => options.peers ?? [{ id: 'inst-b', url: 'https://b.example.test/' }],
    store,
    flush: async () => void journal.push('flush'),
    abort: (sid, reason) => void aborted.push(`${sid}: ${reason}`),
    log: silentLogger(),
    now: () => 5000,
  });
  const call: MovableCall = {
    callSid: 'CA1',
    flow: 'clinic',
    stage: 'booking',
    handle: 'H-9',
    history: [{ role: 'user', parts: [{ text: 'hello' }] }],
    detach: async () => void journal.push('agent closed'),
  };
  return { migration, call, journal, stored, twiml, aborted };
}

describe('TwilioMigration', () => {
  it('moves in order and redirects to a stream at the peer with a token the peer accepts', async () => {
    const r = rig();
    assert.equal(await r.migration.move(r.call), true);
    assert.deepEqual(r.journal, ['flush', 'put inst-b', 'agent closed', 'flush', 'owner inst-b', 'call update']);
    const h = r.stored.get('CA1');
    assert.deepEqual({ ...h, id: undefined }, { id: undefined, callSid: 'CA1', from: 'inst-a', to: 'inst-b', flow: 'clinic', stage: 'booking', handle: 'H-9', history: r.call.history, createdAt: 5000 });
    const body = r.twiml[0] ?? '';
    assert.match(body, /<Stream url="wss:\/\/b\.example\.test\/twilio\/media">/);
    const params = Object.fromEntries([...body.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1]!, m[2]!]));
    assert.equal(params['flow'], 'clinic');
    assert.equal(params[HANDOFF_PARAMETER], h?.id);
    const { callbridgeToken: token, ...own } = params;
    assert.deepEqual(new StreamTokens({ secret: SECRET }).verify(token, 'CA1', own), { ok: true });
    assert.equal(new StreamTokens({ secret: SECRET }).verify(token, 'CA2', own).ok, false, 'bound to the call');
  });

  it('no ready peer: nothing happens to the call', async () => {
    const r = rig({ peers: [] });
    assert.equal(await r.migration.move(r.call), false);
    assert.deepEqual(r.journal, []);
    assert.deepEqual(r.aborted, []);
  });

  it('a failed call update gives the call back, drops the hand-off and ends the call', async () => {
    const r = rig({ restFails: true });
    assert.equal(await r.migration.move(r.call), false);
    assert.deepEqual(r.journal.slice(-3), ['call update', 'owner inst-a', 'drop']);
    assert.equal(r.stored.size, 0);
    assert.deepEqual(r.aborted, ['CA1: could not move the call to instance inst-b']);
  });
});

describe('call_handoffs (SQLite)', () => {
  it('stores, takes once, and reads a broken row as none', async () => {
    const db = new Database(':memory:');
    const store = new SqliteHandoffStore(db);
    const h: Handoff = { id: 'x', callSid: 'CA1', from: 'a', to: 'b', flow: 'f', history: [{ role: 'model', parts: [{ text: 'hi' }] }], createdAt: Date.now() };
    await store.put(h);
    assert.deepEqual(await store.take('CA1'), h);
    assert.equal(await store.take('CA1'), undefined, 'taken once');
    db.prepare('INSERT INTO call_handoffs (call_sid, body, created_at) VALUES (?, ?, ?)').run('CA2', '{not json', Date.now());
    assert.equal(await store.take('CA2'), undefined);
    assert.equal(parseHandoff(JSON.stringify({ ...h, history: 'nope' })), undefined);
    db.close();
  });
});

describe('MIGRATE_ON_DRAIN settings', () => {
  it('says what is missing, and nothing when it is off or complete', () => {
    const scale = {} as ScaleOut;
    const rest = {} as TwilioCallControl;
    assert.equal(migrationProblem({}, undefined, undefined), undefined, 'off');
    assert.match(migrationProblem({ MIGRATE_ON_DRAIN: true, STREAM_TOKEN_SECRET: SECRET }, undefined, rest) ?? '', /several instances on one database/);
    assert.match(migrationProblem({ MIGRATE_ON_DRAIN: true }, scale, rest) ?? '', /STREAM_TOKEN_SECRET/);
    assert.match(migrationProblem({ MIGRATE_ON_DRAIN: true, STREAM_TOKEN_SECRET: SECRET }, scale, undefined) ?? '', /TWILIO_ACCOUNT_SID/);
    assert.equal(migrationProblem({ MIGRATE_ON_DRAIN: true, STREAM_TOKEN_SECRET: SECRET }, scale, rest), undefined);
  });
});
