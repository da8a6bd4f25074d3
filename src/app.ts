/**
 * Builds and starts a whole callbridge server from a validated environment: flows and tools,
 * the transcript store and writer, prompts, Twilio call control, the Gemini endpoint (the real
 * one, GEMINI_LIVE_URL, or the built-in emulator when there is no API key), the call manager and
 * the HTTP edge. Used by main.ts, the demo and the end-to-end tests (in-process, port 0).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Env } from './config/env.js';
import type { Logger } from './shared/log.js';
import { FlowCatalog, clockStartingAt, type Flow } from './flows/index.js';
import { openScaleOut, scaleTwilioOptions, type ScaleOut, type LocalFeed } from './scale/wire.js';
import { createTranscriptWriter, startRetentionJob, type TranscriptWriter, type TranscriptStore, type RetentionJob } from './transcripts/index.js';
import { openStore, recordingsDirOf, type Stores } from './transcripts/open-store.js';
import { TwilioCallControl } from './twilio/rest.js';
import { createApp, attachUpgradeHandlers, createHttpServer, finishApp, twilioEdgeOf } from './web/server.js';
import { mountCalls, liveCallsOf } from './web/calls-routes.js';
import { mountPhone } from './web/phone-routes.js';
import { mountFlows } from './web/flows-routes.js';
import { mountNotify, type NotifyApi } from './web/notify-routes.js';
import { startNotifications, type NotifyTestOptions } from './notify/wire.js';
import { mountDashboard } from './web/dashboard-routes.js';
import { startAfterCall, analysisEndpoint, type AfterCall, type AfterCallTestOptions } from './aftercall/index.js';
import { mountAnalysis } from './web/analysis-routes.js';
import { timeZoneResolver } from './dashboard/time-zones.js';
import { BrowserPhone } from './call/index.js';
import { CallManager, TwilioCalls, geminiConnect, type CallManagerOptions, loadPromptFile, builtInPromptPath, DEFAULT_MODEL, DEFAULT_FALLBACK_MODELS, type RetryPolicy, type LiveConnect } from './call/index.js';
import { cascadeConnectFor, DEFAULT_CASCADE_MODEL } from './call/index.js';
import { openMigration } from './scale/migrate-wire.js';
import { ModelBreakers, type BreakerOptions } from './health/breakers.js';
import { geminiProbe, LastProbes } from './health/model-probe.js';
import { mountMetrics } from './metrics/index.js';
import { refusedModels, runBootChecks } from './health/boot-checks.js';
import { checkProduction, listenHost } from './app-checks.js';

export interface StartOptions {
  env: Env;
  log: Logger;
  /** Where flows/*.yaml and tools/*.ts live (default: FLOWS_DIR and TOOLS_DIR). */
  flowsDir?: string;
  toolsDir?: string;
  /** Options for the built-in emulator when there is no GEMINI_API_KEY / GEMINI_LIVE_URL. */
  emulator?: Record<string, unknown>;
  /** Test and benchmark knobs. */
  preopen?: boolean;
  noStreamTimeoutMs?: number;
  startTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  breakers?: BreakerOptions;
  setupTimeoutMs?: number;
  /** Reload flows and functions when their files change (default true). */
  watchFlows?: boolean;
  /** The business clock (hours, closed dates, functions' ctx.now()), overriding CALLBRIDGE_NOW. */
  now?: () => Date;
  /** Post-call analysis test knobs: poll interval, retry limits (src/aftercall/index.ts). */
  afterCall?: AfterCallTestOptions;
  /** Notification test knobs: retry schedule, request timeout, jitter (src/notify/wire.ts). */
  notify?: NotifyTestOptions;
}

export interface Callbridge {
  url: string;
  port: number;
  publicBaseUrl: string;
  manager: CallManager;
  writer: TranscriptWriter;
  store: TranscriptStore;
  /** Every part of the call store: SQLite under DATA_DIR, or PostgreSQL with DATABASE_URL (src/transcripts/open-store.ts). */
  stores: Stores;
  breakers: ModelBreakers;
  scale: ScaleOut | undefined; // several instances on one database (src/scale/wire.ts): id, registry, ready peers; undefined when off
  /** The live catalogue: what serves now (`current`), hot reload (watching FLOWS_DIR and TOOLS_DIR), versions, problems. */
  catalog: FlowCatalog;
  /** After the call: the job queue and runner, analyses (src/aftercall/). */
  afterCall: AfterCall;
  /** The business clock: now, or the test clock of CALLBRIDGE_NOW (hours, "open now"). */
  businessNow(): Date;
  /** The Gemini Live endpoint in use and whether it is the built-in emulator. */
  gemini: { url: string | undefined; emulated: boolean };
  /** Set when the built-in emulator runs in this process. */
  emulator: { url: string; close(): Promise<void> } | undefined;
  /** Graceful stop: readiness off, drain calls up to `deadlineMs`, flush transcripts, close. */
  shutdown(deadlineMs?: number): Promise<void>;
}

export { checkProduction, listenHost, PRODUCTION_ADMIN_TOKEN_MIN } from './app-checks.js';

/** The Gemini endpoint; `flowUrl`: the built-in emulator's URL for a flow's sessions. */
interface GeminiUse {
  apiKey: string;
  url: string | undefined;
  emulated: boolean;
  flowUrl?: (flow: string) => string;
  /** The built-in emulator's REST base for a flow (a cascade flow's text model and speech). */
  restFor?: (flow: string) => string;
}

/** The test clock of CALLBRIDGE_NOW (or the `now` option): starts at that instant and advances. */
function testClock(options: StartOptions): (() => Date) | undefined {
  if (options.now) return options.now;
  const at = options.env.CALLBRIDGE_NOW;
  if (!at) return undefined;
  options.log.warn({ CALLBRIDGE_NOW: at }, 'test clock: business hours, closed dates and functions use CALLBRIDGE_NOW, advancing from boot');
  return clockStartingAt(new Date(at));
}

/** Gemini: the real service, an explicit endpoint, or the built-in emulator (offline development). */
async function geminiEndpoint(options: StartOptions, catalog: FlowCatalog): Promise<{ gemini: GeminiUse; emulator: Callbridge['emulator'] }> {
  const { env, log } = options;
  if (env.GEMINI_API_KEY) return { gemini: { apiKey: env.GEMINI_API_KEY, url: env.GEMINI_LIVE_URL, emulated: false }, emulator: undefined };
  if (env.GEMINI_LIVE_URL) return { gemini: { apiKey: 'no-key', url: env.GEMINI_LIVE_URL, emulated: false }, emulator: undefined };
  const { startEmulator, FlowScenarios, flowScenarioFile, emulatorUrlForFlow } = await import('./emulator/index.js');
  // Each session plays the scenario of its call's flow (docs/scenarios.md), read per session.
  const scenarios = new FlowScenarios({ scenariosDir: resolve(env.SCENARIOS_DIR), scenarioPathOf: (name) => flowScenarioFile(catalog.current.router.byName(name)), log });
  const emu = await startEmulator({ port: 0, host: '127.0.0.1', log: log.child({ component: 'emulator' }), scenarioForFlow: (flow) => scenarios.resolve(flow), ...options.emulator });
  log.warn({ url: emu.url }, 'GEMINI_API_KEY is not set: using the built-in Gemini Live emulator (offline development only)');
  const { emulatorRestBaseForFlow } = await import('./emulator/stream-generate.js');
  const gemini = { apiKey: 'emulator', url: emu.url, emulated: true, flowUrl: (flow: string) => emulatorUrlForFlow(emu.url, flow), restFor: (flow: string) => emulatorRestBaseForFlow(emu.httpUrl, flow) };
  return { gemini, emulator: { url: emu.url, close: () => emu.close() } };
}

/** Twilio REST call control (transfers), when both credentials are set. */
function twilioRest(env: Env, log: Logger): TwilioCallControl | undefined {
  const rest =
    env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN
      ? new TwilioCallControl({
          accountSid: env.TWILIO_ACCOUNT_SID,
          authToken: env.TWILIO_AUTH_TOKEN,
          ...(env.TWILIO_API_BASE_URL ? { apiBaseUrl: env.TWILIO_API_BASE_URL } : {}),
          log,
        })
      : undefined;
  if (!rest) log.warn('TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN not both set: transfers are unavailable');

  return rest;
}

/** Per flow: the built-in emulator learns from the URL which flow a session is for. */
function flowConnect(apiKey: string, flowUrl: (flow: string) => string, setupTimeoutMs: number | undefined): (flow: Flow) => LiveConnect {
  return (flow) => geminiConnect({ apiKey, url: flowUrl(flow.name), ...(setupTimeoutMs ? { setupTimeoutMs } : {}) });
}

/** Per flow: a cascade flow's agent (docs/cascade.md); on the built-in emulator a Live flow's own URL; else the one endpoint. */
function agentFor(options: StartOptions, gemini: GeminiUse): (flow: Flow) => LiveConnect | undefined {
  const live = gemini.flowUrl ? flowConnect(gemini.apiKey, gemini.flowUrl, options.setupTimeoutMs) : undefined;
  return (flow) => (flow.pipeline === 'cascade' ? cascadeConnectFor(options.env, gemini.restFor?.(flow.name), flow) : live?.(flow));
}

/** The call manager for these flows, on this Gemini endpoint. */
function callManager(
  options: StartOptions,
  d: { catalog: FlowCatalog; writer: TranscriptWriter; dataDir: string; prompts: CallManagerOptions['prompts']; breakers: ModelBreakers; gemini: GeminiUse; scale?: ScaleOut | undefined; stores: Stores; rest: TwilioCallControl | undefined },
): CallManager {
  const { env, log } = options;
  const { catalog, writer, dataDir, prompts, breakers, gemini } = d;
  const migration = openMigration(env, { scale: d.scale, stores: d.stores, rest: d.rest, flush: () => writer.flush(), abort: (sid, why) => manager.abort(sid, 'CB_MIGRATION_FAILED', why), log });
  const manager: CallManager = new CallManager({
    log,
    flows: () => catalog.current,
    writer,
    dataDir,
    agent: {
      connect: geminiConnect({
        apiKey: gemini.apiKey,
        ...(gemini.url ? { url: gemini.url } : {}),
        ...(options.setupTimeoutMs ? { setupTimeoutMs: options.setupTimeoutMs } : {}),
      }),
      connectFor: agentFor(options, gemini),
      defaultModel: DEFAULT_MODEL,
      defaultCascadeModel: DEFAULT_CASCADE_MODEL,
      defaultFallbackModels: DEFAULT_FALLBACK_MODELS,
      ...(env.GEMINI_MODEL ? { model: env.GEMINI_MODEL } : {}),
      stallTimeoutMs: env.GEMINI_STALL_TIMEOUT_MS,
      ...(options.retry ? { retry: options.retry } : {}),
    },
    breakers,
    prompts,
    ...(d.scale ? { scale: d.scale.ownership } : {}), // several instances: which one runs which call (docs/scale-out.md)
    ...(migration ? { migration } : {}), // live migration: moved calls arrive; MIGRATE_ON_DRAIN moves them away (docs/scale-out.md)
    ...(options.preopen !== undefined ? { preopen: options.preopen } : {}),
    ...(options.noStreamTimeoutMs !== undefined ? { noStreamTimeoutMs: options.noStreamTimeoutMs } : {}),
    maxCalls: env.MAX_CALLS,
    maxPendingCalls: env.MAX_PENDING_CALLS,
    ...(options.now ? { now: options.now } : {}),
  });
  return manager;
}

/** Listens on PORT/HOST; the public URL defaults to this machine on the bound port. */
async function listen(env: Env, log: Logger): Promise<{ server: http.Server; port: number; publicBaseUrl: string }> {
  const server = createHttpServer(); // with the slow-client limits (web/server.ts)
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(env.PORT, listenHost(env), () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const publicBaseUrl = env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${port}`;
  if (!env.PUBLIC_BASE_URL) log.warn({ publicBaseUrl }, 'PUBLIC_BASE_URL is not set: assuming this machine (fine for the simulator; Twilio needs a public https URL)');

  return { server, port, publicBaseUrl };
}

/** What /readyz says: ready unless stopping, draining or at capacity (`reason` says which); calls, every model breaker, the last background probe per model. */
/** GET /readyz: 200 when ready, else 503, with the reasons either way (load balancers, probes). */
function mountReadyz(app: ReturnType<typeof createApp>, state: () => Record<string, unknown> & { ready: boolean }): void {
  app.get('/readyz', (_req, res) => {
    const r = state();
    res.status(r.ready ? 200 : 503).json(r);
  });
}

function readiness(manager: CallManager, breakers: ModelBreakers, probes: LastProbes, emulated: boolean, stopping: boolean): Record<string, unknown> & { ready: boolean } {
  const calls = manager.status();
  const reason = stopping ? 'stopping' : calls.draining ? 'draining' : calls.atCapacity ? 'at_capacity' : undefined;
  return {
    ready: reason === undefined,
    ...(reason ? { reason } : {}),
    calls,
    gemini: { emulated },
    breakers: breakers.status().map((b) => ({ ...b, stallLimitMs: manager.replyTimes.stallMs(b.model) })),
    probes: probes.list(),
  };
}

/** Graceful stop: drain calls up to the deadline, flush transcripts, close everything. */
async function shutdown(
  p: { manager: CallManager; retention: RetentionJob; app: ReturnType<typeof createApp>; writer: TranscriptWriter; store: Stores; server: http.Server; emulator: Callbridge['emulator']; log: Logger; afterCall: AfterCall; scale?: ScaleOut | undefined },
  deadlineMs: number,
): Promise<void> {
  const drained = await p.manager.drain(deadlineMs);
  p.log.info(drained, 'calls drained');
  p.retention.stop();
  twilioEdgeOf(p.app)?.close();
  liveCallsOf(p.app)?.closeAll();
  await p.writer.close().catch((err: unknown) => p.log.error({ err }, 'flushing transcripts at shutdown failed'));
  await p.afterCall.stop(); // jobs in flight finish; queued ones wait in the store for the next start
  await p.scale?.stop(); // leaves the instance registry
  await p.store.close();
  await new Promise<void>((ok) => p.server.close(() => ok()));
  p.server.closeAllConnections?.();
  await p.emulator?.close();
}

/** Flows and code functions from FLOWS_DIR / TOOLS_DIR (or the given dirs), watched for changes; warnings are logged. */
async function openCatalog(options: StartOptions): Promise<FlowCatalog> {
  const { env, log } = options;
  const checks = { env, dataDir: resolve(env.DATA_DIR), log, defaultModel: DEFAULT_MODEL, defaultFallbackModels: DEFAULT_FALLBACK_MODELS };
  const flowsDir = options.flowsDir ?? resolve(env.FLOWS_DIR);
  const catalog = await FlowCatalog.open({
    flowsDir,
    toolsDir: options.toolsDir ?? resolve(env.TOOLS_DIR),
    env: process.env,
    log: log.child({ component: 'flows' }),
    // A reload that brings in a model the endpoint refuses is refused like a file error.
    vet: async (flows) => (await refusedModels({ ...checks, flows })).map((message) => ({ file: flowsDir, message })),
  });
  // Transfers this server cannot make (warning); with a key, models the endpoint refuses (boot stops).
  await runBootChecks({ ...checks, flows: catalog.current.flows });
  if (options.watchFlows !== false) catalog.watch();
  return catalog;
}

/** The catalog, once the production refusals (they need its warnings) and HOST pass; closed again when refused. */
async function openCheckedCatalog(options: StartOptions): Promise<FlowCatalog> {
  const { env } = options;
  if (env.NODE_ENV !== 'production') listenHost(env); // a refused HOST stops boot before anything opens
  const catalog = await openCatalog(options);
  try {
    checkProduction(env, catalog.lastReload.warnings, catalog.current.flows);
  } catch (err) {
    catalog.close();
    throw err;
  }
  return catalog;
}

/** The call review (/calls) and the owner's dashboard (/dashboard); times in the business's zone: the flow's hours.timeZone, else TIME_ZONE, else UTC. */
function mountReview(
  app: ReturnType<typeof createApp>,
  d: { env: Env; log: Logger; store: TranscriptStore; stores: Stores; writer: TranscriptWriter; live: LocalFeed; dataDir: string; catalog: FlowCatalog; now: () => Date; publicBaseUrl: string; afterCall: AfterCall; notifier: NotifyApi },
): void {
  const { env, log, store } = d;
  const timeZoneOf = timeZoneResolver(() => d.catalog.current.flows, env.TIME_ZONE);
  mountCalls(app, { store, adminToken: env.ADMIN_TOKEN, nodeEnv: env.NODE_ENV, log, dataDir: d.dataDir, live: d.live, timeZoneOf, analyses: d.afterCall });
  mountAnalysis(app, { store, afterCall: d.afterCall, adminToken: env.ADMIN_TOKEN, nodeEnv: env.NODE_ENV, log });
  mountDashboard(app, { dashboard: d.stores.dashboard, timeZoneOf, now: d.now, adminToken: env.ADMIN_TOKEN, nodeEnv: env.NODE_ENV, log, publicBaseUrl: d.publicBaseUrl });
  mountNotify(app, { notifier: d.notifier, adminToken: env.ADMIN_TOKEN, nodeEnv: env.NODE_ENV, log, timeZoneOf: async (sid) => timeZoneOf((await store.getCall(sid))?.flow ?? null) });
}

/** The browser test phone (/phone), the flows page (/flows) and Prometheus metrics (/metrics). */
function mountTools(
  app: ReturnType<typeof createApp>,
  d: { env: Env; log: Logger; manager: CallManager; writer: TranscriptWriter; catalog: FlowCatalog; publicBaseUrl: string; now: () => Date; transfersAvailable: boolean; server: http.Server; breakers: ModelBreakers },
): void {
  const { env, log, manager, writer, catalog } = d;
  const admin = { adminToken: env.ADMIN_TOKEN, nodeEnv: env.NODE_ENV, log };
  mountPhone(app, { phone: new BrowserPhone({ manager, feed: writer, log }), ...admin, flows: () => catalog.current.flows, publicBaseUrl: d.publicBaseUrl });
  mountFlows(app, { catalog, ...admin, now: d.now, transfersAvailable: d.transfersAvailable });
  mountMetrics(app, { writer, frames: manager, closeWith: d.server, calls: () => manager.status(), breakers: () => d.breakers.status(), ...admin, metricsToken: env.METRICS_TOKEN });
}

export async function startCallbridge(options: StartOptions): Promise<Callbridge> {
  const { env, log } = options;
  const catalog = await openCheckedCatalog(options);

  const dataDir = resolve(env.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const stores = await openStore(env, { dataDir, log }).catch((err: unknown) => { catalog.close(); throw err; }); // PostgreSQL with DATABASE_URL, else SQLite under DATA_DIR
  const store = stores.transcripts, recordingsDir = recordingsDirOf(env, dataDir); // RECORDINGS_DIR: shared by instances
  const scale = await openScaleOut(env, stores, log); // several instances on this database (docs/scale-out.md)
  const writer = createTranscriptWriter({ store: scale?.transcripts ?? store, log });
  const prompts = { apology: loadPromptFile('apology', builtInPromptPath('apology')), apologyTransfer: loadPromptFile('apology-transfer', builtInPromptPath('apology-transfer')) };

  const { gemini, emulator } = await geminiEndpoint(options, catalog);
  const afterCall = startAfterCall({ store, queue: stores.jobs, analyses: stores.analyses, writer, flows: () => catalog.current.flows, gemini: analysisEndpoint(env, emulator?.url), log, ...options.afterCall });
  const notifier = startNotifications({ env, store, deliveries: stores.deliveries, afterCall, flows: () => catalog.current.flows, log, options: options.notify }); // before any await
  const clock = testClock(options);
  const rest = twilioRest(env, log);
  // An open breaker is tested with synthetic sessions (the probe's one-turn check), never with a caller.
  const probes = new LastProbes();
  const breakers = new ModelBreakers({
    probe: geminiProbe({ apiKey: gemini.apiKey, ...(gemini.url ? { url: gemini.url } : {}), log: log.child({ component: 'probe' }), results: probes }),
    ...options.breakers,
  });
  const manager = callManager(clock ? { ...options, now: clock } : options, { catalog, writer, dataDir: recordingsDir, prompts, breakers, gemini, scale, stores, rest });
  const twilioCalls = new TwilioCalls({ manager, rest, log, ...(env.FALLBACK_NUMBER ? { fallbackNumber: env.FALLBACK_NUMBER } : {}) });

  // Bind first: with PORT=0 the public URL (and so the TwiML and signatures) needs the real port.
  const { server, port, publicBaseUrl } = await listen(env, log);
  await scale?.start(env.INSTANCE_URL ?? publicBaseUrl, () => manager.draining);
  notifier.publicBaseUrl = publicBaseUrl; // the notifications' call-page links

  const app = createApp({
    log,
    trustProxy: env.TRUST_PROXY, publicBaseUrl, // req.ip per TRUST_PROXY (admin throttle); https: HSTS
    twilio: {
      publicBaseUrl,
      ...(env.TWILIO_AUTH_TOKEN ? { authToken: env.TWILIO_AUTH_TOKEN } : {}),
      handler: twilioCalls,
      ...(options.startTimeoutMs ? { startTimeoutMs: options.startTimeoutMs } : {}),
      ...scaleTwilioOptions(env, scale),
    },
  });
  let stopping = false;
  mountReadyz(app, () => readiness(manager, breakers, probes, gemini.emulated, stopping));
  mountReview(app, { env, log, store, stores, writer, live: scale?.liveFeed(writer) ?? writer, dataDir: recordingsDir, catalog, now: () => clock?.() ?? new Date(), publicBaseUrl, afterCall, notifier });
  mountTools(app, { env, log, manager, writer, catalog, publicBaseUrl, now: () => clock?.() ?? new Date(), transfersAvailable: rest !== undefined, server, breakers });
  finishApp(app); // the error handler goes after every route
  server.on('request', app);
  attachUpgradeHandlers(app, server);

  const retention: RetentionJob = startRetentionJob({
    store,
    dataDir: recordingsDir,
    policy: () => ({ flows: Object.fromEntries(catalog.current.flows.map((f) => [f.name, f.retentionDays])) }),
    log,
  });

  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    publicBaseUrl,
    manager,
    writer,
    store,
    stores,
    breakers, scale,
    catalog,
    afterCall,
    businessNow: () => clock?.() ?? new Date(),
    gemini: { url: gemini.url, emulated: gemini.emulated },
    emulator,
    shutdown: (deadlineMs = 30_000) => {
      if (stopping) return Promise.resolve();
      stopping = true;
      catalog.close();
      return shutdown({ manager, retention, app, writer, store: stores, server, emulator, log, afterCall, scale }, deadlineMs);
    },
  };
}
