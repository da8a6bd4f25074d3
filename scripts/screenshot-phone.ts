/**
 * Writes the README's screenshot of the browser test phone (docs/img/phone.png): callbridge in
 * process with the shipped dental flow and the Gemini emulator, Debian's Chromium (or
 * CHROMIUM_PATH) whose fake microphone says three sentences, one call on /phone until the bot has
 * checked the calendar, then a screenshot of the page.
 *
 * Run: npx tsx scripts/screenshot-phone.ts [--out docs/img/phone.png]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM } from '../test/support/browser.js';
import { startRig } from '../test/support/e2e.js';
import { SpeechSynth } from '../src/emulator/tts.js';
import { encodeWav } from '../src/audio/wav.js';

const args = process.argv.slice(2);
const out = resolve(args[args.indexOf('--out') + 1] && args.includes('--out') ? args[args.indexOf('--out') + 1]! : 'docs/img/phone.png');
const TOKEN = 'screenshot-admin-token-123';
const RATE = 24000;

/** The caller: silence while the greeting plays, then each sentence with room for the answer. */
async function callerWav(dir: string): Promise<string> {
  const tts = new SpeechSynth({ cacheDir: join(tmpdir(), 'callbridge-test-tts') });
  const lines: Array<[number, string]> = [
    [7, "Hi, I'd like to book a cleaning, please."],
    [10, "Yes, I've been there before. Is next Tuesday possible?"],
    [30, ''],
  ];
  const parts: Int16Array[] = [];
  for (const [silenceS, text] of lines) {
    parts.push(new Int16Array(RATE * silenceS));
    if (text) parts.push(await tts.render(text, 'en-us'));
  }
  await tts.close();
  const samples = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    samples.set(p, at);
    at += p.length;
  }
  const path = join(dir, 'caller.wav');
  writeFileSync(path, encodeWav({ sampleRateHz: RATE, channels: 1, samples }));
  return path;
}

const dir = mkdtempSync(join(tmpdir(), 'cb-shot-'));
const rig = await startRig({
  flows: {},
  env: { ADMIN_TOKEN: TOKEN },
  bridge: { flowsDir: resolve('flows'), toolsDir: resolve('tools'), now: () => new Date('2026-11-24T15:00:00Z') },
  emulator: {
    timing: { setupLatencyMs: 30, firstAudioDelayMs: 200, speechPace: 1.5, turnCompleteDelayMs: 20 },
    scenariosBySystemInstruction: [{ match: 'Bright Smile Dental', scenario: resolve('scenarios/dental-receptionist.yaml') }],
  },
});
const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
  executablePath: CHROMIUM,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${await callerWav(dir)}`, '--autoplay-policy=no-user-gesture-required',
  ],
  permissions: ['microphone'],
  viewport: { width: 1280, height: 860 },
  deviceScaleFactor: 1,
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(90_000);
  const base = rig.bridge.url;
  await page.goto(`${base}/phone`);
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/phone`);
  await page.locator('#flow option').first().waitFor({ state: 'attached' });
  await page.getByRole('button', { name: 'Call', exact: true }).click();
  await page.locator('.phone-event[data-kind="function_call"]').waitFor();
  await page.locator('.caption.bot').nth(2).waitFor();
  await page.waitForTimeout(500);
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: false });
  console.log(`wrote ${out}`);
  await page.getByRole('button', { name: 'Hang up' }).click();
  await page.locator('#status', { hasText: 'Call ended.' }).waitFor({ timeout: 10_000 });
} finally {
  await context.close();
  await rig.close();
  rmSync(dir, { recursive: true, force: true });
}
