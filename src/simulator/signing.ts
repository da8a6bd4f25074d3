/**
 * Twilio's request signature, computed the documented way (docs/twilio-media-streams.md §4.1),
 * independently of twilio-node so a bug in the edge's verification cannot cancel itself out:
 * HMAC-SHA1(authToken, url + for each param name in sorted order: name + value), base64. Repeated
 * names: values de-duplicated, sorted, each appended with the name.
 */
import { createHmac } from 'node:crypto';

export function twilioSignature(authToken: string, url: string, params: Readonly<Record<string, string | readonly string[]>>): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name]!;
    if (typeof value === 'string') data += name + value;
    else for (const v of [...new Set(value)].sort()) data += name + v;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}
