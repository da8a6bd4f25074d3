/**
 * From the driver's and the emulator's stamps to per-frame latency added by callbridge.
 *
 * Inbound (caller → Gemini): frame k of a call holds 8 kHz samples [160k, 160k+160); callbridge
 * turns them into 16 kHz samples [320k, 320k+320) and sends them on at once. Its latency is the
 * time the emulator received the chunk holding 16 kHz sample 320k+319, minus the time the driver
 * sent frame k. Outbound (Gemini → caller): a media message ending at 8 kHz sample E came from
 * 24 kHz samples up to 3E; its latency is its arrival at the driver minus the time the emulator
 * sent the chunk holding 24 kHz sample 3E−1. Matching by sample position (not by message count)
 * keeps the figures right if callbridge ever split or joined chunks. A frame whose samples never
 * arrived is lost.
 */
import type { CallTimes } from './driver.js';
import type { SessionStamps } from './emulator-proc.js';
import { decodeTag } from './tag.js';

export const LATE_MS = 20;

export interface DirectionStats {
  frames: number;
  lost: number;
  /** Frames later than LATE_MS. */
  late: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadAnalysis {
  inbound: DirectionStats;
  outbound: DirectionStats;
  callsMatched: number;
  callsWithErrors: string[];
  clears: number;
  /** When late frames were sent (monotonic ms), per direction: stalls show up as clusters. */
  lateAtMs: { inbound: number[]; outbound: number[] };
  /** Late frames among each call's first second (call set-up, not steady streaming). */
  lateInFirstSecond: number;
}

/** Nearest-rank percentile of a sorted array. */
export function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function stats(latencies: number[], lost: number): DirectionStats {
  const sorted = Float64Array.from(latencies).sort();
  return {
    frames: latencies.length + lost,
    lost,
    late: latencies.filter((l) => l > LATE_MS).length,
    p50Ms: pct(sorted, 50),
    p99Ms: pct(sorted, 99),
    maxMs: sorted.length > 0 ? sorted[sorted.length - 1]! : NaN,
  };
}

/** Index of the first entry of `ends` (ascending) that is ≥ `sample`, starting the search at `from`. */
export function firstAtLeast(ends: readonly number[], sample: number, from = 0): number {
  let j = from;
  while (j < ends.length && ends[j]! < sample) j++;
  return j;
}

export function sessionsByCall(sessions: SessionStamps[]): Map<number, SessionStamps> {
  const byCall = new Map<number, SessionStamps>();
  for (const s of sessions) {
    const n = decodeTag(s.tag);
    if (n !== undefined) byCall.set(n, s);
  }
  return byCall;
}

export function inboundLatencies(call: CallTimes, s: SessionStamps): { latencies: number[]; lost: number } {
  const latencies: number[] = [];
  let lost = 0;
  let j = 0;
  for (let k = 0; k < call.sentMs.length; k++) {
    j = firstAtLeast(s.inEndSample, 320 * (k + 1), j);
    if (j >= s.inEndSample.length) lost++;
    else latencies.push(s.inEndMs[j]! - call.sentMs[k]!);
  }
  return { latencies, lost };
}

export function outboundLatencies(call: CallTimes, s: SessionStamps): { latencies: number[]; lost: number } {
  const latencies: number[] = [];
  let j = 0;
  for (let m = 0; m < call.recvEndSample.length; m++) {
    const end24k = 3 * call.recvEndSample[m]!;
    j = firstAtLeast(s.outEndSample, end24k, j);
    if (j < s.outEndSample.length) latencies.push(call.recvEndMs[m]! - s.outEndMs[j]!);
  }
  const sent8k = (s.outEndSample.at(-1) ?? 0) / 3;
  const received = call.recvEndSample.at(-1) ?? 0;
  const lost = Math.max(0, Math.floor((sent8k - received) / 160));
  return { latencies, lost };
}

export function analyse(calls: CallTimes[], sessions: SessionStamps[]): LoadAnalysis {
  const byCall = sessionsByCall(sessions);
  const inbound: number[] = [];
  const outbound: number[] = [];
  let inLost = 0;
  let outLost = 0;
  let matched = 0;
  const errors: string[] = [];
  const lateAtMs = { inbound: [] as number[], outbound: [] as number[] };
  let lateInFirstSecond = 0;
  for (const call of calls) {
    if (call.error) errors.push(`${call.callSid}: ${call.error}`);
    const s = byCall.get(call.n);
    if (!s) {
      errors.push(`${call.callSid}: no emulator session carries its tag`);
      inLost += call.sentMs.length;
      continue;
    }
    matched++;
    const i = inboundLatencies(call, s);
    for (const [k, l] of i.latencies.entries()) {
      inbound.push(l);
      if (l > LATE_MS) {
        lateAtMs.inbound.push(call.sentMs[k]!);
        if (k < 50) lateInFirstSecond++;
      }
    }
    inLost += i.lost;
    const o = outboundLatencies(call, s);
    for (const [m, l] of o.latencies.entries()) {
      outbound.push(l);
      if (l > LATE_MS) lateAtMs.outbound.push(call.recvEndMs[m]!);
    }
    outLost += o.lost;
  }
  return {
    inbound: stats(inbound, inLost),
    outbound: stats(outbound, outLost),
    callsMatched: matched,
    callsWithErrors: errors,
    clears: calls.reduce((a, c) => a + c.clears, 0),
    lateAtMs,
    lateInFirstSecond,
  };
}
