/**
 * Sids and URL mapping for the simulated Twilio.
 */
import { randomBytes } from 'node:crypto';

export function randomSid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

/** Maps a URL on the public base to the same path on the real server (ws/wss kept as such). */
export function rewriteToServer(url: string, publicBaseUrl: string, serverUrl: string): string {
  const u = new URL(url);
  const pub = new URL(publicBaseUrl);
  const srv = new URL(serverUrl);
  const pubPrefix = pub.pathname.replace(/\/+$/, '');
  if (u.hostname !== pub.hostname || effectivePort(u) !== effectivePort(pub) || !u.pathname.startsWith(pubPrefix)) return url;
  const websocket = u.protocol === 'ws:' || u.protocol === 'wss:';
  const scheme = websocket ? (srv.protocol === 'https:' ? 'wss:' : 'ws:') : srv.protocol;
  return `${scheme}//${srv.host}${srv.pathname.replace(/\/+$/, '')}${u.pathname.slice(pubPrefix.length)}${u.search}`;
}

function effectivePort(u: URL): string {
  if (u.port !== '') return u.port;
  return u.protocol === 'https:' || u.protocol === 'wss:' ? '443' : '80';
}
