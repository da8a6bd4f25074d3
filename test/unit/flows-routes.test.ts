import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createApp, finishApp, listen } from '../../src/web/server.js';
import { silentLogger } from '../../src/shared/log.js';
import { loadFlowSources, type LoadedFlows, type ReloadResult } from '../../src/flows/index.js';
import { mountFlows, TRANSFERS_UNAVAILABLE } from '../../src/web/flows-routes.js';
import { ToolRegistry } from '../../src/tools/index.js';

const TOKEN = 'flows-admin-token-0123456789';

const FLOW = `name: shop
default: true
persona: A test.
greeting: Hello.
transfers: { desk: "+15550109999" }
hours:
  timeZone: America/New_York
  weekly:
    monday: 08:00-17:00
  outsideHours: { say: We are closed., then: hangup }
stages:
  - name: main
    instructions: Help.
`;

function loaded(): LoadedFlows {
  const r = loadFlowSources([{ file: 'flows/shop.yaml', text: FLOW }], { registry: ToolRegistry.create(), env: {} });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const { ok: _ok, ...rest } = r;
  return rest;
}

function result(over: Partial<ReloadResult>): ReloadResult {
  return { applied: true, problems: [], warnings: [], versions: {}, changed: { added: [], removed: [], updated: [] }, at: 0, durationMs: 1.23, reason: 'boot', ...over };
}

async function serve(o: { adminToken?: string; nodeEnv?: string; now: Date; transfersAvailable?: boolean; last?: ReloadResult; next?: ReloadResult }) {
  const current = loaded();
  const reloads: string[] = [];
  const catalog = {
    current,
    lastReload: o.last ?? result({}),
    reload: async (reason?: string) => {
      reloads.push(reason ?? '');
      return o.next ?? result({});
    },
  };
  const app = createApp({ log: silentLogger() });
  mountFlows(app, { catalog, adminToken: o.adminToken, nodeEnv: o.nodeEnv ?? 'test', log: silentLogger(), now: () => o.now, transfersAvailable: o.transfersAvailable ?? true });
  finishApp(app);
  const server = await listen(app, 0, '127.0.0.1');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, reloads, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

const MONDAY_10_NY = new Date('2026-06-15T10:00:00-04:00');
const SUNDAY_10_NY = new Date('2026-06-14T10:00:00-04:00');
const bearer = { Authorization: `Bearer ${TOKEN}` };

describe('/flows and /api/flows', () => {
  it('the admin login guards the page and the API (redirect, 401, 503 in production without a token)', async () => {
    const s = await serve({ adminToken: TOKEN, now: MONDAY_10_NY });
    try {
      const page = await fetch(`${s.url}/flows`, { redirect: 'manual' });
      assert.equal(page.status, 303);
      assert.equal(page.headers.get('location'), '/calls/login?next=%2Fflows');
      assert.equal((await fetch(`${s.url}/api/flows`)).status, 401);
      assert.equal((await fetch(`${s.url}/api/flows/reload`, { method: 'POST' })).status, 401);
      assert.deepEqual(s.reloads, [], 'nothing reloaded without the login');
      const ok = await fetch(`${s.url}/flows`, { headers: bearer });
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.match(await ok.text(), /<body data-auth="token"/);
    } finally {
      await s.close();
    }
    const prod = await serve({ nodeEnv: 'production', now: MONDAY_10_NY });
    try {
      assert.equal((await fetch(`${prod.url}/api/flows`)).status, 503);
      assert.equal((await fetch(`${prod.url}/flows`)).status, 503);
    } finally {
      await prod.close();
    }
  });

  it('reports each flow: version, numbers, hours open now on the business clock, transfer warning, diagram, Try it', async () => {
    const s = await serve({ adminToken: TOKEN, now: MONDAY_10_NY, transfersAvailable: false });
    try {
      const body = (await (await fetch(`${s.url}/api/flows`, { headers: bearer })).json()) as Record<string, any>;
      assert.equal(body.now, MONDAY_10_NY.toISOString());
      assert.deepEqual(body.warnings, [TRANSFERS_UNAVAILABLE]);
      const f = body.flows[0];
      assert.equal(f.name, 'shop');
      assert.match(f.version, /^[0-9a-f]{12}$/);
      assert.equal(f.status, 'ok');
      assert.equal(f.hours.openNow, true);
      assert.equal(f.hours.weekly.monday, '08:00–17:00');
      assert.equal(f.hours.weekly.tuesday, 'closed');
      assert.equal(f.tryUrl, '/phone?flow=shop');
      assert.deepEqual(f.transfers, [{ name: 'desk', number: '+15550109999' }]);
      assert.ok(f.warnings.some((w: { message: string }) => w.message === TRANSFERS_UNAVAILABLE));
      assert.deepEqual(f.diagram.nodes.map((n: { stage: string }) => n.stage), ['main']);
    } finally {
      await s.close();
    }
    const closed = await serve({ now: SUNDAY_10_NY });
    try {
      const body = (await (await fetch(`${closed.url}/api/flows`)).json()) as Record<string, any>;
      assert.equal(body.flows[0].hours.openNow, false, 'the business clock says Sunday');
      assert.deepEqual(body.flows[0].hours.nextOpening, { date: '2026-06-15', weekday: 'monday', time: '08:00' });
      assert.deepEqual(body.warnings, [], 'transfers available: no warning');
    } finally {
      await closed.close();
    }
  });

  it('problems of the files on disk: on the flow they belong to, or as a file that does not serve', async () => {
    const last = result({
      applied: false,
      problems: [
        { file: 'flows/shop.yaml', line: 4, column: 11, field: 'greeting', message: 'is required but missing' },
        { file: 'flows/new.yaml', line: 2, message: 'bad indentation' },
      ],
    });
    const s = await serve({ now: MONDAY_10_NY, last });
    try {
      const body = (await (await fetch(`${s.url}/api/flows`)).json()) as Record<string, any>;
      assert.equal(body.flows[0].status, 'invalid');
      assert.deepEqual(body.flows[0].problems.map((p: { where: string }) => p.where), ['flows/shop.yaml:4:11']);
      assert.deepEqual(body.otherFiles, [{ file: 'flows/new.yaml', problems: [{ file: 'flows/new.yaml', line: 2, message: 'bad indentation', where: 'flows/new.yaml:2' }] }]);
      assert.equal(body.lastReload.applied, false);
    } finally {
      await s.close();
    }
  });

  it('POST /api/flows/reload answers with the problems (422 when refused); a cross-origin post is refused', async () => {
    const next = result({ applied: false, problems: [{ file: 'flows/shop.yaml', line: 7, message: 'must be text' }], reason: 'api' });
    const s = await serve({ adminToken: TOKEN, now: MONDAY_10_NY, next });
    try {
      const evil = await fetch(`${s.url}/api/flows/reload`, { method: 'POST', headers: { ...bearer, Origin: 'https://evil.example' } });
      assert.equal(evil.status, 403);
      assert.deepEqual(s.reloads, []);
      const res = await fetch(`${s.url}/api/flows/reload`, { method: 'POST', headers: { ...bearer, Origin: s.url } });
      assert.equal(res.status, 422);
      const body = (await res.json()) as Record<string, any>;
      assert.equal(body.applied, false);
      assert.match(body.message, /last good version keeps serving/);
      assert.deepEqual(body.problems, [{ file: 'flows/shop.yaml', line: 7, message: 'must be text', where: 'flows/shop.yaml:7' }]);
      assert.deepEqual(s.reloads, ['api']);
    } finally {
      await s.close();
    }
  });
});
