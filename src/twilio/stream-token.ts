/**
 * Per-call stream tokens (defence in depth, docs/twilio-media-streams.md §4.2): the voice webhook
 * puts a token bound to the CallSid in a `<Parameter>`; the media stream must present it in
 * `start.customParameters` for that same CallSid before any audio is bridged.
 *
 * Token: `v1.<expiresAtMs base36>.<base64url HMAC-SHA256(secret, "v1.<callSid>.<expires>")>`.
 * The secret is random per instance (per process in practice) unless one is configured, which a
 * deployment with several instances behind one URL needs (webhook and stream may land on
 * different instances).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type TokenCheck =
  | { ok: true }
  | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'mismatch' };

export interface StreamTokenOptions {
  /** Shared secret (≥ 32 bytes of entropy recommended); random per instance when absent. */
  secret?: string | Uint8Array;
  /** How long a token stays valid after the webhook answered (default 5 min). */
  ttlMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

const VERSION = 'v1';
const MAC_CHARS = 43; // base64url of 32 bytes, unpadded

export class StreamTokens {
  readonly #secret: Buffer;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: StreamTokenOptions = {}) {
    const secret = options.secret;
    this.#secret = secret === undefined ? randomBytes(32) : Buffer.from(secret);
    if (this.#secret.length < 16) throw new RangeError('stream token secret must be at least 16 bytes');
    this.#ttlMs = options.ttlMs ?? 5 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** A token for `callSid`, valid for the configured TTL. */
  issue(callSid: string): string {
    const expires = (this.#now() + this.#ttlMs).toString(36);
    return `${VERSION}.${expires}.${this.#mac(callSid, expires)}`;
  }

  /** Checks `token` against `callSid` (constant-time on the MAC). */
  verify(token: string | undefined, callSid: string): TokenCheck {
    if (token === undefined || token === '') return { ok: false, reason: 'missing' };
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION) return { ok: false, reason: 'malformed' };
    const [, expires, mac] = parts as [string, string, string];
    if (!/^[0-9a-z]{1,12}$/.test(expires) || mac.length !== MAC_CHARS) return { ok: false, reason: 'malformed' };
    const expected = Buffer.from(this.#mac(callSid, expires), 'utf8');
    const given = Buffer.from(mac, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'mismatch' };
    if (parseInt(expires, 36) < this.#now()) return { ok: false, reason: 'expired' };
    return { ok: true };
  }

  #mac(callSid: string, expires: string): string {
    return createHmac('sha256', this.#secret).update(`${VERSION}.${callSid}.${expires}`).digest('base64url');
  }
}
