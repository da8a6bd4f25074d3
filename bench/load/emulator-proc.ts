/**
 * The load benchmark's Gemini side: the emulator, in a process of its own, serving the echo model
 * and stamping every chunk of audio it receives and sends (EmulatorOptions.audioTap) with the
 * machine's monotonic clock. The parent (bench/load.bench.ts) asks for the stamps over IPC.
 *
 * Per session it keeps: the end time and the cumulative sample count of every chunk received and
 * sent, and the middle sample of the first three 20 ms frames received (the driver's call tag,
 * see tag.ts).
 */
import { startEmulator } from '../../src/emulator/index.js';
import { monoMs } from './clock.js';
import { TAG_FRAMES, tagProbeIndex } from './tag.js';
import { ProcStats } from './proc-stats.js';
import { Series } from './series.js';

export interface SessionStamps {
  session: number;
  /** Middle samples of the first TAG_FRAMES frames received (16 kHz). */
  tag: number[];
  inEndMs: number[];
  /** Cumulative 16 kHz samples received at the end of each chunk. */
  inEndSample: number[];
  outEndMs: number[];
  /** Cumulative 24 kHz samples sent at the end of each chunk. */
  outEndSample: number[];
}

export type EmulatorRequest = { type: 'report' } | { type: 'reset' } | { type: 'exit' };
export type EmulatorReply =
  | { type: 'ready'; url: string }
  | { type: 'report'; sessions: SessionStamps[]; cpuPct: number; rssMb: number; lagP99Ms: number };

const talkMs = Number(process.env['ECHO_TALK_MS'] ?? 0);
const quietMs = Number(process.env['ECHO_QUIET_MS'] ?? 0);
const bargeInEvery = Number(process.env['ECHO_BARGE_IN_EVERY'] ?? 0);

interface Stamps {
  tag: number[];
  inEndMs: Series;
  inEndSample: Series;
  outEndMs: Series;
  outEndSample: Series;
  inCount: number;
  outCount: number;
}
let sessions = new Map<number, Stamps>();
const stampsOf = (id: number) => {
  let s = sessions.get(id);
  if (!s) {
    s = { tag: [], inEndMs: new Series(), inEndSample: new Series(), outEndMs: new Series(), outEndSample: new Series(), inCount: 0, outCount: 0 };
    sessions.set(id, s);
  }
  return s;
};

const stats = new ProcStats(process.pid);
const emulator = await startEmulator({
  port: 0,
  host: '127.0.0.1',
  recordAudioPayloads: false,
  maxRecordedPerSession: 1,
  maxSessionRecords: 50,
  usageMetadata: false,
  // Realistic setup latency (the bridge opens sessions at webhook time; this is not on the frame path).
  timing: { setupLatencyMs: 150, setupLatencyJitterMs: 50 },
  ...(talkMs > 0 ? { echo: { talkMs, quietMs, bargeInEvery } } : {}),
  audioTap: {
    received(id, samples) {
      const s = stampsOf(id);
      const from = s.inCount;
      s.inCount += samples.length;
      for (let f = s.tag.length; f < TAG_FRAMES; f++) {
        const at = tagProbeIndex(f);
        if (at >= s.inCount) break;
        s.tag.push(samples[at - from] ?? 0);
      }
      s.inEndMs.push(monoMs());
      s.inEndSample.push(s.inCount);
    },
    sent(id, samples) {
      const s = stampsOf(id);
      s.outCount += samples.length;
      s.outEndMs.push(monoMs());
      s.outEndSample.push(s.outCount);
    },
  },
});

process.on('message', (m: EmulatorRequest) => {
  if (m.type === 'reset') {
    sessions = new Map();
    stats.reset();
  } else if (m.type === 'report') {
    const st = stats.read();
    const reply: EmulatorReply = {
      type: 'report',
      sessions: [...sessions].map(([id, s]) => ({
        session: id, tag: s.tag, inEndMs: s.inEndMs.toArray(), inEndSample: s.inEndSample.toArray(), outEndMs: s.outEndMs.toArray(), outEndSample: s.outEndSample.toArray(),
      })),
      cpuPct: st.cpuPct,
      rssMb: st.rssMb,
      lagP99Ms: st.lagP99Ms,
    };
    process.send!(reply);
  } else if (m.type === 'exit') {
    void emulator.close().finally(() => process.exit(0));
  }
});
process.send!({ type: 'ready', url: emulator.url } satisfies EmulatorReply);
