/**
 * Attack: turn a flow's HTTP function into a way into the server's network or a way to stall it
 * (SSRF). Its endpoint answers a redirect to an internal address, an endless reply, or never
 * answers (headers or body), or the model puts a URL in the arguments. The audit found the caps
 * holding; this is their regression test (src/tools/http-function.ts): redirects are not
 * followed (redirect: 'manual', the call fails), a reply over 1 MiB is cut off and the connection
 * dropped, a silent or dripping endpoint is aborted by the function's timeout, and arguments
 * never change the request's target. Every failure reaches the model as a plain "technical
 * problem" (never the endpoint's text) and is logged with a CB_TOOL_* code.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../src/shared/log.js';
import { createHttpTool, ToolDispatcher, ToolRegistry, type CallControl, type DispatchSession, type HttpFunctionSpec } from '../../src/tools/index.js';
import { captureLog, type LogLine } from './support.js';

const SECRET = 'http-caps-secret-0123456789abcdef';
const control: CallControl = { transfer: async () => ({ number: '' }), endCall: async () => {}, goToStage: async () => {} };

/** What the endpoint saw: request targets in order, and how the big reply ended. */
const seen: { targets: string[]; bigReply?: 'finished' | 'cut'; bigBytes: number } = { targets: [], bigBytes: 0 };

let server: http.Server;
let base: string;

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  seen.targets.push(req.url ?? '');
  req.resume();
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) => void res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  switch (req.url) {
    case '/redirect':
      return json(302, { found: true }, { location: `${base}/internal` });
    case '/redirect-307':
      return json(307, { found: true }, { location: `${base}/internal` });
    case '/redirect-away':
      return void res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    case '/internal':
      return json(200, { secret: 'internal data' });
    case '/huge': {
      // Up to 64 MiB of valid-looking JSON, written as fast as the reader takes it.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"pad":"');
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = (): void => {
        while (seen.bigBytes < 64 * 1024 * 1024) {
          seen.bigBytes += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end('"}', () => (seen.bigReply ??= 'finished'));
      };
      res.on('close', () => (seen.bigReply ??= res.writableFinished ? 'finished' : 'cut'));
      return pump();
    }
    case '/silent':
      return; // never answers
    case '/drip': {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":"');
      const timer = setInterval(() => res.write('a'), 20);
      return void res.on('close', () => clearInterval(timer));
    }
    default:
      return json(200, { ok: true });
  }
}

before(async () => {
  server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const captured = captureLog();
const lines: LogLine[] = captured.lines;

function dispatcherFor(path: string, timeoutMs?: number, log: Logger = captured.log): ToolDispatcher {
  const spec: HttpFunctionSpec = { name: 'lookup', description: `Calls ${path}.`, url: `${base}${path}`, parameters: { order: { type: 'string', description: 'Order.' } }, ...(timeoutMs ? { timeoutMs } : {}) };
  const registry = ToolRegistry.create().withFlowFunctions('shop', [createHttpTool(spec, { secret: SECRET, source: 'test' })]);
  const session: DispatchSession = {
    stage: 'orders',
    facts: { name: 'shop', stages: ['orders'], transfers: [] },
    isDeclared: (n) => n === 'lookup',
    isAllowed: (n) => n === 'lookup',
    allowedFunctions: () => ['lookup'],
    stagePurpose: () => 'Orders.',
  };
  return new ToolDispatcher({ registry, session, control, callSid: 'CA' + '0'.repeat(32), log });
}

const TECHNICAL = { error: 'lookup failed because of a technical problem. Tell the caller it cannot be done right now.' };

describe('security: HTTP function caps (SSRF)', () => {
  for (const path of ['/redirect', '/redirect-307', '/redirect-away']) {
    it(`${path}: the redirect is not followed; the call fails plainly`, async () => {
      seen.targets.length = 0;
      const r = await dispatcherFor(path).dispatch({ id: 'r', name: 'lookup', args: { order: 'A1' } });
      assert.deepEqual(seen.targets, [path], 'only the configured URL was requested');
      assert.equal(r.event.status, 'error');
      assert.equal(r.event.errorCode, 'CB_TOOL_FAILED');
      assert.deepEqual(r.response, TECHNICAL);
    });
  }

  it('a reply over 1 MiB is cut off: the call fails and the connection is dropped before the endpoint finishes', async () => {
    const r = await dispatcherFor('/huge').dispatch({ id: 'h', name: 'lookup', args: { order: 'A1' } });
    assert.equal(r.event.status, 'error');
    assert.equal(r.event.errorCode, 'CB_TOOL_FAILED');
    assert.deepEqual(r.response, TECHNICAL);
    const logged = lines.filter((l) => l.msg === 'function failed').at(-1) as { err?: { message?: string } } | undefined;
    assert.match(logged?.err?.message ?? '', /reply larger than 1048576 bytes/, 'the log says why');
    // The reader stopped: the endpoint's connection closes while it is still writing.
    while (seen.bigReply === undefined) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(seen.bigReply, 'cut');
    assert.ok(seen.bigBytes < 64 * 1024 * 1024);
  });

  for (const path of ['/silent', '/drip']) {
    it(`${path}: the function's timeout aborts the request (CB_TOOL_TIMEOUT)`, async () => {
      const r = await dispatcherFor(path, 150).dispatch({ id: 't', name: 'lookup', args: { order: 'A1' } });
      assert.equal(r.event.status, 'timeout');
      assert.equal(r.event.errorCode, 'CB_TOOL_TIMEOUT');
      assert.ok('error' in r.response);
    });
  }

  it('arguments never change where the request goes', async () => {
    seen.targets.length = 0;
    for (const order of ['http://169.254.169.254/latest/meta-data/', '../internal', '/internal', '?x=1#frag', `${base}/internal`]) {
      const r = await dispatcherFor('/ok').dispatch({ id: 'a', name: 'lookup', args: { order } });
      assert.equal(r.event.status, 'ok', order);
    }
    assert.deepEqual(seen.targets, Array(5).fill('/ok'));
  });
});
