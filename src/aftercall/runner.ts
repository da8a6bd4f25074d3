/**
 * The job runner: one per process, it polls the durable queue (src/transcripts/after-call-store.ts)
 * about once a second, and at once after `kick()` (an enqueue), and hands each due job to the
 * handler registered for its kind ('analysis' here in src/aftercall/, 'notify' in src/notify/).
 *
 * A handler answers done / retry at a time / failed; the runner records that in the queue. It
 * never lets a handler's exception into its loop: a throw is a retry with backoff (logged), up to
 * a bounded number of attempts. `stop()` stops claiming and waits for the jobs in flight. Nothing
 * here runs on a call's path: a call that ends only enqueues (docs/after-call.md).
 */
import type { Logger } from '../shared/log.js';
import type { Job, JobKind, JobQueue } from '../transcripts/after-call-store.js';

export type JobOutcome =
  | { kind: 'done' }
  | { kind: 'retry'; atMs: number; error: string }
  | { kind: 'failed'; error: string };

export type JobHandler = (job: Job) => Promise<JobOutcome>;

export interface HandlerOptions {
  /** How long a claimed job is leased before another claim may take it (longer than one attempt). */
  leaseMs?: number;
}

export interface JobRunnerOptions {
  queue: JobQueue;
  log: Logger;
  /** Wall clock, epoch ms (injected in tests). */
  nowMs?: () => number;
  /** Poll interval when idle. */
  pollMs?: number;
  /** Jobs run at once, across kinds. */
  concurrency?: number;
  /** Backoff for a throwing handler: base · 2^(attempt-1), capped; gives up after maxThrows attempts. */
  throwBackoffMs?: { baseMs: number; maxMs: number; maxAttempts: number };
}

const DEFAULT_LEASE_MS = 5 * 60_000;

interface Registered {
  handler: JobHandler;
  leaseMs: number;
}

export class JobRunner {
  private readonly queue: JobQueue;
  private readonly log: Logger;
  private readonly nowMs: () => number;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly throwBackoff: { baseMs: number; maxMs: number; maxAttempts: number };
  private readonly handlers = new Map<JobKind, Registered>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private polling = false;
  private again = false;

  constructor(options: JobRunnerOptions) {
    this.queue = options.queue;
    this.log = options.log;
    this.nowMs = options.nowMs ?? Date.now;
    this.pollMs = options.pollMs ?? 1000;
    this.concurrency = options.concurrency ?? 4;
    this.throwBackoff = options.throwBackoffMs ?? { baseMs: 5000, maxMs: 30 * 60_000, maxAttempts: 8 };
  }

  /** Registers the handler of a job kind (one per kind). */
  register(kind: JobKind, handler: JobHandler, options: HandlerOptions = {}): void {
    if (this.handlers.has(kind)) throw new Error(`a handler for ${kind} jobs is already registered`);
    this.handlers.set(kind, { handler, leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS });
  }

  /** Starts polling (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Polls soon: a job was just enqueued. */
  kick(): void {
    if (this.running) this.schedule(0);
  }

  /** Stops claiming and waits for the jobs in flight to settle. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Jobs running now (for tests and /readyz-style diagnostics). */
  get busy(): number {
    return this.inFlight.size;
  }

  /**
   * One poll: claims what is due (up to the free slots) and starts it. Returns the jobs started.
   * `start()` calls this on its timer; tests call it directly with an injected clock and then
   * `idle()` to wait for the handlers.
   */
  async runOnce(): Promise<number> {
    const free = this.concurrency - this.inFlight.size;
    if (free <= 0) return 0;
    let started = 0;
    for (const [kind, registered] of this.handlers) {
      if (started >= free) break;
      let jobs: Job[];
      try {
        jobs = await this.queue.claim([kind], this.nowMs(), free - started, registered.leaseMs);
      } catch (err) {
        this.log.error({ err, kind }, 'job queue: claim failed');
        continue;
      }
      for (const job of jobs) {
        const p = this.execute(job, registered.handler).finally(() => {
          this.inFlight.delete(p);
          this.kick();
        });
        this.inFlight.add(p);
        started++;
      }
    }
    return started;
  }

  /** Resolves when no job is in flight. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async execute(job: Job, handler: JobHandler): Promise<void> {
    let outcome: JobOutcome;
    try {
      outcome = await handler(job);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (job.attempts >= this.throwBackoff.maxAttempts) {
        outcome = { kind: 'failed', error: `handler threw: ${message}` };
      } else {
        const delay = Math.min(this.throwBackoff.baseMs * 2 ** Math.max(0, job.attempts - 1), this.throwBackoff.maxMs);
        outcome = { kind: 'retry', atMs: this.nowMs() + delay, error: `handler threw: ${message}` };
      }
      this.log.error({ err, jobId: job.id, kind: job.kind, callSid: job.callSid, attempts: job.attempts }, 'job handler threw');
    }
    await this.record(job, outcome);
  }

  private async record(job: Job, outcome: JobOutcome): Promise<void> {
    const now = this.nowMs();
    try {
      if (outcome.kind === 'done') await this.queue.complete(job.id, now);
      else if (outcome.kind === 'retry') await this.queue.retryAt(job.id, outcome.atMs, outcome.error, now);
      else await this.queue.fail(job.id, outcome.error, now);
    } catch (err) {
      // The lease runs out and the job is claimed again: at least once.
      this.log.error({ err, jobId: job.id, kind: job.kind }, 'job queue: could not record the outcome');
    }
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    this.polling = true;
    this.again = false;
    try {
      await this.runOnce();
    } finally {
      this.polling = false;
    }
    this.schedule(this.again ? 0 : this.pollMs);
  }
}
