/**
 * Live call views over server-sent events, behind the same admin guard as /api/calls:
 *
 *   GET /api/calls/live        calls in progress: `snapshot` {calls}, then `call` {call} for every
 *                              change of any call (a call that ended has inProgress: false) and
 *                              `said` {callSid, who, text} for every utterance, for the list's rows.
 *   GET /api/calls/:sid/live   one call as it grows: `snapshot` {call, events} (what is stored plus
 *                              the record as it is now), then `event` {seq, …event} and `call`
 *                              {call}; `ended` {call} when it is over, and the stream closes.
 *
 * The feed comes from the transcript writer (TranscriptWriter.subscribe), so it shows exactly what
 * is being recorded, redacted as stored. Events carry their per-call `seq`, so the snapshot read
 * from the store and the live tail never show an event twice. A client that stops reading is
 * dropped (its buffer is capped); every stream gets a comment line every 15 s so proxies keep it.
 */
import type { Request, Response } from 'express';
import type { Logger } from '../shared/log.js';
import type { LiveChange, LiveListener, TranscriptStore } from '../transcripts/index.js';
import type { CallEvent, CallRecord } from '../transcripts/types.js';
import { isAnyCallSid } from '../twilio/sids.js';

/** What the live routes need of the transcript writer. */
export interface LiveFeed {
  openRecords(): Array<Readonly<CallRecord>>;
  subscribe(listener: LiveListener): () => void;
  /** Writes what is pending, so the store holds every event emitted before a subscription. */
  flush(): Promise<void>;
}

export interface LiveDeps {
  store: TranscriptStore;
  live: LiveFeed;
  log: Logger;
  /** Streams open at once, all clients together (default 100); more are refused with 503. */
  maxStreams?: number;
}

const HEARTBEAT_MS = 15_000;
/** Unsent bytes a stream may hold before its client is considered gone. */
const MAX_BUFFERED_BYTES = 1 << 20;

/** A record as the live list shows it (the same fields as GET /api/calls, plus inProgress). */
export function liveItem(r: Readonly<CallRecord>) {
  return {
    callSid: r.callSid,
    startedAt: r.startedAt,
    answeredAt: r.answeredAt,
    endedAt: r.endedAt,
    durationMs: r.durationMs,
    from: r.from,
    to: r.to,
    flow: r.flow,
    flowVersion: r.flowVersion,
    channel: r.channel ?? 'phone',
    outcome: r.outcome,
    outcomeDetail: r.outcomeDetail,
    followUp: r.followUp,
    inProgress: r.endedAt === undefined,
  };
}

/** One SSE response: named events, heartbeats, dropped when its client stops reading. */
class SseStream {
  #closed = false;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #onClose: Array<() => void> = [];

  constructor(private readonly res: Response) {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    this.#heartbeat = setInterval(() => this.#write(': keep-alive\n\n'), HEARTBEAT_MS);
    this.#heartbeat.unref();
    res.on('close', () => this.close());
  }

  get closed(): boolean {
    return this.#closed;
  }

  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#onClose.push(fn);
  }

  send(event: string, data: unknown): void {
    this.#write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const fn of this.#onClose.splice(0)) fn();
    if (!this.res.writableEnded) this.res.end();
  }

  #write(chunk: string): void {
    if (this.#closed) return;
    if (this.res.writableLength > MAX_BUFFERED_BYTES) return this.close();
    this.res.write(chunk);
  }
}

export class LiveCalls {
  readonly #d: LiveDeps;
  readonly #streams = new Set<SseStream>();

  constructor(deps: LiveDeps) {
    this.#d = deps;
  }

  /** Streams open right now (tests, diagnostics). */
  get streams(): number {
    return this.#streams.size;
  }

  /** Ends every stream (shutdown). */
  closeAll(): void {
    for (const s of [...this.#streams]) s.close();
  }

  /** GET /api/calls/live */
  list(_req: Request, res: Response): void {
    const stream = this.#open(res);
    if (!stream) return;
    const unsubscribe = this.#d.live.subscribe((change) => {
      if (change.type === 'call') return stream.send('call', { call: liveItem(change.record) });
      const e = change.event;
      if (e.kind === 'caller_utterance' || e.kind === 'bot_utterance') {
        stream.send('said', { callSid: change.callSid, who: e.kind === 'caller_utterance' ? 'caller' : 'bot', text: e.text, atMs: e.atMs });
      }
    });
    stream.onClose(unsubscribe);
    stream.send('snapshot', { calls: this.#d.live.openRecords().map(liveItem) });
  }

  /** GET /api/calls/:sid/live */
  async call(req: Request, res: Response): Promise<void> {
    const sid = String(req.params.sid);
    if (!isAnyCallSid(sid)) return void res.status(400).json({ error: 'bad_request', message: 'sid: not a call sid (CA or BR and 32 hex digits)' });
    // Subscribe first and hold what arrives while the store is read; seq drops the overlap.
    const held: LiveChange[] = [];
    let forward: ((change: LiveChange) => void) | undefined;
    const unsubscribe = this.#d.live.subscribe((change) => {
      if ((change.type === 'call' ? change.record.callSid : change.callSid) !== sid) return;
      if (forward) forward(change);
      else held.push(change);
    });
    let stored: { record: CallRecord | undefined; events: Array<CallEvent & { seq: number }> };
    try {
      // Events emitted before the subscription are pending in the writer or stored: write them.
      await this.#d.live.flush().catch((err: unknown) => this.#d.log.warn({ err }, 'live call view: pending events could not be written first'));
      stored = { record: await this.#d.store.getCall(sid), events: await this.#d.store.getEvents(sid) };
    } catch (err) {
      unsubscribe();
      throw err;
    }
    const open = this.#d.live.openRecords().find((r) => r.callSid === sid);
    const record = held.reduce<Readonly<CallRecord> | undefined>((r, c) => (c.type === 'call' ? c.record : r), open ?? stored.record);
    if (!record) {
      unsubscribe();
      return void res.status(404).json({ error: 'not_found', message: `no call ${sid}` });
    }
    const stream = this.#open(res);
    if (!stream) return void unsubscribe();
    stream.onClose(unsubscribe);
    let lastSeq = stored.events.reduce((max, e) => Math.max(max, e.seq), 0);
    stream.send('snapshot', { call: record, events: stored.events });
    forward = (change) => {
      if (change.type === 'event') {
        if (change.seq <= lastSeq) return;
        lastSeq = change.seq;
        return stream.send('event', { ...change.event, seq: change.seq });
      }
      if (change.record.endedAt === undefined) return stream.send('call', { call: change.record });
      stream.send('ended', { call: change.record });
      stream.close();
    };
    for (const change of held.splice(0)) forward(change);
    if (record.endedAt !== undefined && !stream.closed) {
      stream.send('ended', { call: record });
      stream.close();
    }
  }

  #open(res: Response): SseStream | undefined {
    if (this.#streams.size >= (this.#d.maxStreams ?? 100)) {
      this.#d.log.warn({ streams: this.#streams.size }, 'live call view refused: too many open streams');
      res.status(503).json({ error: 'busy', message: 'Too many live views are open; close some and try again.' });
      return undefined;
    }
    const stream = new SseStream(res);
    this.#streams.add(stream);
    stream.onClose(() => this.#streams.delete(stream));
    return stream;
  }
}
