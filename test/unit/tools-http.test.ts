import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../src/shared/log.js';
import { loadFlowDir } from '../../src/flows/index.js';
import { FlowSession } from '../../src/flows/engine.js';
import {
  createHttpTool,
  loadToolModules,
  signRequest,
  ToolDispatcher,
  ToolRegistry,
  verifySignature,
  type CallControl,
  type DispatchSession,
  type HttpFunctionSpec,
} from '../../src/tools/index.js';
import { startOrderService, type OrderService } from '../../examples/order-service.js';

const SECRET = 'test-secret-0123456789abcdef';
const control: CallControl = { transfer: async () => ({ number: '' }), endCall: async () => {}, goToStage: async () => {} };

/** The business side, written independently of callbridge's signer: recompute the HMAC of "t.body". */
function checkSignature(header: string | undefined, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  return !!m && createHmac('sha256', SECRET).update(`${m[1]}.${body}`).digest('hex') === m[2] && Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
}

interface Received {
  url: string;
  body: unknown;
  signed: boolean;
}

let server: http.Server;
let base: string;
const received: Received[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const signed = checkSignature(req.headers['x-callbridge-signature'] as string | undefined, raw);
      received.push({ url: req.url ?? '', body: JSON.parse(raw), signed });
      const json = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (!signed) return json(401, { error: 'bad signature' });
      switch (req.url) {
        case '/ok':
          return json(200, { found: true, echo: (JSON.parse(raw) as { args: unknown }).args });
        case '/slow':
          return; // never answers; the client aborts
        case '/missing':
          return json(404, { error: 'No order has that number.' });
        case '/crash':
          return json(500, { error: 'stack trace at /srv/app.js:12' });
        case '/text':
          return void res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
        default:
          return json(404, {});
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function dispatcherFor(specs: HttpFunctionSpec[], secret = SECRET): ToolDispatcher {
  const registry = ToolRegistry.create().withFlowFunctions('shop', specs.map((s) => createHttpTool(s, { secret, source: 'test' })));
  const names = specs.map((s) => s.name);
  const session: DispatchSession = {
    stage: 'orders',
    facts: { name: 'shop', stages: ['orders'], transfers: [] },
    isDeclared: (n) => names.includes(n),
    isAllowed: (n) => names.includes(n),
    allowedFunctions: () => names,
    stagePurpose: () => 'Orders.',
  };
  return new ToolDispatcher({ registry, session, control, callSid: 'CA9', log: silentLogger() });
}

const spec = (name: string, path: string, extra: Partial<HttpFunctionSpec> = {}): HttpFunctionSpec => ({
  name,
  description: `Calls ${path}.`,
  url: `${base}${path}`,
  parameters: { order_number: { type: 'string', description: 'Order number.' }, gift: { type: 'boolean', required: false } },
  ...extra,
});

describe('HTTP functions', () => {
  it('POSTs the signed arguments with the call context; the JSON reply is the output', async () => {
    received.length = 0;
    const d = dispatcherFor([spec('lookup', '/ok')]);
    const r = await d.dispatch({ id: 'h1', name: 'lookup', args: { order_number: 'A1001' } });
    assert.deepStrictEqual(r.response, { output: { found: true, echo: { order_number: 'A1001' } } });
    assert.deepStrictEqual(received, [
      { url: '/ok', body: { name: 'lookup', args: { order_number: 'A1001' }, call: { sid: 'CA9', flow: 'shop', stage: 'orders' } }, signed: true },
    ]);
  });

  it('validates arguments against the declared parameters before calling', async () => {
    received.length = 0;
    const d = dispatcherFor([spec('lookup', '/ok')]);
    const r = await d.dispatch({ id: 'h2', name: 'lookup', args: { order_number: 1001, gift: 'yes' } });
    assert.equal(r.event.errorCode, 'CB_TOOL_INVALID_ARGS');
    assert.ok('error' in r.response);
    assert.match(r.response.error, /"order_number" must be a string; "gift" must be a boolean/);
    assert.equal(received.length, 0);
  });

  it('a request signed with the wrong secret is refused by the endpoint and reported as a failure', async () => {
    const d = dispatcherFor([spec('lookup', '/ok')], 'another-secret-0123456789');
    const r = await d.dispatch({ id: 'h3', name: 'lookup', args: { order_number: 'A1' } });
    assert.equal(r.event.status, 'error');
    assert.equal(received.at(-1)?.signed, false);
  });

  it('times out through the AbortSignal', async () => {
    const d = dispatcherFor([spec('lookup', '/slow', { timeoutMs: 100 })]);
    const r = await d.dispatch({ id: 'h4', name: 'lookup', args: { order_number: 'A1' } });
    assert.equal(r.event.status, 'timeout');
  });

  it('a 4xx reply with an error message reaches the model; 5xx and non-JSON replies do not', async () => {
    const d = dispatcherFor([spec('missing', '/missing'), spec('crash', '/crash'), spec('text', '/text')]);
    assert.deepStrictEqual((await d.dispatch({ id: 'h5', name: 'missing', args: { order_number: 'A9' } })).response, { error: 'No order has that number.' });
    const crash = await d.dispatch({ id: 'h6', name: 'crash', args: { order_number: 'A9' } });
    assert.deepStrictEqual(crash.response, { error: 'crash failed because of a technical problem. Tell the caller it cannot be done right now.' });
    const text = await d.dispatch({ id: 'h7', name: 'text', args: { order_number: 'A9' } });
    assert.equal(text.event.status, 'error');
    assert.equal(text.event.errorCode, 'CB_TOOL_FAILED');
  });

  it('signs and verifies "t=<unix>,v1=<hex>" and refuses tampering, old timestamps and junk', () => {
    const body = '{"a":1}';
    const header = signRequest(SECRET, body, 1_700_000_000);
    assert.match(header, /^t=1700000000,v1=[0-9a-f]{64}$/);
    assert.equal(verifySignature(SECRET, header, body, 1_700_000_100), true);
    assert.equal(verifySignature(SECRET, header, '{"a":2}', 1_700_000_100), false);
    assert.equal(verifySignature('other-secret', header, body, 1_700_000_100), false);
    assert.equal(verifySignature(SECRET, header, body, 1_700_000_301), false);
    assert.equal(verifySignature(SECRET, 'v1=abc', body, 1_700_000_000), false);
    assert.equal(verifySignature(SECRET, undefined, body, 1_700_000_000), false);
  });
});

describe('example order service (examples/order-service.ts)', () => {
  let service: OrderService;
  before(async () => {
    service = await startOrderService({ port: 0, secret: SECRET });
  });
  after(() => service.close());

  it('refuses unsigned and wrongly signed requests', async () => {
    const body = JSON.stringify({ name: 'lookup_order', args: { order_number: 'A1002' } });
    const post = (sig?: string) =>
      fetch(`${service.url}/orders/lookup`, { method: 'POST', body, headers: sig ? { 'x-callbridge-signature': sig } : {} });
    assert.equal((await post()).status, 401);
    assert.equal((await post(signRequest('wrong-secret-0123456789', body, Math.floor(Date.now() / 1000)))).status, 401);
    assert.equal((await post(signRequest(SECRET, body, Math.floor(Date.now() / 1000) - 3600))).status, 401);
    const ok = await post(signRequest(SECRET, body, Math.floor(Date.now() / 1000)));
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { status: string }).status, 'shipped');
  });

  it('serves the shipped order-status-ivr flow end to end: YAML-declared functions, signed with the flow secret', async () => {
    const result = loadFlowDir('flows', { registry: await dentalRegistry(), env: { ORDER_SERVICE_URL: service.url, ORDER_SERVICE_SECRET: SECRET } });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    const flow = result.flows.find((f) => f.name === 'order-status-ivr')!;
    const session = new FlowSession(flow, result.registry);
    session.goTo('returns', 'test');
    const d = new ToolDispatcher({ registry: result.registry, session, control, callSid: 'CA7', log: silentLogger() });
    const found = await d.dispatch({ id: 'o1', name: 'lookup_order', args: { order_number: 'a-1002' } });
    assert.ok('output' in found.response);
    assert.equal((found.response.output as { status: string }).status, 'shipped');
    const refused = await d.dispatch({ id: 'o2', name: 'start_return', args: { order_number: 'A1001', reason: 'damaged' } });
    assert.deepStrictEqual(refused.response, { error: 'Order A1001 is processing; only delivered orders can be returned.' });
    const started = await d.dispatch({ id: 'o3', name: 'start_return', args: { order_number: 'A1003', reason: 'wrong_item' } });
    assert.ok('output' in started.response);
    assert.equal((started.response.output as { status: string }).status, 'return_started');
    const badReason = await d.dispatch({ id: 'o4', name: 'start_return', args: { order_number: 'A1003', reason: 'bored' } });
    assert.equal(badReason.event.errorCode, 'CB_TOOL_INVALID_ARGS');
    // The flow's transition on start_return's result moves on; start_return is then refused.
    const step = session.onFunctionResult('start_return', started.response.output);
    assert.deepStrictEqual(step.events.map((e) => e.to), ['goodbye']);
    const late = await d.dispatch({ id: 'o5', name: 'start_return', args: { order_number: 'A1003', reason: 'other' } });
    assert.equal(late.event.errorCode, 'CB_TOOL_NOT_ALLOWED');
  });
});

async function dentalRegistry(): Promise<ToolRegistry> {
  const { tools, problems } = await loadToolModules('tools');
  assert.deepStrictEqual(problems, []);
  return ToolRegistry.create(tools);
}
