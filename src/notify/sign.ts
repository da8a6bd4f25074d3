/**
 * Standard Webhooks signing (docs/after-call.md, "Notifications"): every notification carries
 *
 *   webhook-id:        msg_<random>, the event's id, the same on every retry (receivers dedupe on it)
 *   webhook-timestamp: unix seconds of THIS attempt
 *   webhook-signature: v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
 *
 * where the key is the base64-decoded part of NOTIFY_SECRET (`whsec_<base64>`). Receivers verify
 * with any Standard Webhooks library (e.g. the `standardwebhooks` npm package), which the tests
 * use to check these signatures.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
/** Key sizes the Standard Webhooks libraries accept (bytes, after base64 decoding). */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Why `value` is not a usable NOTIFY_SECRET, or undefined when it is. */
export function notifySecretProblem(value: string): string | undefined {
  const hint = 'write whsec_ followed by the base64 of 24 to 64 random bytes, e.g. whsec_$(openssl rand -base64 32)';
  if (!value.startsWith(SECRET_PREFIX)) return `must start with ${SECRET_PREFIX}: ${hint}`;
  const b64 = value.slice(SECRET_PREFIX.length);
  if (!BASE64_RE.test(b64) || b64.length === 0) return `the part after ${SECRET_PREFIX} is not base64: ${hint}`;
  const bytes = Buffer.from(b64, 'base64').length;
  if (bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES) return `decodes to ${bytes} bytes; ${hint}`;
  return undefined;
}

/** The HMAC key of a `whsec_<base64>` secret; throws on a malformed one (env.ts validates it at boot). */
export function signingKey(secret: string): Buffer {
  const problem = notifySecretProblem(secret);
  if (problem) throw new Error(`NOTIFY_SECRET ${problem}`);
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

/** A new event id: `msg_` + 24 random bytes in base64url (kept for every retry of the event). */
export function newWebhookId(): string {
  return `msg_${randomBytes(24).toString('base64url')}`;
}

/** `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` over the raw body bytes. */
export function signatureOf(key: Buffer, webhookId: string, timestampS: number, body: string | Buffer): string {
  const mac = createHmac('sha256', key).update(`${webhookId}.${timestampS}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers of one attempt. */
export function webhookHeaders(key: Buffer, webhookId: string, nowMs: number, body: string | Buffer): Record<string, string> {
  const timestampS = Math.floor(nowMs / 1000);
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestampS),
    'webhook-signature': signatureOf(key, webhookId, timestampS, body),
  };
}
