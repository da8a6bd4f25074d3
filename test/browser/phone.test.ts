/**
 * The browser test phone in Debian's Chromium, end to end on the "Phone line" quality: its fake
 * microphone plays a WAV (a 1 kHz tone, then a sentence spoken by espeak-ng), the page signs in,
 * opens /phone, calls the default flow; the emulator must receive 16 kHz audio carrying the tone
 * (the path μ-law 8 kHz → the server's resampler); the page must show the bot's caption and play
 * its audio (an AnalyserNode on the playback path, the page's "Bot" meter); keypad "1" shows the
 * DTMF event; Hang up ends the call, which is then found with channel=browser and its transcript.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, skipWithoutChromium } from '../support/browser.js';
import { startRig, testFlow, type Rig } from '../support/e2e.js';
import { SpeechSynth } from '../../src/emulator/tts.js';
import { encodeWav } from '../../src/audio/wav.js';
import { fitSine, sineWave } from '../../src/audio/analysis.js';

const TOKEN = 'browser-phone-admin-token-42';
const TONE_HZ = 1000;

/** 24 kHz mono: 2.5 s of silence (the greeting plays undisturbed), 1.2 s of a 1 kHz tone, 0.4 s of silence, a spoken sentence, 0.6 s of silence. */
async function micWav(dir: string): Promise<string> {
  const tts = new SpeechSynth({ cacheDir: join(tmpdir(), 'callbridge-test-tts') });
  const speech = await tts.render('Hello, I would like to book an appointment for Tuesday.', 'en-us');
  await tts.close();
  const rate = 24000;
  const tone = sineWave(TONE_HZ, rate, 1200, 12000);
  const lead = rate * 2.5;
  const samples = new Int16Array(lead + tone.length + rate * 0.4 + speech.length + rate * 0.6);
  samples.set(tone, lead);
  samples.set(speech, lead + tone.length + rate * 0.4);
  const path = join(dir, 'mic.wav');
  writeFileSync(path, encodeWav({ sampleRateHz: rate, channels: 1, samples }));
  return path;
}

/** The 16 kHz caller audio the emulator received since session `after`. */
function emulatorPcm(rig: Rig, after: number): Int16Array {
  const parts: Buffer[] = [];
  for (const s of rig.emulator.sessions.filter((x) => x.id > after)) {
    for (const r of s.received) {
      const audio = (r.json as { realtimeInput?: { audio?: { data?: string; mimeType?: string } } } | undefined)?.realtimeInput?.audio;
      if (audio?.data && audio.mimeType === 'audio/pcm;rate=16000') parts.push(Buffer.from(audio.data, 'base64'));
    }
  }
  const bytes = Buffer.concat(parts);
  return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
}

/** The best 0.25 s window's fitted amplitude at `hz`. */
function bestFit(pcm: Int16Array, hz: number): number {
  let best = 0;
  for (let start = 0; start + 4000 <= pcm.length; start += 800) best = Math.max(best, fitSine(pcm, hz, 16000, start, start + 4000).amplitude);
  return best;
}

describe('browser test phone in Chromium', { skip: skipWithoutChromium }, () => {
  let rig: Rig;
  let context: BrowserContext | undefined;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cb-phone-'));
    rig = await startRig({
      flows: { 'test.yaml': testFlow({ greeting: 'Hello, this is the test line. How can I help?' }) },
      env: { ADMIN_TOKEN: TOKEN },
      emulator: { timing: { setupLatencyMs: 20, firstAudioDelayMs: 80, speechPace: 2, turnCompleteDelayMs: 20 } },
    });
  });

  after(async () => {
    await context?.close();
    await rig.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('calls the default flow from /phone: tone heard at 16 kHz, caption and audio on the page, DTMF, hang up, stored as a browser call', async () => {
    const wav = await micWav(dir);
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required',
      ],
      permissions: ['microphone'],
      viewport: { width: 1280, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const base = rig.bridge.url;

    await page.goto(`${base}/phone`);
    await page.waitForURL(/\/calls\/login/);
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/phone`);
    await page.locator('#flow option[value="test-line"]').waitFor({ state: 'attached' });
    assert.equal(await page.getByLabel('Flow').inputValue(), 'test-line', 'the default flow is preselected');
    assert.ok(await page.getByLabel('Phone line (8 kHz μ-law)').isChecked(), 'phone line is the default quality');

    const sessionsBefore = Math.max(0, ...rig.emulator.sessions.map((s) => s.id));
    await page.getByRole('button', { name: 'Call', exact: true }).click();
    await page.locator('#status[data-tone="live"]').waitFor();
    await page.locator('.caption.bot:not(.live) .text').first().waitFor();
    assert.match(await page.locator('.caption.bot:not(.live) .text').first().innerText(), /test line/);
    // Audio played: the page's AnalyserNode on the playback path saw signal.
    await page.waitForFunction("Number(document.getElementById('bot-level')?.dataset.peak ?? 0) > 0.01");

    await page.getByRole('button', { name: '1', exact: true }).click();
    await page.locator('.phone-event[data-kind="dtmf"]', { hasText: 'Pressed 1' }).waitFor();

    // The fake microphone loops the WAV: wait until the tone has come round and reached the emulator.
    let on = 0;
    let off = 0;
    for (let i = 0; i < 40 && !(on > 1500 && on > 8 * off); i++) {
      await page.waitForTimeout(250);
      const pcm = emulatorPcm(rig, sessionsBefore);
      on = bestFit(pcm, TONE_HZ);
      off = bestFit(pcm, 1700);
    }
    assert.ok(on > 1500 && on > 8 * off, `the emulator heard the tone at 16 kHz: ${on.toFixed(0)} at ${TONE_HZ} Hz vs ${off.toFixed(0)} at 1700 Hz`);

    assert.match(await page.locator('#status').innerText(), /In a call with “test-line”/);
    await page.getByRole('button', { name: 'Hang up' }).click();
    await page.locator('#status', { hasText: 'Call ended.' }).waitFor();
    const link = await page.locator('#record-link a').getAttribute('href');
    const sid = decodeURIComponent(String(link).replace('/calls/', ''));
    assert.match(sid, /^BR[0-9a-f]{32}$/);
    assert.deepEqual(pageErrors, []);

    await rig.bridge.writer.flush();
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const list = (await (await fetch(`${base}/api/calls?channel=browser`, { headers: auth })).json()) as { calls: Array<{ callSid: string; from: string }> };
    const listed = list.calls.find((c) => c.callSid === sid);
    assert.ok(listed, 'found with channel=browser');
    assert.equal(listed.from, 'admin');
    const detail = (await (await fetch(`${base}/api/calls/${sid}`, { headers: auth })).json()) as { call: { channel: string; outcome: string }; events: Array<{ kind: string; text?: string; digit?: string }> };
    assert.equal(detail.call.channel, 'browser');
    assert.ok(detail.events.some((e) => e.kind === 'bot_utterance' && /test line/.test(e.text ?? '')), 'the transcript has the greeting');
    assert.ok(detail.events.some((e) => e.kind === 'dtmf' && e.digit === '1'), 'and the key press');
  });
});
