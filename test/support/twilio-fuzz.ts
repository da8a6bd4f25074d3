/**
 * Mutated Twilio Media Streams input for fuzz tests of the edge (test/integration/bridge-fuzz-*): a
 * seeded PRNG, the valid messages of docs/twilio-media-streams.md §2, and mutators that break them
 * in every way a confused or hostile peer could — wrong types, missing and extra fields, bad base64
 * and odd payload lengths, non-JSON, deep nesting, unicode garbage, events out of order, and frames
 * the WebSocket layer itself must refuse (invalid UTF-8, over the size cap, protocol violations).
 *
 * Every generated frame carries a `kind` so a run can report what it sent, and the whole sequence
 * of one connection is a function of (seed, connection number), so a failure reproduces.
 */
import { SeededRng } from '../../src/emulator/faults.js';

/** The emulator's seeded generator (mulberry32), plus what fuzzing needs besides. */
export class Prng extends SeededRng {
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }
  /** A derived generator (its own stream of numbers). */
  fork(salt: number): Prng {
    return new Prng(Math.imul(this.int(0, 0x7fffffff) ^ salt, 0x9e3779b1));
  }
}

export interface StreamIds {
  accountSid: string;
  callSid: string;
  streamSid: string;
  /** The per-call token from the webhook's TwiML (absent: the stream will be refused at `start`). */
  token?: string;
  /** The TwiML's other `<Parameter>`s (the flow): Twilio echoes them all, and the token covers them. */
  parameters?: Record<string, string>;
}

/** Every `<Parameter name value>` of a TwiML answer except the token, as Twilio puts them in `start.customParameters`. */
export function twimlParameters(twiml: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of twiml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"/g)) if (m[1] !== 'callbridgeToken') out[m[1]!] = m[2]!;
  return out;
}

export interface FuzzFrame {
  data: string | Buffer;
  /** Send as a binary frame. */
  binary?: boolean;
  /** What this frame is, for the run's tally. */
  kind: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Largest frame the edge accepts by default (maxFrameBytes). */
export const FRAME_CAP_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Valid messages (docs/twilio-media-streams.md §2)

export class ValidMessages {
  #seq = 0;
  #chunk = 0;
  #timestampMs = 0;
  readonly #tone: { hz: number; phase: number; amplitude: number };
  constructor(
    readonly ids: StreamIds,
    toneHz = 1250,
  ) {
    this.#tone = { hz: toneHz, phase: 0, amplitude: 6000 };
  }
  /** A valid message of `event`. */
  of(event: BaseEvent): JsonObject {
    switch (event) {
      case 'media': return this.media();
      case 'start': return this.start();
      case 'dtmf': return this.dtmf();
      case 'mark': return this.mark();
      case 'stop': return this.stop();
      case 'connected': return this.connected();
    }
  }
  connected(): JsonObject {
    return { event: 'connected', protocol: 'Call', version: '1.0.0' };
  }
  start(customParameters: JsonObject = this.ids.token ? { ...this.ids.parameters, callbridgeToken: this.ids.token } : {}): JsonObject {
    const { accountSid, callSid, streamSid } = this.ids;
    return {
      event: 'start',
      sequenceNumber: String(++this.#seq),
      start: { accountSid, streamSid, callSid, tracks: ['inbound'], customParameters, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
      streamSid,
    };
  }
  /** A media message carrying `bytes` μ-law bytes of a tone (default: one 20 ms frame). */
  media(bytes = 160): JsonObject {
    const msg: JsonObject = {
      event: 'media',
      sequenceNumber: String(++this.#seq),
      media: { track: 'inbound', chunk: String(++this.#chunk), timestamp: String(this.#timestampMs), payload: this.#payload(bytes) },
      streamSid: this.ids.streamSid,
    };
    this.#timestampMs += bytes / 8;
    return msg;
  }
  /** Base64 of the next `bytes` bytes of the tone (the common 20 ms frame is cached per phase). */
  #payload(bytes: number): string {
    const t = this.#tone;
    const step = (2 * Math.PI * t.hz) / 8000;
    const key = Math.round(t.phase * 1000);
    if (bytes === 160) {
      const cached = this.#frames.get(key);
      if (cached) {
        t.phase = (t.phase + 160 * step) % (2 * Math.PI);
        return cached;
      }
    }
    const payload = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) {
      payload[i] = linearToMulaw(Math.round(t.amplitude * Math.sin(t.phase)));
      t.phase += step;
    }
    t.phase %= 2 * Math.PI;
    const b64 = payload.toString('base64');
    if (bytes === 160 && this.#frames.size < 64) this.#frames.set(key, b64);
    return b64;
  }
  readonly #frames = new Map<number, string>();
  dtmf(digit = '1'): JsonObject {
    return { event: 'dtmf', streamSid: this.ids.streamSid, sequenceNumber: String(++this.#seq), dtmf: { track: 'inbound_track', digit } };
  }
  mark(name = 'fuzz'): JsonObject {
    return { event: 'mark', sequenceNumber: String(++this.#seq), streamSid: this.ids.streamSid, mark: { name } };
  }
  stop(): JsonObject {
    const { accountSid, callSid, streamSid } = this.ids;
    return { event: 'stop', sequenceNumber: String(++this.#seq), stop: { accountSid, callSid }, streamSid };
  }
}

/** G.711 μ-law encoder (written out here: the fuzzer does not share the server's codec). */
function linearToMulaw(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, sample));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

// ---------------------------------------------------------------------------------------------
// Value pools

const UNICODE_GARBAGE = [
  '\u0000', '\u0000\u0001\u0002\u001f', '\ud800', '\udfff\ud800', '\ufeff', '\u202e\u202d', '\u200b\u200c\u200d', '💥🔥📞',
  'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇', '\u0085\u2028\u2029', '\\"}]}', '</Stream><Hangup/>', '${process.exit(1)}', '%s%n%x', 'é'.repeat(300),
];

const WRONG_VALUES: readonly Json[] = [
  0, 1, -1, 1.5, -0, 1e308, 9007199254740993, true, false, null, [], {}, [1, 'a', null], { a: 1 }, { event: 'stop' },
  '', ' ', 'x'.repeat(2000), 'null', '1e3', '-1', '0x10', ...UNICODE_GARBAGE,
];

const BAD_DECIMALS = ['', '-1', '1.5', '1e3', '0x10', ' 1', '1 ', '+1', 'NaN', 'Infinity', '١٢٣', '9'.repeat(16), '9'.repeat(400), '0'.repeat(15)];

const BAD_BASE64 = [
  '!!!!', 'AAA', 'A', '====', 'AA=A', 'AAAA====', 'AA AA', 'AA\nAA', '-_-_', 'AAAA\u0000', '😀😀😀😀', '%41%41', 'AAAA'.repeat(40) + '*',
];

// ---------------------------------------------------------------------------------------------
// Mutators

function clone(v: JsonObject): JsonObject {
  return JSON.parse(JSON.stringify(v)) as JsonObject;
}

/** Every path into an object (["media","payload"], ["start"], …). */
function paths(v: Json, prefix: string[] = []): string[][] {
  if (v === null || typeof v !== 'object') return [];
  const out: string[][] = [];
  for (const key of Object.keys(v)) {
    const p = [...prefix, key];
    out.push(p);
    out.push(...paths((v as Record<string, Json>)[key]!, p));
  }
  return out;
}

function parentOf(root: JsonObject, path: string[]): Record<string, Json> | Json[] {
  let node: Json = root;
  for (const key of path.slice(0, -1)) node = (node as Record<string, Json>)[key]!;
  return node as Record<string, Json>;
}

function setAt(root: JsonObject, path: string[], value: Json): void {
  (parentOf(root, path) as Record<string, Json>)[path.at(-1)!] = value;
}

function deleteAt(root: JsonObject, path: string[]): void {
  const parent = parentOf(root, path);
  if (Array.isArray(parent)) parent.splice(Number(path.at(-1)), 1);
  else delete parent[path.at(-1)!];
}

function deepArray(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

function deepObject(depth: number, inner = '1'): string {
  return '{"a":'.repeat(depth) + inner + '}'.repeat(depth);
}

/** Replaces the first `"payload":"…"` with `payload` (for sizes JSON.stringify would make slow to build). */
function withPayload(msg: JsonObject, payload: string): string {
  const text = JSON.stringify(msg);
  return text.replace(/"payload":"[^"]*"/, `"payload":"${payload}"`);
}

export type MutationKind =
  | 'wrong-type' | 'missing-field' | 'extra-field' | 'bad-decimal' | 'bad-base64' | 'odd-payload' | 'near-cap-payload'
  | 'wrong-stream-sid' | 'unknown-event' | 'event-wrong-type' | 'event-swapped' | 'unicode-garbage' | 'non-json'
  | 'deep-nesting' | 'binary-frame' | 'duplicate-keys' | 'proto-keys' | 'huge-numbers' | 'big-timestamp' | 'bad-media-format'
  | 'bad-custom-parameters' | 'odd-dtmf' | 'odd-mark';

export const MUTATION_KINDS: readonly MutationKind[] = [
  'wrong-type', 'missing-field', 'extra-field', 'bad-decimal', 'bad-base64', 'odd-payload', 'near-cap-payload',
  'wrong-stream-sid', 'unknown-event', 'event-wrong-type', 'event-swapped', 'unicode-garbage', 'non-json',
  'deep-nesting', 'binary-frame', 'duplicate-keys', 'proto-keys', 'huge-numbers', 'big-timestamp', 'bad-media-format',
  'bad-custom-parameters', 'odd-dtmf', 'odd-mark',
];

/**
 * How often each kind is picked, relative to 1. Frames near the cap carry 6 s of audio each: a
 * few of them test the edge, a flood of them would only be a load test.
 */
const KIND_WEIGHTS: Partial<Record<MutationKind, number>> = { 'near-cap-payload': 0.05, 'deep-nesting': 0.5 };

/** A mutation kind, by KIND_WEIGHTS. */
export function pickKind(rng: Prng, from: readonly MutationKind[] = MUTATION_KINDS): MutationKind {
  const total = from.reduce((sum, k) => sum + (KIND_WEIGHTS[k] ?? 1), 0);
  let x = rng.next() * total;
  for (const k of from) {
    x -= KIND_WEIGHTS[k] ?? 1;
    if (x < 0) return k;
  }
  return from.at(-1)!;
}

/** Payload sizes around the usual 160-byte frame, and far from it. */
const ODD_PAYLOAD_BYTES = [0, 1, 2, 3, 4, 7, 80, 159, 161, 319, 321, 1000, 4000, 8001];

/** Which valid messages mutations start from (media most often). */
export type BaseEvent = 'media' | 'start' | 'dtmf' | 'mark' | 'stop' | 'connected';
export const ALL_BASES: readonly BaseEvent[] = ['media', 'media', 'media', 'start', 'dtmf', 'mark', 'stop', 'connected'];

/**
 * One mutated frame built from one of `m`'s valid messages (of the `bases` events). Never a frame
 * that must close the socket; but a mutation may leave a message valid (an extra field on a `stop`
 * still stops the stream), so leave `stop` out of `bases` while a stream must keep running.
 */
export function mutate(rng: Prng, m: ValidMessages, kind: MutationKind = pickKind(rng), bases: readonly BaseEvent[] = ALL_BASES): FuzzFrame {
  const base = (): JsonObject => m.of(rng.pick(bases));
  switch (kind) {
    case 'wrong-type': {
      const msg = base();
      const all = paths(msg);
      setAt(msg, rng.pick(all), rng.pick(WRONG_VALUES));
      return { kind, data: JSON.stringify(msg) };
    }
    case 'missing-field': {
      const msg = base();
      const all = paths(msg);
      for (let n = rng.int(1, 2); n > 0 && all.length > 0; n--) {
        const p = all.splice(rng.int(0, all.length - 1), 1)[0]!;
        try {
          deleteAt(msg, p);
        } catch {
          // an ancestor went already
        }
      }
      return { kind, data: JSON.stringify(msg) };
    }
    case 'extra-field': {
      const msg = base();
      const targets = [[] as string[], ...paths(msg).filter((p) => {
        let node: Json = msg;
        for (const k of p) node = (node as Record<string, Json>)[k]!;
        return node !== null && typeof node === 'object' && !Array.isArray(node);
      })];
      const target = rng.pick(targets);
      let node: Json = msg;
      for (const k of target) node = (node as Record<string, Json>)[k]!;
      const key = rng.pick(['extra', 'x'.repeat(500), 'sequenceNumber2', 'event', '', '💥', 'timestamp', 'media', 'payload', 'track']);
      (node as Record<string, Json>)[key] = rng.pick(WRONG_VALUES);
      return { kind, data: JSON.stringify(msg) };
    }
    case 'bad-decimal': {
      let msg = base();
      if (msg['event'] === 'connected') msg = m.media();
      const options = paths(msg).filter((p) => ['sequenceNumber', 'chunk', 'timestamp'].includes(p.at(-1)!));
      setAt(msg, rng.pick(options), rng.pick(BAD_DECIMALS));
      return { kind, data: JSON.stringify(msg) };
    }
    case 'bad-base64':
      return { kind, data: withPayload(m.media(), rng.pick(BAD_BASE64)) };
    case 'odd-payload':
      return { kind, data: JSON.stringify(m.media(rng.pick(ODD_PAYLOAD_BYTES))) };
    case 'near-cap-payload': {
      // Valid base64 filling the frame to just under the cap (the frame must be accepted).
      const msg = m.media(160);
      const room = FRAME_CAP_BYTES - Buffer.byteLength(JSON.stringify(msg)) + 216 - rng.int(0, 64);
      const b64 = Buffer.alloc(Math.floor(room / 4) * 3, 0x7f).toString('base64');
      return { kind, data: withPayload(msg, b64) };
    }
    case 'wrong-stream-sid': {
      const msg = base();
      msg['streamSid'] = rng.pick<Json>(['MZ' + 'f'.repeat(32), '', 'mz' + m.ids.streamSid.slice(2), m.ids.streamSid + ' ', 42, null, { sid: m.ids.streamSid }]);
      return { kind, data: JSON.stringify(msg) };
    }
    case 'unknown-event': {
      const msg = base();
      msg['event'] = rng.pick(['clear', 'Media', 'MEDIA', 'media ', 'connected2', 'toString', '__proto__', 'constructor', 'hasOwnProperty', '', 'e'.repeat(5000), ...UNICODE_GARBAGE]);
      return { kind, data: JSON.stringify(msg) };
    }
    case 'event-wrong-type': {
      const msg = base();
      msg['event'] = rng.pick<Json>([null, 1, true, ['media'], { media: true }]);
      if (rng.chance(0.3)) delete msg['event'];
      return { kind, data: JSON.stringify(msg) };
    }
    case 'event-swapped': {
      const msg = base();
      msg['event'] = rng.pick(['media', 'start', 'stop', 'mark', 'dtmf', 'connected'].filter((e) => e !== msg['event']));
      return { kind, data: JSON.stringify(msg) };
    }
    case 'unicode-garbage': {
      const msg = base();
      const strings = paths(msg).filter((p) => {
        let node: Json = msg;
        for (const k of p) node = (node as Record<string, Json>)[k]!;
        return typeof node === 'string';
      });
      const p = rng.pick(strings);
      let node: Json = msg;
      for (const k of p) node = (node as Record<string, Json>)[k]!;
      setAt(msg, p, rng.chance(0.5) ? rng.pick(UNICODE_GARBAGE) : `${String(node)}${rng.pick(UNICODE_GARBAGE)}`);
      return { kind, data: JSON.stringify(msg) };
    }
    case 'non-json': {
      const valid = JSON.stringify(base());
      const text = rng.pick([
        '', ' ', '\n', 'null', 'true', '42', '-0', '"media"', '[]', '[{"event":"media"}]', '{', '}', '}{', '{}', '{"event"}',
        valid.slice(0, rng.int(1, valid.length - 1)), valid + valid, valid + ' trailing', `${valid},`, valid.replace(/"/g, "'"),
        '{"event":"media",}', '{"event":NaN}', '{"event":undefined}', '<Response/>', 'GET / HTTP/1.1', rng.bytes(rng.int(1, 200)).toString('latin1'),
        '\u0000'.repeat(100), '{"event":"media"' + ' '.repeat(10000), '/* comment */ {}',
      ]);
      return { kind, data: text };
    }
    case 'deep-nesting': {
      const depth = rng.pick([100, 1000, 10_000, 20_000]);
      const text = rng.pick([
        deepArray(depth),
        deepObject(Math.min(depth, 10_000)),
        `{"event":"media","streamSid":"${m.ids.streamSid}","sequenceNumber":"1","media":${deepObject(Math.min(depth, 10_000), '"x"')}}`,
        `{"event":"start","sequenceNumber":"1","streamSid":"${m.ids.streamSid}","start":{"streamSid":"${m.ids.streamSid}","customParameters":${deepObject(Math.min(depth, 5000))}}}`,
        `{"event":${deepArray(depth)}}`,
      ]);
      return { kind, data: text };
    }
    case 'binary-frame': {
      const data = rng.chance(0.5) ? Buffer.from(JSON.stringify(base())) : rng.bytes(rng.int(0, 2000));
      return { kind, data, binary: true };
    }
    case 'duplicate-keys': {
      const valid = JSON.stringify(base());
      const text = rng.pick([
        `{"event":"media","event":"stop",${valid.slice(1)}`,
        valid.replace('"event":', '"event":"unknown","event":'),
        `${valid.slice(0, -1)},"event":${JSON.stringify(rng.pick(['media', 'stop', 'start', 'x']))}}`,
      ]);
      return { kind, data: text };
    }
    case 'proto-keys': {
      const valid = JSON.stringify(base());
      const text = rng.pick([
        valid.replace('"customParameters":{', '"customParameters":{"__proto__":{"callbridgeToken":"x"},"constructor":"y","toString":"z",'),
        valid.replace('{', '{"__proto__":{"event":"stop"},'),
        valid.replace('"media":{', '"media":{"__proto__":{"payload":"AAAA"},'),
        valid.replace('"mark":{', '"mark":{"__proto__":null,'),
      ]);
      return { kind, data: text };
    }
    case 'huge-numbers': {
      // Every variant changes the message (an unchanged start would be a valid start).
      const start = rng.chance(0.5);
      const valid = JSON.stringify(start ? m.start() : m.media());
      const text = rng.pick(
        start
          ? [
              valid.replace('"sampleRate":8000', '"sampleRate":1e999'),
              valid.replace('"channels":1', '"channels":-1e999'),
              valid.replace('"sampleRate":8000', `"sampleRate":${'9'.repeat(400)}`),
              valid.replace(/"sequenceNumber":"\d+"/, '"sequenceNumber":1e999'),
            ]
          : [
              valid.replace(/"sequenceNumber":"\d+"/, '"sequenceNumber":1e999'),
              valid.replace(/"chunk":"\d+"/, '"chunk":-0.0000001'),
              valid.replace(/"timestamp":"\d+"/, '"timestamp":1e999'),
            ],
      );
      return { kind, data: text };
    }
    case 'big-timestamp': {
      const msg = m.media(rng.pick([160, 160, 1, 800]));
      (msg['media'] as JsonObject)['timestamp'] = rng.pick(['999999999999999', '86400000', '3600000', '100000000000', '4294967296', '9007199254740']);
      return { kind, data: JSON.stringify(msg) };
    }
    case 'bad-media-format': {
      const msg = m.start();
      const format = (msg['start'] as JsonObject)['mediaFormat'] as JsonObject;
      const field = rng.pick(['encoding', 'sampleRate', 'channels']);
      format[field] = rng.pick<Json>(field === 'encoding' ? ['audio/x-alaw', 'audio/l16', '', 'AUDIO/X-MULAW'] : [0, -8000, 16000, 44100, 2, 0.5, 1e308]);
      return { kind, data: JSON.stringify(msg) };
    }
    case 'bad-custom-parameters': {
      const params: Json = rng.pick<Json>([
        null, [], 'token', 1, { callbridgeToken: 1 }, { callbridgeToken: null }, { callbridgeToken: ['a'] }, { callbridgeToken: { v: 1 } },
        Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`p${i}`, 'v'.repeat(20)])), { callbridgeToken: 'v1.' + 'A'.repeat(5000) },
        { callbridgeToken: m.ids.token ? `${m.ids.token}x` : 'v1.zz.' + 'A'.repeat(43) },
      ]);
      return { kind, data: JSON.stringify(m.start(params as JsonObject)) };
    }
    case 'odd-dtmf':
      return { kind, data: JSON.stringify(m.dtmf(rng.pick(['', '0', '#', '*', '12345', 'A', 'z', '\u0000', 'd'.repeat(5000), 'constructor', '__proto__', 'toString', ...UNICODE_GARBAGE]))) };
    case 'odd-mark':
      return { kind, data: JSON.stringify(m.mark(rng.pick(['', 'g0:m1:u1:20ms', 'g999:m999:x:1ms', 'm'.repeat(10_000), ...UNICODE_GARBAGE]))) };
  }
}

/**
 * Every field of every message, replaced by a value of every other JSON type (and, for the
 * decimal-string fields, by a non-decimal string), plus every field left out: a systematic
 * sweep besides the random mutations. None of the `stop` variants is a valid stop.
 */
export function wrongTypeSweep(m: ValidMessages, events: readonly BaseEvent[] = ['media', 'start', 'dtmf', 'mark', 'stop', 'connected']): FuzzFrame[] {
  const frames: FuzzFrame[] = [];
  const decimalFields = new Set(['sequenceNumber', 'chunk', 'timestamp']);
  for (const event of new Set(events)) {
    for (const path of paths(m.of(event))) {
      const field = path.at(-1)!;
      const values: Json[] = [7, -1.5, true, null, [], [field], { [field]: 'x' }];
      if (decimalFields.has(field)) values.push('x1', '');
      if (field === 'sampleRate' || field === 'channels') values.push('8000');
      for (const value of values) {
        const msg = m.of(event);
        setAt(msg, path, value);
        frames.push({ kind: 'wrong-type-sweep', data: JSON.stringify(msg) });
      }
      const msg = m.of(event);
      deleteAt(msg, path);
      frames.push({ kind: 'missing-field-sweep', data: JSON.stringify(msg) });
    }
  }
  return frames;
}

// ---------------------------------------------------------------------------------------------
// Frames the WebSocket layer must refuse (each closes the connection)

export type TerminalKind = 'invalid-utf8' | 'over-cap' | 'unmasked-frame' | 'reserved-opcode' | 'rsv1-set' | 'truncated-frame';

/** The close code the server must answer a terminal frame with (undefined: no close frame, the peer vanished). */
export const TERMINAL_CLOSE_CODE: Readonly<Record<TerminalKind, number | undefined>> = {
  'invalid-utf8': 1007,
  'over-cap': 1009,
  'unmasked-frame': 1002,
  'reserved-opcode': 1002,
  'rsv1-set': 1002,
  'truncated-frame': undefined,
};

/** Text that is one byte over the frame cap. */
export function overCapText(m: ValidMessages): string {
  const msg = m.media(160);
  const room = FRAME_CAP_BYTES + 1 - Buffer.byteLength(JSON.stringify(msg)) + 216;
  return withPayload(msg, 'A'.repeat(room));
}

/** Invalid UTF-8 inside an otherwise valid-looking JSON text frame. */
export function invalidUtf8(m: ValidMessages, rng: Prng): Buffer {
  const bad = rng.pick([[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]]);
  return Buffer.concat([Buffer.from('{"event":"mark","sequenceNumber":"9","streamSid":"' + m.ids.streamSid + '","mark":{"name":"'), Buffer.from(bad), Buffer.from('"}}')]);
}

/** Raw bytes of a single WebSocket frame, as a client would put them on the wire. */
export function rawFrame(options: { opcode: number; payload: Buffer; mask: boolean; rsv1?: boolean; fin?: boolean }): Buffer {
  const { opcode, payload, mask } = options;
  const b0 = ((options.fin ?? true) ? 0x80 : 0) | (options.rsv1 ? 0x40 : 0) | opcode;
  const len = payload.length;
  const header = len < 126 ? Buffer.from([b0, (mask ? 0x80 : 0) | len]) : Buffer.from([b0, (mask ? 0x80 : 0) | 126, len >> 8, len & 0xff]);
  if (!mask) return Buffer.concat([header, payload]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= key[i % 4]!;
  return Buffer.concat([header, key, masked]);
}

export function terminalBytes(kind: Exclude<TerminalKind, 'invalid-utf8' | 'over-cap'>, m: ValidMessages): Buffer {
  const json = Buffer.from(JSON.stringify(m.mark('raw')));
  switch (kind) {
    case 'unmasked-frame':
      return rawFrame({ opcode: 0x1, payload: json, mask: false });
    case 'reserved-opcode':
      return rawFrame({ opcode: 0x3, payload: json, mask: true });
    case 'rsv1-set':
      return rawFrame({ opcode: 0x1, payload: json, mask: true, rsv1: true });
    case 'truncated-frame':
      // Announces 1000 bytes, sends 20, then the connection is dropped.
      return Buffer.concat([Buffer.from([0x81, 0xfe, 0x03, 0xe8, 1, 2, 3, 4]), Buffer.alloc(20, 0x41)]);
  }
}
