/**
 * The browser test phone's WebSocket end to end, with a Node client speaking the page's protocol
 * (docs/browser-phone.md) against the real server and the Gemini emulator: refusals before the
 * upgrade (401 / 403 / 404 / 400 / 409), a call on each line quality (the emulator gets 16 kHz
 * audio carrying the caller's tone; bot audio, marks and events reach the page), DTMF, a transfer
 * that is only reported, end_call hanging the page up, a bad frame closing only its own socket,
 * and the stored record (channel "browser", from the signed-in user).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { startRig, testFlow, type Rig } from '../support/e2e.js';
import { connectPhone, signIn, streamFrames, type PhoneClient, type Upgrade } from '../support/phone-client.js';
import { encodeMulaw } from '../../src/audio/mulaw.js';
import { fitSine, sineWave } from '../../src/audio/analysis.js';

const TOKEN = 'phone-test-admin-token-123';
const HOURS = [
  'hours:',
  '  timeZone: America/New_York',
  '  weekly: { monday: 09:00-17:00, tuesday: 09:00-17:00, wednesday: 09:00-17:00, thursday: 09:00-17:00, friday: 09:00-17:00 }',
  '  closedDates: [2026-12-25]',
  '  outsideHours: { say: "We are closed for the holiday.", then: hangup }',
].join('\n');
const TONE_HZ = 1000;

function phoneOf(u: Upgrade): PhoneClient {
  if (!u.ok) throw new Error(`upgrade refused: ${u.status} ${u.body}`);
  return u.phone;
}

/** 20 ms frames of a tone, then silence, in the line's format. */
function toneFrames(quality: 'phone' | 'wideband', toneMs: number, silenceMs: number): Uint8Array[] {
  const rate = quality === 'wideband' ? 16000 : 8000;
  const pcm = new Int16Array(Math.round(((toneMs + silenceMs) * rate) / 1000));
  pcm.set(sineWave(TONE_HZ, rate, toneMs, 12000));
  const perFrame = rate / 50;
  const frames: Uint8Array[] = [];
  for (let i = 0; i + perFrame <= pcm.length; i += perFrame) {
    const chunk = pcm.subarray(i, i + perFrame);
    frames.push(quality === 'wideband' ? new Uint8Array(chunk.slice().buffer) : encodeMulaw(chunk));
  }
  return frames;
}

/** Every 16 kHz sample the emulator's sessions received, in order, and the declared rates. */
function emulatorAudio(rig: Rig, fromSession: number): { pcm: Int16Array; mimeTypes: Set<string> } {
  const parts: Buffer[] = [];
  const mimeTypes = new Set<string>();
  for (const s of rig.emulator.sessions.filter((x) => x.id > fromSession)) {
    for (const r of s.received) {
      const audio = (r.json as { realtimeInput?: { audio?: { data?: string; mimeType?: string } } } | undefined)?.realtimeInput?.audio;
      if (!audio?.data) continue;
      parts.push(Buffer.from(audio.data, 'base64'));
      if (audio.mimeType) mimeTypes.add(audio.mimeType);
    }
  }
  const bytes = Buffer.concat(parts);
  return { pcm: new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1), mimeTypes };
}

/** The loudest 0.5 s of `pcm` (16 kHz): its fitted amplitude at `hz`. */
function bestFit(pcm: Int16Array, hz: number): number {
  let best = 0;
  for (let start = 0; start + 8000 <= pcm.length; start += 1600) best = Math.max(best, fitSine(pcm, hz, 16000, start, start + 8000).amplitude);
  return best;
}

async function apiGet(rig: Rig, path: string): Promise<any> {
  const res = await fetch(`${rig.bridge.url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return res.json();
}

async function storedCall(rig: Rig, callSid: string): Promise<any> {
  await rig.bridge.writer.flush();
  for (let i = 0; i < 50; i++) {
    const body = await apiGet(rig, `/api/calls/${callSid}`);
    if (body.call.endedAt !== undefined) return body;
    await new Promise((r) => setTimeout(r, 100));
    await rig.bridge.writer.flush();
  }
  throw new Error(`call ${callSid} never ended`);
}

describe('browser test phone over its WebSocket', () => {
  let rig: Rig;
  let cookie: string;

  before(async () => {
    const dtmf = ['dtmf:', '  "0": { say: "Putting you through.", transfer: desk }', '  "9": { endCall: "caller pressed 9" }'].join('\n');
    rig = await startRig({
      flows: {
        'test.yaml': testFlow({ topLevel: dtmf }),
        'other.yaml': testFlow({ name: 'other-line', isDefault: false, numbers: ['+15550100200'], greeting: 'Other line here.' }),
        'holiday.yaml': testFlow({ name: 'holiday-line', isDefault: false, numbers: ['+15550100300'], topLevel: HOURS }),
      },
      env: { ADMIN_TOKEN: TOKEN },
      emulator: { timing: { setupLatencyMs: 20, firstAudioDelayMs: 60, speechPace: 4, turnCompleteDelayMs: 20 } },
    });
    cookie = await signIn(rig.bridge.url, TOKEN);
  });

  after(async () => {
    await rig.close();
  });

  it('refuses before the upgrade: 401 without a session, 403 from another origin, 404 unknown flow, 400 bad quality', async () => {
    const base = rig.bridge.url;
    const none = await connectPhone(base);
    assert.equal(none.ok ? 101 : none.status, 401);
    const forged = await connectPhone(base, { cookie: 'cb_calls=123.abc', origin: base });
    assert.equal(forged.ok ? 101 : forged.status, 401);
    const evil = await connectPhone(base, { cookie, origin: 'https://evil.example' });
    assert.equal(evil.ok ? 101 : evil.status, 403);
    const noOrigin = await connectPhone(base, { cookie, origin: null });
    assert.equal(noOrigin.ok ? 101 : noOrigin.status, 403);
    const unknown = await connectPhone(base, { cookie, query: { flow: 'no-such-flow' } });
    assert.equal(unknown.ok ? 101 : unknown.status, 404);
    const quality = await connectPhone(base, { cookie, query: { quality: 'hifi' } });
    assert.equal(quality.ok ? 101 : quality.status, 400);
    const pretend = await connectPhone(base, { cookie, query: { pretend: 'tomorrow' } });
    assert.equal(pretend.ok ? 101 : pretend.status, 400);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  it('a phone-line call: the emulator hears the tone at 16 kHz, the page gets audio, marks, DTMF and captions; a second call from the session is refused with 409', async () => {
    const sessionsBefore = Math.max(0, ...rig.emulator.sessions.map((s) => s.id));
    const phone = phoneOf(await connectPhone(rig.bridge.url, { cookie }));
    const ready = await phone.until(() => phone.message('ready'), 5000, 'ready');
    assert.equal(ready['flow'], 'test-line');
    assert.deepEqual(ready['format'], { encoding: 'mulaw', sampleRateHz: 8000 });
    const callSid = String(ready['callSid']);

    const second = await connectPhone(rig.bridge.url, { cookie });
    assert.equal(second.ok ? 101 : second.status, 409, 'one browser call per session');
    const other = phoneOf(await connectPhone(rig.bridge.url, { cookie: await signIn(rig.bridge.url, TOKEN), query: { flow: 'other-line' } }));
    assert.equal((await other.until(() => other.message('ready'), 5000, 'ready'))['flow'], 'other-line', 'another session may call at the same time');
    other.send({ type: 'hangup' });
    assert.equal((await other.closed).code, 1000);

    await phone.until(() => phone.audio.length > 10 && phone.messages.some((m) => m.type === 'mark'), 10_000, 'greeting audio and a mark');
    assert.ok(phone.audio.every((a) => a.bytes.length > 0), 'μ-law frames');
    // The greeting: its words as live captions first, then the utterance once it has played.
    await phone.until(() => phone.events('bot_utterance').length > 0, 10_000, 'the greeting recorded');
    assert.equal(phone.events('bot_utterance')[0]!['text'], 'Hello, test line.');
    const firstCaption = phone.messages.findIndex((m) => m.type === 'caption' && m['who'] === 'bot');
    const firstRecorded = phone.messages.findIndex((m) => m.type === 'event' && (m['event'] as { kind: string }).kind === 'bot_utterance');
    assert.ok(firstCaption >= 0 && firstCaption < firstRecorded, 'live caption words come before the recorded utterance');
    assert.match(String(phone.messages[firstCaption]!['id']), /^u\d+$/);
    await streamFrames(phone, toneFrames('phone', 1200, 800), 10);
    phone.send({ type: 'dtmf', digit: '1' });
    await phone.until(() => phone.events('dtmf').length > 0, 5000, 'the dtmf event');
    assert.equal(phone.events('dtmf')[0]!['digit'], '1');

    phone.send({ type: 'hangup' });
    assert.equal((await phone.closed).code, 1000);
    const { pcm, mimeTypes } = emulatorAudio(rig, sessionsBefore);
    assert.deepEqual([...mimeTypes], ['audio/pcm;rate=16000']);
    const on = bestFit(pcm, TONE_HZ);
    const off = bestFit(pcm, 1700);
    assert.ok(on > 5000 && on > 20 * off, `tone at ${TONE_HZ} Hz: ${on.toFixed(0)} vs ${off.toFixed(0)} off-frequency`);

    const stored = await storedCall(rig, callSid);
    assert.equal(stored.call.channel, 'browser');
    assert.equal(stored.call.from, 'admin');
    assert.ok(stored.events.some((e: any) => e.kind === 'dtmf' && e.digit === '1'));
    const list = await apiGet(rig, '/api/calls?limit=50');
    assert.ok(list.calls.some((c: any) => c.callSid === callSid), 'listed in /api/calls');
  });

  it('a wideband call: PCM16 16 kHz both ways, the tone reaches the emulator unchanged', async () => {
    const sessionsBefore = Math.max(0, ...rig.emulator.sessions.map((s) => s.id));
    const phone = phoneOf(await connectPhone(rig.bridge.url, { cookie, query: { quality: 'wideband' } }));
    const ready = await phone.until(() => phone.message('ready'), 5000, 'ready');
    assert.deepEqual(ready['format'], { encoding: 'pcm16', sampleRateHz: 16000 });
    await phone.until(() => phone.audio.length > 10, 10_000, 'greeting audio');
    assert.ok(phone.audio.every((a) => a.bytes.length % 2 === 0), 'whole PCM16 samples');
    await streamFrames(phone, toneFrames('wideband', 1000, 400), 10);
    phone.send({ type: 'hangup' });
    await phone.closed;
    const on = bestFit(emulatorAudio(rig, sessionsBefore).pcm, TONE_HZ);
    assert.ok(on > 11_000, `tone amplitude ${on.toFixed(0)} (sent 12000)`);
  });

  it('a transfer is only reported: the page hears where it would go, the record says transferred', async () => {
    const phone = phoneOf(await connectPhone(rig.bridge.url, { cookie }));
    const callSid = String((await phone.until(() => phone.message('ready'), 5000, 'ready'))['callSid']);
    await phone.until(() => phone.audio.length > 5, 10_000, 'greeting audio');
    phone.send({ type: 'dtmf', digit: '0' });
    const closed = await phone.closed;
    assert.equal(closed.code, 1000);
    assert.equal(phone.message('transfer')?.['number'], '+15550109999');
    assert.match(String(phone.events('transfer')[0]?.['target']), /desk \(\+15550109999\)/);
    const stored = await storedCall(rig, callSid);
    assert.equal(stored.call.outcome, 'transferred');
  });

  it('end_call hangs the page up', async () => {
    const phone = phoneOf(await connectPhone(rig.bridge.url, { cookie }));
    const callSid = String((await phone.until(() => phone.message('ready'), 5000, 'ready'))['callSid']);
    await phone.until(() => phone.audio.length > 5, 10_000, 'greeting audio');
    phone.send({ type: 'dtmf', digit: '9' });
    assert.equal((await phone.closed).code, 1000);
    assert.ok(phone.message('hangup'), 'told the bot hung up');
    assert.equal((await storedCall(rig, callSid)).call.outcome, 'ended_by_bot');
  });

  it('"Pretend it is…" a closed date: the page gets the closed-hours message, the call is recorded; a normal time connects', async () => {
    const closed = phoneOf(await connectPhone(rig.bridge.url, { cookie, query: { flow: 'holiday-line', pretend: '2026-12-25T09:00:00-05:00' } }));
    assert.equal((await closed.closed).code, 1000);
    assert.equal(closed.message('closed')?.['say'], 'We are closed for the holiday.');
    assert.equal(closed.message('ready'), undefined);
    const open = phoneOf(await connectPhone(rig.bridge.url, { cookie, query: { flow: 'holiday-line', pretend: '2026-12-22T10:00:00-05:00' } }));
    await open.until(() => open.message('ready'), 5000, 'ready on an open day');
    open.send({ type: 'hangup' });
    await open.closed;
  });

  it('a bad frame closes only its own socket (4400), with the reason; the server and other calls go on', async () => {
    const bystander = phoneOf(await connectPhone(rig.bridge.url, { cookie: await signIn(rig.bridge.url, TOKEN) }));
    await bystander.until(() => bystander.message('ready'), 5000, 'ready');
    const cases: Array<[string, (p: PhoneClient) => void]> = [
      ['not JSON', (p) => p.ws.send('hello')],
      ['unknown type', (p) => p.send({ type: 'launch' })],
      ['bad digit', (p) => p.send({ type: 'dtmf', digit: 'A' })],
      ['too large audio', (p) => p.sendAudio(new Uint8Array(4000))],
    ];
    for (const [what, bad] of cases) {
      const phone = phoneOf(await connectPhone(rig.bridge.url, { cookie }));
      await phone.until(() => phone.message('ready'), 5000, 'ready');
      bad(phone);
      const closed = await phone.closed;
      assert.equal(closed.code, 4400, what);
      assert.equal(phone.message('error')?.['code'], 'CB_PHONE_BAD_FRAME', what);
    }
    const huge = phoneOf(await connectPhone(rig.bridge.url, { cookie }));
    await huge.until(() => huge.message('ready'), 5000, 'ready');
    huge.sendAudio(new Uint8Array(100_000));
    assert.equal((await huge.closed).code, 1009, 'over the WebSocket cap');
    assert.ok(bystander.open, 'the other call is untouched');
    bystander.send({ type: 'dtmf', digit: '5' });
    await bystander.until(() => bystander.events('dtmf').length > 0, 5000, 'dtmf on the bystander');
    bystander.send({ type: 'hangup' });
    await bystander.closed;
    assert.equal((await fetch(`${rig.bridge.url}/healthz`)).status, 200);
  });

  it('serves each AudioWorklet as one self-contained script that runs in a worklet scope', async () => {
    const load = async (name: string) => {
      const res = await fetch(`${rig.bridge.url}/phone/worklets/${name}.js`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /javascript/);
      const source = await res.text();
      assert.doesNotMatch(source, /^\s*(import|export) /m, 'no module syntax left');
      const posted: unknown[] = [];
      const registered: Record<string, new (o: unknown) => any> = {};
      class AudioWorkletProcessor {
        port = { postMessage: (m: unknown) => void posted.push(m), onmessage: undefined as undefined | ((e: { data: unknown }) => void) };
      }
      vm.runInContext(source, vm.createContext({ AudioWorkletProcessor, sampleRate: 48000, registerProcessor: (n: string, c: new (o: unknown) => any) => (registered[n] = c) }));
      return { registered, posted };
    };
    const capture = await load('capture');
    const mic = new capture.registered['phone-capture']!({ processorOptions: { quality: 'phone' } });
    for (let q = 0; q < 375; q++) {
      const input = new Float32Array(128).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 1000 * (q * 128 + i)) / 48000));
      mic.process([[input]]);
    }
    assert.ok(capture.posted.length >= 49 && capture.posted.every((b) => (b as ArrayBuffer).byteLength === 160), `1 s at 48 kHz → 20 ms μ-law frames (${capture.posted.length})`);
    const playback = await load('playback');
    const speaker = new playback.registered['phone-playback']!({ processorOptions: { quality: 'phone', targetMs: 40 } });
    speaker.port.onmessage!({ data: { type: 'audio', bytes: encodeMulaw(sineWave(500, 8000, 100, 8000)).buffer } });
    speaker.port.onmessage!({ data: { type: 'mark', name: 'm1' } });
    let peak = 0;
    for (let q = 0; q < 60; q++) {
      const out = new Float32Array(128);
      speaker.process([], [[out]]);
      peak = Math.max(peak, ...out.map(Math.abs));
    }
    assert.ok(peak > 0.2, `played (${peak.toFixed(2)})`);
    assert.equal(JSON.stringify(playback.posted), JSON.stringify([{ type: 'played', marks: ['m1'] }]), 'the mark echoed once its audio played');
    assert.equal((await fetch(`${rig.bridge.url}/phone/worklets/other.js`)).status, 404);
  });

  it('serves /phone to a signed-in browser, and its flow list with the default', async () => {
    const page = await fetch(`${rig.bridge.url}/phone`, { headers: { Cookie: cookie } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await page.text();
    assert.match(html, /<select id="flow"/);
    const anon = await fetch(`${rig.bridge.url}/phone`, { redirect: 'manual' });
    assert.equal(anon.status, 303);
    assert.equal(anon.headers.get('location'), '/calls/login?next=%2Fphone');
    const flows = (await (await fetch(`${rig.bridge.url}/phone/flows`, { headers: { Cookie: cookie } })).json()) as any;
    assert.deepEqual(flows.flows.map((f: any) => [f.name, f.default]).sort(), [['holiday-line', false], ['other-line', false], ['test-line', true]]);
  });
});
