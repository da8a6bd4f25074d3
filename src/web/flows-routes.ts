/**
 * The flows page and its API, behind the same admin login as /calls (admin-guard.ts):
 *  - GET /flows: every flow with its status, problems (file:line), numbers, hours and whether it
 *    is open now (the business clock, so CALLBRIDGE_NOW applies), its stage diagram (laid out by
 *    src/flows/diagram.ts, drawn as SVG by static/flows.js) and "Try it" (/phone?flow=<name>);
 *  - GET /api/flows: the same as JSON;
 *  - POST /api/flows/reload: reloads FLOWS_DIR and TOOLS_DIR now and answers with the problems.
 * What serves is the catalogue's last good version; problems are those of the files on disk now.
 */
import { fileURLToPath } from 'node:url';
import type express from 'express';
import type { Response } from 'express';
import type { Logger } from '../shared/log.js';
import { isOpen, nextOpening, type Flow, type FlowProblem, type LoadedFlows, type ReloadResult } from '../flows/index.js';
import { layoutFlow } from '../flows/diagram.js';
import { adminGuards, adminPage } from './admin-guard.js';

export interface FlowsRouteOptions {
  catalog: { readonly current: LoadedFlows; readonly lastReload: ReloadResult; reload(reason?: string): Promise<ReloadResult> };
  adminToken?: string | undefined;
  nodeEnv: string;
  log: Logger;
  /** The business clock (CALLBRIDGE_NOW moves it): "open now" and the next opening. */
  now: () => Date;
  /** False without Twilio REST credentials: flows with transfer targets get a warning. */
  transfersAvailable: boolean;
  /** Other warnings to show on the page (e.g. from the boot checks). */
  warnings?: () => string[];
}

const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));

export const TRANSFERS_UNAVAILABLE = 'transfers are impossible: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not set, so a transfer ends the call instead';

export function mountFlows(app: express.Express, o: FlowsRouteOptions): void {
  const guards = adminGuards({ adminToken: o.adminToken, nodeEnv: o.nodeEnv, app });
  const page = adminPage(guards.auth, `${UI_DIR}html/flows.html`);
  app.use(['/flows', '/api/flows'], guards.headers);
  app.get('/flows', guards.ui, (_req, res) => void res.type('html').send(page));
  app.get('/api/flows', guards.api, (_req, res) => void res.json(flowsReport(o)));
  app.post('/api/flows/reload', guards.api, (_req, res) => void reload(o, res));
}

async function reload(o: FlowsRouteOptions, res: Response): Promise<void> {
  // A cross-site POST never gets here: guards.api refuses state-changing requests from other sites.
  try {
    const r = await o.catalog.reload('api');
    res.status(r.applied ? 200 : 422).json({
      applied: r.applied,
      message: r.applied ? 'Reloaded: the next calls use these flows.' : 'Refused: the last good version keeps serving. Fix the problems and reload again.',
      problems: r.problems.map(describeProblem),
      warnings: r.warnings.map(describeProblem),
      versions: r.versions,
      changed: r.changed,
      durationMs: Math.round(r.durationMs * 10) / 10,
    });
  } catch (err) {
    o.log.error({ err }, 'flow reload request failed');
    if (!res.headersSent) res.status(500).json({ error: 'internal', message: 'The reload failed; see the server log.' });
  }
}

/** A problem with its "file:line:column" location spelled out for people. */
export function describeProblem(p: FlowProblem): FlowProblem & { where: string } {
  const where = `${p.file}${p.line !== undefined ? `:${p.line}` : ''}${p.line !== undefined && p.column !== undefined ? `:${p.column}` : ''}`;
  return { ...p, where };
}

/** GET /api/flows: every flow serving now, the problems of the files on disk, the warnings. */
export function flowsReport(o: FlowsRouteOptions): Record<string, unknown> {
  const loaded = o.catalog.current;
  const last = o.catalog.lastReload;
  const now = o.now();
  const problemsByFile = group(last.problems);
  const warningsByFile = group(last.warnings);
  const servedFiles = new Set(loaded.flows.map((f) => f.file));
  const flows = loaded.flows.map((flow) => flowEntry(flow, o, now, problemsByFile.get(flow.file) ?? [], warningsByFile.get(flow.file) ?? []));
  const otherFiles = [...problemsByFile.entries()]
    .filter(([file]) => !servedFiles.has(file))
    .map(([file, problems]) => ({ file, problems: problems.map(describeProblem) }));
  const warnings = [...(o.warnings?.() ?? [])];
  if (!o.transfersAvailable && loaded.flows.some((f) => Object.keys(f.transfers).length > 0)) warnings.push(TRANSFERS_UNAVAILABLE);
  return {
    now: now.toISOString(),
    lastReload: { applied: last.applied, reason: last.reason, at: new Date(last.at).toISOString(), durationMs: Math.round(last.durationMs * 10) / 10, problems: last.problems.length, changed: last.changed },
    warnings,
    flows,
    otherFiles,
  };
}

function group(problems: readonly FlowProblem[]): Map<string, FlowProblem[]> {
  const out = new Map<string, FlowProblem[]>();
  for (const p of problems) out.set(p.file, [...(out.get(p.file) ?? []), p]);
  return out;
}

function flowEntry(flow: Flow, o: FlowsRouteOptions, now: Date, problems: FlowProblem[], warnings: FlowProblem[]): Record<string, unknown> {
  const transfers = Object.entries(flow.transfers).map(([name, number]) => ({ name, number }));
  const flowWarnings = warnings.map(describeProblem);
  if (!o.transfersAvailable && transfers.length > 0) flowWarnings.push({ file: flow.file, message: TRANSFERS_UNAVAILABLE, where: flow.file });
  return {
    name: flow.name,
    description: flow.description,
    file: flow.file,
    version: flow.version,
    // "invalid": the file on disk has problems, so the last good version (this one) keeps serving.
    status: problems.length > 0 ? 'invalid' : 'ok',
    problems: problems.map(describeProblem),
    warnings: flowWarnings,
    default: flow.default,
    numbers: flow.numbers,
    hours: hoursOf(flow, now),
    transfers,
    functions: flow.functions,
    voice: flow.voice,
    language: flow.language,
    model: flow.model,
    diagram: layoutFlow(flow),
    tryUrl: `/phone?flow=${encodeURIComponent(flow.name)}`,
  };
}

function hoursOf(flow: Flow, now: Date): Record<string, unknown> {
  if (!flow.hours) return { always: true, openNow: true };
  const next = isOpen(flow, now) ? null : nextOpening(flow, now);
  return {
    always: false,
    openNow: isOpen(flow, now),
    timeZone: flow.hours.timeZone,
    weekly: Object.fromEntries(Object.entries(flow.hours.weekly).map(([day, ranges]) => [day, ranges.length === 0 ? 'closed' : ranges.map(([a, b]) => `${hhmm(a)}–${hhmm(b)}`).join(', ')])),
    closedDates: flow.hours.closedDates,
    outsideHours: flow.hours.outsideHours,
    nextOpening: next,
  };
}

/** Minutes after midnight → "08:30". */
function hhmm(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}
