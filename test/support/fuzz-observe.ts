/**
 * Watching a server under fuzz (test/integration/bridge-fuzz-*.test.ts): its JSON log lines, what
 * its event loop's thread was doing (SchedWatch), and what a normal caller heard (analyseEcho).
 */
import { readFileSync } from 'node:fs';
import { fitSine } from '../../src/audio/analysis.js';
import type { CallResult } from '../../src/simulator/index.js';

export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** `promise`'s value, or undefined once `ms` have passed (an upper bound; the timer is cleared). */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    void promise.then((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

/**
 * What a process's main thread (its event loop) was doing, sampled every 20 ms from Linux's
 * /proc/<pid>/schedstat: running (CPU time) or waiting in the run queue for a CPU. Watched for the
 * server and for this process (the Gemini emulator and the callers): a gap in an echo while they
 * sat in the run queue for much of that time is the machine's load (other processes, this test's
 * own fuzzing peers). Whether the server held its loop with its own work is checked separately,
 * from inside it (./loop-monitor.mjs).
 */
export class SchedWatch {
  readonly #pid: number | 'self';
  readonly #samples: Array<{ atMs: number; runMs: number; waitMs: number }> = [];
  readonly #timer: NodeJS.Timeout | undefined;
  readonly available: boolean;

  constructor(pid: number | 'self') {
    this.#pid = pid;
    this.available = this.#sample();
    if (this.available) this.#timer = setInterval(() => this.#sample(), 20);
  }

  #sample(): boolean {
    try {
      const [run, wait] = readFileSync(`/proc/${this.#pid}/schedstat`, 'utf8').split(' ').map(Number);
      if (!Number.isFinite(run) || !Number.isFinite(wait)) return false;
      this.#samples.push({ atMs: performance.now(), runMs: run! / 1e6, waitMs: wait! / 1e6 });
      return true;
    } catch {
      return false;
    }
  }

  /** CPU time and run-queue wait (ms) between two performance.now() times. */
  between(fromMs: number, toMs: number): { runMs: number; waitMs: number } {
    const at = (t: number) => {
      let v = this.#samples[0] ?? { atMs: 0, runMs: 0, waitMs: 0 };
      for (const s of this.#samples) {
        if (s.atMs > t) break;
        v = s;
      }
      return v;
    };
    const a = at(fromMs);
    const b = at(toMs);
    return { runMs: Math.round(b.runMs - a.runMs), waitMs: Math.round(b.waitMs - a.waitMs) };
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

export function parseLog(output: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const text of output.split('\n')) {
    if (!text.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      // a line cut in the middle (still being written)
    }
  }
  return lines;
}

export function tail(output: string): string {
  return output.split('\n').slice(-30).join('\n');
}

export interface EchoAnalysis {
  /** Call time of the 20 ms window where the tone the caller sent starts (onsetMs counts from it). */
  toneAtCallMs: number;
  /** Call time of the first heard echo, from the start of the tone the caller sent. */
  onsetMs: number | undefined;
  /** From the first to the last 20 ms with echo in it. */
  spanMs: number;
  /** Longest run of 20 ms windows without the echo inside that span (a playback underrun). */
  maxGapMs: number;
  maxGapAtMs: number;
  /** Every gap longer than the limit, on the call clock. */
  longGaps: Array<{ atCallMs: number; ms: number }>;
  /** The echo audio itself, gaps taken out: how long it is (the tone's length if none was lost or doubled). */
  echoedMs: number;
  ownAmplitude: number;
  /** Strongest of the other calls' and the fuzz streams' tones in it. */
  worstForeign: number;
  /** Worst THD+N of the own tone over 100 ms windows of it: a lost, doubled or foreign piece shows. */
  worstWindowThdnDb: number;
  worstWindowAtMs: number;
}

/**
 * What a normal caller heard while it talked. Timing: its own tone echoed back with no gap (20 ms
 * windows). Content, whatever the timing: the echo with any playback gaps taken out is exactly the
 * tone it sent — as long, phase-continuous (nothing lost, doubled or reordered), with nothing mixed
 * in (other tones, fuzz audio).
 */
export function analyseEcho(result: CallResult, hz: number, foreignHz: readonly number[], gapLimitMs: number): EchoAnalysis {
  const { heard, sent } = result;
  const frame = 160;
  let toneStart = -1;
  let toneEnd = -1;
  for (let i = 0; i < sent.length; i++) {
    if (Math.abs(sent[i]!) > 1000) {
      if (toneStart < 0) toneStart = i;
      toneEnd = i + 1;
    }
  }
  const none: EchoAnalysis = { toneAtCallMs: Math.max(0, Math.floor(toneStart / frame)) * 20, onsetMs: undefined, spanMs: 0, maxGapMs: Infinity, maxGapAtMs: 0, longGaps: [], echoedMs: 0, ownAmplitude: 0, worstForeign: Infinity, worstWindowThdnDb: -Infinity, worstWindowAtMs: 0 };
  if (toneStart < 0) return none;
  const toMs = (samples: number) => Math.round(samples / 8);
  // Timing: 20 ms windows from the tone's start to 2 s after its end.
  const firstFrame = Math.floor(toneStart / frame);
  const lastFrame = Math.min(Math.floor((toneEnd + 16_000) / frame), Math.floor(heard.length / frame) - 1);
  const present: boolean[] = [];
  for (let f = firstFrame; f <= lastFrame; f++) present.push(fitSine(heard, hz, 8000, f * frame, (f + 1) * frame).amplitude > 2000);
  const first = present.indexOf(true);
  const last = present.lastIndexOf(true);
  if (first < 0) return none;
  let maxGap = 0;
  let maxGapAt = 0;
  let run = 0;
  const longGaps: EchoAnalysis['longGaps'] = [];
  for (let k = first; k <= last + 1; k++) {
    if (k <= last && !present[k]) {
      if (++run > maxGap) {
        maxGap = run;
        maxGapAt = k - run + 1;
      }
      continue;
    }
    if (run * 20 > gapLimitMs) longGaps.push({ atCallMs: toMs((firstFrame + k - run) * frame), ms: run * 20 });
    run = 0;
  }
  // Content: the heard audio with runs of digital silence (underruns, the echo of silence) taken out.
  const kept: number[] = [];
  const from = (firstFrame + first) * frame;
  const to = (firstFrame + last + 1) * frame;
  for (let i = from; i < to; ) {
    let j = i;
    while (j < to && heard[j] === 0) j++;
    if (j - i >= 4) {
      i = j;
      continue;
    }
    for (; i < j; i++) kept.push(0);
    if (i < to) kept.push(heard[i++]!);
  }
  const edge = frame; // the tone's abrupt start and end are not part of the test
  const own = fitSine(kept, hz, 8000, edge, kept.length - edge).amplitude;
  let worstForeign = 0;
  for (const f of foreignHz) worstForeign = Math.max(worstForeign, fitSine(kept, f, 8000, edge, kept.length - edge).amplitude);
  let worstThdn = Infinity;
  let worstAt = 0;
  for (let s = edge; s + 800 <= kept.length - edge; s += 800) {
    const t = fitSine(kept, hz, 8000, s, s + 800).thdnDb;
    if (t < worstThdn) {
      worstThdn = t;
      worstAt = s;
    }
  }
  return {
    toneAtCallMs: firstFrame * 20,
    onsetMs: first * 20,
    spanMs: (last - first + 1) * 20,
    maxGapMs: maxGap * 20,
    maxGapAtMs: toMs((firstFrame + maxGapAt) * frame - toneStart),
    longGaps,
    echoedMs: toMs(kept.length),
    ownAmplitude: own,
    worstForeign,
    worstWindowThdnDb: worstThdn,
    worstWindowAtMs: toMs(worstAt),
  };
}
