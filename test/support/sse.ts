/**
 * A small server-sent-events client for tests: reads a fetch() body, parses `event:`/`data:`
 * blocks and lets a test wait for the next event matching a predicate (no sleeps).
 */
export interface SseEvent {
  event: string;
  data: unknown;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  readonly status: number;
  #waiters: Array<{ match: (e: SseEvent) => boolean; from: number; resolve: (e: SseEvent) => void; reject: (err: Error) => void }> = [];
  #ended = false;
  readonly #abort: AbortController;
  readonly done: Promise<void>;

  private constructor(res: Response, abort: AbortController) {
    this.status = res.status;
    this.#abort = abort;
    this.done = this.#read(res);
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const abort = new AbortController();
    const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: abort.signal });
    return new SseClient(res, abort);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The first event at or after index `from` that matches (already received or yet to come). */
  next(match: (e: SseEvent) => boolean, from = 0): Promise<SseEvent> {
    const seen = this.events.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    if (this.#ended) return Promise.reject(new Error(`stream ended without a matching event; got ${this.events.map((e) => e.event).join(', ')}`));
    return new Promise((resolve, reject) => this.#waiters.push({ match, from, resolve, reject }));
  }

  close(): void {
    this.#abort.abort();
  }

  async #read(res: Response): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          this.#block(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // aborted by close()
    }
    this.#ended = true;
    for (const w of this.#waiters.splice(0)) w.reject(new Error(`stream ended without a matching event; got ${this.events.map((e) => e.event).join(', ')}`));
  }

  #block(block: string): void {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length === 0) return;
    const e: SseEvent = { event, data: JSON.parse(data.join('\n')) };
    const index = this.events.push(e) - 1;
    this.#waiters = this.#waiters.filter((w) => {
      if (index < w.from || !w.match(e)) return true;
      w.resolve(e);
      return false;
    });
  }
}
