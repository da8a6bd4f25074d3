/**
 * Heap bytes allocated per audio message, stage by stage, on both paths of a call: the
 * deterministic figure behind garbage collection (issue 21, item 1). Every byte allocated per
 * 20 ms frame at 100 calls is 5,000 × that per second; the more there is, the more often the
 * young generation fills, and the more short-lived objects get promoted to the old generation,
 * whose Mark-Compact pauses stretch the p99.
 *
 * Method: each stage runs 20,000 times (warm-up, JIT; --warmup), then, after a full GC, `runs` windows of
 * `--iterations` calls, each measured as the growth of V8's used heap (no collection may run in a
 * window: a window with one is discarded, see the `gc` observer); the median window is printed,
 * in bytes per call. Allocation counts do not depend on the machine's speed or load.
 * The bare relay's steps (bench/load/relay.ts: JSON.parse, base64, μ-law, unfiltered rate change,
 * base64, a string out) are measured the same way: what any bridge of these messages allocates.
 *
 * Run: npm run bench:alloc [-- --iterations 2000 --runs 7 --warmup 20000]
 * (node --expose-gc with a 64 MB young generation, so a window fits in it.)
 */
import v8 from 'node:v8';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { TwilioMediaStream, type MediaSocket } from '../src/twilio/media-stream.js';
import { parseServerFrame } from '../src/gemini/parse.js';
import { CallerSpeech } from '../src/call/caller-speech.js';
import { OutboundAudio, PHONE_FORMAT } from '../src/call/audio-path.js';
import { PlayoutTracker } from '../src/call/playout.js';
import { BotOutput } from '../src/call/bot-output.js';
import { Utterances } from '../src/call/utterances.js';
import { TwilioLeg } from '../src/call/adapters/twilio.js';
import { realClock } from '../src/call/clock.js';
import { pcm16ToBytes } from '../src/audio/pcm.js';
import { decodeMulaw, encodeMulaw } from '../src/audio/mulaw.js';
import { sineWave } from '../src/audio/analysis.js';
import { silentLogger } from '../src/shared/log.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const ITERATIONS = arg('--iterations', 2000);
const RUNS = arg('--runs', 7);
/** Calls of each stage before it is measured (the JIT settles). */
const WARMUP = arg('--warmup', 20_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:alloc does)');

const gcTimes: number[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcTimes.push(e.startTime);
}).observe({ entryTypes: ['gc'] });
const tick = () => new Promise((r) => setImmediate(r));
const usedHeap = () => v8.getHeapStatistics().used_heap_size;

/**
 * Median heap bytes allocated per call of `fn`, over windows with no collection in them, and the
 * median time per call in the same windows (ns; CPU time when the machine is otherwise idle).
 */
async function bytesPerCall(fn: (i: number) => void): Promise<{ bytes: number; ns: number }> {
  for (let i = 0; i < WARMUP; i++) fn(i);
  const windows: number[] = [];
  const times: number[] = [];
  for (let attempt = 0; windows.length < RUNS && attempt < RUNS * 3; attempt++) {
    gc!();
    await tick();
    const t0 = performance.now();
    const before = usedHeap();
    for (let i = 0; i < ITERATIONS; i++) fn(i);
    const grown = usedHeap() - before;
    const t1 = performance.now();
    await tick(); // let the observer see a collection that ran in the window
    if (!gcTimes.some((t) => t >= t0 && t <= t1)) {
      windows.push(grown / ITERATIONS);
      times.push(((t1 - t0) * 1e6) / ITERATIONS);
    }
  }
  if (windows.length === 0) return { bytes: NaN, ns: NaN };
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  return { bytes: median(windows), ns: median(times) };
}

// --- the messages --------------------------------------------------------------------------------
const SID = `MZ${'a'.repeat(32)}`;
const callerFrame = encodeMulaw(sineWave(440, 8000, 20, 8000));
const callerB64 = Buffer.from(callerFrame).toString('base64');
const twilioMedia = Array.from({ length: 1000 }, (_, i) =>
  Buffer.from(`{"event":"media","sequenceNumber":"${i + 3}","media":{"track":"inbound","chunk":"${i + 1}","timestamp":"${i * 20}","payload":"${callerB64}"},"streamSid":"${SID}"}`),
);
const botChunk = sineWave(440, 24000, 20, 8000);
const geminiAudio = Buffer.from(`{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm;rate=24000","data":"${pcm16ToBytes(botChunk).toString('base64')}"}}]}}}`);
const GEMINI_AUDIO_PREFIX = '{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":"';
let sink = 0;

// --- callbridge's stages -------------------------------------------------------------------------
let onMessage: (data: Buffer, isBinary: boolean) => void = () => {};
let sent = 0;
const socket = {
  readyState: 1,
  bufferedAmount: 0,
  send: (data: string) => void (sent += data.length),
  close: () => {},
  on(event: string, listener: unknown) {
    if (event === 'message') onMessage = listener as typeof onMessage;
    return this;
  },
} as MediaSocket;
const stream = new TwilioMediaStream(socket, { log: silentLogger() });
onMessage(Buffer.from(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' })), false);
onMessage(Buffer.from(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: SID, start: { accountSid: `AC${'1'.repeat(32)}`, streamSid: SID, callSid: `CA${'1'.repeat(32)}`, tracks: ['inbound'], customParameters: {}, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } })), false);
stream.on('media', (m) => void (sink += m.payload.length));
const speech = new CallerSpeech(PHONE_FORMAT);
const outbound = new OutboundAudio();
let lastMark = '';
const playout = new PlayoutTracker({ sendMark: (name: string) => void (lastMark = name), clear: () => {} }, { markEveryMs: 100, clock: realClock });

const rows: Array<{ path: 'in' | 'out'; stage: string; fn: (i: number) => void; floor?: boolean; whole?: boolean }> = [
  { path: 'in', stage: 'Twilio media message: parse, check, base64 decode (TwilioMediaStream)', fn: (i) => onMessage(twilioMedia[i % 1000]!, false) },
  { path: 'in', stage: 'μ-law → 16 kHz, VAD, replay ring (CallerSpeech.frame)', fn: (i) => void speech.frame(callerFrame, i * 20) },
  { path: 'in', stage: 'realtimeInput message: base64 and JSON text (as GeminiLiveSession.sendAudio builds it)', fn: sendAudioText() },
  { path: 'out', stage: 'Gemini audio message: parse, check, base64 decode (parseServerFrame)', fn: () => void (sink += parseServerFrame(geminiAudio).kind.length) },
  { path: 'out', stage: '24 kHz → μ-law 8 kHz (OutboundAudio.convert)', fn: () => void (sink += outbound.convert(botChunk).length) },
  {
    path: 'out', stage: 'playout marks, one per 100 ms, echoed (PlayoutTracker)', fn: () => {
      playout.sent('u1', 20);
      if (lastMark) playout.onMark(lastMark);
      lastMark = '';
    },
  },
  { path: 'out', stage: 'Twilio media message out (TwilioMediaStream.sendMedia)', fn: () => void stream.sendMedia(outbound.convert(botChunk)) },
  { path: 'out', whole: true, stage: 'all of the above but the parse: BotOutput.audio → TwilioLeg → TwilioMediaStream, marks echoed', fn: botOutput() },
  // The bare relay's steps for the same messages (bench/load/relay.ts).
  { path: 'in', floor: true, stage: 'bare relay, caller frame', fn: relayIn() },
  { path: 'out', floor: true, stage: 'bare relay, bot chunk', fn: relayOut() },
];

/** The call's own outbound glue around the stages: a bot chunk through BotOutput to a Twilio leg on the stream above. */
function botOutput(): () => void {
  const leg = new TwilioLeg(`CA${'1'.repeat(32)}`, undefined, silentLogger(), () => {});
  let echo = '';
  leg.listen({ connected: () => {}, audio: () => {}, dtmf: () => {}, played: () => {}, ended: () => {} });
  const markOf = /"name":("[^"]*")/;
  let deliver: (data: Buffer, isBinary: boolean) => void = () => {};
  const own = {
    readyState: 1,
    bufferedAmount: 0,
    send: (data: string) => {
      sent += data.length;
      if (data.startsWith('{"event":"mark"')) echo = JSON.parse(markOf.exec(data)![1]!) as string;
    },
    close: () => {},
    on(event: string, listener: unknown) {
      if (event === 'message') deliver = listener as typeof deliver;
      return this;
    },
  } as MediaSocket;
  const twin = new TwilioMediaStream(own, { log: silentLogger() });
  deliver(Buffer.from(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: SID, start: { accountSid: `AC${'1'.repeat(32)}`, streamSid: SID, callSid: `CA${'1'.repeat(32)}`, tracks: ['inbound'], customParameters: {}, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } })), false);
  leg.attach(twin);
  const utterances = new Utterances(() => {});
  let t = 0;
  const bot = new BotOutput({ transport: leg, clock: realClock, utterances, now: () => (t += 20), sent: () => {} });
  bot.live();
  return () => {
    bot.audio(botChunk);
    if (echo) bot.playout.onMark(echo);
    echo = '';
  };
}

/** The text GeminiLiveSession.sendAudio sends (the session keeps a Buffer over the caller's reused view). */
function sendAudioText(): () => void {
  let view: Int16Array | undefined;
  let bytes: Buffer | undefined;
  return () => {
    if (speech.pcm16k !== view || bytes?.buffer !== speech.pcm16k.buffer) bytes = pcm16ToBytes((view = speech.pcm16k));
    sink += (GEMINI_AUDIO_PREFIX + bytes.toString('base64') + '"}}}').length;
  };
}

function relayIn(): (i: number) => void {
  const pcm8k = new Int16Array(160);
  const pcm16k = new Int16Array(320);
  return (i) => {
    const m = JSON.parse(twilioMedia[i % 1000]!.toString('utf8')) as { media: { payload: string } };
    const mulaw = Buffer.from(m.media.payload, 'base64');
    decodeMulaw(mulaw, pcm8k);
    for (let j = 0; j < mulaw.length; j++) pcm16k[2 * j] = pcm16k[2 * j + 1] = pcm8k[j]!;
    sink += (GEMINI_AUDIO_PREFIX + Buffer.from(pcm16k.buffer, 0, mulaw.length * 4).toString('base64') + '"}}}').length;
  };
}

function relayOut(): () => void {
  return () => {
    const g = JSON.parse(geminiAudio.toString('utf8')) as { serverContent: { modelTurn: { parts: { inlineData: { data: string } }[] } } };
    for (const part of g.serverContent.modelTurn.parts) {
      const bytes = Buffer.from(part.inlineData.data, 'base64');
      const pcm24k = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
      const out = new Int16Array(Math.floor(pcm24k.length / 3));
      for (let j = 0; j < out.length; j++) out[j] = pcm24k[3 * j + 2]!;
      socket.send(`{"event":"media","streamSid":"${SID}","media":{"payload":"` + Buffer.from(encodeMulaw(out)).toString('base64') + '"}}');
    }
  };
}

console.log(`# heap bytes allocated per message — Node ${process.version}; median of ${RUNS} windows of ${ITERATIONS} calls with no GC in them`);
console.log('# time per message: the median of the same windows, on one core; a busy machine inflates it, the bytes do not move');
console.log('| path | stage | bytes per message | µs per message |');
console.log('|---|---|---:|---:|');
const totals = { in: { bytes: 0, ns: 0 }, out: { bytes: 0, ns: 0 } };
const floors = { in: { bytes: NaN, ns: NaN }, out: { bytes: NaN, ns: NaN } };
for (const row of rows) {
  const m = await bytesPerCall(row.fn);
  if (row.floor) floors[row.path] = m;
  else if (!row.whole) {
    totals[row.path].bytes += m.bytes;
    totals[row.path].ns += m.ns;
  }
  console.log(`| ${row.path} | ${row.stage} | ${Number.isFinite(m.bytes) ? Math.round(m.bytes) : '-'} | ${Number.isFinite(m.ns) ? (m.ns / 1000).toFixed(2) : '-'} |`);
}
console.log('');
for (const path of ['in', 'out'] as const) {
  const t = totals[path];
  const f = floors[path];
  console.log(`${path === 'in' ? 'caller → Gemini, per caller frame' : 'Gemini → caller, per bot chunk'}: callbridge ${Math.round(t.bytes)} B, ${(t.ns / 1000).toFixed(2)} µs; bare relay ${Math.round(f.bytes)} B, ${(f.ns / 1000).toFixed(2)} µs (${(t.bytes / f.bytes).toFixed(2)} × the bytes, ${(t.ns / f.ns).toFixed(2)} × the time)`);
}
if (sink + sent < 0) console.log('-');
