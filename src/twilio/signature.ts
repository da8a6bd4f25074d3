/**
 * X-Twilio-Signature checks (docs/twilio-media-streams.md §4). URLs are always built from the
 * configured public base URL, never from request headers (Host, X-Forwarded-*), which proxies and
 * tunnels rewrite.
 *
 * - Webhooks (form POSTs): the signed URL is PUBLIC_BASE_URL + path + query exactly as requested,
 *   the params are the form fields.
 * - The media WebSocket upgrade: the signed URL is the wss:// URL exactly as written in the TwiML
 *   `<Stream url>`, with empty params (docs/twilio-media-streams.md §4.2).
 *
 * Both go through twilio.validateRequest (timing-safe; tries the URL with and without the
 * default port).
 */
import twilio from 'twilio';

export type FormParams = Readonly<Record<string, string | readonly string[]>>;

/**
 * Normalises a public base URL: an absolute http(s) URL without trailing slash, query or
 * fragment. It may carry a path prefix (e.g. https://host/bot when a proxy strips /bot).
 */
export function normalizePublicBaseUrl(publicBaseUrl: string): string {
  let url: URL;
  try {
    url = new URL(publicBaseUrl);
  } catch {
    throw new TypeError('publicBaseUrl must be an absolute http(s) URL such as https://bot.example.com');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('publicBaseUrl must be http(s)');
  if (url.search !== '' || url.hash !== '') throw new TypeError('publicBaseUrl must not have a query string or fragment');
  if (url.username !== '' || url.password !== '') throw new TypeError('publicBaseUrl must not contain credentials');
  return publicBaseUrl.replace(/\/+$/, '');
}

/** The public URL of a request to this server: base + the request target (path and query). */
export function publicRequestUrl(publicBaseUrl: string, requestTarget: string): string {
  return publicBaseUrl + (requestTarget.startsWith('/') ? requestTarget : `/${requestTarget}`);
}

/** The media WebSocket URL for the TwiML: wss:// for an https base, ws:// for http (local). */
export function mediaStreamUrl(publicBaseUrl: string, path: string): string {
  return publicBaseUrl.replace(/^http/, 'ws') + path;
}

/** Checks a form-encoded webhook. `url` is the full public URL Twilio requested. */
export function verifyWebhookSignature(
  authToken: string,
  signature: string | readonly string[] | undefined,
  url: string,
  params: FormParams,
): boolean {
  if (typeof signature !== 'string' || signature.length === 0) return false;
  // validateRequest's types want mutable records; it only reads them.
  return twilio.validateRequest(authToken, signature, url, params as Record<string, string>);
}

/**
 * Checks the media WebSocket upgrade: `wsUrl` is the stream URL exactly as in the TwiML.
 * A request target with a query string is refused outright (we never put one in the TwiML).
 */
export function verifyUpgradeSignature(
  authToken: string,
  signature: string | readonly string[] | undefined,
  wsUrl: string,
  requestTarget: string,
): boolean {
  if (requestTarget.includes('?')) return false;
  if (typeof signature !== 'string' || signature.length === 0) return false;
  return twilio.validateRequest(authToken, signature, wsUrl, {});
}
