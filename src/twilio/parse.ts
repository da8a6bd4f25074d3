/**
 * Media Streams frame → tagged result. Never throws: the receive loop logs a malformed frame once
 * and carries on (docs/CONVENTIONS.md). Validates the field types Twilio documents
 * (docs/twilio-media-streams.md §2): sequenceNumber / media.chunk / media.timestamp are decimal
 * strings, payload is base64, dtmf.digit is one key (0-9 * # A-D); a binary frame is malformed
 * (Twilio sends text frames only). Extra fields are tolerated: Twilio adds fields without notice.
 */
import type {
  ConnectedMessage,
  DtmfMessage,
  MarkMessage,
  MediaMessage,
  StartMessage,
  StopMessage,
  TwilioInboundMessage,
} from './protocol.js';

export type ParseResult =
  | { kind: 'message'; message: TwilioInboundMessage }
  /** Valid JSON object whose `event` callbridge does not know. */
  | { kind: 'unknown'; event: string }
  | { kind: 'malformed'; reason: string };

type Obj = Record<string, unknown>;

const DECIMAL = /^\d{1,15}$/;
/** One key of a phone keypad (A-D are the rare fourth column). */
const DTMF_DIGIT = /^[0-9*#A-D]$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True for standard, padded base64 (the alphabet Twilio uses). */
export function isBase64(s: string): boolean {
  return s.length % 4 === 0 && BASE64.test(s);
}

class Malformed {
  constructor(readonly reason: string) {}
}

function str(o: Obj, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Malformed(`${where}${key} is ${v === undefined ? 'missing' : `a ${typeof v}, not a string`}`);
  return v;
}

function decimal(o: Obj, key: string, where: string): string {
  const v = str(o, key, where);
  if (!DECIMAL.test(v)) throw new Malformed(`${where}${key} is not a decimal string`);
  return v;
}

function obj(o: Obj, key: string, where: string): Obj {
  const v = o[key];
  if (!isObject(v)) throw new Malformed(`${where}${key} is ${v === undefined ? 'missing' : 'not an object'}`);
  return v;
}

function num(o: Obj, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Malformed(`${where}${key} is not a number`);
  return v;
}

function parseStart(m: Obj): StartMessage {
  const sequenceNumber = decimal(m, 'sequenceNumber', '');
  const streamSid = str(m, 'streamSid', '');
  const s = obj(m, 'start', '');
  const innerSid = str(s, 'streamSid', 'start.');
  if (innerSid !== streamSid) throw new Malformed('start.streamSid differs from streamSid');
  const tracksRaw = s['tracks'];
  if (tracksRaw !== undefined && !(Array.isArray(tracksRaw) && tracksRaw.every((t) => typeof t === 'string'))) {
    throw new Malformed('start.tracks is not an array of strings');
  }
  const paramsRaw = s['customParameters'];
  const customParameters: Record<string, string> = {};
  if (paramsRaw !== undefined) {
    if (!isObject(paramsRaw)) throw new Malformed('start.customParameters is not an object');
    for (const [k, v] of Object.entries(paramsRaw)) {
      if (typeof v !== 'string') throw new Malformed(`start.customParameters.${k} is not a string`);
      customParameters[k] = v;
    }
  }
  const f = obj(s, 'mediaFormat', 'start.');
  return {
    event: 'start',
    sequenceNumber,
    streamSid,
    start: {
      accountSid: str(s, 'accountSid', 'start.'),
      streamSid,
      callSid: str(s, 'callSid', 'start.'),
      tracks: (tracksRaw as string[] | undefined) ?? ['inbound'],
      customParameters,
      mediaFormat: {
        encoding: str(f, 'encoding', 'start.mediaFormat.'),
        sampleRate: num(f, 'sampleRate', 'start.mediaFormat.'),
        channels: num(f, 'channels', 'start.mediaFormat.'),
      },
    },
  };
}

function parseMedia(m: Obj): MediaMessage {
  const sequenceNumber = decimal(m, 'sequenceNumber', '');
  const streamSid = str(m, 'streamSid', '');
  const media = obj(m, 'media', '');
  const payload = str(media, 'payload', 'media.');
  if (!isBase64(payload)) throw new Malformed('media.payload is not base64');
  const track = media['track'];
  if (track !== undefined && typeof track !== 'string') throw new Malformed('media.track is not a string');
  return {
    event: 'media',
    sequenceNumber,
    streamSid,
    media: {
      track: (track as string | undefined) ?? 'inbound',
      chunk: decimal(media, 'chunk', 'media.'),
      timestamp: decimal(media, 'timestamp', 'media.'),
      payload,
    },
  };
}

function parseDtmf(m: Obj): DtmfMessage {
  const d = obj(m, 'dtmf', '');
  const digit = str(d, 'digit', 'dtmf.');
  // One key per message. Anything else is not a key press, and must not reach the flows as one
  // (a "digit" such as "constructor" would look like a mapped key to a plain-object lookup).
  if (!DTMF_DIGIT.test(digit)) throw new Malformed(digit.length === 0 ? 'dtmf.digit is empty' : 'dtmf.digit is not a phone key');
  const track = d['track'];
  if (track !== undefined && typeof track !== 'string') throw new Malformed('dtmf.track is not a string');
  return {
    event: 'dtmf',
    sequenceNumber: decimal(m, 'sequenceNumber', ''),
    streamSid: str(m, 'streamSid', ''),
    dtmf: { track: (track as string | undefined) ?? 'inbound_track', digit },
  };
}

function parseMark(m: Obj): MarkMessage {
  return {
    event: 'mark',
    sequenceNumber: decimal(m, 'sequenceNumber', ''),
    streamSid: str(m, 'streamSid', ''),
    mark: { name: str(obj(m, 'mark', ''), 'name', 'mark.') },
  };
}

function parseStop(m: Obj): StopMessage {
  const s = obj(m, 'stop', '');
  return {
    event: 'stop',
    sequenceNumber: decimal(m, 'sequenceNumber', ''),
    streamSid: str(m, 'streamSid', ''),
    stop: { accountSid: str(s, 'accountSid', 'stop.'), callSid: str(s, 'callSid', 'stop.') },
  };
}

function parseConnected(m: Obj): ConnectedMessage {
  return { event: 'connected', protocol: str(m, 'protocol', ''), version: str(m, 'version', '') };
}

/** Parses the text of one frame. */
export function parseTwilioText(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'malformed', reason: 'not JSON' };
  }
  if (!isObject(value)) return { kind: 'malformed', reason: 'not a JSON object' };
  const event = value['event'];
  if (typeof event !== 'string') return { kind: 'malformed', reason: 'event is missing or not a string' };
  try {
    switch (event) {
      case 'media':
        return { kind: 'message', message: parseMedia(value) };
      case 'mark':
        return { kind: 'message', message: parseMark(value) };
      case 'dtmf':
        return { kind: 'message', message: parseDtmf(value) };
      case 'start':
        return { kind: 'message', message: parseStart(value) };
      case 'stop':
        return { kind: 'message', message: parseStop(value) };
      case 'connected':
        return { kind: 'message', message: parseConnected(value) };
      default:
        return { kind: 'unknown', event: event.slice(0, 40) };
    }
  } catch (err) {
    if (err instanceof Malformed) return { kind: 'malformed', reason: `${event}: ${err.reason}` };
    return { kind: 'malformed', reason: `${event}: ${String(err)}` };
  }
}

/**
 * Parses one WebSocket frame as `ws` delivers it (`data`, `isBinary`). Binary frames are
 * malformed: Twilio sends JSON in text frames only.
 */
export function parseTwilioFrame(data: string | Buffer | ArrayBuffer | Buffer[], isBinary: boolean): ParseResult {
  if (isBinary) return { kind: 'malformed', reason: 'binary frame' };
  let text: string;
  if (typeof data === 'string') text = data;
  else if (Buffer.isBuffer(data)) text = data.toString('utf8');
  else if (Array.isArray(data)) text = Buffer.concat(data).toString('utf8');
  else text = Buffer.from(data).toString('utf8');
  return parseTwilioText(text);
}
