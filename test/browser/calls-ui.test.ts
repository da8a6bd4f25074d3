import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, skipWithoutChromium } from '../support/browser.js';
import { silentLogger } from '../../src/shared/log.js';
import { openSqliteStore, type SqliteTranscriptStore } from '../../src/transcripts/sqlite-store.js';
import { createTranscriptWriter } from '../../src/transcripts/writer.js';
import { openCallRecording } from '../../src/transcripts/recording.js';
import { mountCalls } from '../../src/web/calls-routes.js';
import { demoCallSid, seedDemoCall } from '../support/transcripts-fixtures.js';

const TOKEN = 'browser-test-token-9876543210';
const root = new URL('../..', import.meta.url).pathname;
const SCREENSHOT = join(root, 'test-results', 'calls-ui.png');

describe('call review UI in a browser', { skip: skipWithoutChromium }, () => {
  let dir: string;
  let store: SqliteTranscriptStore;
  let server: http.Server;
  let base: string;
  let context: BrowserContext | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cb-ui-'));
    store = openSqliteStore({ dataDir: dir });
    const writer = createTranscriptWriter({ store });
    const now = Date.now();
    const rec = openCallRecording({ dataDir: dir, callSid: demoCallSid(1) });
    const tone = new Int16Array(160);
    for (let f = 0; f < 250; f++) {
      for (let i = 0; i < 160; i++) tone[i] = Math.round(2000 * Math.sin((2 * Math.PI * 220 * (f * 160 + i)) / 8000));
      rec.caller(f * 20, tone);
    }
    await rec.close();
    // The call under test, with markup in what the caller said (must show as text).
    const main = seedDemoCall(writer, { callSid: demoCallSid(1), startedAt: now - 2 * 3600_000, recordingPath: rec.relativePath, open: true });
    main.log.event({ kind: 'caller_utterance', text: 'Oh, and is the terrace heated? <b>bold</b><img src=x onerror="window.__xss=1">' }, 31_000);
    main.log.close({ outcome: 'ended_by_bot', endedAt: now - 2 * 3600_000 + 33_500 });
    seedDemoCall(writer, { callSid: demoCallSid(2), startedAt: now - 26 * 3600_000, flow: 'support', outcome: 'transferred', outcomeDetail: { transferTarget: '+442079460000' }, from: '+14155550100' });
    seedDemoCall(writer, { callSid: demoCallSid(3), startedAt: now - 3 * 86_400_000, outcome: 'caller_hung_up' });
    await writer.close();

    const app = express();
    mountCalls(app, { store, dataDir: dir, log: silentLogger(), nodeEnv: 'test', adminToken: TOKEN });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await context?.close();
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs in, searches, opens a call and expands a function call', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'cb-chromium-'));
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        viewport: { width: 1280, height: 900 },
        colorScheme: 'light',
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(10_000);
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      let dialogs = 0;
      page.on('dialog', (d) => {
        dialogs++;
        void d.dismiss();
      });

      // Sign in (the list redirects to the sign-in page, then back).
      await page.goto(`${base}/calls`);
      await page.waitForURL(/\/calls\/login/);
      await page.getByLabel('Admin token').fill(TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${base}/calls`);

      // The list: three calls, caller numbers masked.
      await page.locator('#rows tr').nth(2).waitFor();
      assert.equal(await page.locator('#rows tr').count(), 3);
      assert.match(await page.locator('#summary').innerText(), /3 calls/);
      const firstRow = page.locator('#rows tr').first();
      assert.match(await firstRow.innerText(), /\+44 ••• •••0123/);
      assert.match(await firstRow.innerText(), /Ended by bot/);
      mkdirSync(join(root, 'test-results'), { recursive: true });

      // Search for a word said in one call only.
      await page.getByLabel('Search what was said').fill('terrace');
      await page.locator('#rows mark', { hasText: 'terrace' }).waitFor();
      assert.equal(await page.locator('#rows tr').count(), 1, 'the results replace the list at once');
      assert.match(page.url(), /\?q=terrace$/);
      await page.screenshot({ path: join(root, 'test-results', 'calls-ui-list.png'), fullPage: true });

      // Open it.
      await page.locator('#rows tr a').first().click();
      await page.waitForURL(`${base}/calls/${demoCallSid(1)}`);
      await page.locator('.timeline').waitFor();
      const callerTurns = page.locator('.turn-caller .bubble p');
      const botTurns = page.locator('.turn-bot .bubble p');
      assert.equal(await callerTurns.count(), 5);
      assert.equal(await botTurns.count(), 5);
      assert.equal(await callerTurns.first().innerText(), "Hi, I'd like to book a table for four people on Friday evening, around half past seven.");
      assert.match(await botTurns.first().innerText(), /Trattoria Bella/);
      assert.match(await page.locator('.interrupted .heard').innerText(), /heard 1\.2 s of 3\.4 s/);
      assert.match(await page.locator('.call-head').innerText(), /Ended by bot/);
      assert.match(await page.locator('.stats').innerText(), /620 ms/);
      assert.equal(await page.locator('audio').getAttribute('src'), `/api/calls/${demoCallSid(1)}/recording.wav`);

      // User text stays text.
      assert.equal(await callerTurns.last().innerText(), 'Oh, and is the terrace heated? <b>bold</b><img src=x onerror="window.__xss=1">');
      assert.equal(await page.locator('.timeline b:text("bold"), .timeline img').count(), 0);
      assert.equal(await page.evaluate(() => (globalThis as { __xss?: number }).__xss), undefined);

      // A function call card: closed, then expanded to show its arguments and result.
      const card = page.locator('details.fn-card').filter({ hasText: 'create_booking' });
      assert.equal(await card.locator('pre').first().isVisible(), false);
      await card.locator('summary').click();
      const args = card.locator('pre').first();
      await args.waitFor({ state: 'visible' });
      assert.match(await args.innerText(), /"partySize": 4/);
      assert.match(await card.innerText(), /TB-4821/);
      // The timed-out one explains its error code in plain words.
      const timedOut = page.locator('details.fn-card').filter({ hasText: 'Timed out' });
      await timedOut.locator('summary').click();
      assert.match(await timedOut.innerText(), /did not finish within its timeout/);
      assert.match(await page.locator('.alert-warning').innerText(), /internal error \(1011\)/);

      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      assert.ok(existsSync(SCREENSHOT));
      assert.deepEqual(pageErrors, []);
      assert.equal(dialogs, 0);
    } finally {
      await context?.close();
      context = undefined;
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
