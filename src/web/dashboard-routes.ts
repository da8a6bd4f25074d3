/**
 * The owner's dashboard, behind the same admin login as /calls (admin-guard.ts):
 *  - GET /dashboard: the page (ui/html/dashboard.html + static/dashboard.js);
 *  - GET /api/dashboard?from=&to=&flow=: per flow and per day, days in the flow's time zone
 *    (its `hours.timeZone`, else TIME_ZONE, else UTC): calls, outcomes, follow-ups open, median
 *    length, top intents (post-call analysis), failed functions, transfers; and the range's total;
 *  - GET /api/follow-ups?state=open|done|all&flow=&limit=: the calls needing a person (record flag
 *    or analysis), newest first; GET /api/follow-ups.csv: the same as a spreadsheet;
 *  - POST /api/follow-ups/:sid/done { by? }: marks one done (who and when); DELETE undoes it.
 * Days are computed here (src/dashboard/days.ts) and counted by the store in SQL, a week per
 * query with the event loop free in between (calls in progress keep their audio flowing); the
 * range's totals are the days added up (src/dashboard/totals.ts) plus the store's median.
 */
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../shared/log.js';
import type { DashboardStore, WindowFigures } from '../transcripts/after-call-store.js';
import { isAnyCallSid } from '../twilio/sids.js';
import { addDays, daysBetween, isLocalDate, ZoneCalendar, type LocalDate } from '../dashboard/days.js';
import { followUpsCsv } from '../dashboard/follow-ups-csv.js';
import { addUp, trimDay } from '../dashboard/totals.js';
import { adminGuards, adminPage, clientOf } from './admin-guard.js';

export interface DashboardDeps {
  dashboard: DashboardStore;
  /** The time zone of a flow's business (its hours.timeZone, else the TIME_ZONE default, else UTC). */
  timeZoneOf: (flow: string | null) => string;
  /** The business clock (CALLBRIDGE_NOW moves it): which day is "today". */
  now: () => Date;
  adminToken?: string | undefined;
  nodeEnv: string;
  log: Logger;
  /** For absolute call links in the CSV (default: links relative to this server). */
  publicBaseUrl?: string;
}

const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));
/** The longest range one request may ask for, in days. */
export const MAX_DASHBOARD_DAYS = 92;
const DEFAULT_DAYS = 7;
/** Rows of the follow-up list (JSON and CSV). */
const MAX_FOLLOW_UPS = 5000;

const date = z
  .string()
  .refine(isLocalDate, 'must be a date written YYYY-MM-DD, e.g. 2026-03-08')
  .refine((d) => d >= '1970-01-01' && d <= '9000-12-31', 'must be between 1970 and 9000');
const flowName = z.string().min(1).max(100, 'must be at most 100 characters');

const DashboardQuery = z.object({ from: date.optional(), to: date.optional(), flow: flowName.optional() }).strict();
const FollowUpsQuery = z
  .object({
    state: z.enum(['open', 'done', 'all'], { error: 'must be open, done or all' }).default('open'),
    flow: flowName.optional(),
    limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(MAX_FOLLOW_UPS, `must be at most ${MAX_FOLLOW_UPS}`).default(200),
  })
  .strict();
const DoneBody = z
  .object({
    by: z
      .string()
      .trim()
      .max(80, 'must be at most 80 characters')
      .refine((s) => !/[\p{Cc}\p{Cf}]/u.test(s), 'must be plain text (no control characters)')
      .optional(),
  })
  .strict();

export function mountDashboard(app: express.Express, deps: DashboardDeps): void {
  const guards = adminGuards({ adminToken: deps.adminToken, nodeEnv: deps.nodeEnv, app });
  const page = adminPage(guards.auth, `${UI_DIR}html/dashboard.html`);
  const safe = safeHandler(deps.log);
  app.use(['/dashboard', '/api/dashboard', '/api/follow-ups'], guards.headers);
  app.get('/dashboard', guards.ui, (_req, res) => void res.type('html').send(page));
  app.get('/api/dashboard', guards.api, safe((req, res) => dashboardReport(deps, req, res)));
  app.get('/api/follow-ups.csv', guards.api, safe((req, res) => followUpsCsvRoute(deps, req, res)));
  app.get('/api/follow-ups', guards.api, safe((req, res) => followUpsJson(deps, req, res)));
  const json = express.json({ limit: '2kb', type: () => true });
  app.post('/api/follow-ups/:sid/done', guards.api, json, safe((req, res) => markDone(deps, guards.auth, req, res)));
  app.delete('/api/follow-ups/:sid/done', guards.api, safe((req, res) => undoDone(deps, req, res)));
}

type Handler = (req: Request, res: Response) => Promise<void>;

function safeHandler(log: Logger): (handler: Handler) => Handler {
  return (handler) => async (req, res) => {
    try {
      await handler(req, res);
    } catch (err) {
      log.error({ err, path: req.path }, 'dashboard request failed');
      if (!res.headersSent) res.status(500).json({ error: 'internal', message: 'Reading the dashboard failed; see the server log.' });
    }
  };
}

/** Parses the query (empty values mean "not given"), or answers 400 naming every problem. */
function parseQuery<T extends z.ZodType>(schema: T, req: Request, res: Response): z.output<T> | undefined {
  const raw = Object.fromEntries(Object.entries(req.query).filter(([, v]) => v !== ''));
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  badRequest(res, parsed.error);
  return undefined;
}

function badRequest(res: Response, error: z.ZodError): void {
  const issues = error.issues.map((i) => {
    if (i.code === 'unrecognized_keys') return { param: i.keys.join(', '), message: 'unknown parameter' };
    const message = i.code === 'invalid_type' && i.expected === 'string' ? 'must be given once' : i.message;
    return { param: i.path.join('.') || '(query)', message };
  });
  res.status(400).json({ error: 'bad_request', message: issues.map((i) => `${i.param}: ${i.message}`).join('; '), issues });
}

function refuse(res: Response, param: string, message: string): void {
  res.status(400).json({ error: 'bad_request', message: `${param}: ${message}`, issues: [{ param, message }] });
}

/** GET /api/dashboard. */
async function dashboardReport(deps: DashboardDeps, req: Request, res: Response): Promise<void> {
  const q = parseQuery(DashboardQuery, req, res);
  if (!q) return;
  const todayZone = deps.timeZoneOf(q.flow ?? null);
  const today = new ZoneCalendar(todayZone).dateOf(deps.now().getTime());
  const to: LocalDate = q.to ?? (q.from !== undefined ? addDays(q.from, DEFAULT_DAYS - 1) : today);
  const from: LocalDate = q.from ?? addDays(to, -(DEFAULT_DAYS - 1));
  if (from > to) return refuse(res, 'from', 'must not be after to');
  if (daysBetween(from, to) > MAX_DASHBOARD_DAYS) return refuse(res, 'to', `at most ${MAX_DASHBOARD_DAYS} days from from`);
  const known = await deps.dashboard.flowsWithCalls();
  const flows = q.flow !== undefined ? [q.flow] : known;
  const report = [];
  for (const flow of flows) {
    const entry = await flowFigures(deps, flow, from, to);
    // Without a flow filter, flows with no calls in the range are left out.
    if (q.flow !== undefined || entry.total.calls > 0) report.push(entry);
  }
  res.json({ from, to, today, timeZone: todayZone, flows: report, knownFlows: known.filter((f): f is string => f !== null) });
}

/** Days read per query: a long range is read in chunks, yielding to calls in between (better-sqlite3 blocks). */
const DAYS_PER_QUERY = 7;

const yieldToCalls = () => new Promise<void>((resolve) => setImmediate(resolve));

async function flowFigures(deps: DashboardDeps, flow: string | null, from: LocalDate, to: LocalDate) {
  const timeZone = deps.timeZoneOf(flow);
  const days = new ZoneCalendar(timeZone).days(from, to);
  const figures: WindowFigures[] = [];
  for (let i = 0; i < days.length; i += DAYS_PER_QUERY) {
    await yieldToCalls();
    const windows = days.slice(i, i + DAYS_PER_QUERY).map((d) => ({ key: d.date, startMs: d.startMs, endMs: d.endMs }));
    figures.push(...(await deps.dashboard.figures({ flow, windows, topIntents: Infinity })));
  }
  await yieldToCalls();
  const median = await deps.dashboard.medianDurationMs(flow, days[0]!.startMs, days[days.length - 1]!.endMs);
  const byKey = new Map(figures.map((f) => [f.key, f]));
  const dayEntry = (d: (typeof days)[number]) => ({ date: d.date, startMs: d.startMs, endMs: d.endMs, ...withoutKey(trimDay(byKey.get(d.date)!)) });
  return { flow, timeZone, days: days.map(dayEntry), total: withoutKey(addUp('total', figures, median)) };
}

function withoutKey(f: WindowFigures): Omit<WindowFigures, 'key'> {
  const { key: _key, ...rest } = f;
  return rest;
}

async function followUpList(deps: DashboardDeps, req: Request, res: Response) {
  const q = parseQuery(FollowUpsQuery, req, res);
  if (!q) return undefined;
  const page = await deps.dashboard.followUps({ state: q.state, limit: q.limit, ...(q.flow !== undefined ? { flow: q.flow } : {}) });
  return { ...page, state: q.state, items: page.items.map((i) => ({ ...i, timeZone: deps.timeZoneOf(i.flow), link: `/calls/${i.callSid}` })) };
}

/** GET /api/follow-ups. */
async function followUpsJson(deps: DashboardDeps, req: Request, res: Response): Promise<void> {
  const list = await followUpList(deps, req, res);
  if (list) res.json(list);
}

/** GET /api/follow-ups.csv: the list as the page shows it (same filters), times in each flow's zone. */
async function followUpsCsvRoute(deps: DashboardDeps, req: Request, res: Response): Promise<void> {
  const list = await followUpList(deps, req, res);
  if (!list) return;
  const day = new ZoneCalendar(deps.timeZoneOf(null)).dateOf(deps.now().getTime());
  res.setHeader('Content-Disposition', `attachment; filename="follow-ups-${list.state}-${day}.csv"`);
  res.type('text/csv; charset=utf-8').send(followUpsCsv(list.items, deps.timeZoneOf, deps.publicBaseUrl ?? ''));
}

/** The call named by :sid, or undefined after answering 400. */
function sidOf(req: Request, res: Response): string | undefined {
  const sid = String(req.params.sid);
  if (isAnyCallSid(sid)) return sid;
  res.status(400).json({ error: 'bad_request', message: 'sid: not a call sid' });
  return undefined;
}

/** POST /api/follow-ups/:sid/done: who (the name typed, else who is signed in), from where, when. */
async function markDone(deps: DashboardDeps, auth: { identify: (req: Request) => { user: string } | undefined }, req: Request, res: Response): Promise<void> {
  const sid = sidOf(req, res);
  if (!sid) return;
  const body = DoneBody.safeParse(req.body ?? {});
  if (!body.success) return badRequest(res, body.error);
  const via = auth.identify(req)?.user ?? 'admin';
  const mark = { by: body.data.by || via, via, client: clientOf(req), atMs: deps.now().getTime() };
  if (!(await deps.dashboard.markDone(sid, mark))) return void res.status(404).json({ error: 'not_found', message: `no call ${sid}` });
  deps.log.info({ callSid: sid, by: mark.by, via }, 'follow-up marked done');
  res.json({ callSid: sid, done: mark });
}

/** DELETE /api/follow-ups/:sid/done: the call is open again. */
async function undoDone(deps: DashboardDeps, req: Request, res: Response): Promise<void> {
  const sid = sidOf(req, res);
  if (!sid) return;
  if (!(await deps.dashboard.undoDone(sid))) return void res.status(404).json({ error: 'not_found', message: `call ${sid} is not marked done` });
  deps.log.info({ callSid: sid }, 'follow-up reopened');
  res.json({ callSid: sid, done: null });
}
