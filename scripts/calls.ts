/**
 * Call records from the command line (reads the server's store: PostgreSQL with $DATABASE_URL, else
 * DATA_DIR's SQLite file; only `analyse` writes: it queues jobs).
 *
 *   npm run calls -- list [--q text] [--outcome failed,transferred] [--flow name]
 *                         [--from 2025-06-01] [--to 2025-06-30] [--limit 20] [--offset 0]
 *   npm run calls -- show <callSid>
 *   npm run calls -- export <callSid> [--format json|txt]
 *   npm run calls -- analyse <callSid>… | --since 1d   (re-runs the post-call analysis: src/aftercall/cli.ts)
 *   npm run calls -- follow-ups [--flow name] [--state open|done|all] [--limit 200] [--csv]
 *
 * Options: --data-dir DIR (default: $DATA_DIR or ./data), --show-numbers (list/show mask caller
 * numbers by default; exports are complete). Times and --from/--to days are in the business's
 * time zone: the call's flow's hours.timeZone (read from --flows-dir, default $FLOWS_DIR or
 * ./flows), else $TIME_ZONE, else UTC; --time-zone ZONE overrides them all.
 */
import { parseArgs } from 'node:util';
import { StoreOpenError } from '../src/transcripts/sqlite-store.js';
import { openStore, type Stores } from '../src/transcripts/open-store.js';
import type { TranscriptStore } from '../src/transcripts/store.js';
import { formatDuration, OUTCOME_LABELS, toJsonExport, toTextExport } from '../src/transcripts/format.js';
import { CALL_OUTCOMES, type CallOutcome } from '../src/transcripts/types.js';
import { addDays, isLocalDate, ZoneCalendar } from '../src/dashboard/days.js';
import { flowDirZones, isTimeZone } from '../src/dashboard/flow-zones.js';
import type { TimeZoneOf } from '../src/dashboard/time-zones.js';
import { analyseCommand } from '../src/aftercall/cli.js';
import { createLogger } from '../src/shared/log.js';
import { followUpsCsv } from '../src/dashboard/follow-ups-csv.js';

const USAGE = `usage:
  npm run calls -- list [--q text] [--outcome o1,o2] [--flow name] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--limit n] [--offset n]
  npm run calls -- show <callSid>
  npm run calls -- export <callSid> [--format json|txt]
  npm run calls -- analyse <callSid>… | --since 1d|12h   (re-runs the post-call analysis)
  npm run calls -- follow-ups [--flow name] [--state open|done|all] [--limit n] [--csv]   (calls needing a person)
options: --data-dir DIR (default $DATA_DIR or ./data), --show-numbers,
  --time-zone ZONE (default: each call's flow's hours.timeZone from --flows-dir, else $TIME_ZONE, else UTC)
outcomes: ${CALL_OUTCOMES.join(', ')}`;

class UsageError extends Error {}

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const OUTCOME_COLOURS: Record<CallOutcome, string> = {
  in_progress: '35', completed: '32', transferred: '34', ended_by_bot: '36', caller_hung_up: '90', failed: '31',
};

function mask(number: string): string {
  const digits = number.replace(/\D/g, '');
  return digits.length < 6 ? '•••' : `${number.startsWith('+') ? '+' : ''}•••••${digits.slice(-4)}`;
}

/** The start of day `value` (or of the day after, for --to) in `zone`. */
function localDay(value: string, name: string, endOfDay: boolean, zone: string): number {
  if (!isLocalDate(value) || value < '1970' || value >= '9000') throw new UsageError(`--${name} must be a date like 2025-06-13 (1970 to 8999)`);
  return new ZoneCalendar(zone).startOf(endOfDay ? addDays(value, 1) : value);
}

/** "2026-03-08 23:30 EDT": the time in the call's business zone, with the zone's short name. */
function whenIn(zoneOf: TimeZoneOf): (ms: number, flow: string | undefined) => string {
  const calendars = new Map<string, { cal: ZoneCalendar; name: Intl.DateTimeFormat }>();
  return (ms, flow) => {
    const zone = zoneOf(flow ?? null);
    let z = calendars.get(zone);
    if (!z) calendars.set(zone, (z = { cal: new ZoneCalendar(zone), name: new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'short' }) }));
    const short = z.name.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? zone;
    return `${z.cal.format(ms)} ${short}`;
  };
}

/** The business zone of each call (see the header), or a UsageError for an unknown zone. */
function zonesOf(values: Record<string, string | boolean | undefined>): TimeZoneOf {
  const forced = typeof values['time-zone'] === 'string' ? values['time-zone'] : undefined;
  const fallback = process.env.TIME_ZONE || undefined;
  for (const [name, zone] of [['--time-zone', forced], ['TIME_ZONE', fallback]] as const) {
    if (zone !== undefined && !isTimeZone(zone)) throw new UsageError(`${name}: "${zone}" is not a known time zone (use an IANA name such as America/New_York)`);
  }
  if (forced !== undefined) return () => forced;
  const flowsDir = typeof values['flows-dir'] === 'string' ? values['flows-dir'] : process.env.FLOWS_DIR ?? './flows';
  return flowDirZones(flowsDir, fallback);
}

function clip(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`;
}

function table(rows: string[][], widths: number[]): string {
  // Pads by visible length (colour codes do not count).
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(Math.max(1, (widths[i] ?? 0) - visible(cell) + 2)))).join('')).join('\n');
}

async function list(store: TranscriptStore, values: Record<string, string | boolean | undefined>, zoneOf: TimeZoneOf): Promise<void> {
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  const offset = values.offset === undefined ? 0 : Number(values.offset);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000');
  if (!Number.isInteger(offset) || offset < 0) throw new UsageError('--offset must be a whole number, 0 or more');
  let outcome: CallOutcome[] | undefined;
  if (typeof values.outcome === 'string') {
    outcome = values.outcome.split(',').map((s) => s.trim()) as CallOutcome[];
    const bad = outcome.filter((o) => !CALL_OUTCOMES.includes(o));
    if (bad.length > 0) throw new UsageError(`unknown outcome ${bad.join(', ')}; use ${CALL_OUTCOMES.join(', ')}`);
  }
  // --from/--to are days of the listed flow's zone (of the default zone without --flow).
  const dayZone = zoneOf(typeof values.flow === 'string' ? values.flow : null);
  const when = whenIn(zoneOf);
  const page = await store.listCalls({
    limit,
    offset,
    ...(typeof values.q === 'string' && { q: values.q }),
    ...(typeof values.flow === 'string' && { flow: values.flow }),
    ...(outcome && { outcome }),
    ...(typeof values.from === 'string' && { from: localDay(values.from, 'from', false, dayZone) }),
    ...(typeof values.to === 'string' && { to: localDay(values.to, 'to', true, dayZone) }),
  });
  if (page.total === 0) {
    console.log('No calls match.');
    return;
  }
  const rows = [['WHEN', 'CALL SID', 'CALLER', 'FLOW', 'LENGTH', 'OUTCOME', 'SAID'].map((h) => paint('1', h))];
  for (const { record: r, preview, match } of page.calls) {
    const said = match ? match.snippet.replace(/\u0002/g, color ? '\x1b[1;33m' : '').replace(/\u0003/g, color ? '\x1b[0m' : '') : preview ? `“${clip(preview, 60)}”` : '';
    rows.push([
      when(r.startedAt, r.flow),
      r.callSid,
      values['show-numbers'] ? r.from : mask(r.from),
      r.flow ?? '—',
      r.durationMs === undefined ? '—' : formatDuration(r.durationMs),
      paint(OUTCOME_COLOURS[r.outcome] ?? '0', OUTCOME_LABELS[r.outcome] ?? r.outcome),
      said,
    ]);
  }
  console.log(table(rows, [22, 34, 16, 12, 8, 14]));
  const shown = `${offset + 1}-${offset + page.calls.length} of ${page.total} ${page.total === 1 ? 'call' : 'calls'}`;
  console.log(paint('2', `\n${shown}${offset + page.calls.length < page.total ? ` (more with --offset ${offset + page.calls.length})` : ''}`));
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      q: { type: 'string' }, outcome: { type: 'string' }, flow: { type: 'string' }, from: { type: 'string' },
      to: { type: 'string' }, limit: { type: 'string' }, offset: { type: 'string' }, format: { type: 'string' },
      'data-dir': { type: 'string' }, 'show-numbers': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      'time-zone': { type: 'string' }, 'flows-dir': { type: 'string' }, since: { type: 'string' },
      state: { type: 'string' }, csv: { type: 'boolean' },
    },
  });
  if (positionals[0] === 'analyse' || positionals[0] === 'analyze') return analyse(values, positionals.slice(1));
  const [command, sid] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  const dataDir = values['data-dir'] ?? process.env.DATA_DIR ?? './data';
  let stores: Stores;
  try {
    stores = await openStore(process.env, { dataDir, readOnly: true, poolSize: 2 });
  } catch (err) {
    if (err instanceof StoreOpenError) {
      console.error(`calls: ${err.message}`);
      return 1;
    }
    throw err;
  }
  try {
    const zoneOf = zonesOf(values);
    if (command === 'list') {
      await list(stores.transcripts, values, zoneOf);
      return 0;
    }
    if (command === 'follow-ups') {
      await followUps(stores, values, zoneOf);
      return 0;
    }
    if (command !== 'show' && command !== 'export') throw new UsageError(`unknown command "${command}"`);
    if (!sid) throw new UsageError(`${command} needs a call sid (see "npm run calls -- list")`);
    const record = await stores.transcripts.getCall(sid);
    if (!record) {
      console.error(`calls: no call ${sid} in ${stores.location}`);
      return 1;
    }
    const events = await stores.transcripts.getEvents(sid);
    const analysis = await stores.analyses.getAnalysis(sid);
    const withAnalysis = analysis ? { analysis } : {};
    if (command === 'show') {
      const shown = values['show-numbers'] ? record : { ...record, from: mask(record.from) };
      process.stdout.write(toTextExport(shown, events, { timeZone: zoneOf(record.flow ?? null), ...withAnalysis }));
      return 0;
    }
    const format = values.format ?? 'json';
    if (format === 'json') process.stdout.write(`${JSON.stringify(toJsonExport(record, events, Date.now(), analysis), null, 2)}\n`);
    else if (format === 'txt') process.stdout.write(toTextExport(record, events, { timeZone: zoneOf(record.flow ?? null), ...withAnalysis }));
    else throw new UsageError('--format must be json or txt');
    return 0;
  } finally {
    await stores.close();
  }
}

/** `follow-ups`: the dashboard's list (record flag or analysis, not marked done), or its CSV. */
async function followUps(stores: Stores, values: Record<string, string | boolean | undefined>, zoneOf: TimeZoneOf): Promise<void> {
  const state = values.state ?? 'open';
  if (state !== 'open' && state !== 'done' && state !== 'all') throw new UsageError('--state must be open, done or all');
  const limit = values.limit === undefined ? 200 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 5000) throw new UsageError('--limit must be a whole number from 1 to 5000');
  const query = { state, limit, ...(typeof values.flow === 'string' ? { flow: values.flow } : {}) } as const;
  const { items, total } = await stores.dashboard.followUps(query);
  if (values.csv) return void process.stdout.write(followUpsCsv(items, zoneOf, process.env.PUBLIC_BASE_URL ?? ''));
  if (total === 0) return void console.log(state === 'done' ? 'No follow-ups marked done.' : 'Nothing to follow up.');
  const when = whenIn(zoneOf);
  const rows = [['WHEN', 'CALL SID', 'CALLER', 'FLOW', 'WHY', ...(state === 'open' ? [] : ['DONE'])].map((h) => paint('1', h))];
  for (const i of items) {
    const why = [i.analysis?.followUp ? i.analysis.followUpReason : null, ...(i.followUp?.reasons ?? [])].filter((r): r is string => !!r).join(' ');
    const done = i.done ? `${i.done.by}, ${when(i.done.atMs, i.flow ?? undefined)}` : '';
    rows.push([when(i.startedAt, i.flow ?? undefined), i.callSid, values['show-numbers'] ? i.from : mask(i.from), i.flow ?? '—', clip(why || 'the analysis says so', 70), ...(state === 'open' ? [] : [done])]);
  }
  console.log(table(rows, [22, 34, 16, 12, 70]));
  console.log(paint('2', `\n${items.length} of ${total} ${state === 'all' ? '' : `${state} `}follow-up${total === 1 ? '' : 's'}`));
}

/** `analyse`: writes to the store (queues jobs), so it opens it itself rather than read-only. */
async function analyse(values: Record<string, string | boolean | undefined>, sids: string[]): Promise<number> {
  const since = typeof values.since === 'string' ? /^(\d{1,4})([dh])$/.exec(values.since) : null;
  if (values.since !== undefined && !since) throw new UsageError('--since must be a number of days or hours, e.g. 1d or 12h');
  if (sids.length === 0 && !since) throw new UsageError('analyse needs call sids or --since 1d');
  const sinceMs = since ? Date.now() - Number(since[1]) * (since[2] === 'd' ? 86_400_000 : 3_600_000) : undefined;
  const env = process.env;
  return analyseCommand({
    dataDir: typeof values['data-dir'] === 'string' ? values['data-dir'] : env.DATA_DIR ?? './data',
    flowsDir: typeof values['flows-dir'] === 'string' ? values['flows-dir'] : env.FLOWS_DIR ?? './flows',
    env: { DATABASE_URL: env.DATABASE_URL, GEMINI_API_KEY: env.GEMINI_API_KEY, GEMINI_LIVE_URL: env.GEMINI_LIVE_URL, GEMINI_API_BASE_URL: env.GEMINI_API_BASE_URL, ANALYSIS_MODEL: env.ANALYSIS_MODEL },
    ...(sids.length > 0 ? { callSids: sids } : {}),
    ...(sinceMs !== undefined ? { sinceMs } : {}),
    log: createLogger({ level: env.LOG_LEVEL ?? 'warn', destination: process.stderr }),
    print: (line) => console.log(line),
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`calls: ${(err as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    console.error('calls: failed:', err);
    process.exit(1);
  },
);
