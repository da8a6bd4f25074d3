/**
 * POST /api/calls/:sid/analyse: queues the analysis again (202, pending), 404 for an unknown call,
 * 409 while the call is in progress, 400 for a malformed id, 403 from another site, 401 without
 * the admin token.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { mountAnalysis } from '../../src/web/analysis-routes.js';
import { silentLogger } from '../../src/shared/log.js';
import type { CallAnalysis } from '../../src/transcripts/after-call-store.js';
import { demoCallSid, demoRecord } from '../support/transcripts-fixtures.js';

const TOKEN = 'analysis-routes-token-0123456789';

describe('POST /api/calls/:sid/analyse', () => {
  let server: http.Server;
  let base: string;
  const queued: string[] = [];
  before(async () => {
    const app = express();
    const records = new Map([
      [demoCallSid(1), demoRecord({ callSid: demoCallSid(1), outcome: 'completed' })],
      [demoCallSid(2), demoRecord({ callSid: demoCallSid(2), outcome: 'in_progress' })],
    ]);
    mountAnalysis(app, {
      store: { getCall: async (sid) => records.get(sid) },
      afterCall: {
        reanalyse: async (sid) => void queued.push(sid),
        analysisOf: async () => ({ status: 'pending' }) as CallAnalysis,
      },
      adminToken: TOKEN,
      nodeEnv: 'test',
      log: silentLogger(),
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = (sid: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    fetch(`${base}/api/calls/${sid}/analyse`, { method: 'POST', headers });

  it('queues an ended call again and answers pending', async () => {
    const res = await post(demoCallSid(1));
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { analysis: { status: 'pending' } });
    assert.deepEqual(queued, [demoCallSid(1)]);
  });

  it('refuses unknown, running, malformed, cross-site and unauthenticated requests', async () => {
    assert.equal((await post('CA00000000000000000000000000000099')).status, 404);
    assert.equal((await post(demoCallSid(2))).status, 409);
    assert.equal((await post('nope')).status, 400);
    assert.equal((await post(demoCallSid(1), { authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' })).status, 403);
    assert.equal((await post(demoCallSid(1), {})).status, 401);
    assert.deepEqual(queued, [demoCallSid(1)]);
  });
});
