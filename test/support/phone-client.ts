/**
 * A Node client of the browser test phone's WebSocket (docs/browser-phone.md), for tests and the
 * browser benchmark: signs in like a browser, opens /phone/ws, collects what the server sends,
 * and echoes marks the way the page does (at once, or through a JitterBuffer the bench drives).
 */
import WebSocket from 'ws';

export interface PhoneMessage {
  type: string;
  [key: string]: unknown;
}

/** Signs in at /calls/login with the admin token; returns the session cookie ("name=value"). */
export async function signIn(base: string, token: string): Promise<string> {
  const res = await fetch(`${base}/calls/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, next: '/phone' }).toString(),
    redirect: 'manual',
  });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  if (!cookie.includes('=') || cookie.endsWith('=')) throw new Error(`sign-in failed (${res.status})`);
  return cookie;
}

export type Upgrade = { ok: true; phone: PhoneClient } | { ok: false; status: number; body: string };

export interface ConnectOptions {
  cookie?: string;
  /** The Origin header: the server's own by default; null sends none. */
  origin?: string | null;
  query?: Record<string, string>;
  /** Echo every mark as soon as it arrives (default true). */
  echoMarks?: boolean;
}

/** Opens /phone/ws; resolves with the client, or the HTTP status the upgrade was refused with. */
export function connectPhone(base: string, o: ConnectOptions = {}): Promise<Upgrade> {
  const url = new URL('/phone/ws', base.replace(/^http/, 'ws'));
  for (const [k, v] of Object.entries(o.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = {};
  if (o.cookie) headers['Cookie'] = o.cookie;
  const origin = o.origin === undefined ? base : o.origin;
  const ws = new WebSocket(url, { headers, ...(origin !== null ? { origin } : {}), perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ ok: false, status: res.statusCode ?? 0, body }));
    });
    ws.once('open', () => resolve({ ok: true, phone: new PhoneClient(ws, o.echoMarks ?? true) }));
    ws.once('error', (err) => reject(err));
  });
}

export class PhoneClient {
  readonly ws: WebSocket;
  readonly messages: PhoneMessage[] = [];
  /** Bot audio frames, with their arrival time (performance.now()). */
  readonly audio: Array<{ bytes: Buffer; atMs: number }> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<() => void> = [];
  /** Called for every bot audio frame (the bench's jitter buffer). */
  onAudio: ((bytes: Buffer, atMs: number) => void) | undefined;
  onMark: ((name: string) => void) | undefined;

  constructor(ws: WebSocket, echoMarks: boolean) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      this.#wake();
    }));
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        const atMs = performance.now();
        this.audio.push({ bytes: data, atMs });
        this.onAudio?.(data, atMs);
      } else {
        const m = JSON.parse(data.toString()) as PhoneMessage;
        this.messages.push(m);
        if (m.type === 'mark') {
          if (echoMarks) this.send({ type: 'mark', name: m['name'] });
          this.onMark?.(String(m['name']));
        }
      }
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(message: Record<string, unknown>): void {
    if (this.open) this.ws.send(JSON.stringify(message));
  }

  sendAudio(bytes: Uint8Array): void {
    if (this.open) this.ws.send(bytes, { binary: true });
  }

  /** Events (`event` messages) of a kind received so far. */
  events(kind?: string): Array<Record<string, unknown>> {
    return this.messages.filter((m) => m.type === 'event').map((m) => m['event'] as Record<string, unknown>).filter((e) => kind === undefined || e['kind'] === kind);
  }

  /** Resolves once `check` holds (checked on every message), or rejects after `timeoutMs`. */
  async until<T>(check: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const v = check();
      if (v !== undefined && v !== false) return v;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages.map((m) => m.type))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  message(type: string): PhoneMessage | undefined {
    return this.messages.find((m) => m.type === type);
  }
}

/** Streams `frames` (one per `everyMs`) to the phone; resolves when all are sent or the socket closed. */
export async function streamFrames(phone: PhoneClient, frames: Uint8Array[], everyMs = 20): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < frames.length && phone.open; i++) {
    phone.sendAudio(frames[i]!);
    const due = start + (i + 1) * everyMs - performance.now();
    if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
  }
}
