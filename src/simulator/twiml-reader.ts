/**
 * TwiML → the verbs the simulated caller acts on (its own reading; it does not use the edge's
 * builder). Unknown verbs are kept as `Other` so the outcome still shows them.
 */
import { parseXml, textOf, type XmlElement } from './xml.js';

export interface StreamNoun {
  url: string;
  name?: string;
  statusCallback?: string;
  statusCallbackMethod?: string;
  track?: string;
  parameters: Record<string, string>;
}

export type DialTarget = { kind: 'number' | 'sip' | 'client' | 'conference' | 'queue' | 'other'; value: string };

export type TwimlVerb =
  | { verb: 'Say'; text: string; voice?: string; language?: string }
  | { verb: 'Play'; url: string }
  | { verb: 'Pause'; lengthS: number }
  | { verb: 'Hangup' }
  | { verb: 'Reject'; reason?: string }
  | { verb: 'Redirect'; url: string; method: string }
  | { verb: 'Dial'; targets: DialTarget[]; attrs: Record<string, string> }
  | { verb: 'Connect'; stream: StreamNoun | undefined; action?: string; attrs: Record<string, string> }
  | { verb: 'Other'; name: string; attrs: Record<string, string> };

/** Verbs after which Twilio runs no more of the document. */
export function isTerminal(verb: TwimlVerb): boolean {
  return verb.verb === 'Hangup' || verb.verb === 'Reject' || verb.verb === 'Redirect' || verb.verb === 'Dial';
}

/** A one-line description for timelines: `Dial(+15551234567)`, `Say("…")`. */
export function describeVerb(verb: TwimlVerb): string {
  switch (verb.verb) {
    case 'Say':
      return `Say(${JSON.stringify(verb.text.length > 60 ? `${verb.text.slice(0, 57)}...` : verb.text)})`;
    case 'Play':
      return `Play(${verb.url})`;
    case 'Pause':
      return `Pause(${verb.lengthS}s)`;
    case 'Redirect':
      return `Redirect(${verb.url})`;
    case 'Dial':
      return `Dial(${verb.targets.map((t) => t.value).join(', ')})`;
    case 'Connect':
      return `Connect(Stream ${verb.stream?.url ?? '?'})`;
    case 'Reject':
      return 'Reject';
    case 'Hangup':
      return 'Hangup';
    case 'Other':
      return verb.name;
  }
}

function readStream(el: XmlElement): StreamNoun {
  const parameters: Record<string, string> = {};
  for (const c of el.children) {
    if (typeof c !== 'string' && c.name === 'Parameter') {
      const name = c.attrs['name'];
      if (name !== undefined) parameters[name] = c.attrs['value'] ?? '';
    }
  }
  const stream: StreamNoun = { url: el.attrs['url'] ?? '', parameters };
  for (const key of ['name', 'statusCallback', 'statusCallbackMethod', 'track'] as const) {
    const v = el.attrs[key];
    if (v !== undefined) stream[key] = v;
  }
  return stream;
}

function readDial(el: XmlElement): TwimlVerb {
  const targets: DialTarget[] = [];
  for (const c of el.children) {
    if (typeof c === 'string') {
      if (c.trim() !== '') targets.push({ kind: 'number', value: c.trim() });
      continue;
    }
    const kind = ({ Number: 'number', Sip: 'sip', Client: 'client', Conference: 'conference', Queue: 'queue' } as const)[
      c.name as 'Number'
    ];
    targets.push({ kind: kind ?? 'other', value: textOf(c) });
  }
  return { verb: 'Dial', targets, attrs: el.attrs };
}

function readVerb(el: XmlElement): TwimlVerb {
  switch (el.name) {
    case 'Say': {
      const v: TwimlVerb = { verb: 'Say', text: textOf(el) };
      if (el.attrs['voice'] !== undefined) v.voice = el.attrs['voice'];
      if (el.attrs['language'] !== undefined) v.language = el.attrs['language'];
      return v;
    }
    case 'Play':
      return { verb: 'Play', url: textOf(el) };
    case 'Pause':
      return { verb: 'Pause', lengthS: Number(el.attrs['length'] ?? '1') };
    case 'Hangup':
      return { verb: 'Hangup' };
    case 'Reject':
      return el.attrs['reason'] === undefined ? { verb: 'Reject' } : { verb: 'Reject', reason: el.attrs['reason'] };
    case 'Redirect':
      return { verb: 'Redirect', url: textOf(el), method: el.attrs['method'] ?? 'POST' };
    case 'Dial':
      return readDial(el);
    case 'Connect': {
      const streamEl = el.children.find((c): c is XmlElement => typeof c !== 'string' && c.name === 'Stream');
      const v: TwimlVerb = { verb: 'Connect', stream: streamEl ? readStream(streamEl) : undefined, attrs: el.attrs };
      if (el.attrs['action'] !== undefined) v.action = el.attrs['action'];
      return v;
    }
    default:
      return { verb: 'Other', name: el.name, attrs: el.attrs };
  }
}

/** Parses a TwiML document. Throws an Error when it is not XML or its root is not `<Response>`. */
export function readTwiml(text: string): TwimlVerb[] {
  const root = parseXml(text);
  if (root.name !== 'Response') throw new Error(`TwiML root is <${root.name}>, not <Response>`);
  const verbs: TwimlVerb[] = [];
  for (const c of root.children) {
    if (typeof c === 'string') {
      if (c.trim() !== '') throw new Error('TwiML has text directly inside <Response>');
      continue;
    }
    verbs.push(readVerb(c));
  }
  return verbs;
}
