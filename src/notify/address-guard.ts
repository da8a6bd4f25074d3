/**
 * Where a notification may go (docs/after-call.md, "Notifications"). Businesses type webhook URLs
 * into flow files, so before every attempt the host is resolved and each address it resolves to
 * is checked: loopback, private (RFC 1918, unique-local), link-local (cloud metadata services
 * live at 169.254.169.254), carrier-grade NAT, multicast, documentation and other reserved ranges
 * are refused unless allowed (development, or NOTIFY_ALLOW_PRIVATE=true). The connection is then
 * made to the address that was checked (`pinnedLookup`), so DNS cannot answer differently between
 * the check and the connect.
 */
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';

const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) BLOCKED.addSubnet(net, prefix, 'ipv6');

/** The IPv4 address an IPv6 one carries (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16), if any. */
function embeddedIpv4(address: string): string | undefined {
  const a = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4})(?::|$)/.exec(a);
  const m = hex ?? sixToFour;
  if (!m) return undefined;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

/** Whether `address` (an IP literal) is loopback, private, link-local or otherwise not a public unicast address. */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family !== 6) return true;
  const v4 = embeddedIpv4(address);
  if (v4 !== undefined) return BLOCKED.check(v4, 'ipv4');
  return BLOCKED.check(address, 'ipv6');
}

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export type HostVerdict = { ok: true; address: string; family: 4 | 6 } | { ok: false; reason: string; refused: boolean };

/**
 * Resolves `hostname` (as in a URL: IPv6 literals in brackets) and checks every address. Refused
 * (`refused: true`) when any is blocked and private addresses are not allowed; `refused: false`
 * when the name does not resolve (worth retrying).
 */
export async function vetHost(hostname: string, allowPrivate: boolean, resolve: Resolver = systemResolver): Promise<HostVerdict> {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  let addresses: LookupAddress[];
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await resolve(host);
    } catch (err) {
      return { ok: false, refused: false, reason: `cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
  }
  const first = addresses[0];
  if (!first) return { ok: false, refused: false, reason: `cannot resolve ${host}: no addresses` };
  const blocked = addresses.find((a) => isBlockedAddress(a.address));
  if (blocked && !allowPrivate) {
    return { ok: false, refused: true, reason: `${host} resolves to ${blocked.address}, a loopback, private, link-local or reserved address (set NOTIFY_ALLOW_PRIVATE=true to allow)` };
  }
  return { ok: true, address: first.address, family: first.family === 6 ? 6 : 4 };
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http.request that answers with the address already checked (both callback shapes Node uses). */
export function pinnedLookup(address: string, family: 4 | 6) {
  return (_hostname: string, options: { all?: boolean } | number | undefined, callback: LookupCallback): void => {
    if (typeof options === 'object' && options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}
