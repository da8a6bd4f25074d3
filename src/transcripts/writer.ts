/**
 * The batched transcript writer: the only way the call bridge writes records.
 *
 *   const log = writer.openCall(initialRecord, { redact: flow.redact });
 *   log.event({ kind: 'caller_utterance', text }, atMs);   // enqueue only
 *   log.update({ answeredAt, streamSid });                  // enqueue only
 *   log.close({ outcome: 'completed', endedAt });           // enqueue only
 *   await writer.close();                                   // on shutdown: writes everything
 *
 * `event`/`update`/`close` never touch the disk: they number the event (seq, per call, from 1),
 * serialise it (redacting when asked) and append it to an in-memory batch. A timer started by the
 * first pending item writes the whole batch — every call's new events and latest record states —
 * in one store transaction `flushIntervalMs` later (200 ms by default), so a crash or SIGKILL
 * loses at most the last fraction of a second. When a write fails, the batch is kept (in order,
 * ahead of newer items), CB_STORE_WRITE_FAILED is logged once per outage, and the write is retried
 * with backoff until it succeeds.
 *
 * Record fields are the bridge's to maintain (geminiCloses, reconnects, usage, latency…): the
 * writer stores the record as last patched and does not derive fields from events, except at
 * `close()`: `endedAt` defaults to now, `durationMs` to endedAt − startedAt, and an outcome still
 * 'in_progress' becomes 'completed'.
 */
import { CallbridgeError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { isAnyCallSid } from '../twilio/sids.js';
import { redactEvent } from './redact.js';
import type { EventRow, TranscriptStore, WriteBatch } from './store.js';
import type { CallEvent, CallEventBody, CallRecord } from './types.js';

export interface TranscriptWriterOptions {
  store: TranscriptStore;
  log?: Logger;
  /** Delay between the first pending item and the write of its batch. Default 200 ms. */
  flushIntervalMs?: number;
  /** Redact long numbers in stored text for every call (see redact.ts); per call override in openCall. */
  redact?: boolean;
  /** First retry delay after a failed write; doubles up to `maxRetryDelayMs`. Default 250 ms. */
  retryDelayMs?: number;
  /** Default 5000 ms. */
  maxRetryDelayMs?: number;
}

export interface OpenCallOptions {
  /** Overrides the writer's `redact` for this call (e.g. from the flow's settings). */
  redact?: boolean;
  /** Events stored already (by another instance, before this one took the call over): numbering continues after it. */
  lastSeq?: number;
}

/** The per-call handle the bridge holds. Every method only enqueues. */
export interface CallLog {
  readonly callSid: string;
  /** The record as last patched (read-only view). */
  readonly record: Readonly<CallRecord>;
  readonly closed: boolean;
  /** Appends an event; `atMs` is ms since the call started. Ignored after close(). */
  event(body: CallEventBody, atMs: number): void;
  /** Shallow-merges into the record (arrays and objects are replaced, not merged). */
  update(patch: Partial<CallRecord>): void;
  /** Final patch; the call's last state is written with the next batch. Later calls are ignored. */
  close(final?: Partial<CallRecord>): void;
}

/**
 * What changed, for live views (/calls, the browser phone's captions): a record as it now is
 * (opened, patched or closed), or an event as stored (redacted when the call is).
 */
export type LiveChange =
  | { type: 'call'; record: Readonly<CallRecord> }
  | { type: 'event'; callSid: string; event: Readonly<CallEvent>; /** The event's number in its call (as stored). */ seq: number };

export type LiveListener = (change: LiveChange) => void;

interface CallState {
  record: CallRecord;
  seq: number;
  redact: boolean;
  closed: boolean;
  log: CallLog;
}

const RECENTLY_CLOSED_MAX = 1000;

export class TranscriptWriter {
  private readonly store: TranscriptStore;
  private readonly log: Logger;
  private readonly flushIntervalMs: number;
  private readonly redact: boolean;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly calls = new Map<string, CallState>();
  /** Next seq of calls closed and written recently, in case the same call is opened again. */
  private readonly recentlyClosed = new Map<string, number>();
  private events: EventRow[] = [];
  private dirty = new Set<CallState>();
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private failures = 0;
  private closing = false;
  private readonly listeners = new Set<LiveListener>();

  constructor(options: TranscriptWriterOptions) {
    this.store = options.store;
    this.log = options.log ?? silentLogger();
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.redact = options.redact ?? false;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 5000;
  }

  /** Events and records waiting to be written. */
  get pending(): { events: number; records: number } {
    return { events: this.events.length, records: this.dirty.size };
  }

  /** Calls open right now (in progress, or closed and not yet written), oldest first. */
  openRecords(): Array<Readonly<CallRecord>> {
    return [...this.calls.values()].filter((s) => !s.closed).map((s) => s.record);
  }

  /**
   * True when the call's record is final: closed here, or stored with an outcome other than
   * in_progress. A replayed webhook for such a call must not open (and overwrite) it again.
   * A store error answers false (logged): the call is taken rather than refused.
   */
  async isFinal(callSid: string): Promise<boolean> {
    const state = this.calls.get(callSid);
    if (state) return state.closed;
    if (this.recentlyClosed.has(callSid)) return true;
    try {
      const stored = await this.store.getCall(callSid);
      return stored !== undefined && stored.outcome !== 'in_progress';
    } catch (err) {
      this.log.error({ err, callSid }, 'could not read the call record to check for a replayed call; taking the call');
      return false;
    }
  }

  /** Every change from now on, in order; returns the unsubscribe function. A throwing listener is logged and dropped. */
  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: LiveChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.listeners.delete(listener);
        this.log.error({ err }, 'a live call listener threw; it is unsubscribed');
      }
    }
  }

  /** Starts recording a call. Opening a call that is already open merges `initial` into it. */
  openCall(initial: CallRecord, options: OpenCallOptions = {}): CallLog {
    // The entry points (webhook, stream, browser phone, API) refuse malformed ids; this is the
    // store's own line, so no record can be keyed by an id the API could never look up.
    if (!isAnyCallSid(initial.callSid)) {
      throw new CallbridgeError('CB_TWILIO_SID_INVALID', `refusing to record a call with a malformed CallSid (${JSON.stringify(initial.callSid.slice(0, 40))})`);
    }
    const existing = this.calls.get(initial.callSid);
    if (existing && !existing.closed) {
      existing.log.update(initial);
      return existing.log;
    }
    const state: CallState = {
      record: { ...initial },
      seq: Math.max(existing?.seq ?? this.recentlyClosed.get(initial.callSid) ?? 0, options.lastSeq ?? 0),
      redact: options.redact ?? this.redact,
      closed: false,
      log: undefined as unknown as CallLog,
    };
    state.log = this.callLog(state);
    this.calls.set(initial.callSid, state);
    if (this.closing) {
      this.log.error({ callSid: initial.callSid }, 'transcript writer is closed; call will not be recorded');
      state.closed = true;
      return state.log;
    }
    this.markDirty(state);
    this.emit({ type: 'call', record: state.record });
    return state.log;
  }

  /** Writes everything enqueued so far. Rejects (CB_STORE_WRITE_FAILED) if the write fails; the data is kept and retried. */
  flush(): Promise<void> {
    const run = this.chain.catch(() => undefined).then(() => this.writeOnce());
    this.chain = run;
    return run;
  }

  /**
   * Stops the timer and writes everything (shutdown). Retries a failing store a few times, then
   * rejects with CB_STORE_WRITE_FAILED saying how much could not be written.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.clearTimer();
    let delayMs = 50;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.flush();
        this.clearTimer();
        return;
      } catch (err) {
        this.clearTimer();
        if (attempt >= 4) {
          throw new CallbridgeError('CB_STORE_WRITE_FAILED', `${this.events.length} events and ${this.dirty.size} records could not be written at shutdown`, { cause: err });
        }
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        delayMs *= 2;
      }
    }
  }

  private callLog(state: CallState): CallLog {
    const writer = this;
    return {
      get callSid() {
        return state.record.callSid;
      },
      get record() {
        return state.record;
      },
      get closed() {
        return state.closed;
      },
      event(body, atMs) {
        if (state.closed) return;
        const stored = state.redact ? redactEvent(body) : body;
        const row: EventRow = {
          callSid: state.record.callSid,
          seq: ++state.seq,
          atMs: Math.round(atMs),
          kind: stored.kind,
          bodyJson: JSON.stringify(stored),
        };
        if (stored.kind === 'caller_utterance' || stored.kind === 'bot_utterance' || stored.kind === 'note') {
          row.text = stored.text;
        }
        writer.events.push(row);
        writer.schedule(writer.flushIntervalMs);
        if (writer.listeners.size > 0) writer.emit({ type: 'event', callSid: row.callSid, event: { ...stored, atMs: row.atMs }, seq: row.seq });
      },
      update(patch) {
        if (state.closed) return;
        state.record = { ...state.record, ...patch, callSid: state.record.callSid };
        writer.markDirty(state);
        writer.emit({ type: 'call', record: state.record });
      },
      close(final = {}) {
        if (state.closed) return;
        const record: CallRecord = { ...state.record, ...final, callSid: state.record.callSid };
        record.endedAt ??= Date.now();
        record.durationMs ??= Math.max(0, record.endedAt - record.startedAt);
        if (record.outcome === 'in_progress') record.outcome = 'completed';
        state.record = record;
        state.closed = true;
        writer.markDirty(state);
        writer.emit({ type: 'call', record: state.record });
      },
    };
  }

  private markDirty(state: CallState): void {
    this.dirty.add(state);
    this.schedule(this.flushIntervalMs);
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined || this.closing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => undefined);
    }, delayMs);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async writeOnce(): Promise<void> {
    if (this.events.length === 0 && this.dirty.size === 0) return;
    const states = [...this.dirty];
    const batch: WriteBatch = { records: states.map((s) => s.record), events: this.events };
    this.events = [];
    this.dirty = new Set();
    this.clearTimer();
    try {
      await this.store.writeBatch(batch);
    } catch (err) {
      // Keep the batch, in order, ahead of anything enqueued meanwhile; retry with backoff.
      this.events = batch.events.concat(this.events);
      for (const s of states) this.dirty.add(s);
      this.failures++;
      if (this.failures === 1) {
        this.log.error(
          { err, code: 'CB_STORE_WRITE_FAILED', pendingEvents: this.events.length },
          'writing call records failed; keeping them and retrying',
        );
      }
      const delayMs = Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** Math.min(this.failures - 1, 16));
      this.schedule(delayMs);
      throw new CallbridgeError('CB_STORE_WRITE_FAILED', 'writing call records failed; the batch is kept and retried', { cause: err });
    }
    if (this.failures > 0) {
      this.log.info({ failedAttempts: this.failures }, 'writing call records works again');
      this.failures = 0;
    }
    for (const s of states) {
      if (s.closed && !this.dirty.has(s) && this.calls.get(s.record.callSid) === s) {
        this.calls.delete(s.record.callSid);
        this.recentlyClosed.set(s.record.callSid, s.seq);
        if (this.recentlyClosed.size > RECENTLY_CLOSED_MAX) {
          const oldest = this.recentlyClosed.keys().next().value;
          if (oldest !== undefined) this.recentlyClosed.delete(oldest);
        }
      }
    }
  }
}

export function createTranscriptWriter(options: TranscriptWriterOptions): TranscriptWriter {
  return new TranscriptWriter(options);
}
