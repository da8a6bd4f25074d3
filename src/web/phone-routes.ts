/**
 * The browser test phone's edge (docs/browser-phone.md): the /phone page, the list of flows it
 * offers, and the WebSocket upgrade at /phone/ws, which is checked before it is accepted:
 *
 *   401  not signed in (same admin session or Bearer token as /calls; open in development)
 *   403  the Origin header is missing or is not this server's own origin
 *   400  bad parameters (quality, pretend time), 404 an unknown flow
 *   409  this session already has a browser call
 *   503  call review is switched off (production without ADMIN_TOKEN)
 *
 * The socket is `ws` in noServer mode; frames are capped by `maxPayload` (a larger one closes
 * with 1009) and handed to the call's adapter (src/call/adapters/browser.ts), which type-checks them.
 */
import type http from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import type { Express, NextFunction, Request, Response } from 'express';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../shared/log.js';
import { LINE_QUALITIES, type BrowserPhone, type LineQuality, type PhoneSocket } from '../call/index.js';
import { addUpgradeHandler } from './server.js';
import { OPEN_SESSION_COOKIE, parseCookies, type CallsAuth, type Identity } from './ui/auth.js';
import { adminGuards, adminPage } from './admin-guard.js';

export interface PhoneRouteOptions {
  phone: BrowserPhone;
  /** ADMIN_TOKEN (the same sign-in as /calls). */
  adminToken?: string | undefined;
  nodeEnv: string;
  log: Logger;
  /** The flows a call can be placed to, now (a getter: hot reload changes them). */
  flows(): Array<{ name: string; default: boolean }>;
  /** PUBLIC_BASE_URL: its origin is accepted besides the Host the request names. */
  publicBaseUrl?: string;
}

const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));
export const PHONE_WS_PATH = '/phone/ws';
/** The largest frame a page may send: 200 ms of wideband PCM16 (6400 bytes) fits; text frames are capped lower by the adapter. */
export const PHONE_MAX_PAYLOAD_BYTES = 8192;
const FLOW_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;


export function mountPhone(app: Express, o: PhoneRouteOptions): void {
  const guards = adminGuards({ adminToken: o.adminToken, nodeEnv: o.nodeEnv, app });
  const auth = guards.auth;
  const page = adminPage(auth, `${UI_DIR}html/phone.html`);
  app.use(['/phone'], guards.headers, (_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Permissions-Policy', 'microphone=(self)');
    next();
  });
  app.get('/phone', guards.ui, (req, res) => {
    // Open access (development): tell browsers apart, so each has its own one-call slot.
    if (auth.mode === 'open' && !parseCookies(req.headers.cookie).has(OPEN_SESSION_COOKIE)) res.setHeader('Set-Cookie', auth.openSessionCookie());
    res.type('html').send(page);
  });
  app.get('/phone/flows', guards.api, (req, res) => {
    const flows = o.flows().map((f) => ({ name: f.name, default: f.default }));
    const who = auth.identify(req);
    res.json({ flows, qualities: LINE_QUALITIES, busy: who !== undefined && o.phone.busy(who.session) });
  });
  const worklets = { capture: workletSource('capture'), playback: workletSource('playback') };
  app.get('/phone/worklets/:name.js', (req, res) => {
    const source = worklets[req.params.name as keyof typeof worklets];
    if (typeof source !== 'string') return void res.status(404).type('text').send('not found');
    res.type('application/javascript').setHeader('Cache-Control', 'max-age=600');
    res.send(source);
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: PHONE_MAX_PAYLOAD_BYTES, perMessageDeflate: false });
  addUpgradeHandler(app, (req, socket, head) => {
    if (pathOf(req.url) !== PHONE_WS_PATH) return false;
    upgrade({ o, auth, wss }, req, socket, head);
    return true;
  });
}

/**
 * A worklet as one self-contained script: phone-dsp.js inlined in place of the import (worklet
 * scopes that do not take static imports, e.g. older Firefox, run it as well).
 */
function workletSource(name: 'capture' | 'playback'): string {
  const dsp = readFileSync(`${UI_DIR}static/phone-dsp.js`, 'utf8').replace(/^export /gm, '');
  const body = readFileSync(`${UI_DIR}static/phone-${name}.worklet.js`, 'utf8').replace(/^import [^\n]*\n/m, '');
  return `${dsp}\n${body}`;
}

function pathOf(url: string | undefined): string {
  const q = (url ?? '').indexOf('?');
  return q < 0 ? (url ?? '') : (url ?? '').slice(0, q);
}

interface UpgradeContext {
  o: PhoneRouteOptions;
  auth: CallsAuth;
  wss: WebSocketServer;
}

/** What a call asks for, from the upgrade's query string; or the refusal. */
type Parsed = { ok: true; flowName?: string; quality: LineQuality; pretendNow?: Date } | { ok: false; status: number; message: string };

function parseQuery(o: PhoneRouteOptions, url: string): Parsed {
  const params = new URL(url, 'http://phone.invalid').searchParams;
  const quality = params.get('quality') ?? 'phone';
  if (!(LINE_QUALITIES as readonly string[]).includes(quality)) return { ok: false, status: 400, message: `quality must be ${LINE_QUALITIES.join(' or ')}` };
  const flowName = params.get('flow') || undefined;
  if (flowName !== undefined && (!FLOW_NAME.test(flowName) || !o.flows().some((f) => f.name === flowName))) {
    return { ok: false, status: 404, message: `no flow named ${JSON.stringify(flowName.slice(0, 64))}` };
  }
  const pretend = params.get('pretend') || undefined;
  let pretendNow: Date | undefined;
  if (pretend !== undefined) {
    pretendNow = new Date(pretend);
    if (pretend.length > 40 || !/^\d{4}-\d{2}-\d{2}T/.test(pretend) || Number.isNaN(pretendNow.getTime())) {
      return { ok: false, status: 400, message: 'pretend must be an ISO time such as 2026-12-25T09:00:00-05:00' };
    }
  }
  return { ok: true, quality: quality as LineQuality, ...(flowName !== undefined ? { flowName } : {}), ...(pretendNow ? { pretendNow } : {}) };
}

/** This server's own origin: the Host the browser named, or PUBLIC_BASE_URL's. */
function sameOrigin(req: http.IncomingMessage, publicBaseUrl: string | undefined): boolean {
  const origin = req.headers.origin;
  if (typeof origin !== 'string') return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (publicBaseUrl !== undefined && url.origin === new URL(publicBaseUrl).origin) return true;
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === req.headers.host;
}

function refuse(socket: Duplex, log: Logger, status: number, message: string, detail: Record<string, unknown> = {}): void {
  log.warn({ code: 'CB_PHONE_REFUSED', status, reason: message, ...detail }, 'browser phone connection refused');
  const text = `${message}\n`;
  const title = ({ 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 503: 'Service Unavailable' } as Record<number, string>)[status] ?? 'Error';
  socket.on('error', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${title}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}

function upgrade(c: UpgradeContext, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  const log = c.o.log;
  if (c.auth.mode === 'refuse') return refuse(socket, log, 503, 'call review is switched off: set ADMIN_TOKEN');
  const who: Identity | undefined = c.auth.identify(req);
  if (!who) return refuse(socket, log, 401, 'sign in at /calls/login first');
  if (!sameOrigin(req, c.o.publicBaseUrl)) return refuse(socket, log, 403, 'the page must come from this server', { origin: String(req.headers.origin ?? '(none)').slice(0, 100) });
  const parsed = parseQuery(c.o, req.url ?? '');
  if (!parsed.ok) return refuse(socket, log, parsed.status, parsed.message);
  if (!c.o.phone.reserve(who.session)) return refuse(socket, log, 409, 'this session already has a browser call: hang it up first', { user: who.user });
  try {
    c.wss.handleUpgrade(req, socket, head, (ws) => open(c.o, ws, who, parsed));
  } catch (err) {
    c.o.phone.unreserve(who.session);
    log.error({ err }, 'browser phone upgrade failed');
    socket.destroy();
  }
}

/** The socket is open: the call starts; frames go to its adapter. */
function open(o: PhoneRouteOptions, ws: WebSocket, who: Identity, p: Extract<Parsed, { ok: true }>): void {
  const socket: PhoneSocket = {
    sendText: (text) => {
      if (ws.readyState === ws.OPEN) ws.send(text);
    },
    sendBinary: (bytes) => {
      if (ws.readyState === ws.OPEN) ws.send(bytes, { binary: true });
    },
    close: (code, reason) => {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason);
    },
  };
  let call: ReturnType<BrowserPhone['start']> | undefined;
  let erred = false;
  ws.on('error', (err) => {
    // ws reports an oversized or malformed frame here, then closes the socket (1009 / 1002).
    if (erred) return;
    erred = true;
    o.log.warn({ code: 'CB_PHONE_BAD_FRAME', callSid: call?.callSid, reason: err.message }, 'browser phone: bad frame; closing its socket');
  });
  ws.on('message', (data, isBinary) => {
    try {
      call?.frame(data as Buffer, isBinary);
    } catch (err) {
      o.log.error({ err, callSid: call?.callSid }, 'browser phone: a frame could not be handled; closing its socket');
      ws.close(1011, 'internal error');
    }
  });
  ws.on('close', () => call?.closed());
  try {
    call = o.phone.start(
      { user: who.user, session: who.session, quality: p.quality, ...(p.flowName !== undefined ? { flowName: p.flowName } : {}), ...(p.pretendNow ? { pretendNow: p.pretendNow } : {}) },
      socket,
    );
  } catch (err) {
    o.phone.unreserve(who.session);
    o.log.error({ err }, 'browser phone: the call could not start');
    ws.close(1011, 'the call could not start');
  }
}

