/**
 * The live call views' feed (src/web/calls-live.ts `LiveFeed`) when several instances share the
 * database: this instance's own calls as the transcript writer reports them (at once), plus the
 * calls running on the other live instances, read from the database every `pollMs` (2 s) while
 * someone watches: their records as `call` changes (an ended one once more, final) and their
 * new events as `event` changes, by seq. A call this instance admitted but another one took over
 * (its record now names that instance) is left to the poll, so it never shows twice.
 */
import type { Logger } from '../shared/log.js';
import type { LiveChange, LiveListener, TranscriptStore } from '../transcripts/index.js';
import type { CallRecord } from '../transcripts/types.js';
import { INSTANCE_STALE_MS, type InstanceRegistry } from './instances.js';

/** What this needs of the transcript writer (it is the LiveFeed of a single instance). */
export interface LocalFeed {
  openRecords(): Array<Readonly<CallRecord>>;
  subscribe(listener: LiveListener): () => void;
  flush(): Promise<void>;
}

export interface SharedLiveOptions {
  self: string;
  local: LocalFeed;
  store: TranscriptStore;
  registry: InstanceRegistry;
  log: Logger;
  pollMs?: number;
  /** Remote calls followed at once (the rest wait for a later poll). */
  maxRemote?: number;
}

interface Remote {
  record: CallRecord;
  json: string;
  lastSeq: number;
}

export class SharedLiveFeed {
  readonly #o: SharedLiveOptions;
  readonly #listeners = new Set<LiveListener>();
  readonly #remote = new Map<string, Remote>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #failing = false;

  constructor(options: SharedLiveOptions) {
    this.#o = options;
  }

  #mine(record: Readonly<CallRecord>): boolean {
    return record.instance === undefined || record.instance === this.#o.self;
  }

  /** This instance's open calls, then the other instances' (a call in both, admitted here but taken over there, as it is there). */
  openRecords(): Array<Readonly<CallRecord>> {
    const own = this.#o.local.openRecords().filter((r) => this.#mine(r) && !this.#remote.has(r.callSid));
    return [...own, ...[...this.#remote.values()].map((r) => r.record)];
  }

  flush(): Promise<void> {
    return this.#o.local.flush();
  }

  subscribe(listener: LiveListener): () => void {
    const unsubscribeLocal = this.#o.local.subscribe((change) => {
      if (this.#remote.has(change.type === 'call' ? change.record.callSid : change.callSid)) return; // taken over: shown as it is there
      if (change.type === 'call' && !this.#mine(change.record)) return;
      listener(change);
    });
    this.#listeners.add(listener);
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.poll(), this.#o.pollMs ?? 2000);
      this.#timer.unref();
      void this.poll();
    }
    return () => {
      unsubscribeLocal();
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  #emit(change: LiveChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        this.#listeners.delete(listener);
        this.#o.log.error({ err }, 'a live call listener threw; it is unsubscribed');
      }
    }
  }

  /** One read of the other instances' open calls and their new events (also run by tests); joins a read under way. */
  poll(): Promise<void> {
    this.#polling ??= this.#pollLogged().finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  async #pollLogged(): Promise<void> {
    try {
      await this.#pollOnce();
      if (this.#failing) this.#o.log.info('live calls of other instances readable again');
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) this.#o.log.error({ err, code: 'CB_SCALE_DB_FAILED' }, "could not read the other instances' live calls; retrying");
      this.#failing = true;
    }
  }

  async #pollOnce(): Promise<void> {
    const live = new Set((await this.#o.registry.live(INSTANCE_STALE_MS)).map((i) => i.id));
    const page = await this.#o.store.listCalls({ outcome: ['in_progress'], limit: this.#o.maxRemote ?? 200 });
    const open = page.calls.map((c) => c.record).filter((r) => r.instance !== undefined && r.instance !== this.#o.self && live.has(r.instance));
    const openSids = new Set(open.map((r) => r.callSid));
    for (const record of open) {
      const json = JSON.stringify(record);
      const known = this.#remote.get(record.callSid);
      const remote = known ?? { record, json: '', lastSeq: 0 };
      if (remote.json !== json) {
        Object.assign(remote, { record, json });
        this.#remote.set(record.callSid, remote);
        this.#emit({ type: 'call', record });
      }
      await this.#newEvents(remote);
    }
    for (const [sid, remote] of this.#remote) {
      if (openSids.has(sid)) continue;
      this.#remote.delete(sid);
      await this.#newEvents(remote);
      const final = await this.#o.store.getCall(sid);
      // Gone from the open list: ended (or its instance died): shown as over either way.
      this.#emit({ type: 'call', record: final && final.endedAt !== undefined ? final : { ...remote.record, endedAt: Date.now() } });
    }
  }

  async #newEvents(remote: Remote): Promise<void> {
    if (this.#listeners.size === 0) return;
    const before = remote.lastSeq; // events come in call-time order, not seq order
    for (const e of await this.#o.store.getEvents(remote.record.callSid)) {
      if (e.seq <= before) continue;
      remote.lastSeq = Math.max(remote.lastSeq, e.seq);
      const { seq, ...event } = e;
      this.#emit({ type: 'event', callSid: remote.record.callSid, event, seq });
    }
  }
}
