/**
 * Session resumption handles of one emulator instance. A handle names a snapshot of a logical
 * session (scenario position and conversation) taken at an idle turn boundary. It stays valid while
 * that session's socket is open and for `ttlMs` after it closed (docs/gemini-live.md §5: 2 h);
 * resuming while the socket is still open is refused by the caller (1011, docs/gemini-live.md §5).
 */
import type { SeededRng } from './faults.js';

interface Logical {
  openConnection: number | undefined;
  closedAt: number | undefined;
}

interface Entry<T> {
  logicalId: string;
  snapshot: T;
}

export class HandleStore<T> {
  readonly #ttlMs: number;
  readonly #rng: SeededRng;
  readonly #now: () => number;
  readonly #handles = new Map<string, Entry<T>>();
  readonly #sessions = new Map<string, Logical>();
  #issued = 0;

  constructor(ttlMs: number, rng: SeededRng, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#rng = rng;
    this.#now = now;
  }

  /** A logical session now runs on `connection`. */
  open(logicalId: string, connection: number): void {
    this.#sessions.set(logicalId, { openConnection: connection, closedAt: undefined });
  }

  /** `connection`'s socket closed; its handles start ageing. */
  closed(logicalId: string, connection: number): void {
    const s = this.#sessions.get(logicalId);
    if (s && s.openConnection === connection) {
      s.openConnection = undefined;
      s.closedAt = this.#now();
    }
  }

  /** The connection a logical session currently runs on, if any. */
  openConnection(logicalId: string): number | undefined {
    return this.#sessions.get(logicalId)?.openConnection;
  }

  /** Issues a new handle for the snapshot (opaque, like the service's). */
  issue(logicalId: string, snapshot: T): string {
    if (++this.#issued % 64 === 0) this.#prune();
    let handle = '';
    while (handle.length < 48) handle += this.#rng.int(0, 0xffff).toString(16).padStart(4, '0');
    handle = `CiQ${Buffer.from(handle, 'hex').toString('base64url')}`;
    this.#handles.set(handle, { logicalId, snapshot });
    return handle;
  }

  /** The snapshot a handle names, unless unknown or expired. */
  lookup(handle: string): Entry<T> | undefined {
    const entry = this.#handles.get(handle);
    if (!entry) return undefined;
    if (this.#expired(entry.logicalId)) {
      this.#handles.delete(handle);
      return undefined;
    }
    return entry;
  }

  get size(): number {
    return this.#handles.size;
  }

  #expired(logicalId: string): boolean {
    const s = this.#sessions.get(logicalId);
    if (!s) return true;
    return s.openConnection === undefined && s.closedAt !== undefined && this.#now() - s.closedAt > this.#ttlMs;
  }

  #prune(): void {
    for (const [handle, entry] of this.#handles) if (this.#expired(entry.logicalId)) this.#handles.delete(handle);
  }
}
