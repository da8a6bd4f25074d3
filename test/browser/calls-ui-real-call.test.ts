/**
 * Issue 6's browser check on a real call: a simulated caller talks to the dental example flow
 * through the real server and the Gemini emulator; then, in Debian's Chromium, the review UI
 * lists the call, finds it by a word said in it, and shows its turns and a function call.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, skipWithoutChromium } from '../support/browser.js';
import { startRig, type Rig } from '../support/e2e.js';
import type { CallResult } from '../../src/simulator/index.js';
import { InstantSpeech } from '../support/instant-speech.js';

const TOKEN = 'real-call-review-token-42';
const root = new URL('../..', import.meta.url).pathname;

describe('call review UI on a real simulated call', { skip: skipWithoutChromium }, () => {
  let rig: Rig;
  let call: CallResult;
  let context: BrowserContext | undefined;

  before(async () => {
    rig = await startRig({
      flows: {},
      env: { ADMIN_TOKEN: TOKEN },
      bridge: { flowsDir: resolve('flows'), toolsDir: resolve('tools'), now: () => new Date('2026-11-24T15:00:00Z') },
      emulator: {
        timing: { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 },
        // Lines rendered at once: the caller takes silence as the end of the bot's answer, and
        // espeak rendering the booking line (a fresh reference each run) can take longer than
        // that on a busy machine (../support/instant-speech.ts).
        tts: new InstantSpeech(),
        scenariosBySystemInstruction: [{ match: 'Bright Smile Dental', scenario: resolve('scenarios/dental-receptionist.yaml') }],
      },
    });
    // A patient caller: a function call and the reply after it can leave a pause mid-answer.
    const listen = [{ waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 2500, timeoutMs: 20000 } }];
    const speak = [{ tone: { hz: 300, durationMs: 500, amplitude: 8000 } }, ...listen];
    call = await rig.call({ timeScale: 0.5, afterScript: 'wait', maxDurationMs: 60000, script: [...listen, ...speak, ...speak, ...speak, speak[0]!] });
    await rig.bridge.writer.flush();
  });

  after(async () => {
    await context?.close();
    await rig.close();
  });

  it('lists the call, finds it by a word the caller said, shows the turns and a function call', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'cb-chromium-'));
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        viewport: { width: 1280, height: 900 },
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(10_000);
      const base = rig.bridge.url;
      await page.goto(`${base}/calls`);
      await page.waitForURL(/\/calls\/login/);
      await page.getByLabel('Admin token').fill(TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${base}/calls`);
      await page.locator('#rows tr').first().waitFor();

      // "check-up" is only in what the caller said (the emulator's inputTranscription).
      await page.getByLabel('Search what was said').fill('check-up');
      await page.locator('#rows mark').first().waitFor();
      assert.equal(await page.locator('#rows tr').count(), 1, 'one call matches');
      assert.match(await page.locator('#rows tr').first().innerText(), /Ended by bot/);
      await page.locator('#rows tr a').first().click();
      await page.waitForURL(`${base}/calls/${call.callSid}`);
      await page.locator('.timeline').waitFor();

      const caller = await page.locator('.turn-caller .bubble p').allInnerTexts();
      const bot = await page.locator('.turn-bot .bubble p').allInnerTexts();
      assert.equal(caller[0], "Hi, I'd like to book a check-up, please.");
      assert.match(bot[0] ?? '', /Thank you for calling Bright Smile Dental, this is Maya/);
      assert.ok(bot.some((t) => /You're all set, Sam/.test(t)), `the booking confirmation is shown: ${JSON.stringify(bot)}`);

      const card = page.locator('details.fn-card').filter({ hasText: 'book_appointment' });
      await card.locator('summary').click();
      await card.locator('pre').first().waitFor({ state: 'visible' });
      assert.match(await card.innerText(), /"patientName": "Sam Lee"/);
      assert.match(await card.innerText(), /"status": "booked"/);
      assert.match(await page.locator('.timeline').innerText(), /booking/, 'stage changes are shown');
      mkdirSync(join(root, 'test-results'), { recursive: true });
      await page.screenshot({ path: join(root, 'test-results', 'calls-ui-real-call.png'), fullPage: true });
    } finally {
      await context?.close();
      context = undefined;
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
