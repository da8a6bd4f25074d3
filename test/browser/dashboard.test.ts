/**
 * The owner's dashboard in Chromium, with the browser in Tokyo and the business in New York: the
 * seeded days' figures land on New York days, the follow-up list shows New York times, Done takes
 * a call off the open list and stores who and when, and the CSV link downloads the list.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, skipWithoutChromium } from '../support/browser.js';
import { silentLogger } from '../../src/shared/log.js';
import { openSqliteStore, type SqliteTranscriptStore } from '../../src/transcripts/sqlite-store.js';
import { SqliteDashboardStore } from '../../src/transcripts/sqlite-dashboard.js';
import { mountCalls } from '../../src/web/calls-routes.js';
import { mountDashboard } from '../../src/web/dashboard-routes.js';
import { timeZoneResolver } from '../../src/dashboard/time-zones.js';
import { finishApp } from '../../src/web/server.js';
import { failedFunction, seedAnalysis, seedCall } from '../support/dashboard-fixtures.js';
import { demoCallSid } from '../support/transcripts-fixtures.js';

const TOKEN = 'dashboard-browser-token-0123456789';
const root = new URL('../..', import.meta.url).pathname;
/** The business clock: Monday 9 March 2026, 10:00 in New York. */
const NOW = Date.parse('2026-03-09T14:00:00Z');

describe('dashboard in a browser', { skip: skipWithoutChromium }, () => {
  let dir: string;
  let store: SqliteTranscriptStore;
  let server: http.Server;
  let base: string;
  let context: BrowserContext | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cb-dash-ui-'));
    store = openSqliteStore({ dataDir: dir });
    // Sunday 8 March (New York; already Monday in Tokyo and UTC): three calls.
    await seedCall(store, { n: 1, flow: 'dental', startedAt: Date.parse('2026-03-09T03:30:00Z'), durationMs: 90_000, from: '+15551230001', followUp: { level: 'red', reasons: ['The call failed (CB_TEST).'] }, outcome: 'failed' });
    await seedCall(store, { n: 2, flow: 'dental', startedAt: Date.parse('2026-03-08T15:00:00Z'), durationMs: 30_000, outcome: 'transferred', events: [failedFunction('book_slot')] });
    await seedCall(store, { n: 3, flow: 'dental', startedAt: Date.parse('2026-03-08T16:00:00Z'), durationMs: 60_000, from: '+15551230003' });
    // Monday 9 March: one call.
    await seedCall(store, { n: 4, flow: 'dental', startedAt: Date.parse('2026-03-09T13:00:00Z'), durationMs: 45_000 });
    await seedAnalysis(store, demoCallSid(3), { intent: 'Booking', followUp: true, followUpReason: 'Wants a call back after 5 pm', summary: 'Asked to move her check-up to Friday.' });
    await seedAnalysis(store, demoCallSid(2), { intent: 'booking' });

    const app = express();
    const timeZoneOf = timeZoneResolver(() => [{ name: 'dental', hours: { timeZone: 'America/New_York' } }], undefined);
    mountCalls(app, { store, dataDir: dir, log: silentLogger(), nodeEnv: 'test', adminToken: TOKEN, timeZoneOf });
    mountDashboard(app, { dashboard: new SqliteDashboardStore(store.database), timeZoneOf, now: () => new Date(NOW), log: silentLogger(), nodeEnv: 'test', adminToken: TOKEN });
    finishApp(app, silentLogger());
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

  it('shows the days in the business zone, marks a follow-up done and downloads the CSV', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'cb-chromium-'));
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        viewport: { width: 1280, height: 1000 },
        colorScheme: 'light',
        timezoneId: 'Asia/Tokyo',
        locale: 'en-GB',
        acceptDownloads: true,
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(10_000);
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));

      // Sign in from the dashboard (redirected to the sign-in page and back).
      await page.goto(`${base}/dashboard?from=2026-03-08&to=2026-03-09`);
      await page.waitForURL(/\/calls\/login/);
      await page.getByLabel('Admin token').fill(TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${base}/dashboard?from=2026-03-08&to=2026-03-09`);

      // Figures: Sunday 8 March (New York) has three calls; Monday one.
      const card = page.locator('.dash-flow[data-flow="dental"]');
      await card.waitFor();
      assert.match(await card.locator('.dash-zone').innerText(), /America\/New_York/);
      const sunday = card.locator('tr[data-date="2026-03-08"]');
      const cell = (col: string) => sunday.locator(`[data-col="${col}"]`).innerText();
      assert.equal(await cell('calls'), '3');
      assert.equal(await cell('open'), '2');
      assert.equal(await cell('median'), '1m 00s');
      assert.equal(await cell('transfers'), '1');
      assert.match(await cell('intents'), /booking\s*2/);
      assert.match(await cell('failed'), /book_slot\s*1/);
      assert.match(await cell('outcomes'), /Failed\s*1/);
      assert.equal(await card.locator('tr[data-date="2026-03-09"] [data-col="calls"]').innerText(), '1');
      assert.equal(await card.locator('[data-stat="calls"] dd').innerText(), '4');
      assert.equal(await page.locator('#from').inputValue(), '2026-03-08');
      assert.equal(await sunday.locator('[data-col="calls"] a').getAttribute('href'), '/calls?flow=dental&from=2026-03-08&to=2026-03-08');
      // …which opens that New York day's calls in the list, with New York times there too.
      await sunday.locator('[data-col="calls"] a').click();
      await page.waitForURL(/\/calls\?flow=dental/);
      await page.locator('#rows tr').nth(2).waitFor();
      assert.equal(await page.locator('#rows tr').count(), 3);
      assert.match(await page.locator(`#rows tr:has(a[href="/calls/${demoCallSid(1)}"]) .when`).innerText(), /23:30/);
      await page.goBack();
      await card.waitFor();

      // The follow-up list: New York times (23:30 on Sunday, not Monday 12:30 as in Tokyo).
      const rows = page.locator('#fu-rows tr');
      await rows.nth(1).waitFor();
      assert.equal(await rows.count(), 2);
      const first = page.locator(`#fu-rows tr[data-sid="${demoCallSid(1)}"]`);
      assert.match(await first.locator('.when').innerText(), /Sun 8 Mar, 23:30/);
      assert.match(await first.innerText(), /The call failed \(CB_TEST\)\./);
      assert.match(await first.innerText(), /\+1 ••• •••0001/);
      const third = page.locator(`#fu-rows tr[data-sid="${demoCallSid(3)}"]`);
      assert.match(await third.innerText(), /Wants a call back after 5 pm/);
      assert.match(await third.innerText(), /Asked to move her check-up to Friday\./);
      mkdirSync(join(root, 'test-results'), { recursive: true });
      await page.screenshot({ path: join(root, 'test-results', 'dashboard.png'), fullPage: true });

      // Done, with a name: the call leaves the open list; the mark is stored with who and when.
      await page.getByLabel('Your name').fill('Maria');
      await third.getByRole('button', { name: 'Done' }).click();
      await third.waitFor({ state: 'detached' });
      assert.equal(await rows.count(), 1);
      assert.match(await page.locator('#fu-status').innerText(), /Marked done by Maria/);
      const mark = await new SqliteDashboardStore(store.database).doneMarkOf(demoCallSid(3));
      assert.deepEqual(mark && { by: mark.by, via: mark.via, atMs: mark.atMs }, { by: 'Maria', via: 'admin', atMs: NOW });
      await page.locator('tr[data-date="2026-03-08"] [data-col="open"]', { hasText: '1' }).waitFor();

      // The CSV of the open list: one row, with New York time.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
      const csv = readFileSync((await download.path())!, 'utf8').replace(/^\uFEFF/, '').split('\r\n');
      assert.match(download.suggestedFilename(), /^follow-ups-open-2026-03-09\.csv$/);
      assert.equal(csv.length, 3);
      assert.match(csv[1]!, new RegExp(`^${demoCallSid(1)},2026-03-08 23:30,America/New_York,dental,'\\+15551230001,failed,90,red,`));

      // The done view, and undo.
      await page.getByRole('button', { name: 'Done', exact: true }).first().waitFor();
      await page.locator('#show-done').click();
      const doneRow = page.locator(`#fu-rows tr[data-sid="${demoCallSid(3)}"]`);
      await doneRow.waitFor();
      assert.match(await doneRow.innerText(), /Done by Maria/);
      await doneRow.getByRole('button', { name: 'Undo' }).click();
      await doneRow.waitFor({ state: 'detached' });
      assert.equal(await new SqliteDashboardStore(store.database).doneMarkOf(demoCallSid(3)), undefined);
      assert.deepEqual(pageErrors, []);
    } finally {
      await context?.close();
      context = undefined;
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
