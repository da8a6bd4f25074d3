/**
 * Loopback addresses: what may reach an unprotected server (no ADMIN_TOKEN: listen address; no
 * TWILIO_AUTH_TOKEN: who may send unsigned webhooks and media streams). 127.0.0.0/8, ::1, and
 * their IPv4-mapped IPv6 form; `localhost` as a listen host.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || a === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}
