/**
 * What the simulated Twilio accepts from the server on a bidirectional stream
 * (docs/twilio-media-streams.md §3), checked the way Twilio does: text frames only (binary: warning
 * 31950), JSON, one of media / mark / clear, the stream's own streamSid, no missing or extra fields
 * (warning 31951). The simulator's own reader: it does not use the edge's parser.
 */
import type { OutboundClearMessage, OutboundMarkMessage, OutboundMediaMessage } from '../twilio/protocol.js';

export type ServerMessage =
  | { kind: 'media'; bytes: Buffer }
  | { kind: 'mark'; name: string }
  | { kind: 'clear' }
  | { kind: 'invalid'; reason: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The keys each message must have, exactly (Twilio rejects extra fields too). */
const SHAPES: Record<string, readonly string[]> = {
  media: ['event', 'streamSid', 'media'] satisfies (keyof OutboundMediaMessage)[],
  mark: ['event', 'streamSid', 'mark'] satisfies (keyof OutboundMarkMessage)[],
  clear: ['event', 'streamSid'] satisfies (keyof OutboundClearMessage)[],
};

function exactKeys(o: Record<string, unknown>, keys: readonly string[]): boolean {
  const own = Object.keys(o);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(o, k));
}

export function readServerMessage(data: Buffer, isBinary: boolean, streamSid: string): ServerMessage {
  if (isBinary) return { kind: 'invalid', reason: 'binary frame (Twilio 31950: send JSON text frames)' };
  let msg: unknown;
  try {
    msg = JSON.parse(data.toString('utf8'));
  } catch {
    return { kind: 'invalid', reason: 'frame is not JSON (Twilio 31951)' };
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return { kind: 'invalid', reason: 'frame is not a JSON object (31951)' };
  const m = msg as Record<string, unknown>;
  const event = m['event'];
  const shape = typeof event === 'string' && Object.hasOwn(SHAPES, event) ? SHAPES[event] : undefined;
  if (!shape) return { kind: 'invalid', reason: `unsupported event ${JSON.stringify(event)} (31951: only media, mark, clear)` };
  if (m['streamSid'] !== streamSid) return { kind: 'invalid', reason: `${String(event)}: wrong or missing streamSid (31951)` };
  if (!exactKeys(m, shape)) return { kind: 'invalid', reason: `${String(event)}: missing or extra fields (31951)` };
  if (event === 'media') {
    const media = m['media'];
    if (typeof media !== 'object' || media === null || !exactKeys(media as Record<string, unknown>, ['payload'])) {
      return { kind: 'invalid', reason: 'media: media must be exactly {payload} (31951)' };
    }
    const payload = (media as Record<string, unknown>)['payload'];
    if (typeof payload !== 'string' || payload.length % 4 !== 0 || !BASE64.test(payload)) {
      return { kind: 'invalid', reason: 'media: payload is not base64 (31951)' };
    }
    return { kind: 'media', bytes: Buffer.from(payload, 'base64') };
  }
  if (event === 'mark') {
    const mark = m['mark'];
    const name = typeof mark === 'object' && mark !== null ? (mark as Record<string, unknown>)['name'] : undefined;
    if (typeof name !== 'string' || !exactKeys(mark as Record<string, unknown>, ['name'])) {
      return { kind: 'invalid', reason: 'mark: mark must be exactly {name} (31951)' };
    }
    return { kind: 'mark', name };
  }
  return { kind: 'clear' };
}
