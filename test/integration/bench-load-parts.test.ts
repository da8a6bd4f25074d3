/**
 * The parts of the load benchmark (bench/load*) that its figures rest on: the call tag survives
 * callbridge's inbound conversion; the emulator's audio tap and echo windows (with barge-ins)
 * behave as documented; the analysis matches frames by sample position and counts losses; the
 * chirp is found where it is; the floor relay (--floor) carries a call's audio both ways; each
 * CPU's busy and stolen time is read from /proc/stat.
 * (The benchmark's figures themselves are not tested here.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InboundAudio } from '../../src/call/audio-path.js';
import { startEmulator } from '../../src/emulator/index.js';
import { TAG_FRAMES, TAG_MAX, decodeTag, tagCode, tagProbeIndex } from '../../bench/load/tag.js';
import { analyse } from '../../bench/load/analyse.js';
import { CHIRP, findChirp } from '../../bench/load/chirp.js';
import type { CallTimes } from '../../bench/load/driver.js';
import type { SessionStamps } from '../../bench/load/emulator-proc.js';
import { FAST, RawClient } from './emulator-harness.js';
import WebSocket from 'ws';
import { startServerProcess } from '../support/server-process.js';
import { readTwiml } from '../../src/simulator/twiml-reader.js';
import { MachineStats, parseProcStat } from '../../bench/load/proc-stats.js';

describe('load benchmark parts', () => {
  it('a call tag survives μ-law and the 8 → 16 kHz filter, followed by any audio', () => {
    for (const n of [0, 1, 42, 99, 100, 4321, 65535, TAG_MAX]) {
      const inbound = new InboundAudio();
      const out: number[] = [];
      for (let f = 0; f < TAG_FRAMES; f++) out.push(...inbound.convert(new Uint8Array(160).fill(tagCode(n, f))));
      out.push(...inbound.convert(new Uint8Array(160).fill(0x10))); // loud audio right after
      const probes = Array.from({ length: TAG_FRAMES }, (_, f) => out[tagProbeIndex(f)]!);
      assert.equal(decodeTag(probes), n, `call ${n}: probes ${probes.join(',')}`);
    }
    assert.equal(decodeTag([1234, 5, 9]), undefined, 'levels that are not tag levels are no tag');
    assert.equal(decodeTag([1, 2]), undefined, 'too few probes are no tag');
  });

  it('the emulator’s tap sees every chunk, and echo windows end in turnComplete or (every 2nd) interrupted', async () => {
    const received: number[] = [];
    const sent: number[] = [];
    const emulator = await startEmulator({
      timing: FAST,
      echo: { talkMs: 200, quietMs: 100, bargeInEvery: 2 },
      audioTap: { received: (_id, s) => received.push(s.length), sent: (_id, s) => sent.push(s.length) },
    });
    try {
      const client = await RawClient.connect(`${emulator.url}?key=k`);
      await client.setup({ model: 'models/gemini-emulator-echo', generationConfig: { responseModalities: ['AUDIO'] } });
      // 1 s of audio: windows talk 0-200 ms, quiet to 300, talk to 500, quiet to 600, talk to 800, quiet to 900, talk.
      client.sendAudio(new Int16Array(16000).fill(1000));
      await client.waitFor(() => received.length === 50, { timeoutMs: 20_000 }).catch(() => undefined);
      assert.equal(received.length, 50, 'the tap saw all 50 chunks received');
      // The emulator answers each chunk as it handles it, so by now it has sent everything: wait
      // until all of that has arrived (the tap counted the audio chunks it sent; three windows each
      // end in turnComplete), not for a fixed time.
      const modelAudio = () => client.messages.filter((m) => m.serverContent?.modelTurn).length;
      const turnCompletes = () => client.messages.filter((m) => m.serverContent?.turnComplete).length;
      await client.waitFor(() => modelAudio() >= sent.length && turnCompletes() >= 3, { timeoutMs: 20_000 }).catch(() => undefined);
      assert.ok(received.every((n) => n === 320), 'each of 320 samples');
      const ends = client.messages.filter((m) => m.serverContent?.interrupted || m.serverContent?.generationComplete).map((m) => (m.serverContent.interrupted ? 'interrupted' : 'complete'));
      assert.deepEqual(ends, ['complete', 'interrupted', 'complete'], 'three windows ended, the 2nd by a barge-in');
      assert.equal(client.messages.filter((m) => m.serverContent?.turnComplete).length, 3, 'each window ends with turnComplete');
      const audio = client.messages.filter((m) => m.serverContent?.modelTurn).length;
      assert.equal(sent.length, audio, 'the tap saw every audio chunk sent');
      assert.ok(sent.every((n) => n === 480), 'each 320 samples at 16 kHz → 480 at 24 kHz');
      // 50 chunks of 20 ms; quiet for 3 windows of 100 ms (5 chunks each): about 35 echoed.
      assert.ok(audio >= 32 && audio <= 38, `about 35 of the 50 chunks echoed (${audio})`);
      client.ws.close();
    } finally {
      await emulator.close();
    }
  });

  it('the analysis matches frames by sample position, and counts frames that never arrived as lost', () => {
    const call: CallTimes = {
      n: 7, callSid: 'CA7', clears: 0, marksReturned: 0, chirps: [],
      sentMs: [0, 20, 40, 60],
      // Out: two 160-sample messages, then one of 320 (callbridge joining two chunks would look like this).
      recvEndMs: [13, 33, 58],
      recvEndSample: [160, 320, 640],
    };
    const session: SessionStamps = {
      session: 1, tag: [],
      inEndMs: [2, 23, 45], // the 4th frame never arrived
      inEndSample: [320, 640, 960],
      outEndMs: [10, 30, 50, 51, 70],
      outEndSample: [480, 960, 1440, 1920, 2400], // the 5th chunk (480 samples) never reached the caller
    };
    const probes = Array.from({ length: TAG_FRAMES }, (_, f) => tagCode(7, f));
    const inbound = new InboundAudio();
    const pcm: number[] = [];
    for (const code of probes) pcm.push(...inbound.convert(new Uint8Array(160).fill(code)));
    session.tag = Array.from({ length: TAG_FRAMES }, (_, f) => pcm[tagProbeIndex(f)]!);
    const a = analyse([call], [session]);
    assert.equal(a.callsMatched, 1, 'the session is matched to the call by its tag');
    assert.equal(a.inbound.lost, 1, 'one inbound frame lost');
    assert.equal(a.inbound.frames, 4);
    assert.equal(a.inbound.maxMs, 5, 'inbound latencies 2, 3, 5 ms');
    assert.equal(a.inbound.p50Ms, 3);
    assert.equal(a.outbound.lost, 1, 'one outbound frame (160 samples at 8 kHz) lost');
    // 13-10, 33-30, and the joined message ending at 8 kHz sample 640 = 24 kHz 1920: 58-51.
    assert.equal(a.outbound.maxMs, 7, 'the joined message is timed from the chunk holding its last sample');
    assert.equal(a.outbound.p50Ms, 3);
    assert.equal(analyse([call], []).callsWithErrors.length, 1, 'a call with no session is reported');
  });

  it('finds a chirp where it is, and nothing in silence', () => {
    const heard = new Int16Array(4000);
    heard.set(CHIRP, 1234);
    for (let i = 0; i < heard.length; i++) heard[i] = heard[i]! + ((i * 7919) % 200) - 100;
    assert.equal(findChirp(heard, 1000, 2000), 1234, 'the chirp is found at its first sample');
    assert.equal(findChirp(new Int16Array(4000), 0, 3000), undefined, 'silence has no chirp');
  });

  it('reads each CPU’s busy and stolen time from /proc/stat, and their shares over a window', () => {
    // proc(5) layout: user nice system idle iowait irq softirq steal guest guest_nice
    const before = 'cpu  30 0 10 150 0 0 2 10 0 0\ncpu0 10 0 5 80 0 0 1 4 0 0\ncpu1 20 0 5 70 0 0 1 6 0 0\nintr 12345 0 0\n';
    const after = 'cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 40 0 15 120 5 0 6 14 0 0\ncpu1 20 1 5 170 0 0 1 6 0 0\nctxt 99\n';
    const parsed = parseProcStat(before);
    assert.deepEqual([...parsed.keys()], [0, 1], 'the aggregate line and other lines are not CPUs');
    assert.deepEqual(parsed.get(0), { busy: 16, idle: 80, steal: 4 }, 'busy = user + nice + system + irq + softirq');
    let text = before;
    const stats = new MachineStats(() => text);
    text = after;
    const [cpu0, cpu1] = stats.shares();
    // CPU 0: busy 16 → 61 (+45), idle 80 → 125 (+45), steal 4 → 14 (+10): 100 ticks.
    assert.deepEqual(cpu0, { cpu: 0, busyPct: 45, stealPct: 10 }, 'CPU 0 over the window');
    // CPU 1: busy +1, idle +100, steal +0.
    assert.equal(cpu1?.cpu, 1, 'CPU 1 is reported');
    assert.ok(Math.abs(cpu1!.busyPct - 100 / 101) < 1e-9 && cpu1!.stealPct === 0, `CPU 1 share: ${JSON.stringify(cpu1)}`);
    assert.deepEqual(parseProcStat('cpu0 1 2 3\ngarbage'), new Map(), 'a line too short to hold steal is skipped');
  });

  it('the floor relay carries a call: every frame reaches the emulator, every echoed chunk comes back at 8 kHz', async () => {
    const received: number[] = [];
    const emulator = await startEmulator({ timing: FAST, audioTap: { received: (_id, s) => received.push(s.length), sent: () => undefined } });
    const relay = await startServerProcess({ GEMINI_LIVE_URL: emulator.url }, [], [], 'bench/load/relay.ts');
    try {
      const res = await fetch(`${relay.url}/twilio/voice`, { method: 'POST', body: new URLSearchParams({ CallSid: 'CA1' }) });
      const connect = readTwiml(await res.text()).find((v) => v.verb === 'Connect');
      assert.ok(connect?.verb === 'Connect' && connect.stream, 'the webhook answers with <Connect><Stream>');
      const ws = new WebSocket(connect.stream.url);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      let mulawBytes = 0;
      let streamSid = '';
      ws.on('message', (d: Buffer) => {
        const m = JSON.parse(d.toString()) as { event: string; streamSid: string; media?: { payload: string } };
        if (m.event === 'media') {
          mulawBytes += Buffer.from(m.media!.payload, 'base64').length;
          streamSid = m.streamSid;
        }
      });
      ws.send(JSON.stringify({ event: 'start', streamSid: 'MZ1', start: { callSid: 'CA1', streamSid: 'MZ1' } }));
      const payload = Buffer.alloc(160, 0x10).toString('base64');
      for (let k = 0; k < 50; k++) ws.send(JSON.stringify({ event: 'media', streamSid: 'MZ1', media: { chunk: String(k + 1), timestamp: String(k * 20), payload } }));
      // Until the whole echo is back (the deadline only stops a hung test).
      const deadline = Date.now() + 20_000;
      while (mulawBytes < 50 * 160 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual([received.length, received.every((n) => n === 320)], [50, true], 'the emulator got 50 chunks of 320 samples at 16 kHz');
      assert.equal(mulawBytes, 50 * 160, 'the caller got the echo of all 50 frames back as 8 kHz μ-law');
      assert.equal(streamSid, 'MZ1', 'media messages name the stream');
      ws.close();
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
      await emulator.close();
    }
  });
});
