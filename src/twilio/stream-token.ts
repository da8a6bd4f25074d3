/**
 * Per-call stream tokens (defence in depth, docs/twilio-media-streams.md §4.2): the voice webhook
 * puts a token bound to the CallSid and to every other stream parameter (the flow it chose) in a
 * `<Parameter>`; the media stream must present it in `start.customParameters`, with the same
 * CallSid and the same parameters, before any audio is bridged. A token is good for one `start`
 * only (`redeem`): a replayed `start` is refused with reason 'replayed'.
 *
 * Token: `v1.<expiresAtMs base36>.<base64url HMAC-SHA256(secret, "v1.<callSid>.<expires>.<params>")>`
 * where `<params>` is the JSON of the stream parameters as [name, value] pairs sorted by name.
 * The secret is random per instance (per process in practice) unless one is configured, which a
 * deployment with several instances behind one URL needs (webhook and stream may land on
 * different instances). Used tokens are remembered per instance until they expire; with a shared
 * secret, `redeemShared` also records them in a ledger every instance shares (the database,
 * docs/scale-out.md), so a token is good for one `start` across all of them.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type TokenCheck =
  | { ok: true }
  | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'mismatch' | 'replayed' };

export interface StreamTokenOptions {
  /** Shared secret (≥ 32 bytes of entropy recommended); random per instance when absent. */
  secret?: string | Uint8Array;
  /** How long a token stays valid after the webhook answered (default 5 min). */
  ttlMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/** Redeemed tokens shared by every instance (by MAC); false: redeemed already, somewhere. */
export interface UsedTokenLedger {
  redeem(mac: string, expiresAtMs: number): Promise<boolean>;
}

/** The stream parameters a token covers (the token's own parameter excluded). */
export type StreamParameters = Readonly<Record<string, string>>;

const VERSION = 'v1';
const MAC_CHARS = 43; // base64url of 32 bytes, unpadded
const NO_PARAMETERS: StreamParameters = Object.freeze({});

export class StreamTokens {
  readonly #secret: Buffer;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** MACs of redeemed tokens → their expiry (pruned once expired; bounded by webhooks × TTL). */
  readonly #used = new Map<string, number>();

  constructor(options: StreamTokenOptions = {}) {
    const secret = options.secret;
    this.#secret = secret === undefined ? randomBytes(32) : Buffer.from(secret);
    if (this.#secret.length < 16) throw new RangeError('stream token secret must be at least 16 bytes');
    this.#ttlMs = options.ttlMs ?? 5 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** A token for `callSid` and `parameters`, valid for the configured TTL. */
  issue(callSid: string, parameters: StreamParameters = NO_PARAMETERS): string {
    const expires = (this.#now() + this.#ttlMs).toString(36);
    return `${VERSION}.${expires}.${this.#mac(callSid, expires, parameters)}`;
  }

  /** Checks `token` against `callSid` and `parameters` (constant-time on the MAC); does not use it up. */
  verify(token: string | undefined, callSid: string, parameters: StreamParameters = NO_PARAMETERS): TokenCheck {
    if (token === undefined || token === '') return { ok: false, reason: 'missing' };
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION) return { ok: false, reason: 'malformed' };
    const [, expires, mac] = parts as [string, string, string];
    if (!/^[0-9a-z]{1,12}$/.test(expires) || mac.length !== MAC_CHARS) return { ok: false, reason: 'malformed' };
    const expected = Buffer.from(this.#mac(callSid, expires, parameters), 'utf8');
    const given = Buffer.from(mac, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'mismatch' };
    if (parseInt(expires, 36) < this.#now()) return { ok: false, reason: 'expired' };
    return { ok: true };
  }

  /** `verify`, then uses the token up: a second redeem of the same token answers 'replayed'. */
  redeem(token: string | undefined, callSid: string, parameters: StreamParameters = NO_PARAMETERS): TokenCheck {
    const check = this.verify(token, callSid, parameters);
    if (!check.ok || token === undefined) return check;
    this.#prune();
    const [, expires, mac] = token.split('.') as [string, string, string];
    if (this.#used.has(mac)) return { ok: false, reason: 'replayed' };
    this.#used.set(mac, parseInt(expires, 36));
    return check;
  }

  /**
   * `redeem` here, then in the shared `ledger`: 'replayed' when any instance took the token
   * already. A ledger that fails (database down) is reported through `onLedgerError` and the
   * token counts as unused there: the call goes on (the upgrade itself is signature-checked).
   */
  async redeemShared(
    token: string | undefined,
    callSid: string,
    parameters: StreamParameters,
    ledger: UsedTokenLedger,
    onLedgerError: (err: unknown) => void,
  ): Promise<TokenCheck> {
    const check = this.redeem(token, callSid, parameters);
    if (!check.ok || token === undefined) return check;
    const [, expires, mac] = token.split('.') as [string, string, string];
    try {
      if (!(await ledger.redeem(mac, parseInt(expires, 36)))) return { ok: false, reason: 'replayed' };
    } catch (err) {
      onLedgerError(err);
    }
    return check;
  }

  /** Tokens remembered as used (tests). */
  get usedCount(): number {
    return this.#used.size;
  }

  #prune(): void {
    const now = this.#now();
    for (const [mac, expiresAt] of this.#used) if (expiresAt < now) this.#used.delete(mac);
  }

  #mac(callSid: string, expires: string, parameters: StreamParameters): string {
    const params = JSON.stringify(Object.entries(parameters).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return createHmac('sha256', this.#secret).update(`${VERSION}.${callSid}.${expires}.${params}`).digest('base64url');
  }
}
