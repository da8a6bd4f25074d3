/**
 * `npm run calls -- analyse <callSid>… | --since 1d`: runs the post-call analysis again. It queues
 * (or re-queues) each call's `analysis:<CallSid>` job in the store (PostgreSQL with DATABASE_URL, else
 * DATA_DIR's SQLite file); a running server picks
 * the jobs up within a second (and runs the notifications hook). When no server claims them within
 * a few seconds, the command runs them itself, reading the flows' `analysis` declarations straight
 * from the flow files (docs/after-call.md).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { AnalysisSetting } from '../flows/analysis-schema.js';
import type { Logger } from '../shared/log.js';
import { DEFAULT_DB_FILE, type AnalysisStore, type CallAnalysis, type Job, type JobQueue, type JobState, type TranscriptStore } from '../transcripts/index.js';
import { isPostgresUrl, openStore } from '../transcripts/open-store.js';
import { analysisHandler, analysisKey, currentAnalysis, queueAnalysis, type AnalysisFlow } from './analyse.js';
import { analysisEndpoint, type AnalysisEndpointEnv } from './index.js';
import { JobRunner } from './runner.js';

export interface AnalyseCommand {
  dataDir: string;
  flowsDir: string;
  /** DATABASE_URL: the PostgreSQL store instead of DATA_DIR's SQLite file. */
  env: AnalysisEndpointEnv & { DATABASE_URL?: string | undefined };
  /** Calls named on the command line, or every ended call started since `sinceMs`. */
  callSids?: string[];
  sinceMs?: number;
  log: Logger;
  print: (line: string) => void;
  /** How long to wait for a running server to claim the jobs before running them here. */
  serverWaitMs?: number;
  /** How long to wait for the analyses to settle. */
  timeoutMs?: number;
  nowMs?: () => number;
}

const MAX_CALLS = 500;

/** The flows' names, personas and analysis declarations; a file that does not parse is skipped. */
export function readAnalysisFlows(dir: string): AnalysisFlow[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.ya?ml$/i.test(n));
  } catch {
    return [];
  }
  const flows: AnalysisFlow[] = [];
  for (const n of names) {
    try {
      const doc = parse(readFileSync(join(dir, n), 'utf8')) as { name?: unknown; persona?: unknown; analysis?: unknown } | null;
      const analysis = AnalysisSetting.safeParse(doc?.analysis);
      if (typeof doc?.name !== 'string' || !analysis.success) continue;
      flows.push({ name: doc.name, persona: typeof doc.persona === 'string' ? doc.persona : '', analysis: analysis.data });
    } catch {
      // not a flow we can read: its calls are analysed with no declared fields
    }
  }
  return flows;
}

async function callsToAnalyse(store: TranscriptStore, c: AnalyseCommand): Promise<string[]> {
  if (c.callSids && c.callSids.length > 0) return c.callSids;
  const page = await store.listCalls({ from: c.sinceMs ?? 0, limit: MAX_CALLS });
  if (page.total > MAX_CALLS) c.print(`${page.total} calls match; analysing the newest ${MAX_CALLS}`);
  return page.calls.filter((s) => s.record.outcome !== 'in_progress').map((s) => s.record.callSid);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the command; the exit code (0 when every analysis settled ok or skipped). */
export async function analyseCommand(c: AnalyseCommand): Promise<number> {
  if (!isPostgresUrl(c.env.DATABASE_URL) && !existsSync(join(c.dataDir, DEFAULT_DB_FILE))) {
    c.print(`no call database in ${c.dataDir} (no calls recorded yet, or another DATA_DIR)`);
    return 1;
  }
  const now = c.nowMs ?? Date.now;
  const stores = await openStore(c.env, { dataDir: c.dataDir, poolSize: 2 });
  const { transcripts: store, jobs: queue, analyses } = stores;
  const model = analysisEndpoint(c.env, undefined).model;
  try {
    const sids: string[] = [];
    for (const sid of await callsToAnalyse(store, c)) {
      if (!(await store.getCall(sid))) {
        c.print(`${sid}: no such call`);
        continue;
      }
      await queueAnalysis(queue, analyses, sid, model, now());
      sids.push(sid);
    }
    if (sids.length === 0) return c.callSids?.length ? 1 : 0;
    c.print(`queued ${sids.length} ${sids.length === 1 ? 'analysis' : 'analyses'}`);
    const states = async () => Promise.all(sids.map(async (sid) => (await queue.jobsOf(sid)).find((j) => j.key === analysisKey(sid))));
    const claimed = async () => (await states()).some((j) => j && (j.state !== 'queued' || j.attempts > 0));
    const deadline = Date.now() + (c.serverWaitMs ?? 3000);
    while (Date.now() < deadline && !(await claimed())) await sleep(200);
    if (await claimed()) {
      c.print('a running callbridge server is analysing them');
      // Until each has been tried: a job waiting for a retry (429, 5xx) is left to the server.
      const until = Date.now() + (c.timeoutMs ?? 180_000);
      while (Date.now() < until && (await states()).some((j) => j && (j.state === 'running' || (j.state === 'queued' && j.attempts === 0)))) await sleep(250);
    } else {
      await runHere(c, store, analyses, queue);
    }
    const results = await analyses.analysesOf(sids);
    return report(c, sids, results, await states(), model);
  } finally {
    await stores.close();
  }
}

/** No server took the jobs: run them in this process until they settle (or wait for a long retry). */
async function runHere(c: AnalyseCommand, store: TranscriptStore, analyses: AnalysisStore, queue: JobQueue): Promise<void> {
  const gemini = analysisEndpoint(c.env, undefined);
  if (!c.env.GEMINI_API_KEY && !c.env.GEMINI_API_BASE_URL && !c.env.GEMINI_LIVE_URL) {
    c.print('no server is running and GEMINI_API_KEY is not set: start callbridge (it analyses with its emulator) or set GEMINI_API_KEY');
    return;
  }
  c.print(`no server took them: analysing here with ${gemini.model}`);
  const flows = readAnalysisFlows(c.flowsDir);
  const runner = new JobRunner({ queue, log: c.log, ...(c.nowMs ? { nowMs: c.nowMs } : {}) });
  runner.register('analysis', analysisHandler({ store, analyses, gemini, log: c.log, flowOf: (name) => flows.find((f) => f.name === name), ...(c.nowMs ? { nowMs: c.nowMs } : {}) }));
  const until = Date.now() + (c.timeoutMs ?? 180_000);
  // Claims due jobs until none is left; a job retried later (429, 5xx) is left for the server.
  while (Date.now() < until && (await runner.runOnce()) > 0) await runner.idle();
  await runner.stop();
}

function report(
  c: AnalyseCommand,
  sids: string[],
  results: Map<string, CallAnalysis>,
  jobs: Array<(Job & { state: JobState }) | undefined>,
  model: string,
): number {
  let bad = 0;
  for (const [i, sid] of sids.entries()) {
    const a = currentAnalysis(results.get(sid), jobs[i], model);
    if (!a || a.status === 'pending') {
      bad++;
      c.print(`${sid}: still queued (a retry is scheduled; the server finishes it)`);
    } else if (a.status === 'ok') {
      c.print(`${sid}: ok${a.followUp ? ' · FOLLOW UP' : ''} · ${a.summary}`);
    } else {
      if (a.status === 'failed') bad++;
      c.print(`${sid}: ${a.status}${a.errorCode ? ` ${a.errorCode}` : ''} · ${a.error ?? ''}`);
    }
  }
  return bad === 0 ? 0 : 1;
}
