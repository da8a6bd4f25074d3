/**
 * A small typed event emitter. A listener that throws never breaks the caller (the receive loop):
 * the error goes to `onListenerError` and the other listeners still run.
 */

export type Listener<T> = (event: T) => void;

export class TypedEmitter<M extends object> {
  readonly #listeners = new Map<keyof M, Set<Listener<never>>>();
  readonly #onListenerError: (type: keyof M, err: unknown) => void;

  constructor(onListenerError: (type: keyof M, err: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof M>(type: K, fn: Listener<M[K]>): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => this.off(type, fn);
  }

  once<K extends keyof M>(type: K, fn: Listener<M[K]>): () => void {
    const off = this.on(type, (event) => {
      off();
      fn(event);
    });
    return off;
  }

  off<K extends keyof M>(type: K, fn: Listener<M[K]>): void {
    this.#listeners.get(type)?.delete(fn as Listener<never>);
  }

  listenerCount(type: keyof M): number {
    return this.#listeners.get(type)?.size ?? 0;
  }

  protected emit<K extends keyof M>(type: K, event: M[K]): void {
    const set = this.#listeners.get(type);
    if (!set || set.size === 0) return;
    for (const fn of [...set] as Listener<M[K]>[]) {
      try {
        fn(event);
      } catch (err) {
        this.#onListenerError(type, err);
      }
    }
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}
