/**
 * The call list and call page in Chromium: follow-up flags (amber, red) with their reasons and the
 * followUp / channel filters; a call in progress appears at the top of /calls without a reload,
 * shows what is being said, and its page grows as events are recorded and shows the final record
 * (outcome, follow-up) when it ends — all without navigating.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, skipWithoutChromium } from '../support/browser.js';
import { silentLogger } from '../../src/shared/log.js';
import { openSqliteStore, type SqliteTranscriptStore } from '../../src/transcripts/sqlite-store.js';
import { createTranscriptWriter, type TranscriptWriter } from '../../src/transcripts/writer.js';
import { mountCalls } from '../../src/web/calls-routes.js';
import { demoCallSid, demoRecord, seedDemoCall } from '../support/transcripts-fixtures.js';

const root = new URL('../..', import.meta.url).pathname;

describe('live calls and follow-up flags in a browser', { skip: skipWithoutChromium }, () => {
  let dir: string;
  let store: SqliteTranscriptStore;
  let writer: TranscriptWriter;
  let server: http.Server;
  let base: string;
  let context: BrowserContext | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cb-live-ui-'));
    store = openSqliteStore({ dataDir: dir });
    writer = createTranscriptWriter({ store, flushIntervalMs: 50 });
    const now = Date.now();
    seedDemoCall(writer, {
      callSid: demoCallSid(1), startedAt: now - 3600_000, outcome: 'failed',
      followUp: { level: 'red', reasons: ['The transfer to front-desk (+15550100300) failed: Twilio answered 500.'] },
    });
    seedDemoCall(writer, {
      callSid: demoCallSid(2), startedAt: now - 7200_000, channel: 'browser', from: 'admin (browser)',
      followUp: { level: 'amber', reasons: ['The function create_booking failed: the calendar is down.'] },
    });
    seedDemoCall(writer, { callSid: demoCallSid(3), startedAt: now - 10_800_000 });
    await writer.flush();
    const app = express();
    mountCalls(app, { store, dataDir: dir, log: silentLogger(), nodeEnv: 'test', live: writer });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await context?.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await writer.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows follow-ups, filters them, and follows a call live from the list to its end', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'cb-chromium-'));
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        viewport: { width: 1280, height: 900 },
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(10_000);
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));

      await page.goto(`${base}/calls`);
      await page.locator('#rows tr').nth(2).waitFor();
      const red = page.locator('#rows tr').filter({ has: page.locator('.follow-up-red') });
      assert.match(await red.innerText(), /Follow up[\s\S]*The transfer to front-desk \(\+15550100300\) failed/);
      assert.equal(await page.locator('#rows .follow-up-amber').count(), 1);
      assert.match(await page.locator('#rows tr').filter({ has: page.locator('.follow-up-amber') }).innerText(), /Browser test/);

      await page.getByLabel('Follow-up').selectOption('red');
      await page.waitForURL(/followUp=red/);
      await page.locator('#summary', { hasText: /^1 call/ }).waitFor();
      assert.equal(await page.locator('#rows tr').count(), 1);
      await page.getByLabel('Follow-up').selectOption('');
      await page.getByLabel('Channel').selectOption('browser');
      await page.waitForURL(/channel=browser/);
      await page.locator('#summary', { hasText: /^1 call/ }).waitFor();
      assert.match(await page.locator('#rows tr').innerText(), /Browser test/);
      await page.getByLabel('Channel').selectOption('');
      await page.locator('#summary', { hasText: /^3 calls/ }).waitFor();
      assert.equal(await page.locator('#live').isHidden(), true, 'nothing in progress yet');

      // A call starts: it appears at the top without a reload, with what is being said.
      await page.evaluate(() => ((globalThis as { __samePage?: boolean }).__samePage = true));
      const sid = demoCallSid(9);
      const log = writer.openCall(demoRecord({ callSid: sid, startedAt: Date.now(), flow: 'bookings' }));
      const item = page.locator(`#live-calls li[data-sid="${sid}"]`);
      await item.waitFor();
      log.event({ kind: 'caller_utterance', text: 'Can I move my booking to Saturday?' }, 2100);
      await item.locator('.said', { hasText: 'Caller: “Can I move my booking to Saturday?”' }).waitFor();
      await page.locator('#rows tr', { hasText: 'In progress' }).waitFor(); // the stored list refreshed too
      mkdirSync(join(root, 'test-results'), { recursive: true });
      await page.screenshot({ path: join(root, 'test-results', 'calls-live.png'), fullPage: true });
      assert.equal(await page.evaluate(() => (globalThis as { __samePage?: boolean }).__samePage), true, 'no reload');

      // Open it: the timeline grows as events are recorded.
      await item.locator('a').click();
      await page.waitForURL(`${base}/calls/${sid}`);
      await page.locator('.turn-caller', { hasText: 'Can I move my booking to Saturday?' }).waitFor();
      await page.locator('#live-badge').waitFor();
      await page.evaluate(() => ((globalThis as { __samePage?: boolean }).__samePage = true));
      log.event({ kind: 'bot_utterance', text: 'Of course. Saturday at seven?', heardMs: 1800, sentMs: 1800, interrupted: false }, 3000);
      log.event({ kind: 'function_call', id: 'f1', name: 'move_booking', args: { day: 'saturday' }, status: 'error', error: 'no table free', errorCode: 'CB_TOOL_FAILED', latencyMs: 40 }, 5200);
      await page.locator('.turn-bot', { hasText: 'Of course. Saturday at seven?' }).waitFor();
      await page.locator('details.fn-card', { hasText: 'move_booking' }).waitFor();
      const order = await page.locator('#timeline > li').evaluateAll((els) => els.map((e) => e.id));
      assert.deepEqual(order.slice(-3), ['e1', 'e2', 'e3'], 'in call-time order, each once');

      // It ends: the page shows the final record in place.
      log.close({ outcome: 'ended_by_bot', followUp: { level: 'amber', reasons: ['The function move_booking failed: no table free.'] } });
      await page.locator('.follow-up-box.follow-up-amber', { hasText: 'move_booking failed' }).waitFor();
      assert.match(await page.locator('.call-head').innerText(), /Ended by bot/);
      assert.equal(await page.locator('#live-badge').count(), 0);
      assert.equal(await page.evaluate(() => (globalThis as { __samePage?: boolean }).__samePage), true, 'no reload');

      // Back on the list, nothing is in progress any more.
      await page.goto(`${base}/calls`);
      await page.locator('#rows tr').nth(3).waitFor();
      await page.locator('#live-status', { hasText: 'Live' }).waitFor({ state: 'attached' });
      assert.equal(await page.locator('#live').isHidden(), true);
      assert.deepEqual(pageErrors, []);
    } finally {
      await context?.close();
      context = undefined;
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
