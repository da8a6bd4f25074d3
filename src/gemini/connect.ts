/**
 * The connect handshake of one session, a small state machine of its own: open the socket (API key
 * in the x-goog-api-key header), send setup, and settle `ready` exactly once:
 * - resolved by complete() when setupComplete arrives;
 * - rejected with CB_GEMINI_HANDSHAKE_FAILED (HTTP status at the upgrade, network error) or
 *   CB_GEMINI_SETUP_TIMEOUT, after terminating the socket (`failed` is then true);
 * - rejected by closedEarly(err) when the server closes first — the official JS SDK hangs there.
 * Never leaves a timer behind.
 */
import { WebSocket, type ClientOptions } from 'ws';
import { LIVE_PATH, LIVE_URL } from './protocol.js';
import { CallbridgeError } from '../shared/errors.js';
import type { SessionLog } from './session-log.js';

export interface HandshakeOptions {
  url: URL;
  apiKey: string;
  setupJson: string;
  timeoutMs: number;
  maxPayloadBytes: number;
  createWebSocket: ((url: string, options: ClientOptions) => WebSocket) | undefined;
  log: SessionLog;
}

export class Handshake {
  readonly ws: WebSocket | undefined;
  readonly ready: Promise<void>;
  /** True when the handshake failed on our side and we ended the socket (its close is not the server's). */
  failed = false;
  #pending = true;
  #opened = false;
  #resolve!: () => void;
  #reject!: (err: CallbridgeError) => void;
  readonly #timer: NodeJS.Timeout;

  constructor(o: HandshakeOptions) {
    this.ready = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#timer = setTimeout(() => {
      const state = this.#opened ? 'open' : 'still connecting';
      this.#fail(new CallbridgeError('CB_GEMINI_SETUP_TIMEOUT', `no setupComplete within ${o.timeoutMs} ms (socket ${state})`), o.log);
    }, o.timeoutMs);
    const { url } = o;
    const handshakeFailed = (message: string, status: number | undefined, cause?: unknown): void => {
      this.#fail(new CallbridgeError('CB_GEMINI_HANDSHAKE_FAILED', message, { cause, detail: { host: url.host, path: url.pathname, status } }), o.log);
    };
    let ws: WebSocket;
    try {
      const create = o.createWebSocket ?? ((u, opts) => new WebSocket(u, opts));
      ws = this.ws = create(url.href, { headers: { 'x-goog-api-key': o.apiKey }, perMessageDeflate: false, maxPayload: o.maxPayloadBytes });
    } catch (err) {
      handshakeFailed(`cannot open ${url.host}${url.pathname}: ${(err as Error).message}`, undefined, err);
      return;
    }
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      handshakeFailed(`HTTP ${res.statusCode ?? '?'} ${res.statusMessage ?? ''}`.trim() + ' at the WebSocket upgrade', res.statusCode);
    });
    ws.on('error', (err) => {
      if (!this.#opened) handshakeFailed(`cannot connect to ${url.host}: ${err.message}`, undefined, err);
      else o.log.socketError(err);
    });
    ws.on('open', () => {
      this.#opened = true;
      ws.send(o.setupJson);
    });
  }

  get pending(): boolean {
    return this.#pending;
  }

  /** setupComplete arrived; returns false if the handshake had already settled. */
  complete(): boolean {
    if (!this.#settle()) return false;
    this.#resolve();
    return true;
  }

  /** The socket closed before setupComplete (the error is the classified close). */
  closedEarly(err: CallbridgeError): void {
    if (this.#settle()) this.#reject(err);
  }

  #fail(err: CallbridgeError, log: SessionLog): void {
    if (!this.#settle()) return;
    log.connectFailed(err);
    this.failed = true;
    this.ws?.terminate();
    this.#reject(err);
  }

  #settle(): boolean {
    if (!this.#pending) return false;
    this.#pending = false;
    clearTimeout(this.#timer);
    return true;
  }
}

/**
 * The Live URL to dial: override (GEMINI_LIVE_URL) or LIVE_URL; a bare origin gets LIVE_PATH. A
 * `key` query parameter is removed: the key travels only in the x-goog-api-key header.
 */
export function liveUrl(override: string | undefined): URL {
  let url: URL;
  try {
    url = new URL(override ?? LIVE_URL);
  } catch {
    throw new CallbridgeError('CB_GEMINI_HANDSHAKE_FAILED', 'the Gemini Live URL (GEMINI_LIVE_URL) is not a valid URL');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new CallbridgeError('CB_GEMINI_HANDSHAKE_FAILED', `the Gemini Live URL must be ws:// or wss://, not ${url.protocol}//`);
  }
  if (url.pathname === '/' || url.pathname === '') url.pathname = LIVE_PATH;
  url.searchParams.delete('key');
  return url;
}
