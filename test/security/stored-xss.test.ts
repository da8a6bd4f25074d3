/**
 * Attack: stored XSS in the call review UI. A caller says markup (speech-to-text writes what it
 * hears), a SIP caller picks a `From` holding markup, or the model passes markup in a function's
 * arguments and the endpoint echoes it in its result; an admin then opens the call list, searches,
 * and opens the call. The audit found this holding; this is its regression test in Chromium:
 * every payload shows as text, none runs (no marker set, no dialog, no element with an event
 * handler), and the pages' CSP forbids inline script, so even markup that got into the page
 * could not run (an injected inline handler is blocked and reported).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, skipWithoutChromium } from '../support/browser.js';
import { ADMIN_CSP } from '../../src/web/admin-guard.js';
import { serveSeeded, type SeededServer } from './seeded-calls.js';
import { stackLines } from './support.js';

const TOKEN = 'stored-xss-admin-token-0123456789abcdef';
const SID = 'CA' + 'e5'.repeat(16);

/** Each payload would set window.__xss to its number if it ran. */
const SAID = [
  'terrace <script>window.__xss=1</script>',
  'terrace <img src=x onerror="window.__xss=2">',
  'terrace "><svg onload="window.__xss=3"></svg>',
  "terrace </p><iframe srcdoc=\"<script>parent.__xss=4</script>\"></iframe>",
  'terrace <a href="javascript:window.__xss=5">click</a>',
];
const ARGS = { note: '<img src=x onerror="window.__xss=6">', '<b onmouseover="window.__xss=7">key</b>': 'v' };
const RESULT = { html: '<script>window.__xss=8</script>', more: '<style>@import "//evil.example/x.css";</style>' };
const FROM = '<img src=x onerror="window.__xss=9">';
const REASON = '<img src=x onerror="window.__xss=10">';

const ARGS_SHOWN = ['<img src=x onerror=', 'window.__xss=6', '<b onmouseover='];

describe('security: stored XSS in the call review UI', { skip: skipWithoutChromium }, () => {
  let s: SeededServer;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let dialogs = 0;

  before(async () => {
    s = await serveSeeded(
      [{ callSid: SID, said: SAID, functionCall: { name: 'lookup', args: ARGS, result: RESULT }, record: { from: FROM, outcomeDetail: { reason: REASON } } }],
      { adminToken: TOKEN },
    );
    profile = mkdtempSync(join(tmpdir(), 'cb-chromium-xss-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10_000);
    page.on('dialog', (d) => {
      dialogs++;
      void d.dismiss();
    });
    await page.goto(`${s.base}/calls/login`);
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${s.base}/calls`);
  });

  after(async () => {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
    await s?.close();
  });

  /** Nothing ran: no marker, no dialog, no element carrying a handler or a javascript: URL. */
  async function assertInert(where: string): Promise<void> {
    // Browser code as a string: the project's TypeScript has no DOM types.
    const state = (await page.evaluate(`({
      xss: window.__xss,
      handlers: document.querySelectorAll('[onerror],[onload],[onmouseover],iframe,script:not([src]),a[href^="javascript:"]').length,
    })`)) as { xss?: number; handlers: number };
    assert.deepEqual(state, { xss: undefined, handlers: 0 }, where);
    assert.equal(dialogs, 0, where);
  }

  it('the list and a search show the payloads as text', async () => {
    await page.goto(`${s.base}/calls?q=terrace`);
    await page.locator('#rows mark', { hasText: 'terrace' }).first().waitFor();
    const row = await page.locator('#rows tr').first().innerText();
    assert.match(row, /terrace/);
    await assertInert('list with search');
    await page.goto(`${s.base}/calls`);
    await page.locator('#rows tr').first().waitFor();
    await assertInert('list');
  });

  it('the call page shows what was said, the arguments and the result as text', async () => {
    await page.goto(`${s.base}/calls/${SID}`);
    await page.locator('.timeline').waitFor();
    const said = await page.locator('.turn-caller .bubble p').allInnerTexts();
    assert.deepEqual(said, SAID, 'each utterance shows exactly as said');
    const card = page.locator('details.fn-card').filter({ hasText: 'lookup' });
    await card.locator('summary').click();
    const shown = await card.innerText();
    for (const text of ARGS_SHOWN) assert.ok(shown.includes(text), `the arguments show as text: ${text}`);
    assert.ok(shown.includes('<script>window.__xss=8</script>'), 'the result shows as text');
    // Give anything that did get in a chance to load or fire before looking.
    await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)))');
    await assertInert('call page');
  });

  it('the pages carry a CSP without inline script, and Chromium enforces it', async () => {
    for (const path of ['/calls', `/calls/${SID}`, '/calls/login']) {
      const res = await fetch(s.base + path, { headers: { authorization: `Bearer ${TOKEN}` } });
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.equal(csp, ADMIN_CSP, path);
      assert.match(csp, /(^|; )script-src 'self'(;|$)/, `${path}: scripts from this origin only`);
      assert.match(csp, /(^|; )default-src 'none'(;|$)/, path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|data:[^;]*script|\*/, path);
    }
    // Markup that somehow got into the page: its inline handler is refused and reported.
    const ran = (await page.evaluate(`new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (e) => resolve({ ran: window.__csp === 1, violation: e.violatedDirective }), { once: true });
      const div = document.createElement('div');
      div.innerHTML = '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" onload="window.__csp=1">';
      document.body.append(div);
    })`)) as { ran: boolean; violation: string };
    assert.equal(ran.ran, false, 'the injected inline handler did not run');
    assert.match(ran.violation, /^script-src/);
  });

  it('logs no 500 and no stack', () => assert.deepEqual(stackLines(s.lines), []));
});
