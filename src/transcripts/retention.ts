/**
 * Retention: a periodic job deleting calls (records, events and recordings) older than their
 * flow's retention period. Policy: days per flow name, plus an optional default for calls of any
 * other flow (or none); a flow or default without a number keeps its calls forever.
 *
 * The job runs once shortly after start and then every `intervalMs` (default 1 hour) on an
 * unref'd timer (it never keeps the process alive); runs never overlap. Deletion goes in batches
 * of `batchSize` calls per transaction so a large backlog does not hold the write lock for long.
 * A recording is removed after its record; a failed file removal is logged and does not stop the
 * pass (the record, which pointed at it, is already gone).
 */
import { rm } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { silentLogger, type Logger } from '../shared/log.js';
import type { RetentionScope, TranscriptStore } from './store.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionPolicy {
  /** Retention in days per flow name. */
  flows: Readonly<Record<string, number>>;
  /** Days for calls whose flow is not listed (or have none); undefined keeps them. */
  defaultDays?: number;
}

export interface RetentionOptions {
  store: TranscriptStore;
  dataDir: string;
  /** The policy, or a function returning the current one (flows can be reloaded). */
  policy: RetentionPolicy | (() => RetentionPolicy);
  intervalMs?: number;
  /** Delay of the first run after start. Default 10 s. */
  firstRunDelayMs?: number;
  batchSize?: number;
  log?: Logger;
  now?: () => number;
}

export interface RetentionResult {
  deletedCalls: number;
  deletedRecordings: number;
}

export interface RetentionJob {
  /** One pass now (waits for a pass already running, then runs). */
  runOnce(): Promise<RetentionResult>;
  stop(): void;
}

/** Runs one retention pass with `options` (no timer). */
export async function applyRetention(options: RetentionOptions): Promise<RetentionResult> {
  const policy = typeof options.policy === 'function' ? options.policy() : options.policy;
  const now = (options.now ?? Date.now)();
  const log = options.log ?? silentLogger();
  const batchSize = options.batchSize ?? 500;
  const recordingsDir = resolve(options.dataDir, 'recordings') + sep;
  const result: RetentionResult = { deletedCalls: 0, deletedRecordings: 0 };

  const passes: { scope: RetentionScope; days: number }[] = [];
  for (const [flow, days] of Object.entries(policy.flows)) passes.push({ scope: { flow }, days });
  if (policy.defaultDays !== undefined) passes.push({ scope: { exceptFlows: Object.keys(policy.flows) }, days: policy.defaultDays });

  for (const { scope, days } of passes) {
    if (!Number.isFinite(days) || days < 0) continue;
    const before = now - days * DAY_MS;
    for (;;) {
      const deleted = await options.store.deleteCallsStartedBefore(before, scope, batchSize);
      result.deletedCalls += deleted.length;
      for (const call of deleted) {
        if (!call.recordingPath) continue;
        const path = resolve(options.dataDir, call.recordingPath);
        if (!path.startsWith(recordingsDir)) {
          log.warn({ callSid: call.callSid }, 'retention: recording path outside DATA_DIR/recordings left alone');
          continue;
        }
        try {
          await rm(path, { force: true });
          result.deletedRecordings++;
        } catch (err) {
          log.warn({ err, callSid: call.callSid }, 'retention: could not delete recording');
        }
      }
      if (deleted.length < batchSize) break;
    }
  }
  if (result.deletedCalls > 0) log.info(result, 'retention: old calls deleted');
  return result;
}

/** Starts the periodic retention job. */
export function startRetentionJob(options: RetentionOptions): RetentionJob {
  const log = options.log ?? silentLogger();
  let chain: Promise<unknown> = Promise.resolve();
  let stopped = false;

  const runOnce = (): Promise<RetentionResult> => {
    const run = chain.catch(() => undefined).then(() => applyRetention(options));
    chain = run;
    return run;
  };
  const tick = () => {
    if (stopped) return;
    runOnce().catch((err: unknown) => log.error({ err }, 'retention pass failed'));
  };
  const first = setTimeout(tick, options.firstRunDelayMs ?? 10_000);
  first.unref();
  const interval = setInterval(tick, options.intervalMs ?? 60 * 60 * 1000);
  interval.unref();
  return {
    runOnce,
    stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(interval);
    },
  };
}
