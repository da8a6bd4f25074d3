/**
 * The load benchmark's Twilio side, in a process of its own: N concurrent calls, each a signed
 * webhook then a media stream that sends a 20 ms μ-law frame every 20 ms (paced by the clock, not
 * by the previous send) and plays what comes back the way Twilio does (it returns each mark when
 * the audio before it has played, and all of them at once on `clear`).
 *
 * Lean on purpose: one 1 ms ticker for every call, payload strings encoded once, received frames
 * only measured (their sample count), not parsed, unless a chirp is being looked for. Every frame
 * sent and received is stamped with the machine's monotonic clock (clock.ts).
 *
 * Driven by bench/load.bench.ts over IPC: {type:'run', …} → {type:'result', …}.
 */
import WebSocket from 'ws';
import { decodeMulaw, encodeMulaw } from '../../src/audio/mulaw.js';
import { readTwiml } from '../../src/simulator/twiml-reader.js';
import { twilioSignature } from '../../src/simulator/signing.js';
import { monoMs } from './clock.js';
import { TAG_FRAMES, tagCode } from './tag.js';
import { ProcStats } from './proc-stats.js';
import { CHIRP, findChirp } from './chirp.js';
import { Series } from './series.js';

export interface RunRequest {
  type: 'run';
  url: string;
  authToken: string;
  accountSid: string;
  calls: number;
  /** Call numbers start here (unique across runs: the emulator's sessions are told apart by them). */
  firstCall: number;
  rampPerSec: number;
  /** How long each call streams after its tag (ms). */
  talkMs: number;
  /** Chirp mode: a chirp this often (and near-silence between); otherwise a speech-like loop. */
  chirpEveryMs?: number;
}

export interface CallTimes {
  n: number;
  callSid: string;
  /** Send time of every frame (frame k holds 8 kHz samples 160k … 160k+159). */
  sentMs: number[];
  recvEndMs: number[];
  /** Cumulative 8 kHz samples received at the end of each media message. */
  recvEndSample: number[];
  clears: number;
  marksReturned: number;
  /** Chirps: sent at 8 kHz sample `sentAt`, found back at `heardAt` (undefined: not found). */
  chirps: { sentAt: number; heardAt: number | undefined }[];
  error?: string;
}

export interface RunResult {
  type: 'result';
  calls: CallTimes[];
  cpuPct: number;
  lagP99Ms: number;
  /** Frames sent more than 5 ms after they were due (the driver was late, not the bridge). */
  lateSends: number;
}

const FRAME_SAMPLES = 160;
const FRAME_MS = 20;
const DRAIN_MS = 800;
/** Twilio opens the media stream a moment after it got the TwiML (the caller simulator uses the same). */
const CONNECT_DELAY_MS = 300;

/** A speech-like loop: 1.2 s of a gliding two-tone voice, 0.8 s of near-silence; μ-law frames. */
function speechLoop(): Buffer[] {
  const frames: Buffer[] = [];
  const pcm = new Int16Array(FRAME_SAMPLES);
  let phase1 = 0;
  let phase2 = 0;
  for (let f = 0; f < 100; f++) {
    const voiced = f < 60;
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const t = (f * FRAME_SAMPLES + i) / 8000;
      const f0 = 140 + 40 * Math.sin(2 * Math.PI * 0.7 * t);
      phase1 += (2 * Math.PI * f0) / 8000;
      phase2 += (2 * Math.PI * f0 * 5.3) / 8000;
      pcm[i] = voiced ? Math.round(5000 * Math.sin(phase1) + 1800 * Math.sin(phase2)) : Math.round(30 * Math.sin(phase1));
    }
    frames.push(Buffer.from(encodeMulaw(pcm)));
  }
  return frames;
}

class LoadCall {
  /** Everything but the stamps, which live in the series below until result(). */
  readonly times: Omit<CallTimes, 'sentMs' | 'recvEndMs' | 'recvEndSample'>;
  readonly #sent = new Series();
  readonly #recvEnd = new Series();
  readonly #recvEndSample = new Series();
  readonly #req: RunRequest;
  readonly #streamSid: string;
  #ws: WebSocket | undefined;
  #seq = 0;
  #frame = 0;
  #startMs = 0;
  #recvSamples = 0;
  #playedUntilMs = 0;
  #marks: { name: string; atMs: number }[] = [];
  #heard: Int16Array | undefined;
  #stopped = false;
  done: Promise<void>;
  #resolve!: () => void;

  constructor(n: number, req: RunRequest) {
    this.#req = req;
    const hex = n.toString(16).padStart(32, '0');
    this.times = { n, callSid: `CA${hex}`, clears: 0, marksReturned: 0, chirps: [] };
    this.#streamSid = `MZ${hex}`;
    if (req.chirpEveryMs) this.#heard = new Int16Array(((req.talkMs + DRAIN_MS + 2000) * 8) | 0);
    this.done = new Promise((r) => (this.#resolve = r));
  }

  async place(): Promise<void> {
    const r = this.#req;
    const webhook = `${r.url}/twilio/voice`;
    const params = { CallSid: this.times.callSid, AccountSid: r.accountSid, From: '+15557654321', To: '+15550100100', CallStatus: 'ringing', Direction: 'inbound', ApiVersion: '2010-04-01' };
    const res = await fetch(webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(r.authToken, webhook, params) },
      body: new URLSearchParams(params).toString(),
    });
    const verbs = readTwiml(await res.text());
    const connect = verbs.find((v) => v.verb === 'Connect');
    const stream = connect?.verb === 'Connect' ? connect.stream : undefined;
    if (!stream) throw new Error(`webhook answered ${res.status} without <Connect><Stream>`);
    await new Promise((resolve) => setTimeout(resolve, CONNECT_DELAY_MS));
    const ws = new WebSocket(stream.url, { headers: { 'x-twilio-signature': twilioSignature(r.authToken, stream.url, {}) }, perMessageDeflate: false });
    this.#ws = ws;
    ws.on('message', (data: Buffer) => this.#onMessage(data));
    ws.on('close', () => this.#end());
    ws.on('error', (err) => {
      this.times.error ??= err.message;
      this.#end();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('{"event":"connected","protocol":"Call","version":"1.0.0"}');
    ws.send(JSON.stringify({
      event: 'start', sequenceNumber: String(++this.#seq), streamSid: this.#streamSid,
      start: { accountSid: r.accountSid, streamSid: this.#streamSid, callSid: this.times.callSid, tracks: ['inbound'], customParameters: stream.parameters, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
    }));
    this.#startMs = monoMs();
  }

  /** Sends the frames that are due; returns how many were sent late (> 5 ms after due). */
  tick(now: number, payloadOf: (call: LoadCall, frame: number) => string): number {
    let late = 0;
    if (this.#ws === undefined || this.#stopped || this.#startMs === 0) return 0;
    const ws = this.#ws;
    while (this.#startMs + (this.#frame + 1) * FRAME_MS <= now) {
      const k = this.#frame++;
      if (now - (this.#startMs + (k + 1) * FRAME_MS) > 5) late++;
      if (k >= TAG_FRAMES + this.#req.talkMs / FRAME_MS) {
        this.#stop();
        return late;
      }
      const payload = payloadOf(this, k);
      this.#sent.push(monoMs());
      ws.send(`{"event":"media","sequenceNumber":"${++this.#seq}","media":{"track":"inbound","chunk":"${k + 1}","timestamp":"${k * FRAME_MS}","payload":"${payload}"},"streamSid":"${this.#streamSid}"}`);
    }
    while (this.#marks.length > 0 && this.#marks[0]!.atMs <= now) this.#returnMark(this.#marks.shift()!.name);
    return late;
  }

  #onMessage(data: Buffer): void {
    const at = monoMs();
    const text = data.toString('latin1');
    if (text.startsWith('{"event":"media"')) {
      const from = text.indexOf('"payload":"') + 11;
      const to = text.indexOf('"', from);
      const b64Length = to - from;
      const pad = text.charCodeAt(to - 1) === 61 ? (text.charCodeAt(to - 2) === 61 ? 2 : 1) : 0;
      const samples = (b64Length / 4) * 3 - pad;
      if (this.#heard) {
        const mulaw = Buffer.from(text.slice(from, to), 'base64');
        if (this.#recvSamples + samples <= this.#heard.length) this.#heard.set(decodeMulaw(mulaw), this.#recvSamples);
      }
      this.#recvSamples += samples;
      this.#recvEnd.push(at);
      this.#recvEndSample.push(this.#recvSamples);
      this.#playedUntilMs = Math.max(this.#playedUntilMs, at) + samples / 8;
    } else if (text.includes('"event":"mark"')) {
      const name = /"name":"([^"]*)"/.exec(text)?.[1] ?? '';
      this.#marks.push({ name, atMs: Math.max(this.#playedUntilMs, at) });
    } else if (text.includes('"event":"clear"')) {
      this.times.clears++;
      for (const m of this.#marks) this.#returnMark(m.name);
      this.#marks = [];
      this.#playedUntilMs = at;
    }
  }

  #returnMark(name: string): void {
    this.times.marksReturned++;
    this.#ws?.send(`{"event":"mark","sequenceNumber":"${++this.#seq}","streamSid":"${this.#streamSid}","mark":{"name":${JSON.stringify(name)}}}`);
  }

  #stop(): void {
    this.#stopped = true;
    setTimeout(() => {
      if (this.#heard && this.#req.chirpEveryMs) this.times.chirps = this.#findChirps(this.#req.chirpEveryMs);
      const ws = this.#ws;
      if (ws?.readyState === WebSocket.OPEN) {
        ws.send(`{"event":"stop","sequenceNumber":"${++this.#seq}","streamSid":"${this.#streamSid}","stop":{"accountSid":"${this.#req.accountSid}","callSid":"${this.times.callSid}"}}`);
        ws.close(1000);
      }
      setTimeout(() => this.#end(), 2000).unref();
    }, DRAIN_MS);
  }

  #findChirps(everyMs: number): { sentAt: number; heardAt: number | undefined }[] {
    const out: { sentAt: number; heardAt: number | undefined }[] = [];
    for (const sentAt of chirpStarts(everyMs, this.#frame * FRAME_SAMPLES)) {
      out.push({ sentAt, heardAt: findChirp(this.#heard!.subarray(0, this.#recvSamples), sentAt, sentAt + 2000) });
    }
    return out;
  }

  /** The stamps, as plain arrays for the report. */
  result(): CallTimes {
    return { ...this.times, sentMs: this.#sent.toArray(), recvEndMs: this.#recvEnd.toArray(), recvEndSample: this.#recvEndSample.toArray() };
  }

  #end(): void {
    if (this.#ws && this.#ws.readyState !== WebSocket.CLOSED) this.#ws.terminate();
    this.#stopped = true;
    this.#resolve();
  }
}

/** 8 kHz sample indexes where chirps start: one per `everyMs`, at a varying offset within its frame. */
function chirpStarts(everyMs: number, endSample: number): number[] {
  const starts: number[] = [];
  const every = everyMs * 8;
  for (let i = 1; ; i++) {
    const at = (TAG_FRAMES + 10) * FRAME_SAMPLES + i * every + ((i * 37) % FRAME_SAMPLES);
    if (at + CHIRP.length >= endSample - 2 * FRAME_SAMPLES) return starts;
    starts.push(at);
  }
}

async function run(req: RunRequest): Promise<RunResult> {
  const loop = speechLoop().map((f) => f.toString('base64'));
  let chirpFrames: Map<number, string> | undefined;
  if (req.chirpEveryMs) {
    const total = (TAG_FRAMES + req.talkMs / FRAME_MS + 1) * FRAME_SAMPLES;
    const pcm = new Int16Array(total);
    for (const at of chirpStarts(req.chirpEveryMs, total)) pcm.set(CHIRP, at);
    chirpFrames = new Map();
    const quiet = Buffer.alloc(FRAME_SAMPLES, 0xff).toString('base64');
    for (let k = 0; k * FRAME_SAMPLES < total; k++) {
      const f = pcm.subarray(k * FRAME_SAMPLES, (k + 1) * FRAME_SAMPLES);
      chirpFrames.set(k, f.some((v) => v !== 0) ? Buffer.from(encodeMulaw(f)).toString('base64') : quiet);
    }
  }
  const tags = new Map<string, string>();
  const tagPayload = (n: number, frame: number) => {
    const code = tagCode(n, frame);
    const key = `${code}`;
    let p = tags.get(key);
    if (!p) tags.set(key, (p = Buffer.alloc(FRAME_SAMPLES, code).toString('base64')));
    return p;
  };
  const payloadOf = (call: LoadCall, k: number) => {
    if (k < TAG_FRAMES) return tagPayload(call.times.n, k);
    if (chirpFrames) return chirpFrames.get(k) ?? chirpFrames.get(0)!;
    return loop[(k + call.times.n * 7) % loop.length]!;
  };

  const stats = new ProcStats(process.pid);
  const calls: LoadCall[] = [];
  let lateSends = 0;
  const ticker = setInterval(() => {
    const now = monoMs();
    for (const c of calls) lateSends += c.tick(now, payloadOf);
  }, 1);
  const placing: Promise<void>[] = [];
  for (let i = 0; i < req.calls; i++) {
    const call = new LoadCall(req.firstCall + i, req);
    calls.push(call);
    placing.push(call.place().catch((err: Error) => {
      call.times.error = `placing: ${err.message}`;
    }));
    await new Promise((r) => setTimeout(r, 1000 / req.rampPerSec));
  }
  await Promise.all(placing);
  await Promise.all(calls.map((c) => Promise.race([c.done, new Promise((r) => setTimeout(r, req.talkMs + 15_000))])));
  clearInterval(ticker);
  const st = stats.read();
  return { type: 'result', calls: calls.map((c) => c.result()), cpuPct: st.cpuPct, lagP99Ms: st.lagP99Ms, lateSends };
}

process.on('message', (m: RunRequest | { type: 'exit' }) => {
  if (m.type === 'exit') process.exit(0);
  void run(m).then((result) => process.send!(result), (err: Error) => process.send!({ type: 'error', message: err.stack ?? err.message }));
});
process.send!({ type: 'ready' });
