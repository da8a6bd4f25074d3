/**
 * The Twilio edge over HTTP: the voice webhook, the media WebSocket upgrade and the stream status
 * callback. Everything Twilio sends is signature-checked against URLs built from the configured
 * public base URL (never from request headers); the upgrade is checked during the handshake so a
 * forged one gets HTTP 403 and no WebSocket is ever accepted.
 *
 *   POST /twilio/voice   form webhook → CallHandler.onIncomingCall → TwiML
 *   GET  /twilio/media   WebSocket upgrade (owned with `ws` in noServer mode; see handleUpgrade)
 *   POST /twilio/status  <Stream statusCallback> (stream-started / -stopped / -error)
 *
 * A media stream is handed to the handler only after its `start` arrived (within
 * startTimeoutMs) carrying a valid, unused per-call token for its CallSid and its parameters
 * (../twilio/stream-token.ts). CallSid, AccountSid and StreamSid must have Twilio's format
 * (../twilio/sids.ts): a webhook answers 400 otherwise, a stream is closed with a logged code.
 *
 * Each accepted socket gets a number, `conn`, logged with its peer address when it connects and
 * on every later line about it, so a socket that is refused or misbehaves before its `start`
 * (which would name the call) can still be told apart from the others.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import express, { type Express, type Request, type Response } from 'express';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../shared/log.js';
import type { CallHandler, CallDecision, IncomingCall } from '../twilio/handler.js';
import { TwilioMediaStream } from '../twilio/media-stream.js';
import { SIGNATURE_HEADER, STREAM_TOKEN_PARAMETER, TWILIO_PATHS } from '../twilio/protocol.js';
import {
  mediaStreamUrl,
  normalizePublicBaseUrl,
  publicRequestUrl,
  verifyUpgradeSignature,
  verifyWebhookSignature,
  type FormParams,
} from '../twilio/signature.js';
import { isAccountSid, isCallSid, isStreamSid } from '../twilio/sids.js';
import { StreamTokens, type TokenCheck, type UsedTokenLedger } from '../twilio/stream-token.js';
import { isLoopbackAddress } from './loopback.js';
import { sayHangupTwiml, streamTwiml } from '../twilio/twiml.js';

export interface TwilioRoutesOptions {
  /** The http(s) URL Twilio reaches this server at (PUBLIC_BASE_URL); may carry a path prefix. */
  publicBaseUrl: string;
  /** TWILIO_AUTH_TOKEN. Absent: requests are NOT verified (development only; warned at mount). */
  authToken?: string;
  handler: CallHandler;
  log: Logger;
  /** Close a media socket that sent no `start` within this time (default 5000). */
  startTimeoutMs?: number;
  /** Largest inbound WebSocket frame accepted (default 64 KiB); bigger closes the socket (1009). */
  maxFrameBytes?: number;
  /** Secret for per-call stream tokens; random per process when absent (set it when several instances share a URL). */
  streamTokenSecret?: string | Uint8Array;
  /** Stream token lifetime (default 5 min). */
  streamTokenTtlMs?: number;
  /** Redeemed tokens shared by every instance (the database): a token is good once across all of them. */
  usedTokens?: UsedTokenLedger;
  /**
   * INSTANCE_URL: this instance's own http(s) URL. The TwiML's stream then points here (the
   * instance that pre-opened the call); streams to the public URL are accepted too.
   */
  instanceUrl?: string;
  /** TwiML answered when the handler throws (default: a short apology and hang-up). */
  errorTwiml?: string;
}

export interface TwilioEdge {
  /** The media WebSocket URL put in the TwiML (and signed by Twilio on the upgrade). */
  readonly streamUrl: string;
  readonly statusCallbackUrl: string;
  /** Media sockets currently open. */
  readonly activeStreams: number;
  /** Media sockets accepted (upgraded) since mount. */
  readonly acceptedStreams: number;
  /**
   * For the http.Server's 'upgrade' event. Returns false when the request is not for the media
   * path (someone else may take it); otherwise it answered it (403, 503 or a WebSocket).
   */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Stops accepting streams and closes the open ones (1001 going away). */
  close(): void;
}

/** WebSocket close codes used by the edge. */
export const CLOSE_CODES = Object.freeze({ normal: 1000, goingAway: 1001, policy: 1008, tooBig: 1009, internal: 1011 });

const DEFAULT_ERROR_TWIML = sayHangupTwiml('Sorry, we cannot take your call right now. Please try again later.');

/** What the edge's handlers share: its settings, the open streams and its counters. */
interface EdgeState {
  readonly options: TwilioRoutesOptions;
  readonly log: Logger;
  /** The normalized public base URL (signatures are checked against URLs built from it). */
  readonly base: string;
  /** Undefined: requests are not signature-checked. */
  readonly authToken: string | undefined;
  readonly startTimeoutMs: number;
  readonly streamUrl: string;
  /** Media URLs an upgrade may be signed for: the stream URL, and the public one when INSTANCE_URL differs. */
  readonly streamUrls: readonly string[];
  readonly statusCallbackUrl: string;
  readonly tokens: StreamTokens;
  readonly wss: WebSocketServer;
  readonly streams: Set<TwilioMediaStream>;
  accepted: number;
  closing: boolean;
}

export function mountTwilioRoutes(app: Express, options: TwilioRoutesOptions): TwilioEdge {
  const state = edgeState(options);
  if (state.authToken === undefined) {
    state.log.warn(
      { publicBaseUrl: state.base },
      'TWILIO_AUTH_TOKEN IS NOT SET: Twilio webhooks and media streams are NOT signature-checked; they are accepted from this machine (loopback) only (development only)',
    );
  }
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 });
  app.post(TWILIO_PATHS.voice, form, (req: Request, res: Response) => voiceWebhook(state, req, res));
  app.post(TWILIO_PATHS.status, form, (req: Request, res: Response) => statusCallback(state, req, res));
  app.get(TWILIO_PATHS.media, (_req: Request, res: Response) => {
    res.status(426).set('Upgrade', 'websocket').type('text/plain').send('WebSocket upgrade required');
  });
  return {
    streamUrl: state.streamUrl,
    statusCallbackUrl: state.statusCallbackUrl,
    get activeStreams() {
      return state.streams.size;
    },
    get acceptedStreams() {
      return state.accepted;
    },
    handleUpgrade: (req, socket, head) => handleUpgrade(state, req, socket, head),
    close() {
      state.closing = true;
      for (const s of state.streams) s.close(CLOSE_CODES.goingAway, 'server shutting down');
    },
  };
}

function edgeState(options: TwilioRoutesOptions): EdgeState {
  const base = normalizePublicBaseUrl(options.publicBaseUrl);
  const streamUrl = mediaStreamUrl(options.instanceUrl ? normalizePublicBaseUrl(options.instanceUrl) : base, TWILIO_PATHS.media);
  const publicStreamUrl = mediaStreamUrl(base, TWILIO_PATHS.media);
  return {
    options,
    log: options.log,
    base,
    authToken: options.authToken === '' ? undefined : options.authToken,
    startTimeoutMs: options.startTimeoutMs ?? 5000,
    streamUrl,
    streamUrls: streamUrl === publicStreamUrl ? [streamUrl] : [streamUrl, publicStreamUrl],
    statusCallbackUrl: base + TWILIO_PATHS.status,
    tokens: new StreamTokens({
      ...(options.streamTokenSecret === undefined ? {} : { secret: options.streamTokenSecret }),
      ...(options.streamTokenTtlMs === undefined ? {} : { ttlMs: options.streamTokenTtlMs }),
    }),
    wss: new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes ?? 64 * 1024 }),
    streams: new Set<TwilioMediaStream>(),
    accepted: 0,
    closing: false,
  };
}

/** True when the webhook is signed (or signatures are off); otherwise answers 403 and logs why. */
function signedOrReject(state: EdgeState, req: Request, res: Response, params: FormParams): boolean {
  // Unsigned (no TWILIO_AUTH_TOKEN): this machine only (the simulator, a local tunnel); the socket's peer, never X-Forwarded-For.
  if (state.authToken === undefined) {
    if (isLoopbackAddress(req.socket.remoteAddress)) return true;
    state.log.warn({ code: 'CB_TWILIO_SIGNATURE_INVALID', path: req.path, reason: 'unsigned_not_loopback' }, 'Twilio webhook refused: no TWILIO_AUTH_TOKEN, so only loopback may call');
    res.status(403).type('text/plain').send('Forbidden');
    return false;
  }
  const signature = req.headers[SIGNATURE_HEADER];
  if (verifyWebhookSignature(state.authToken, signature, publicRequestUrl(state.base, req.originalUrl), params)) return true;
  state.log.warn({ code: 'CB_TWILIO_SIGNATURE_INVALID', path: req.path, reason: signature ? 'mismatch' : 'missing' }, 'Twilio webhook refused');
  res.status(403).type('text/plain').send('Forbidden');
  return false;
}

/** True when every SID the form carries has Twilio's format (CallSid is required); otherwise answers 400 and logs which. */
function sidsValidOrReject(state: EdgeState, req: Request, res: Response, f: Record<string, string>): boolean {
  const bad: string[] = [];
  if (!isCallSid(f['CallSid'] ?? '')) bad.push('CallSid');
  if (f['AccountSid'] !== undefined && !isAccountSid(f['AccountSid'])) bad.push('AccountSid');
  if (f['StreamSid'] !== undefined && !isStreamSid(f['StreamSid'])) bad.push('StreamSid');
  if (bad.length === 0) return true;
  state.log.warn({ code: 'CB_TWILIO_SID_INVALID', path: req.path, fields: bad }, `Twilio webhook refused: malformed ${bad.join(', ')}`);
  res.status(400).type('text/plain').send(`Malformed ${bad.join(', ')}`);
  return false;
}

/** POST /twilio/voice: asks the handler what to do with the call and answers TwiML. */
async function voiceWebhook(state: EdgeState, req: Request, res: Response): Promise<void> {
  const params = formParams(req.body);
  if (!signedOrReject(state, req, res, params)) return;
  const flat = firstValues(params);
  const callSid = flat['CallSid'];
  if (!callSid) {
    res.status(400).type('text/plain').send('CallSid missing');
    return;
  }
  if (!sidsValidOrReject(state, req, res, flat)) return;
  const call = { callSid, accountSid: flat['AccountSid'] ?? '', from: flat['From'] ?? '', to: flat['To'] ?? '', params: Object.freeze(flat) };
  state.log.info({ callSid, pii: { from: call.from, to: call.to } }, 'incoming call');
  res.status(200).type('text/xml').send(await incomingCallTwiml(state, call));
}

/** The handler's decision as TwiML: a stream (with a fresh per-call token) or its own TwiML; the error TwiML if it throws. */
async function incomingCallTwiml(state: EdgeState, call: IncomingCall): Promise<string> {
  try {
    const decision: CallDecision = await state.options.handler.onIncomingCall(call);
    if (decision.kind !== 'stream') return decision.twiml;
    // The token covers the CallSid and every parameter (the flow): a stream cannot pick its own.
    const own = { ...decision.parameters };
    delete own[STREAM_TOKEN_PARAMETER];
    const parameters = { ...own, [STREAM_TOKEN_PARAMETER]: state.tokens.issue(call.callSid, own) };
    return streamTwiml({ streamUrl: state.streamUrl, statusCallbackUrl: state.statusCallbackUrl, parameters });
  } catch (err) {
    state.log.error({ err, callSid: call.callSid }, 'call handler failed on an incoming call; answering the error TwiML');
    return state.options.errorTwiml ?? DEFAULT_ERROR_TWIML;
  }
}

/** POST /twilio/status: logs the stream event and tells the handler. */
function statusCallback(state: EdgeState, req: Request, res: Response): void {
  const params = formParams(req.body);
  if (!signedOrReject(state, req, res, params)) return;
  const f = firstValues(params);
  if (!sidsValidOrReject(state, req, res, f)) return;
  const status = { callSid: f['CallSid'] ?? '', streamSid: f['StreamSid'] ?? '', event: f['StreamEvent'] ?? '' };
  const error = f['StreamError'];
  if (status.event === 'stream-error') {
    state.log.warn({ code: 'CB_TWILIO_STREAM_ERROR', ...status, streamError: error }, `Twilio stream error: ${error ?? 'no detail'}`);
  } else {
    state.log.info(status, `Twilio ${status.event || 'stream status'}`);
  }
  try {
    state.options.handler.onStreamStatus?.(error === undefined ? status : { ...status, error });
  } catch (err) {
    state.log.error({ err, callSid: status.callSid }, 'call handler failed on a stream status');
  }
  res.status(204).end();
}

/** The 'upgrade' event: false when not for the media path; otherwise refuses (403/503) or accepts the WebSocket. */
function handleUpgrade(state: EdgeState, req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
  const target = req.url ?? '';
  const q = target.indexOf('?');
  if ((q === -1 ? target : target.slice(0, q)) !== TWILIO_PATHS.media) return false;
  socket.on('error', () => socket.destroy());
  if (state.authToken === undefined ? !isLoopbackAddress(req.socket.remoteAddress) : !state.streamUrls.some((url) => verifyUpgradeSignature(state.authToken!, req.headers[SIGNATURE_HEADER], url, target))) {
    state.log.warn(
      { code: 'CB_TWILIO_SIGNATURE_INVALID', path: TWILIO_PATHS.media, reason: req.headers[SIGNATURE_HEADER] ? 'mismatch' : 'missing' },
      'media stream upgrade refused',
    );
    refuse(socket, 403, 'Forbidden');
    return true;
  }
  if (state.closing) {
    refuse(socket, 503, 'Service Unavailable');
    return true;
  }
  state.wss.handleUpgrade(req, socket, head, (ws, request) => onConnection(state, ws, request));
  return true;
}

/** An accepted media socket: closed unless a `start` with a valid token arrives within startTimeoutMs. */
function onConnection(state: EdgeState, ws: WebSocket, req: http.IncomingMessage): void {
  // `conn` numbers the sockets so every line about one (even before its `start` names a call) can be told apart.
  const conn = ++state.accepted;
  const connLog = state.log.child({ conn });
  connLog.info({ remote: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}` }, 'media stream connected');
  const stream = new TwilioMediaStream(ws, { log: connLog, transport: req.socket });
  state.streams.add(stream);
  let timedOut = false;
  const timer = setTimeout(() => {
    if (stream.started) return;
    timedOut = true;
    connLog.warn({ code: 'CB_TWILIO_NO_START', startTimeoutMs: state.startTimeoutMs }, 'media stream sent no start; closing');
    stream.close(CLOSE_CODES.policy, 'no start');
  }, state.startTimeoutMs);
  ws.on('close', (code) => {
    clearTimeout(timer);
    state.streams.delete(stream);
    if (code === CLOSE_CODES.tooBig) connLog.warn({ code: 'CB_TWILIO_MALFORMED_MESSAGE', callSid: stream.callSid || undefined }, 'media stream frame over the size cap; closed');
  });
  stream.once('start', () => {
    clearTimeout(timer);
    if (timedOut || state.closing) return;
    onStreamStart(state, stream, connLog);
  });
}

/** A `start` arrived in time: checks its stream token, then hands the stream to the handler. */
function onStreamStart(state: EdgeState, stream: TwilioMediaStream, connLog: Logger): void {
  const { callSid, streamSid } = stream;
  const bad = [isCallSid(callSid) ? '' : 'callSid', isStreamSid(streamSid) ? '' : 'streamSid', isAccountSid(stream.accountSid) ? '' : 'accountSid'].filter(Boolean);
  if (bad.length > 0) {
    connLog.warn({ code: 'CB_TWILIO_SID_INVALID', fields: bad }, `media stream refused: malformed ${bad.join(', ')}`);
    stream.close(CLOSE_CODES.policy, 'malformed sid');
    return;
  }
  const { [STREAM_TOKEN_PARAMETER]: token, ...parameters } = stream.customParameters;
  const ledger = state.options.usedTokens;
  if (!ledger) return streamTokenChecked(state, stream, connLog, parameters, state.tokens.redeem(token, callSid, parameters));
  const onLedgerError = (err: unknown): void => connLog.error({ err, code: 'CB_SCALE_DB_FAILED', callSid }, 'shared stream-token ledger unavailable; token checked on this instance only');
  void state.tokens.redeemShared(token, callSid, parameters, ledger, onLedgerError).then(
    (check) => streamTokenChecked(state, stream, connLog, parameters, check),
    (err: unknown) => {
      connLog.error({ err, callSid, streamSid }, 'stream token check failed; closing the stream');
      stream.close(CLOSE_CODES.internal, 'internal error');
    },
  );
}

/** The token check's verdict: refuse the stream, or hand it to the handler with the call's own parameters. */
function streamTokenChecked(state: EdgeState, stream: TwilioMediaStream, connLog: Logger, parameters: Record<string, string>, check: TokenCheck): void {
  const { callSid, streamSid } = stream;
  if (stream.ended) return;
  if (!check.ok) {
    connLog.warn({ code: 'CB_TWILIO_STREAM_TOKEN_INVALID', reason: check.reason, callSid, streamSid }, `media stream refused: ${check.reason} stream token`);
    stream.close(CLOSE_CODES.policy, 'invalid stream token');
    return;
  }
  // The handler sees the call's own parameters; the token has done its job.
  stream.customParameters = Object.freeze(parameters);
  connLog.info({ callSid, streamSid }, 'media stream started');
  try {
    state.options.handler.onStreamStart(stream);
  } catch (err) {
    connLog.error({ err, callSid, streamSid }, 'call handler failed on stream start; closing the stream');
    stream.close(CLOSE_CODES.internal, 'internal error');
  }
}

/** Answers an upgrade request with a plain HTTP error before any WebSocket exists. */
function refuse(socket: Duplex, status: number, text: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}

function formParams(body: unknown): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (typeof body !== 'object' || body === null) return out;
  for (const [k, v] of Object.entries(body)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.filter((x): x is string => typeof x === 'string');
  }
  return out;
}

function firstValues(params: FormParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    const value = typeof v === 'string' ? v : v[0];
    if (value !== undefined) out[k] = value;
  }
  return out;
}
