/**
 * The /flows page in Chromium against the real server: every flow with its version, hours and
 * "Try it", the stage diagram drawn as SVG (a box per stage, an arrow per move with its
 * condition), and "Reload now" showing a refused change with its file:line.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, skipWithoutChromium } from '../support/browser.js';
import { startRig } from '../support/e2e.js';

const root = new URL('../..', import.meta.url).pathname;
const SCREENSHOT = join(root, 'test-results', 'flows-page.png');

const SHOP = `name: shop
default: true
description: The test shop's line.
persona: You are the shop's assistant.
greeting: Hello, this is the shop.
transfers: { desk: "+15550109999" }
hours:
  timeZone: America/New_York
  weekly: { monday: 08:00-17:00, tuesday: 08:00-17:00 }
  outsideHours: { say: We are closed., then: hangup }
dtmf:
  "0": { transfer: desk }
stages:
  - name: menu
    purpose: Find out what the caller needs.
    instructions: Ask what they want.
    functions: [go_to_stage, end_call]
    dtmf:
      "1": { goTo: orders }
    transitions:
      - onSilence: { afterMs: 8000 }
        say: Are you still there?
  - name: orders
    purpose: Look orders up.
    instructions: Look orders up.
    functions: [transfer_call]
    transitions:
      - onSilence: { afterMs: 10000 }
        goTo: menu
`;

describe('flows page in a browser', { skip: skipWithoutChromium }, () => {
  it('shows each flow with its diagram, and a refused reload with file:line', async () => {
    const rig = await startRig({ flows: { 'shop.yaml': SHOP }, bridge: { now: () => new Date('2026-06-15T10:00:00-04:00') } });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`${rig.bridge.url}/flows`);
      const card = page.locator('.flow-card[data-flow="shop"]');
      await card.waitFor();
      assert.equal(await card.locator('.flow-version').textContent(), rig.bridge.catalog.current.flows[0]!.version);
      assert.equal(await card.locator('a.flow-try').getAttribute('href'), '/phone?flow=shop');
      assert.match((await card.textContent()) ?? '', /Open now/, 'open on the business clock (a Monday at 10:00 in New York)');
      assert.match((await card.textContent()) ?? '', /America\/New_York: Monday, June 15, 2026 at 10:00:00\sAM EDT/, 'the business clock in the flow\'s own zone, not the browser\'s');
      assert.deepEqual(await card.locator('.diagram-stage .diagram-title').allTextContents(), ['▶ menu', 'orders']);
      assert.deepEqual(await card.locator('.diagram-edge .diagram-label').allTextContents(), ['key 1', 'after 10 s of silence']);
      assert.deepEqual(await card.locator('.diagram-note').allTextContents(), ['Any stage: key 0 → transfer to desk (+15550109999)']);
      // The arrows are drawn where the layout put them, inside the drawing.
      const box = await card.locator('svg.diagram').boundingBox();
      const arrow = await card.locator('.diagram-edge polyline').first().boundingBox();
      assert.ok(box && arrow && arrow.x >= box.x && arrow.x + arrow.width <= box.x + box.width + 1, 'the arrow is inside the SVG');

      mkdirSync(join(root, 'test-results'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });

      writeFileSync(join(rig.flowsDir, 'broken.yaml'), 'name: broken\nnumbers: ["+15550001234"]\npersona: [unclosed\n');
      await page.click('#reload');
      await page.locator('.flows-result.refused').waitFor();
      const other = page.locator('.flow-card[data-file$="broken.yaml"]');
      await other.waitFor();
      assert.match((await other.textContent()) ?? '', /broken\.yaml:\d+/, 'the problem names its file and line');
      assert.equal(rig.bridge.catalog.current.flows.length, 1, 'the last good flows keep serving');
      assert.deepEqual(errors, [], 'no script errors');
    } finally {
      await browser.close();
      await rig.close();
    }
  });
});
