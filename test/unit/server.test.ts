import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { createApp, errorStatus, finishApp, listen } from '../../src/web/server.js';
import { createLogger, silentLogger } from '../../src/shared/log.js';
import { loadEnv, ConfigError } from '../../src/config/env.js';

describe('HTTP server', () => {
  it('answers GET /healthz', async () => {
    const app = createApp({ log: silentLogger() });
    finishApp(app);
    const server = await listen(app, 0, '127.0.0.1');
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { ok: boolean };
      assert.equal(body.ok, true);
    } finally {
      server.close();
    }
  });
});

describe('error handler (finishApp)', () => {
  /** An app with routes added after createApp (as app.ts does), then finishApp; logs captured. */
  async function serveFailing() {
    const lines: { level: number; msg: string; err?: { stack?: string } }[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
        cb();
      },
    });
    const app = createApp({ log: createLogger({ level: 'debug', destination }) });
    const secret = new Error('database password is hunter2');
    app.get('/api/boom', () => {
      throw secret;
    });
    app.get('/boom', () => {
      throw secret;
    });
    app.post('/api/echo', express.json({ limit: '1kb' }), (req, res) => void res.json(req.body));
    app.post('/form', express.urlencoded({ extended: false, limit: '1kb' }), (_req, res) => void res.send('ok'));
    app.get('/api/teapot', () => {
      throw Object.assign(new Error('short and stout'), { statusCode: 418 });
    });
    app.get('/api/unavailable', () => {
      throw Object.assign(new Error('upstream down'), { status: 503 });
    });
    app.get('/api/late', (_req, res, next) => {
      res.status(200).write('partial');
      next(secret);
    });
    finishApp(app);
    const server = await listen(app, 0, '127.0.0.1');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { base, lines, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it('answers JSON under /api and plain text elsewhere, without a stack or the message', async () => {
    const s = await serveFailing();
    try {
      const api = await fetch(`${s.base}/api/boom`);
      assert.equal(api.status, 500);
      assert.match(api.headers.get('content-type') ?? '', /application\/json/);
      const apiBody = await api.text();
      assert.deepEqual(JSON.parse(apiBody), { error: 'internal error' });
      const page = await fetch(`${s.base}/boom`);
      assert.equal(page.status, 500);
      assert.match(page.headers.get('content-type') ?? '', /text\/plain/);
      const pageBody = await page.text();
      assert.equal(pageBody, 'internal error');
      for (const body of [apiBody, pageBody]) assert.doesNotMatch(body, /hunter2|at .*\.ts|Error/);
      const errors = s.lines.filter((l) => l.msg === 'request failed');
      assert.equal(errors.length, 2, 'the 500s are logged as errors, with the error');
      assert.ok(errors.every((l) => l.level === 50 && l.err?.stack));
    } finally {
      await s.close();
    }
  });

  it('keeps the 4xx of a client error: oversized or malformed bodies are not 500s', async () => {
    const s = await serveFailing();
    try {
      const big = await fetch(`${s.base}/api/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ x: 'y'.repeat(4000) }) });
      assert.equal(big.status, 413);
      assert.deepEqual(await big.json(), { error: 'payload too large' });
      const malformed = await fetch(`${s.base}/api/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":' });
      assert.equal(malformed.status, 400);
      assert.deepEqual(await malformed.json(), { error: 'bad request' });
      const form = await fetch(`${s.base}/form`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `a=${'b'.repeat(4000)}` });
      assert.equal(form.status, 413);
      assert.equal(await form.text(), 'payload too large');
      const teapot = await fetch(`${s.base}/api/teapot`);
      assert.equal(teapot.status, 418, 'statusCode is honoured too');
      assert.doesNotMatch(await teapot.text(), /stout/);
      const unavailable = await fetch(`${s.base}/api/unavailable`);
      assert.equal(unavailable.status, 500, 'a carried 5xx is still an internal error');
      assert.ok(s.lines.some((l) => l.msg === 'request refused' && l.level === 40));
    } finally {
      await s.close();
    }
  });

  it('adds no 404 handler, and cuts a response whose headers were already sent', async () => {
    const s = await serveFailing();
    try {
      const missing = await fetch(`${s.base}/api/nothing-here`);
      assert.equal(missing.status, 404);
      await assert.rejects(async () => {
        const late = await fetch(`${s.base}/api/late`);
        await late.text();
      });
    } finally {
      await s.close();
    }
  });

  it('errorStatus takes status or statusCode in 4xx, otherwise 500', () => {
    assert.equal(errorStatus({ status: 413 }), 413);
    assert.equal(errorStatus({ statusCode: 400 }), 400);
    assert.equal(errorStatus({ status: 503 }), 500);
    assert.equal(errorStatus({ status: '400' }), 500);
    assert.equal(errorStatus(new Error('x')), 500);
    assert.equal(errorStatus(undefined), 500);
    assert.equal(errorStatus('boom'), 500);
  });
});

describe('environment', () => {
  it('applies defaults', () => {
    const env = loadEnv({});
    assert.equal(env.PORT, 8080);
    assert.equal(env.DATA_DIR, './data');
    assert.ok(Object.isFrozen(env));
  });

  it('reports every problem at once, naming the variable', () => {
    assert.throws(
      () => loadEnv({ PORT: 'eighty', LOG_LEVEL: 'loud' }),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 2 && /PORT/.test(err.message) && /LOG_LEVEL/.test(err.message),
    );
  });
});
