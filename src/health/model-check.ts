/**
 * Does the Gemini endpoint accept every model the flows use? One short setup per model (open the
 * session, wait for setupComplete, close: no audio, no prompt), run by `flows:check` and at boot
 * when a Gemini key is set, so a misspelt or retired model is reported before a caller meets it.
 * Uses the same client as the breakers' health probe (./model-probe.ts).
 *
 * Verdicts: `accepted`; `refused` (the service answered with a non-retryable error such as 1008
 * "models/X is not found", CB_GEMINI_MODEL_NOT_FOUND); `unknown` (a network failure or timeout:
 * retryable, so it proves nothing and is only a warning). Accepted models are cached in a small
 * JSON file (DATA_DIR/model-check.json) per endpoint, key fingerprint and model, for `ttlMs`
 * (a day by default), so boot opens no session for models checked recently. Refusals are not
 * cached: the fix is seen on the next run.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { GeminiLiveSession, LIVE_URL, type GeminiLiveSessionOptions } from '../gemini/index.js';
import { CallbridgeError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';

export const MODEL_CHECK_FILE = 'model-check.json';
const DEFAULT_TTL_MS = 24 * 3600 * 1000;

export interface ModelCheckOptions {
  apiKey: string;
  /** GEMINI_LIVE_URL; default Google's Live endpoint. */
  url?: string | undefined;
  log?: Logger;
  /** Where accepted models are remembered (e.g. DATA_DIR/model-check.json); no cache without it. */
  cacheFile?: string | undefined;
  /** How long an accepted model stays accepted without a new check. Default one day. */
  ttlMs?: number;
  /** Per setup. Default 8000 ms. */
  timeoutMs?: number;
  now?: () => number;
  connect?: (options: GeminiLiveSessionOptions) => Promise<GeminiLiveSession>;
}

export interface ModelVerdict {
  model: string;
  status: 'accepted' | 'refused' | 'unknown';
  /** The verdict came from the cache (no session was opened). */
  cached: boolean;
  /** CB_* code and the service's words, when not accepted. */
  code?: string;
  message?: string;
}

/** Which flows use which model (primary and fallbacks), in first-use order. */
export type ModelUses = Map<string, string[]>;

/**
 * The Live models each flow runs on: GEMINI_MODEL overrides primaries; a flow without model: gets
 * the defaults. A `pipeline: cascade` flow runs on text models, not Live ones (docs/cascade.md).
 */
export function modelUses(
  flows: ReadonlyArray<{ name: string; model?: string | undefined; fallbackModels: readonly string[]; pipeline?: string }>,
  d: { override?: string | undefined; defaultModel: string; defaultFallbackModels: readonly string[] },
): ModelUses {
  const uses: ModelUses = new Map();
  for (const flow of flows) {
    if (flow.pipeline === 'cascade') continue;
    const primary = d.override ?? flow.model ?? d.defaultModel;
    const fallbacks = flow.fallbackModels.length > 0 ? flow.fallbackModels : flow.model ? [] : d.defaultFallbackModels;
    for (const model of new Set([primary, ...fallbacks])) {
      const names = uses.get(model) ?? [];
      if (!names.includes(flow.name)) names.push(flow.name);
      uses.set(model, names);
    }
  }
  return uses;
}

interface CacheFile {
  version: 1;
  accepted: Record<string, { model: string; endpoint: string; at: number }>;
}

function fingerprint(endpoint: string, apiKey: string, model: string): string {
  return createHash('sha256').update(`${endpoint}\n${createHash('sha256').update(apiKey).digest('hex')}\n${model}`).digest('hex').slice(0, 32);
}

function readCache(file: string | undefined, log: Logger): CacheFile {
  const empty: CacheFile = { version: 1, accepted: {} };
  if (!file) return empty;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<CacheFile>;
    return parsed.version === 1 && parsed.accepted && typeof parsed.accepted === 'object' ? { version: 1, accepted: parsed.accepted } : empty;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err, file }, 'model check cache unreadable; checking every model again');
    return empty;
  }
}

function writeCache(file: string, cache: CacheFile, log: Logger): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(cache, null, 2)}\n`);
    renameSync(tmp, file);
  } catch (err) {
    log.warn({ err, file }, 'model check cache could not be written');
  }
}

/** One short setup: accepted when setupComplete arrives. */
async function probeSetup(model: string, o: ModelCheckOptions, log: Logger): Promise<Omit<ModelVerdict, 'cached'>> {
  const connect = o.connect ?? ((opts: GeminiLiveSessionOptions) => GeminiLiveSession.connect(opts));
  let session: GeminiLiveSession | undefined;
  try {
    session = await connect({
      apiKey: o.apiKey,
      ...(o.url ? { url: o.url } : {}),
      setupTimeoutMs: o.timeoutMs ?? 8000,
      log,
      config: { model, systemInstruction: 'Configuration check; no conversation follows.', inputTranscription: false, outputTranscription: false },
    });
    return { model, status: 'accepted' };
  } catch (err) {
    const e = err instanceof CallbridgeError ? err : new CallbridgeError('CB_GEMINI_HANDSHAKE_FAILED', String((err as Error)?.message ?? err));
    return { model, status: e.retryable ? 'unknown' : 'refused', code: e.code, message: e.message };
  } finally {
    await session?.close('model check done').catch(() => undefined);
  }
}

/** Checks each model once (cached acceptances skip the setup); verdicts in the order given. */
export async function checkModels(models: Iterable<string>, o: ModelCheckOptions): Promise<ModelVerdict[]> {
  const log = o.log ?? silentLogger();
  const now = o.now ?? Date.now;
  const ttlMs = o.ttlMs ?? DEFAULT_TTL_MS;
  const endpoint = o.url ?? LIVE_URL;
  const cache = readCache(o.cacheFile, log);
  let changed = false;
  const verdicts = await Promise.all(
    [...new Set(models)].map(async (model): Promise<ModelVerdict> => {
      const key = fingerprint(endpoint, o.apiKey, model);
      const hit = cache.accepted[key];
      if (hit && now() - hit.at < ttlMs && now() >= hit.at) return { model, status: 'accepted', cached: true };
      const verdict = await probeSetup(model, o, log);
      if (verdict.status === 'accepted') {
        cache.accepted[key] = { model, endpoint, at: now() };
        changed = true;
      } else if (hit) {
        delete cache.accepted[key];
        changed = true;
      }
      return { ...verdict, cached: false };
    }),
  );
  if (changed && o.cacheFile) writeCache(o.cacheFile, cache, log);
  return verdicts;
}

/** Plain sentences for the models that were not accepted, naming the flows that use them. */
export function describeVerdicts(verdicts: readonly ModelVerdict[], uses: ModelUses): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const v of verdicts) {
    const flows = uses.get(v.model) ?? [];
    const who = flows.length > 0 ? `flow${flows.length === 1 ? '' : 's'} ${flows.join(', ')}` : 'GEMINI_MODEL';
    if (v.status === 'refused') errors.push(`model ${v.model} (used by ${who}) was refused by the Gemini endpoint: ${v.message ?? v.code} [${v.code}]`);
    else if (v.status === 'unknown') warnings.push(`model ${v.model} (used by ${who}) could not be checked: ${v.message ?? v.code} [${v.code}]`);
  }
  return { errors, warnings };
}
