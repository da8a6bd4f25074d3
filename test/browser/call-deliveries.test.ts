/**
 * The call page's Notifications panel in Chromium: a delivery the receiver refused (410) shows as
 * failed with its attempt and the receiver's reply as text (markup in it stays text); Resend
 * sends the same delivery again and the panel follows it to Delivered, with both attempts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import express from 'express';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, skipWithoutChromium } from '../support/browser.js';
import { silentLogger } from '../../src/shared/log.js';
import { openSqliteStore, type SqliteTranscriptStore } from '../../src/transcripts/sqlite-store.js';
import { SqliteJobQueue } from '../../src/transcripts/sqlite-jobs.js';
import { SqliteDeliveryLog } from '../../src/transcripts/sqlite-deliveries.js';
import { JobRunner } from '../../src/aftercall/runner.js';
import { Notifier } from '../../src/notify/notifier.js';
import { mountCalls } from '../../src/web/calls-routes.js';
import { mountNotify } from '../../src/web/notify-routes.js';
import { demoCallSid, demoRecord } from '../support/transcripts-fixtures.js';

const TOKEN = 'browser-test-token-1234567890';
const root = new URL('../..', import.meta.url).pathname;
const SID = demoCallSid(41);

describe('call page notifications panel in a browser', { skip: skipWithoutChromium }, () => {
  let dir: string;
  let store: SqliteTranscriptStore;
  let runner: JobRunner;
  let server: http.Server;
  let receiver: http.Server;
  let base: string;
  let status = 410;
  const posts: string[] = [];
  let context: BrowserContext | undefined;

  before(async () => {
    receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        posts.push(String(req.headers['webhook-id']));
        res.writeHead(status).end(status === 410 ? 'gone <img src=x onerror="window.__xss=1">' : 'ok');
      });
    });
    await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

    dir = mkdtempSync(join(tmpdir(), 'cb-ui-notify-'));
    store = openSqliteStore({ dataDir: dir });
    const queue = new SqliteJobQueue(store.database);
    runner = new JobRunner({ queue, log: silentLogger(), pollMs: 100 });
    const notifier = new Notifier({
      deliveries: new SqliteDeliveryLog(store.database), queue, getCall: (sid) => store.getCall(sid), analysisOf: async () => undefined,
      notifyOf: () => [{ webhook: hook, events: ['call.completed'] }], secret: `whsec_${randomBytes(32).toString('base64')}`,
      publicBaseUrl: 'http://127.0.0.1', allowPrivate: true, httpsOnly: false, log: silentLogger(), kick: () => runner.kick(),
    });
    runner.register('notify', notifier.handle);
    await store.writeBatch({ records: [demoRecord({ callSid: SID, startedAt: Date.now() - 60_000, endedAt: Date.now() - 1000, durationMs: 59_000, outcome: 'completed' })], events: [] });
    await notifier.onAnalysisSettled(SID);
    while ((await runner.runOnce()) > 0) await runner.idle();
    runner.start();

    const app = express();
    mountCalls(app, { store, dataDir: dir, log: silentLogger(), nodeEnv: 'test', adminToken: TOKEN });
    mountNotify(app, { notifier, adminToken: TOKEN, nodeEnv: 'test', log: silentLogger() });
    server = http.createServer(app);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await context?.close();
    await runner.stop();
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
    await new Promise((ok) => receiver.close(ok));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the failed delivery and its attempt, and Resend delivers the same one', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'cb-chromium-'));
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        viewport: { width: 1280, height: 900 },
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(10_000);
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(`${base}/calls/${SID}`);
      await page.waitForURL(/\/calls\/login/);
      await page.getByLabel('Admin token').fill(TOKEN);
      await page.getByRole('button', { name: /sign in/i }).click();
      await page.waitForURL(`${base}/calls/${SID}`);

      const panel = page.locator('#deliveries');
      await panel.getByRole('heading', { name: 'Notifications' }).waitFor();
      const card = panel.locator('.delivery');
      assert.equal(await card.count(), 1);
      assert.equal(await card.getAttribute('data-state'), 'failed');
      assert.match(await card.locator('.delivery-head').innerText(), /call\.completed\s+→\s+http:\/\/127\.0\.0\.1:\d+\/hook\s+Failed/);
      assert.match(await card.locator('.delivery-attempt').first().innerText(), /#1 · .* · HTTP 410 · \d+ ms/);
      await card.locator('details', { hasText: 'Reply' }).locator('summary').click();
      assert.match(await card.locator('.delivery-attempt pre').innerText(), /gone <img src=x onerror=/);
      assert.equal(await page.evaluate(() => (globalThis as { __xss?: number }).__xss), undefined);

      status = 200;
      await card.getByRole('button', { name: 'Resend' }).click();
      await panel.locator('.delivery[data-state="delivered"]').waitFor();
      assert.deepEqual(await panel.locator('.delivery-attempt strong').allInnerTexts(), ['HTTP 410', 'HTTP 200']);
      assert.equal(posts.length, 2);
      assert.equal(posts[0], posts[1], 'the same webhook-id');
      mkdirSync(join(root, 'test-results'), { recursive: true });
      await page.screenshot({ path: join(root, 'test-results', 'call-deliveries.png'), fullPage: true });
      assert.deepEqual(pageErrors, []);
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
