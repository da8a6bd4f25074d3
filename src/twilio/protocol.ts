/**
 * Twilio Media Streams (bidirectional `<Connect><Stream>`) wire types: JSON in WebSocket TEXT
 * frames. Source: docs/twilio-media-streams.md §2 (inbound) and §3 (outbound),
 * taken from Twilio's "WebSocket messages" page.
 *
 * Types only: the edge (src/twilio/parse.ts) and the caller simulator (src/simulator) both import
 * this file, but each reads frames with its own code, so a parser bug cannot cancel itself out.
 *
 * Notes from docs/twilio-media-streams.md §2:
 * - `sequenceNumber`, `media.chunk` and `media.timestamp` are strings; `mediaFormat.sampleRate`
 *   and `channels` are numbers.
 * - Every message but `connected` carries a top-level `streamSid`.
 * - dtmf's track is spelled `inbound_track`, media's `inbound`.
 * - Frame size is not documented (20 ms / 160 bytes is the common observation): code is
 *   length-agnostic.
 */

/** Sample rate of every Media Streams payload (μ-law, mono). */
export const TWILIO_MEDIA_SAMPLE_RATE_HZ = 8000;
/** μ-law bytes per millisecond of audio. */
export const MULAW_BYTES_PER_MS = 8;

// ---------------------------------------------------------------------------------------------
// Twilio → server

export interface ConnectedMessage {
  event: 'connected';
  protocol: string;
  version: string;
}

export interface MediaFormat {
  encoding: string; // documented as always 'audio/x-mulaw'
  sampleRate: number; // documented as always 8000
  channels: number; // documented as always 1
}

export interface StartMessage {
  event: 'start';
  sequenceNumber: string;
  streamSid: string;
  start: {
    accountSid: string;
    streamSid: string;
    callSid: string;
    tracks: string[]; // 'inbound' | 'outbound'
    customParameters: Record<string, string>;
    mediaFormat: MediaFormat;
  };
}

export interface MediaMessage {
  event: 'media';
  sequenceNumber: string;
  streamSid: string;
  media: {
    track: string; // 'inbound' (Connect streams carry only the inbound track)
    chunk: string;
    timestamp: string; // ms since the start of the stream
    payload: string; // base64 μ-law
  };
}

export interface DtmfMessage {
  event: 'dtmf';
  sequenceNumber: string;
  streamSid: string;
  dtmf: { track: string; digit: string }; // track 'inbound_track'
}

export interface MarkMessage {
  event: 'mark';
  sequenceNumber: string;
  streamSid: string;
  mark: { name: string };
}

export interface StopMessage {
  event: 'stop';
  sequenceNumber: string;
  streamSid: string;
  stop: { accountSid: string; callSid: string };
}

export type TwilioInboundMessage = ConnectedMessage | StartMessage | MediaMessage | DtmfMessage | MarkMessage | StopMessage;
export type TwilioInboundEvent = TwilioInboundMessage['event'];

// ---------------------------------------------------------------------------------------------
// server → Twilio (only these three are accepted; anything else is warning 31951)

export interface OutboundMediaMessage {
  event: 'media';
  streamSid: string;
  media: { payload: string }; // base64 μ-law 8 kHz, no file header, any length
}

export interface OutboundMarkMessage {
  event: 'mark';
  streamSid: string;
  mark: { name: string };
}

export interface OutboundClearMessage {
  event: 'clear';
  streamSid: string;
}

export type TwilioOutboundMessage = OutboundMediaMessage | OutboundMarkMessage | OutboundClearMessage;
export type TwilioOutboundEvent = TwilioOutboundMessage['event'];

// ---------------------------------------------------------------------------------------------
// HTTP: webhooks (form-encoded POSTs)

/** The `<Stream statusCallback>` request's form fields. */
export interface StreamStatusCallbackParams {
  AccountSid: string;
  CallSid: string;
  StreamSid: string;
  StreamName?: string;
  StreamEvent: 'stream-started' | 'stream-stopped' | 'stream-error' | string;
  StreamError?: string;
  Timestamp?: string;
}

/** The voice webhook's main form fields (Twilio sends more; keep them all for the signature). */
export interface VoiceWebhookParams {
  CallSid: string;
  AccountSid: string;
  From: string;
  To: string;
  CallStatus: string;
  Direction: string;
  ApiVersion: string;
}

/** Header carrying the webhook/upgrade signature (Node lowercases header names). */
export const SIGNATURE_HEADER = 'x-twilio-signature';

/** Name of the `<Parameter>` carrying callbridge's per-call stream token. */
export const STREAM_TOKEN_PARAMETER = 'callbridgeToken';

/** Default paths of the Twilio edge, relative to PUBLIC_BASE_URL. */
export const TWILIO_PATHS = Object.freeze({
  voice: '/twilio/voice',
  media: '/twilio/media',
  status: '/twilio/status',
});
