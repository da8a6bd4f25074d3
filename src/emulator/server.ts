/**
 * The emulator's HTTP + WebSocket server: serves the Live API path (v1beta and v1alpha), checks
 * the API key like the real endpoint (`?key=` or `x-goog-api-key`), keeps the session registry and
 * the resumption handle store (per instance), and answers GET /emulator/stats for out-of-process
 * use. Start it with {@link startEmulator}.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { LIVE_PATH } from '../gemini/protocol.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { SeededRng, deriveSeed, type FaultKind } from './faults.js';
import { HandleStore } from './handles.js';
import { DEFAULT_MODELS, modelId, type ModelSpec } from './models.js';
import { resolveOptions, type EmulatorOptions, type ResolvedOptions, type ScenarioSource } from './options.js';
import { SessionRecord, type ReceivedMessage } from './recorder.js';
import { loadScenarioFile, scenarioFromObject, type Scenario } from './scenario.js';
import { ScenarioCursor } from './cursor.js';
import { EmulatedSession, type ResumeSnapshot, type SessionContext } from './session.js';
import { SpeechSynth, espeakModuleUrl } from './tts.js';
import { GenerateContentEmulator, GENERATE_PATH, type GenerateFault } from './generate-content.js';
import { StreamGenerateEmulator, STREAM_GENERATE_PATH, type StreamFault } from './stream-generate.js';
import { TtsEmulator, GEMINI_TTS_PATH, SYNTHESIZE_PATH } from './tts-endpoint.js';
import { readBody } from './http-util.js';

/** `/ws/google.ai.generativelanguage.{v1beta|v1alpha}.GenerativeService.BidiGenerateContent` */
const PATH_PATTERN = /^\/ws\/google\.ai\.generativelanguage\.(v1beta|v1alpha)\.GenerativeService\.BidiGenerateContent$/;

export const DEFAULT_SCENARIO_PATH = fileURLToPath(new URL('../../scenarios/default.yaml', import.meta.url));

export interface EmulatorStats {
  url: string;
  startedAt: string;
  counts: {
    sessions: number;
    active: number;
    received: number;
    sent: number;
    audioChunksSent: number;
    garbageSent: number;
    handles: number;
  };
  faultsInjected: Partial<Record<FaultKind, number>>;
  sessions: Record<string, unknown>[];
}

export interface Emulator {
  /** ws URL of the Live endpoint (v1beta path): what GEMINI_LIVE_URL should be. */
  readonly url: string;
  /** http origin: the `httpOptions.baseUrl` for @google/genai. */
  readonly httpUrl: string;
  readonly host: string;
  readonly port: number;
  /** Every session so far (open and closed), in connection order. */
  readonly sessions: readonly SessionRecord[];
  readonly tts: SpeechSynth;
  /** REST generateContent (post-call analysis): request count and fault injection. */
  readonly generate: GenerateContentEmulator;
  /** REST streamGenerateContent (the cascade's text model): requests, `timing`, fault injection. */
  readonly streamGenerate: StreamGenerateEmulator;
  /** Cloud TTS text:synthesize (the cascade's voice); its delay is `streamGenerate.timing.ttsFirstByteMs`. */
  readonly synthesize: TtsEmulator;
  session(id: number): SessionRecord | undefined;
  /** Messages received, of one session or all, in arrival order per session. */
  received(sessionId?: number): ReceivedMessage[];
  stats(): EmulatorStats;
  /** Resolves with the record of the next (or `id`-th) session to connect. */
  waitForSession(id?: number, timeoutMs?: number): Promise<SessionRecord>;
  /** Resolves when session `id` has closed. */
  waitForClose(id: number, timeoutMs?: number): Promise<SessionRecord>;
  on(event: 'session' | 'session-closed', listener: (record: SessionRecord) => void): this;
  off(event: 'session' | 'session-closed', listener: (record: SessionRecord) => void): this;
  /** Cuts every open socket, stops listening and (if it owns it) the speech worker. */
  close(): Promise<void>;
}

/** Authorizes a key the way `requireApiKey` asks. */
function keyAccepted(required: ResolvedOptions['requireApiKey'], key: string | undefined): boolean {
  if (!required) return true;
  if (!key) return false;
  if (required === true) return true;
  return typeof required === 'string' ? key === required : required.includes(key);
}

async function loadScenario(source: ScenarioSource | undefined): Promise<Scenario> {
  if (source === undefined) return loadScenarioFile(DEFAULT_SCENARIO_PATH);
  if (typeof source === 'string') return loadScenarioFile(source);
  return scenarioFromObject(source);
}

function hasSpokenLines(scenario: Scenario): boolean {
  return new ScenarioCursor(scenario).lines().length > 0 || JSON.stringify(scenario).includes('{{');
}

class EmulatorServer extends EventEmitter implements Emulator {
  readonly url: string;
  readonly httpUrl: string;
  readonly host: string;
  readonly port: number;
  readonly tts: SpeechSynth;
  readonly generate = new GenerateContentEmulator();
  readonly streamGenerate: StreamGenerateEmulator;
  readonly synthesize: TtsEmulator;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #ownsTts: boolean;
  /** Session records by id, oldest first; closed ones beyond maxSessionRecords are dropped. */
  readonly #records = new Map<number, SessionRecord>();
  #sessionsOpened = 0;
  readonly #open = new Map<number, EmulatedSession>();
  readonly #startedAt = new Date();
  readonly #ctx: SessionContext;

  constructor(
    server: Server,
    options: ResolvedOptions,
    scenario: Scenario,
    byModel: Map<string, Scenario>,
    bySystem: Array<{ match: RegExp; scenario: Scenario }>,
    log: Logger,
  ) {
    super();
    this.#server = server;
    const { port } = server.address() as AddressInfo;
    this.port = port;
    this.host = options.host;
    const hostPart = options.host.includes(':') ? `[${options.host}]` : options.host;
    this.httpUrl = `http://${hostPart}:${port}`;
    this.url = `ws://${hostPart}:${port}${LIVE_PATH}`;
    this.#ownsTts = options.tts === undefined;
    this.tts = options.tts ?? new SpeechSynth({ rateWpm: options.ttsRateWpm, cacheDir: options.ttsCacheDir });
    this.#wss = new WebSocketServer({ noServer: true });
    const models: Record<string, ModelSpec> = { ...DEFAULT_MODELS, ...options.models };
    this.#ctx = {
      options,
      models,
      handles: new HandleStore<ResumeSnapshot>(options.handleTtlMs, new SeededRng(deriveSeed(options.seed, 'handles'))),
      tts: this.tts,
      log,
      scenarioFor: (id, systemInstruction) =>
        bySystem.find((r) => r.match.test(systemInstruction))?.scenario ?? byModel.get(modelId(id)) ?? scenario,
      activeSessions: (except) => {
        let n = 0;
        for (const s of this.#open.values()) {
          if (s.record.id !== except && (s.record.state === 'setting-up' || s.record.state === 'active')) n++;
        }
        return n;
      },
      onClosed: (session) => {
        const r = session.record;
        this.#open.delete(r.id);
        log.info({ session: r.id, model: r.model, close: r.close, faults: r.faults }, 'emulator session closed');
        this.emit('session-closed', r);
      },
    };
    this.streamGenerate = new StreamGenerateEmulator(async (flow, model, system) => {
      const byFlow = flow ? this.#ctx.options.scenarioForFlow : undefined;
      return byFlow ? byFlow(flow!) : this.#ctx.scenarioFor(model, system);
    });
    this.synthesize = new TtsEmulator(this.tts, this.streamGenerate.timing);
    server.on('request', (req, res) => this.#onRequest(req, res));
    server.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
  }

  get sessions(): readonly SessionRecord[] {
    return [...this.#records.values()];
  }

  session(id: number): SessionRecord | undefined {
    return this.#records.get(id);
  }

  received(sessionId?: number): ReceivedMessage[] {
    if (sessionId !== undefined) return [...(this.session(sessionId)?.received ?? [])];
    return [...this.#records.values()].flatMap((r) => r.received);
  }

  stats(): EmulatorStats {
    const faultsInjected: Partial<Record<FaultKind, number>> = {};
    const counts = { sessions: this.#sessionsOpened, active: this.#open.size, received: 0, sent: 0, audioChunksSent: 0, garbageSent: 0, handles: this.#ctx.handles.size };
    for (const r of this.#records.values()) {
      counts.received += r.counts.received;
      counts.sent += r.counts.sent;
      counts.audioChunksSent += r.counts.audioChunksSent;
      counts.garbageSent += r.counts.garbageSent;
      for (const f of r.faults) faultsInjected[f] = (faultsInjected[f] ?? 0) + 1;
    }
    return { url: this.url, startedAt: this.#startedAt.toISOString(), counts, faultsInjected, sessions: [...this.#records.values()].map((r) => r.summary()) };
  }

  /** A long-running emulator keeps the newest maxSessionRecords closed sessions' records. */
  #forgetOldRecords(): void {
    let excess = this.#records.size - this.#ctx.options.maxSessionRecords;
    for (const [id, r] of this.#records) {
      if (excess <= 0) return;
      if (r.state !== 'closed') continue;
      this.#records.delete(id);
      excess--;
    }
  }

  waitForSession(id?: number, timeoutMs = 5000): Promise<SessionRecord> {
    const wanted = id ?? this.#sessionsOpened + 1;
    const existing = this.session(wanted);
    if (existing) return Promise.resolve(existing);
    return this.#waitFor('session', (r) => r.id === wanted, timeoutMs, `session ${wanted} to connect`);
  }

  waitForClose(id: number, timeoutMs = 5000): Promise<SessionRecord> {
    const existing = this.session(id);
    if (existing?.state === 'closed') return Promise.resolve(existing);
    return this.#waitFor('session-closed', (r) => r.id === id, timeoutMs, `session ${id} to close`);
  }

  #waitFor(event: string, test: (r: SessionRecord) => boolean, timeoutMs: number, what: string): Promise<SessionRecord> {
    return new Promise((resolve, reject) => {
      const listener = (r: SessionRecord) => {
        if (!test(r)) return;
        clearTimeout(timer);
        this.off(event, listener);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.off(event, listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.on(event, listener);
    });
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    this.#wss.close();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (this.#ownsTts) await this.tts.close();
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body, null, 2));
    };
    if (req.method === 'GET' && url.pathname === '/emulator/stats') return json(200, this.stats());
    const cascade = [STREAM_GENERATE_PATH, SYNTHESIZE_PATH, GEMINI_TTS_PATH].some((p) => p.test(url.pathname)) || url.pathname === '/emulator/cascade';
    if (req.method === 'POST' && cascade) return this.#onCascade(req, res, url);
    if (req.method === 'POST' && (GENERATE_PATH.test(url.pathname) || url.pathname === '/emulator/generate-faults')) return this.#onGenerate(req, res, url);
    const m = /^\/emulator\/sessions\/(\d+)$/.exec(url.pathname);
    const record = m ? this.session(Number(m[1])) : undefined;
    if (req.method === 'GET' && record) {
      return json(200, { ...record.summary(), setup: record.setup, handles: record.handles, events: record.events, received: record.received });
    }
    json(404, { error: { code: 404, message: `No route for ${req.method} ${url.pathname}`, status: 'NOT_FOUND' } });
  }

  /** REST generateContent (generate-content.ts), and its fault queue for out-of-process tests. */
  #onGenerate(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const fail = (err: unknown) => {
      this.#ctx.log.error({ err }, 'emulator generateContent failed');
      if (!res.headersSent) res.writeHead(500).end();
    };
    if (url.pathname === '/emulator/generate-faults') {
      readBody(req).then((text) => {
        this.generate.inject((JSON.parse(text) as { faults: GenerateFault[] }).faults);
        res.writeHead(204).end();
      }).catch(fail);
      return;
    }
    this.generate.handle(req, res, decodeURIComponent(GENERATE_PATH.exec(url.pathname)![1]!), this.#authorized(req, url.searchParams)).catch(fail);
  }

  /** The cascade's REST endpoints (stream-generate.ts, tts-endpoint.ts) and their knobs for out-of-process runs. */
  #onCascade(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const fail = (err: unknown) => {
      this.#ctx.log.error({ err }, 'emulator cascade endpoint failed');
      if (!res.headersSent) res.writeHead(500).end();
      else res.end();
    };
    if (url.pathname === '/emulator/cascade') {
      // {"timing": {firstTokenMs, perTokenMs, ttsFirstByteMs}, "faults": [{status}], "ttsFaults": [503]}
      readBody(req).then((text) => {
        const body = JSON.parse(text) as { timing?: Record<string, number>; faults?: StreamFault[]; ttsFaults?: Array<429 | 500 | 503> };
        Object.assign(this.streamGenerate.timing, body.timing ?? {});
        this.streamGenerate.inject(body.faults ?? []);
        this.synthesize.inject(body.ttsFaults ?? []);
        res.writeHead(204).end();
      }).catch(fail);
      return;
    }
    const authorized = this.#authorized(req, url.searchParams);
    const m = STREAM_GENERATE_PATH.exec(url.pathname);
    if (GEMINI_TTS_PATH.test(url.pathname)) return void this.synthesize.handleGemini(req, res, authorized).catch(fail);
    if (!m) return void this.synthesize.handle(req, res, authorized).catch(fail);
    this.streamGenerate.handle(req, res, { flow: m[1], model: decodeURIComponent(m[2]!) }, authorized).catch(fail);
  }

  /** Whether the request's API key (`?key=`, else the x-goog-api-key header) is accepted. */
  #authorized(req: IncomingMessage, query: URLSearchParams): boolean {
    const header = req.headers['x-goog-api-key'];
    const key = query.get('key') ?? (Array.isArray(header) ? header[0] : header);
    return keyAccepted(this.#ctx.options.requireApiKey, key ?? undefined);
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Not `new URL(req.url)`: @google/genai joins its base URL and the path with a double slash
    // ("…:PORT//ws/…"), which URL would read as a host.
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = (q === -1 ? target : target.slice(0, q)).replace(/^\/+/, '/');
    const query = new URLSearchParams(q === -1 ? '' : target.slice(q + 1));
    const match = PATH_PATTERN.exec(path);
    if (!match) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const authorized = this.#authorized(req, query);
    const flow = query.get('flow');
    const resolveFlow = this.#ctx.options.scenarioForFlow;
    if (flow && resolveFlow && authorized) {
      // Resolved before the upgrade completes, so the session has it when its setup arrives.
      Promise.resolve()
        .then(() => resolveFlow(flow))
        .then(
          (scenario) => this.#accept(req, socket, head, match[1]!, path, authorized, scenario),
          (err: unknown) => {
            this.#ctx.log.error({ err, flow }, 'emulator could not resolve the scenario of a flow');
            this.#accept(req, socket, head, match[1]!, path, authorized, undefined);
          },
        );
      return;
    }
    this.#accept(req, socket, head, match[1]!, path, authorized, undefined);
  }

  #accept(req: IncomingMessage, socket: Duplex, head: Buffer, apiVersion: string, path: string, authorized: boolean, flowScenario: Scenario | undefined): void {
    if (socket.destroyed) return;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const record = new SessionRecord(++this.#sessionsOpened, path, apiVersion, {
        maxReceived: this.#ctx.options.maxRecordedPerSession,
        keepAudio: this.#ctx.options.recordAudioPayloads,
      });
      this.#records.set(record.id, record);
      this.#forgetOldRecords();
      const session = new EmulatedSession(ws, record, this.#ctx, authorized, flowScenario);
      this.#open.set(record.id, session);
      this.#ctx.log.debug({ session: record.id, apiVersion: record.apiVersion, authorized }, 'emulator session opened');
      this.emit('session', record);
    });
  }
}

/**
 * Starts a Gemini Live emulator. `await startEmulator({ port: 0 })` → `{ url, port, sessions,
 * received(), stats(), close() … }`. Scenarios are loaded and checked before it listens.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const resolved = resolveOptions(options);
  const log = resolved.log ?? silentLogger();
  const scenario = await loadScenario(resolved.scenario);
  const byModel = new Map<string, Scenario>();
  for (const [id, source] of Object.entries(resolved.scenariosByModel ?? {})) byModel.set(modelId(id), await loadScenario(source));
  const bySystem: Array<{ match: RegExp; scenario: Scenario }> = [];
  for (const route of resolved.scenariosBySystemInstruction ?? []) {
    bySystem.push({ match: new RegExp(route.match, 'i'), scenario: await loadScenario(route.scenario) });
  }
  const all = [scenario, ...byModel.values(), ...bySystem.map((r) => r.scenario)];
  if (!resolved.tts && all.some(hasSpokenLines)) espeakModuleUrl(); // throws a clear error
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return new EmulatorServer(server, resolved, scenario, byModel, bySystem, log);
}
