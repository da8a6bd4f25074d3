/**
 * The post-call analysis in the review UI (Chromium): the list shows a call's intent and summary
 * and the analysis's follow-up badge, filters "Needs follow-up (rules or analysis)"; the call page
 * shows the analysis panel with its fields, a field value links to the list filtered by it (a
 * removable chip), and a failed analysis says why. Model text stays text.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, skipWithoutChromium } from '../support/browser.js';
import { silentLogger } from '../../src/shared/log.js';
import { openSqliteStore, type SqliteTranscriptStore } from '../../src/transcripts/sqlite-store.js';
import { SqliteAnalysisStore } from '../../src/transcripts/sqlite-analysis.js';
import { createTranscriptWriter } from '../../src/transcripts/writer.js';
import type { CallAnalysis } from '../../src/transcripts/after-call-store.js';
import { mountCalls } from '../../src/web/calls-routes.js';
import { mountAnalysis } from '../../src/web/analysis-routes.js';
import { demoCallSid, seedDemoCall } from '../support/transcripts-fixtures.js';

const base0 = (now: number): CallAnalysis => ({
  status: 'ok', summary: 'The caller booked a table for four on Friday <b>evening</b>.', intent: 'book a table', resolved: true,
  followUp: true, followUpReason: 'Confirm the allergy note by phone.', sentiment: 'positive',
  fields: { reason: 'booking', party_size: 4, callback_number: null }, model: 'gemini-3.8-flash', promptVersion: 'analysis-v1', analysedAtMs: now,
});

describe('post-call analysis in the review UI', { skip: skipWithoutChromium }, () => {
  let dir: string;
  let store: SqliteTranscriptStore;
  let server: http.Server;
  let base: string;
  let context: BrowserContext | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cb-analysis-ui-'));
    store = openSqliteStore({ dataDir: dir });
    const writer = createTranscriptWriter({ store });
    const now = Date.now();
    seedDemoCall(writer, { callSid: demoCallSid(1), startedAt: now - 3600_000, outcome: 'ended_by_bot' });
    seedDemoCall(writer, { callSid: demoCallSid(2), startedAt: now - 7200_000, outcome: 'completed' });
    seedDemoCall(writer, { callSid: demoCallSid(3), startedAt: now - 9000_000, outcome: 'caller_hung_up' });
    await writer.close();
    const analyses = new SqliteAnalysisStore(store.database);
    await analyses.putAnalysis(demoCallSid(1), base0(now), now);
    await analyses.putAnalysis(demoCallSid(2), { ...base0(now), followUp: false, followUpReason: null, fields: { reason: 'billing', party_size: null, callback_number: null }, intent: 'ask about a bill', summary: 'A billing question, answered.' }, now);
    await analyses.putAnalysis(demoCallSid(3), { ...base0(now), status: 'failed', summary: '', intent: '', followUp: false, fields: {}, error: 'HTTP 404 NOT_FOUND: models/gemini-0 is not found', errorCode: 'CB_ANALYSIS_REJECTED' }, now);

    const app = express();
    mountCalls(app, { store, dataDir: dir, log: silentLogger(), nodeEnv: 'test', analyses: { analysisOf: (sid) => analyses.getAnalysis(sid) } });
    // "Analyse again": pending at once, a new answer a moment later (the server's runner stands here).
    const afterCall = {
      analysisOf: (sid: string) => analyses.getAnalysis(sid),
      async reanalyse(sid: string) {
        await analyses.putAnalysis(sid, { ...base0(Date.now()), status: 'pending', summary: '', fields: {} }, Date.now());
        setTimeout(() => void analyses.putAnalysis(sid, { ...base0(Date.now()), summary: 'Analysed again.' }, Date.now()), 300);
      },
    };
    mountAnalysis(app, { store, afterCall, log: silentLogger(), nodeEnv: 'test' });
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

  it('lists, filters and shows analyses', async () => {
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
      type Doc = { querySelectorAll(selector: string): { length: number } };
      const rowsAre = (n: number) => page.waitForFunction((want) => (globalThis as unknown as { document: Doc }).document.querySelectorAll('#rows tr').length === want, n);

      await page.goto(`${base}/calls`);
      await page.locator('#rows tr').nth(2).waitFor();
      const first = page.locator('#rows tr').first();
      assert.match(await first.innerText(), /book a table: The caller booked a table for four on Friday <b>evening<\/b>\./);
      assert.match(await first.innerText(), /Follow up/);
      assert.match(await first.innerText(), /Confirm the allergy note by phone\./);

      await page.locator('#followUp').selectOption('true');
      await page.waitForURL(/followUp=true/);
      await rowsAre(1);
      await page.locator('#followUp').selectOption('');
      await rowsAre(3);

      await page.locator('#rows tr a').first().click();
      await page.waitForURL(`${base}/calls/${demoCallSid(1)}`);
      await page.locator('#analysis').waitFor();
      assert.equal(await page.locator('#analysis-summary').innerText(), 'The caller booked a table for four on Friday <b>evening</b>.');
      assert.equal(await page.locator('#analysis-follow-up').innerText(), 'Yes');
      const fields = await page.locator('#analysis-fields').innerText();
      assert.match(fields, /reason\s+booking/);
      assert.match(fields, /party_size\s+4/);
      assert.match(fields, /callback_number\s+not said/);
      assert.match(await page.locator('#analysis').innerText(), /gemini-3\.8-flash · prompt analysis-v1/);

      // Analyse again: pending at once, then the new answer without a reload.
      await page.locator('#analyse-again').click();
      await page.locator('#analysis[data-status="pending"]').waitFor();
      await page.locator('#analysis-summary', { hasText: 'Analysed again.' }).waitFor();

      // A field value opens the list filtered by it, shown as a chip that can be removed.
      await page.locator('#analysis-fields a', { hasText: 'booking' }).click();
      await page.waitForURL(/field\.reason=booking/);
      await rowsAre(1);
      await page.locator('#field-chips button').click();
      await rowsAre(3);
      assert.doesNotMatch(page.url(), /field\./);

      await page.goto(`${base}/calls/${demoCallSid(3)}`);
      await page.locator('#analysis').waitFor();
      assert.equal(await page.locator('#analysis-status').innerText(), 'Failed');
      assert.match(await page.locator('#analysis').innerText(), /404 NOT_FOUND[\s\S]*CB_ANALYSIS_REJECTED/);
      assert.deepEqual(pageErrors, []);
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
