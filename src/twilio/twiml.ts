/**
 * TwiML answers, built with twilio-node's VoiceResponse (which XML-escapes through xmlbuilder;
 * docs/twilio-media-streams.md §7.2). Per-call data goes in `<Parameter>`s, never in the stream
 * URL's query string (docs/twilio-media-streams.md §1: query strings are unsupported and can fail
 * the handshake, 31920).
 *
 * Builders throw a TypeError/RangeError on programming errors (bad URL, oversized parameter):
 * they are called with values callbridge computed, not with caller input.
 */
import twilio from 'twilio';
import type VoiceResponseTypes from 'twilio/lib/twiml/VoiceResponse.js';

const { VoiceResponse } = twilio.twiml;

/** Twilio's limit: each `<Parameter>`'s name plus value must be under 500 characters. */
export const MAX_PARAMETER_CHARS = 500;

export interface StreamTwimlOptions {
  /** The media WebSocket URL: wss:// in production (ws:// only for local development). */
  streamUrl: string;
  /** Absolute URL of the stream status callback (stream-started / -stopped / -error). */
  statusCallbackUrl?: string;
  /** Become `<Parameter name value>`s, arriving as `start.customParameters`. */
  parameters?: Readonly<Record<string, string>>;
}

/** `<Response><Connect><Stream url statusCallback><Parameter…/></Stream></Connect></Response>`. */
export function streamTwiml(options: StreamTwimlOptions): string {
  const url = new URL(options.streamUrl);
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:') throw new TypeError(`stream URL must be wss:// (got ${url.protocol})`);
  if (options.streamUrl.includes('?') || options.streamUrl.includes('#')) {
    throw new TypeError('stream URL must not have a query string or fragment; use <Parameter>s');
  }
  const vr = new VoiceResponse();
  const attrs: { url: string; statusCallback?: string; statusCallbackMethod?: 'POST' } = { url: options.streamUrl };
  if (options.statusCallbackUrl !== undefined) {
    assertAbsoluteHttpUrl(options.statusCallbackUrl, 'statusCallbackUrl');
    attrs.statusCallback = options.statusCallbackUrl;
    attrs.statusCallbackMethod = 'POST';
  }
  const stream = vr.connect().stream(attrs);
  for (const [name, value] of Object.entries(options.parameters ?? {})) {
    if (name.length === 0) throw new RangeError('stream parameter name is empty');
    if (name.length + value.length >= MAX_PARAMETER_CHARS) {
      throw new RangeError(`stream parameter ${name}: name + value must be under ${MAX_PARAMETER_CHARS} characters`);
    }
    stream.parameter({ name, value });
  }
  return vr.toString();
}

export interface SayOptions {
  /** e.g. 'Polly.Joanna', 'Google.en-US-Neural2-F'; Twilio's default voice when absent. */
  voice?: string;
  /** e.g. 'en-US'. */
  language?: string;
}

/** `<Hangup/>` alone: a replayed webhook for a call that already ended. */
export function hangupTwiml(): string {
  const vr = new VoiceResponse();
  vr.hangup();
  return vr.toString();
}

/** `<Say>text</Say><Hangup/>`: closed hours, shutting down, apologies. */
export function sayHangupTwiml(text: string, options: SayOptions = {}): string {
  const vr = new VoiceResponse();
  vr.say(sayAttributes(options), text);
  vr.hangup();
  return vr.toString();
}

export interface DialOptions {
  /** Caller ID shown to the transfer target (must be a number the account may use). */
  callerId?: string;
  /** Keep the caller hearing ringback until the target answers (default true). */
  answerOnBridge?: boolean;
  /** Ring time in seconds (Twilio's default 30). */
  timeoutS?: number;
  /** Absolute URL Twilio requests when the dialled leg ends (must be absolute: error 15004). */
  action?: string;
  /** Something to say before dialling. */
  say?: string;
  sayOptions?: SayOptions;
}

const PHONE_NUMBER = /^\+?[0-9]{3,15}$/;
const SIP_URI = /^sips?:[^\s<>]+$/i;

/** True for what `dialTwiml` accepts: an (E.164-ish) phone number or a sip:/sips: URI. */
export function isDialTarget(target: string): boolean {
  return PHONE_NUMBER.test(target) || SIP_URI.test(target);
}

/** A transfer: `<Dial answerOnBridge="true">+1555…</Dial>` or `<Dial><Sip>sip:…</Sip></Dial>`. */
export function dialTwiml(target: string, options: DialOptions = {}): string {
  if (!isDialTarget(target)) throw new TypeError('dial target must be a phone number (+15551234567) or a sip: URI');
  const vr = new VoiceResponse();
  if (options.say !== undefined) vr.say(sayAttributes(options.sayOptions ?? {}), options.say);
  const attrs: { answerOnBridge: boolean; callerId?: string; timeout?: number; action?: string } = {
    answerOnBridge: options.answerOnBridge ?? true,
  };
  if (options.callerId !== undefined) attrs.callerId = options.callerId;
  if (options.timeoutS !== undefined) attrs.timeout = options.timeoutS;
  if (options.action !== undefined) {
    assertAbsoluteHttpUrl(options.action, 'action');
    attrs.action = options.action;
  }
  if (SIP_URI.test(target)) vr.dial(attrs).sip(target);
  else vr.dial(attrs, target);
  return vr.toString();
}

export type FallbackTarget =
  | { kind: 'dial'; number: string; callerId?: string }
  | { kind: 'redirect'; url: string };

/**
 * Where a call goes when the agent cannot take it: an optional apology, then a `<Dial>` to a
 * fallback number or a `<Redirect>` to another TwiML URL (absolute).
 */
export function fallbackTwiml(target: FallbackTarget, options: { say?: string; sayOptions?: SayOptions } = {}): string {
  if (target.kind === 'dial') {
    const dial: DialOptions = {};
    if (target.callerId !== undefined) dial.callerId = target.callerId;
    if (options.say !== undefined) dial.say = options.say;
    if (options.sayOptions !== undefined) dial.sayOptions = options.sayOptions;
    return dialTwiml(target.number, dial);
  }
  assertAbsoluteHttpUrl(target.url, 'redirect url');
  const vr = new VoiceResponse();
  if (options.say !== undefined) vr.say(sayAttributes(options.sayOptions ?? {}), options.say);
  vr.redirect({ method: 'POST' }, target.url);
  return vr.toString();
}

type SayAttributes = VoiceResponseTypes.SayAttributes;

/** Voices and languages are open-ended strings here: Twilio adds new ones faster than its types. */
function sayAttributes(options: SayOptions): SayAttributes {
  const attrs: SayAttributes = {};
  if (options.voice !== undefined) attrs.voice = options.voice as SayAttributes['voice'];
  if (options.language !== undefined) attrs.language = options.language as SayAttributes['language'];
  return attrs;
}

function assertAbsoluteHttpUrl(value: string, what: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${what} must be an absolute http(s) URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`${what} must be an absolute http(s) URL`);
}
