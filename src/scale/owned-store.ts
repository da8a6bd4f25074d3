/**
 * The transcript writer's store when several instances share the database: a call's record and
 * events are written only by the instance that owns the call (./instances.ts, CallOwnership).
 * Writes for a call another instance has taken over are dropped, so the first instance's unused
 * pre-opened call (ended by its no-stream timeout) never writes a final record, nor events, over
 * the instance that took the call; calls nobody claimed (the browser phone, a single instance)
 * are written as before.
 *
 * On SQLite the owner check and the batch run in one transaction (no window). On PostgreSQL the
 * check is one query just before the batch's own transaction: a takeover landing between the two
 * (a few ms, and only at the no-stream timeout) can let one stale write through; the taking
 * instance's next write replaces the record (docs/scale-out.md).
 */
import type { Logger } from '../shared/log.js';
import type { TranscriptStore, WriteBatch } from '../transcripts/store.js';

export interface OwnedStoreOptions {
  /** This instance's id. */
  self: string;
  /** Owners of these calls (absent: nobody claimed the call). */
  owners(callSids: readonly string[]): Promise<Map<string, string>>;
  /** SQLite: the owner lookup and the batch in one transaction. */
  sync?: { ownersNow(callSids: readonly string[]): Map<string, string>; inTransaction(fn: () => void): void };
  log: Logger;
}

const LOGGED_MAX = 1000;

export class OwnedWrites {
  readonly #inner: TranscriptStore;
  readonly #o: OwnedStoreOptions;
  /** Calls whose dropped writes were logged already (once per call). */
  readonly #logged = new Set<string>();
  /** Writes dropped because another instance owns the call (tests, diagnostics). */
  dropped = { records: 0, events: 0 };

  constructor(inner: TranscriptStore, options: OwnedStoreOptions) {
    this.#inner = inner;
    this.#o = options;
  }

  async writeBatch(batch: WriteBatch): Promise<void> {
    const sids = [...new Set([...batch.records.map((r) => r.callSid), ...batch.events.map((e) => e.callSid)])];
    const sync = this.#o.sync;
    if (sync) {
      let write: Promise<void> = Promise.resolve();
      // The inner SQLite store's writeBatch runs synchronously up to its promise: inside this transaction.
      sync.inTransaction(() => {
        write = this.#inner.writeBatch(this.#filter(batch, sync.ownersNow(sids)));
      });
      return write;
    }
    const owners = sids.length > 0 ? await this.#o.owners(sids) : new Map<string, string>();
    return this.#inner.writeBatch(this.#filter(batch, owners));
  }

  #filter(batch: WriteBatch, owners: Map<string, string>): WriteBatch {
    const foreign = (sid: string): boolean => {
      const owner = owners.get(sid);
      return owner !== undefined && owner !== this.#o.self;
    };
    if (![...owners.values()].some((o) => o !== this.#o.self)) return batch;
    const records = batch.records.filter((r) => !foreign(r.callSid));
    const events = batch.events.filter((e) => !foreign(e.callSid));
    this.dropped.records += batch.records.length - records.length;
    this.dropped.events += batch.events.length - events.length;
    for (const [sid, owner] of owners) {
      if (owner === this.#o.self || this.#logged.has(sid)) continue;
      if (this.#logged.size >= LOGGED_MAX) this.#logged.clear();
      this.#logged.add(sid);
      this.#o.log.info({ callSid: sid, owner }, 'call taken over by another instance: this instance no longer writes its record');
    }
    return { records, events };
  }
}

/**
 * `inner` with its `writeBatch` going through `writes` (every other method is the inner store's
 * own, whatever the backend adds).
 */
export function ownedStore<T extends TranscriptStore>(inner: T, writes: OwnedWrites): T {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'writeBatch') return (batch: WriteBatch) => writes.writeBatch(batch);
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
