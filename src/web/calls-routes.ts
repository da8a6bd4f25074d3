/**
 * Call review: the JSON API (/api/calls…) and the review UI (/calls…), behind ADMIN_TOKEN
 * (see ui/auth.ts).
 *
 * The UI is static HTML + CSS + vanilla JS modules (ui/html, ui/static) that read the JSON API:
 * no build step, one source of truth for UI and integrations, and user text only ever reaches
 * the page through DOM text nodes (never innerHTML), backed by a strict Content-Security-Policy
 * (scripts and styles from this origin only). Sign-in and "not configured" pages are rendered
 * here (ui/pages.ts) because they carry no data.
 */
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../shared/log.js';
import { explainCodes, latencySummary, toJsonExport, toTextExport } from '../transcripts/format.js';
import { decodeCursor, FOLLOW_UP_FILTERS, type CallSummary, type TranscriptStore } from '../transcripts/store.js';
import { CALL_CHANNELS, CALL_OUTCOMES, type CallOutcome } from '../transcripts/types.js';
import { isAnyCallSid } from '../twilio/sids.js';
import { addDays, ZoneCalendar } from '../dashboard/days.js';
import type { CallsAuth } from './ui/auth.js';
import { adminGuards, adminPage, clientOf, refuseCrossSite, throttleOf } from './admin-guard.js';
import { LiveCalls, type LiveFeed } from './calls-live.js';
import { fieldParams } from './analysis-params.js';
import type { CallAnalysis } from '../transcripts/after-call-store.js';
import { loginPage, notConfiguredPage } from './ui/pages.js';

export interface CallsDeps {
  store: TranscriptStore;
  /** ADMIN_TOKEN; without it production refuses to serve and development serves with a warning. */
  adminToken?: string | undefined;
  nodeEnv: string;
  log: Logger;
  /** DATA_DIR (recordings are served from under it). */
  dataDir: string;
  /** The transcript writer's live feed: /api/calls/live and /api/calls/:sid/live (absent: 404). */
  live?: LiveFeed;
  /** A call's business time zone (its flow's hours.timeZone, else TIME_ZONE, else UTC): `timeZone` in the API; default UTC. */
  timeZoneOf?: (flow: string | null) => string;
  /** Post-call analyses (src/aftercall/): `analysis` in GET /api/calls/:sid and the exports. */
  analyses?: { analysisOf(callSid: string): Promise<CallAnalysis | undefined> };
}

const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));
/** A call's id in the API: Twilio's CA + 32 hex digits, or the browser phone's BR + 32 hex digits (src/twilio/sids.ts). */
const SID = { test: isAnyCallSid };
const DAY_MS = 86_400_000;


/** A date: 2025-06-13 (a day of the business, see businessDays; for `to`, the whole day is included), an ISO time, or epoch ms. */
function dateParam(endOfDay: boolean) {
  return z.string().transform((value, ctx) => {
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
      const ms = Date.parse(`${value}T00:00:00Z`);
      if (!Number.isNaN(ms)) return endOfDay ? ms + DAY_MS : ms;
    } else if (/^\d{1,15}$/.test(value)) {
      return Number(value);
    } else if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
      const ms = Date.parse(value);
      if (!Number.isNaN(ms)) return ms;
    }
    ctx.addIssue({ code: 'custom', message: 'must be a date (2025-06-13), an ISO time (2025-06-13T09:30:00Z) or epoch milliseconds' });
    return z.NEVER;
  });
}

const outcomeList = z.string().transform((value, ctx) => {
  const list = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = list.filter((o) => !(CALL_OUTCOMES as readonly string[]).includes(o));
  if (bad.length > 0) {
    ctx.addIssue({ code: 'custom', message: `unknown outcome ${bad.map((b) => `"${b}"`).join(', ')}; use ${CALL_OUTCOMES.join(', ')}` });
    return z.NEVER;
  }
  return list as CallOutcome[];
});

const ListQuery = z
  .object({
    q: z.string().max(200, 'must be at most 200 characters').optional(),
    from: dateParam(false).optional(),
    to: dateParam(true).optional(),
    flow: z.string().max(100).optional(),
    outcome: outcomeList.optional(),
    channel: z.enum(CALL_CHANNELS, { error: `must be one of ${CALL_CHANNELS.join(', ')}` }).optional(),
    followUp: z.enum(FOLLOW_UP_FILTERS, { error: `must be one of ${FOLLOW_UP_FILTERS.join(', ')}` }).optional(),
    limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(200, 'must be at most 200').default(25),
    offset: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 or more').max(1_000_000).default(0),
    cursor: z.string().max(300).refine((c) => decodeCursor(c) !== undefined, 'is not a cursor from a previous page').optional(),
  })
  .strict();

function issuesOf(error: z.ZodError): { param: string; message: string }[] {
  return error.issues.map((i) => {
    if (i.code === 'unrecognized_keys') return { param: i.keys.join(', '), message: 'unknown parameter' };
    const param = i.path.join('.') || '(query)';
    const message = i.code === 'invalid_type' && i.expected === 'string' ? 'must be given once' : i.message;
    return { param, message };
  });
}

function listItem(s: CallSummary, timeZoneOf: ZoneOf = utc) {
  const r = s.record;
  return {
    callSid: r.callSid,
    startedAt: r.startedAt,
    timeZone: timeZoneOf(r.flow ?? null),
    endedAt: r.endedAt,
    durationMs: r.durationMs,
    from: r.from,
    to: r.to,
    flow: r.flow,
    outcome: r.outcome,
    outcomeDetail: r.outcomeDetail,
    channel: r.channel ?? 'phone',
    followUp: r.followUp,
    flowVersion: r.flowVersion,
    hasRecording: r.recordingPath !== undefined,
    latency: latencySummary(r),
    preview: s.preview,
    match: s.match,
    analysis: s.analysis,
  };
}

type ZoneOf = (flow: string | null) => string;
const utc: ZoneOf = () => 'UTC';

function attachmentName(sid: string, ext: string): string {
  return `attachment; filename="call-${sid}.${ext}"`;
}

const LIVE_CALLS = 'callbridge.liveCalls';

/** The live call views mounted on `app` (to end their streams at shutdown). */
export function liveCallsOf(app: express.Express): LiveCalls | undefined {
  return app.locals[LIVE_CALLS] as LiveCalls | undefined;
}

type Handler = (req: Request, res: Response, next: NextFunction) => Promise<void>;

export function mountCalls(app: express.Express, deps: CallsDeps): LiveCalls | undefined {
  const guards = adminGuards({ adminToken: deps.adminToken, nodeEnv: deps.nodeEnv, app });
  const auth = guards.auth;
  const pages = { list: adminPage(auth, `${UI_DIR}html/list.html`), call: adminPage(auth, `${UI_DIR}html/call.html`) };
  if (auth.mode === 'refuse') deps.log.warn('call review disabled: ADMIN_TOKEN is required in production');
  if (auth.mode === 'open') deps.log.warn('call review is open to anyone who can reach this server: set ADMIN_TOKEN');

  app.use(['/calls', '/api/calls'], guards.headers);
  app.use('/calls/assets', express.static(`${UI_DIR}static`, { index: false, maxAge: '10m' }));
  app.use('/calls/assets', (_req: Request, res: Response) => void res.status(404).type('text').send('not found'));
  const { ui, api } = guards;
  const safe = safeHandler(deps.log);

  // --- sign-in ----------------------------------------------------------------------------------
  app.get('/calls/login', (req, res) => loginForm(auth, req, res));
  app.post('/calls/login', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => loginSubmit(auth, deps.log, req, res));
  app.post('/calls/logout', (req, res) => {
    if (refuseCrossSite(req, res)) return;
    auth.revoke(req);
    res.setHeader('Set-Cookie', auth.clearCookie());
    res.redirect(303, auth.mode === 'token' ? '/calls/login' : '/calls');
  });

  // --- pages ------------------------------------------------------------------------------------
  app.get('/calls', ui, (_req, res) => void res.type('html').send(pages.list));
  app.get('/calls/:sid', ui, (req, res) => {
    // An impossible sid still gets the page (status 404); it shows the API's explanation.
    res.status(SID.test(String(req.params.sid)) ? 200 : 404).type('html').send(pages.call);
  });

  // --- JSON API ---------------------------------------------------------------------------------
  app.get('/api/calls', api, safe((req, res) => listCalls(deps.store, req, res, deps.timeZoneOf)));
  const live = deps.live ? new LiveCalls({ store: deps.store, live: deps.live, log: deps.log }) : undefined;
  if (live) {
    app.locals[LIVE_CALLS] = live;
    app.get('/api/calls/live', api, (req, res) => live.list(req, res));
    app.get('/api/calls/:sid/live', api, safe((req, res) => live.call(req, res)));
  }
  app.get('/api/calls/:sid', api, safe((req, res) => callDetail(deps.store, req, res, deps.timeZoneOf, deps.analyses)));
  app.get('/api/calls/:sid/export.json', api, safe((req, res) => exportJson(deps.store, req, res, deps.analyses)));
  app.get('/api/calls/:sid/export.txt', api, safe((req, res) => exportText(deps.store, req, res, deps.analyses, deps.timeZoneOf)));
  app.get('/api/calls/:sid/recording.wav', api, safe((req, res, next) => recording(deps, req, res, next)));
  return live;
}

/** Store failures answer 500 here (whatever error handler the app has, or where it sits). */
function safeHandler(log: Logger): (handler: Handler) => Handler {
  return (handler) => async (req, res, next) => {
    try {
      await handler(req, res, next);
    } catch (err) {
      log.error({ err, path: req.path }, 'call review request failed');
      if (!res.headersSent) res.status(500).json({ error: 'internal', message: 'Reading call records failed; see the server log.' });
    }
  };
}

// --- sign-in ------------------------------------------------------------------------------------

/** Where to go after signing in: a /calls, /phone, /flows or /dashboard page of this origin (never the sign-in page), else /calls. */
function safeNext(value: unknown): string {
  if (typeof value !== 'string') return '/calls';
  try {
    const url = new URL(value, 'http://callbridge.invalid');
    if (url.origin === 'http://callbridge.invalid' && /^\/(calls|phone|flows|dashboard)(\/|$)/.test(url.pathname) && !url.pathname.startsWith('/calls/login')) {
      return url.pathname + url.search;
    }
  } catch {
    // fall through
  }
  return '/calls';
}

function loginForm(auth: CallsAuth, req: Request, res: Response): void {
  if (auth.mode === 'refuse') return void res.status(503).type('html').send(notConfiguredPage());
  if (auth.mode === 'open') return void res.redirect(303, '/calls');
  const error = req.query.error === 'wrong' || req.query.error === 'throttled' ? req.query.error : undefined;
  res.type('html').send(loginPage(error ? { next: safeNext(req.query.next), error } : { next: safeNext(req.query.next) }));
}

function loginSubmit(auth: CallsAuth, log: Logger, req: Request, res: Response): void {
  if (refuseCrossSite(req, res)) return;
  if (auth.mode !== 'token') return void res.redirect(303, '/calls/login');
  const body = (req.body ?? {}) as Record<string, unknown>;
  const next = safeNext(body.next);
  // The right token always signs in, throttled or not (the throttle only shapes failures).
  if (typeof body.token === 'string' && auth.checkToken(body.token.trim())) {
    res.setHeader('Set-Cookie', auth.sessionCookie());
    return void res.redirect(303, next);
  }
  const address = clientOf(req);
  const wait = throttleOf(req).fail(address);
  if (wait !== undefined) {
    res.setHeader('Retry-After', String(wait));
    return void res.status(429).type('html').send(loginPage({ next, error: 'throttled' }));
  }
  log.warn({ address }, 'call review: wrong admin token');
  res.status(401).type('html').send(loginPage({ next, error: 'wrong' }));
}

// --- JSON API -----------------------------------------------------------------------------------

/** GET /api/calls: one page of calls matching the query, plus the flows to filter by. */
async function listCalls(store: TranscriptStore, req: Request, res: Response, timeZoneOf: ZoneOf = utc): Promise<void> {
  const { rest: raw, fields, issues: fieldIssues } = fieldParams(Object.fromEntries(Object.entries(req.query).filter(([, v]) => v !== '')));
  const parsed = ListQuery.safeParse(raw);
  if (!parsed.success || fieldIssues.length > 0) {
    const issues = [...(parsed.success ? [] : issuesOf(parsed.error)), ...fieldIssues];
    return void res.status(400).json({ error: 'bad_request', message: issues.map((i) => `${i.param}: ${i.message}`).join('; '), issues });
  }
  const p = parsed.data;
  businessDays(p, raw, timeZoneOf(p.flow ?? null));
  if (p.from !== undefined && p.to !== undefined && p.from >= p.to) {
    return void res.status(400).json({ error: 'bad_request', message: 'from: must be before to', issues: [{ param: 'from', message: 'must be before to' }] });
  }
  const page = await store.listCalls({
    limit: p.limit,
    offset: p.offset,
    ...(p.q !== undefined && { q: p.q }),
    ...(p.from !== undefined && { from: p.from }),
    ...(p.to !== undefined && { to: p.to }),
    ...(p.flow !== undefined && { flow: p.flow }),
    ...(p.outcome !== undefined && { outcome: p.outcome }),
    ...(p.channel !== undefined && { channel: p.channel }),
    ...(p.followUp !== undefined && { followUp: p.followUp }),
    ...(p.cursor !== undefined && { cursor: p.cursor }),
    ...(fields !== undefined && { fields }),
  });
  res.json({
    calls: page.calls.map((s) => listItem(s, timeZoneOf)),
    total: page.total,
    limit: p.limit,
    offset: p.cursor === undefined ? p.offset : undefined,
    nextCursor: page.nextCursor,
    flows: await store.listFlows(),
  });
}

/** `from`/`to` given as dates are days of the business (`zone`: the flow filter's, else TIME_ZONE, else UTC). */
function businessDays(p: { from?: number | undefined; to?: number | undefined }, raw: Record<string, unknown>, zone: string): void {
  // Years outside 1970-8999 keep their UTC reading (no zone data that far; nothing to find there).
  const day = (v: unknown) => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) && v >= '1970' && v < '9000' ? v : undefined);
  const from = day(raw.from);
  const to = day(raw.to);
  if (from !== undefined && p.from !== undefined) p.from = new ZoneCalendar(zone).startOf(from);
  if (to !== undefined && p.to !== undefined) p.to = new ZoneCalendar(zone).startOf(addDays(to, 1));
}

/** The call named by :sid with its events, or undefined after answering 400/404. */
async function withCall(store: TranscriptStore, req: Request, res: Response) {
  const sid = String(req.params.sid);
  if (!SID.test(sid)) {
    res.status(400).json({ error: 'bad_request', message: 'sid: not a call sid' });
    return undefined;
  }
  const record = await store.getCall(sid);
  if (!record) {
    res.status(404).json({ error: 'not_found', message: `no call ${sid}` });
    return undefined;
  }
  return { sid, record, events: await store.getEvents(sid) };
}

type Analyses = CallsDeps['analyses'];

async function callDetail(store: TranscriptStore, req: Request, res: Response, timeZoneOf: ZoneOf = utc, analyses?: Analyses): Promise<void> {
  const call = await withCall(store, req, res);
  if (!call) return;
  res.json({
    call: call.record,
    analysis: await analyses?.analysisOf(call.sid),
    timeZone: timeZoneOf(call.record.flow ?? null),
    events: call.events,
    latency: latencySummary(call.record),
    explanations: explainCodes(call.record, call.events),
    recordingUrl: call.record.recordingPath ? `/api/calls/${call.sid}/recording.wav` : undefined,
    exports: { json: `/api/calls/${call.sid}/export.json`, txt: `/api/calls/${call.sid}/export.txt` },
  });
}

async function exportJson(store: TranscriptStore, req: Request, res: Response, analyses?: Analyses): Promise<void> {
  const call = await withCall(store, req, res);
  if (!call) return;
  res.setHeader('Content-Disposition', attachmentName(call.sid, 'json'));
  res.type('json').send(`${JSON.stringify(toJsonExport(call.record, call.events, Date.now(), await analyses?.analysisOf(call.sid)), null, 2)}\n`);
}

async function exportText(store: TranscriptStore, req: Request, res: Response, analyses?: Analyses, timeZoneOf: ZoneOf = utc): Promise<void> {
  const call = await withCall(store, req, res);
  if (!call) return;
  res.setHeader('Content-Disposition', attachmentName(call.sid, 'txt'));
  const analysis = await analyses?.analysisOf(call.sid);
  res.type('text/plain; charset=utf-8').send(toTextExport(call.record, call.events, { timeZone: timeZoneOf(call.record.flow ?? null), ...(analysis ? { analysis } : {}) }));
}

/** GET /api/calls/:sid/recording.wav, from under DATA_DIR (only paths the recorder writes). */
async function recording(deps: CallsDeps, req: Request, res: Response, next: NextFunction): Promise<void> {
  const sid = String(req.params.sid);
  const record = SID.test(sid) ? await deps.store.getCall(sid) : undefined;
  const path = record?.recordingPath;
  if (!path || !/^recordings\/[A-Za-z0-9_-]+\.wav$/.test(path)) {
    return void res.status(404).json({ error: 'not_found', message: `no recording for call ${sid}` });
  }
  res.setHeader('Cache-Control', 'private, max-age=0');
  res.sendFile(path, { root: deps.dataDir, dotfiles: 'deny', cacheControl: false, headers: { 'Content-Type': 'audio/wav' } }, (err?: Error) => {
    if (!err) return;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as { status?: number }).status === 404) {
      if (!res.headersSent) res.status(404).json({ error: 'not_found', message: `recording file of call ${sid} is missing` });
      return;
    }
    next(err);
  });
}
