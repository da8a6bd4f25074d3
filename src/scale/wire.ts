/**
 * Turns on running several instances over one database (docs/scale-out.md, "Several instances"):
 * the shared state (./instances.ts) on the call store's own database, this instance's identity
 * and heartbeat, the transcript writer's owner filter (./owned-store.ts), the call manager's
 * ownership port (src/call/ownership.ts) and the edge's shared stream-token ledger.
 *
 * On when DATABASE_URL selects PostgreSQL, or INSTANCE_ID, INSTANCE_URL or STREAM_TOKEN_SECRET is
 * set (instances sharing one SQLite DATA_DIR on one machine); off, a single instance works exactly
 * as before.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { Logger } from '../shared/log.js';
import type { TranscriptStore } from '../transcripts/store.js';
import type { CallOwnershipPort } from '../call/index.js';
import { HEARTBEAT_MS, OWNER_KEEP_MS, instanceId, readyPeers, type InstanceState, type ScaleStore } from './instances.js';
import { OwnedWrites, ownedStore } from './owned-store.js';
import { SqliteScaleStore } from './sqlite-scale.js';
import { PgScaleStore } from './pg-scale.js';
import { SharedLiveFeed, type LocalFeed } from './shared-live.js';

export type { LocalFeed } from './shared-live.js';

export interface ScaleEnv {
  NODE_ENV?: string | undefined;
  INSTANCE_ID?: string | undefined;
  INSTANCE_URL?: string | undefined;
  STREAM_TOKEN_SECRET?: string | undefined;
}

/** The parts of the opened call store this needs (src/transcripts/open-store.ts `Stores`). */
export interface ScaleStores {
  backend: 'sqlite' | 'postgres';
  transcripts: TranscriptStore;
  sqlite?: { database: Database.Database };
  pool?: pg.Pool;
}

export interface ScaleOut {
  /** This instance's id (INSTANCE_ID or generated). */
  readonly instance: string;
  readonly shared: ScaleStore;
  /** The store the transcript writer must use: only this instance's calls are written. */
  readonly transcripts: TranscriptStore;
  readonly writes: OwnedWrites;
  /** For the call manager. */
  readonly ownership: CallOwnershipPort;
  /** Registers this instance at `url` and keeps its heartbeat (and draining state) fresh. */
  start(url: string, draining: () => boolean): Promise<void>;
  /** The live call views' feed: `local` (the writer) plus the calls running on the other instances. */
  liveFeed(local: LocalFeed): SharedLiveFeed;
  /** The other live instances ready for calls. */
  readyPeers(): Promise<Array<{ id: string; url: string }>>;
  /** Stops the heartbeat and removes this instance from the registry. */
  stop(): Promise<void>;
}

export function scaleOutWanted(env: ScaleEnv, stores: Pick<ScaleStores, 'backend'>): boolean {
  return stores.backend === 'postgres' || Boolean(env.INSTANCE_ID || env.INSTANCE_URL || env.STREAM_TOKEN_SECRET);
}

/** The shared state on the store's database, or undefined when scale-out is off. */
export async function openScaleOut(env: ScaleEnv, stores: ScaleStores, log: Logger): Promise<ScaleOut | undefined> {
  if (!scaleOutWanted(env, stores)) return undefined;
  const instance = instanceId(env.INSTANCE_ID);
  for (const problem of scaleProblems(env)) log.warn({ code: 'CB_CONFIG_INVALID', instance }, problem);
  let shared: ScaleStore;
  let writes: OwnedWrites;
  if (stores.sqlite) {
    const s = new SqliteScaleStore(stores.sqlite.database);
    shared = s;
    writes = new OwnedWrites(stores.transcripts, { self: instance, owners: (sids) => s.owners(sids), sync: s, log });
  } else if (stores.pool) {
    const s = await PgScaleStore.open(stores.pool);
    shared = s;
    writes = new OwnedWrites(stores.transcripts, { self: instance, owners: (sids) => s.owners(sids), log });
  } else {
    throw new Error(`scale-out needs the SQLite handle or the PostgreSQL pool of the ${stores.backend} store`);
  }
  return scaleOut(instance, shared, writes, stores.transcripts, log);
}

/** Settings that let some calls fail once a second instance shares the database (warned at boot). */
export function scaleProblems(env: ScaleEnv): string[] {
  const problems: string[] = [];
  if (!env.STREAM_TOKEN_SECRET) problems.push('STREAM_TOKEN_SECRET is not set: a media stream that lands on another instance than its webhook is refused (set the same secret on every instance)');
  if (env.INSTANCE_URL?.startsWith('http://') && env.NODE_ENV === 'production') problems.push('INSTANCE_URL is http://: Twilio opens media streams over wss:// only');
  return problems;
}

function scaleOut(instance: string, shared: ScaleStore, writes: OwnedWrites, transcripts: TranscriptStore, log: Logger): ScaleOut {
  let timer: NodeJS.Timeout | undefined;
  let failing = false;
  const startedAt = Date.now();
  const beat = async (url: string, state: InstanceState): Promise<void> => {
    try {
      await shared.heartbeat({ id: instance, url, state, startedAt });
      await shared.forgetOwners(Date.now() - OWNER_KEEP_MS);
      if (failing) log.info('instance registry reachable again');
      failing = false;
    } catch (err) {
      if (!failing) log.error({ err, code: 'CB_SCALE_DB_FAILED' }, 'instance heartbeat failed; retrying');
      failing = true;
    }
  };
  return {
    instance,
    shared,
    transcripts: ownedStore(transcripts, writes),
    writes,
    ownership: {
      instance,
      claim: (callSid) => shared.claim(callSid, instance),
      takeOver: async (callSid) => {
        const taken = await shared.takeOver(callSid, instance);
        if (!taken.ok) return { ok: false };
        const record = await transcripts.getCall(callSid);
        if (taken.previousOwner) log.info({ callSid, from: taken.previousOwner }, 'call taken over: its media landed on this instance');
        return { ok: true, lastSeq: taken.lastSeq, ...(record ? { record } : {}) };
      },
      owner: async (callSid) => (await shared.owners([callSid])).get(callSid),
    },
    async start(url, draining) {
      await beat(url, 'ready');
      timer = setInterval(() => void beat(url, draining() ? 'draining' : 'ready'), HEARTBEAT_MS);
      timer.unref();
      log.info({ instance, url }, 'instance registered');
    },
    liveFeed: (local) => new SharedLiveFeed({ self: instance, local, store: transcripts, registry: shared, log }),
    readyPeers: () => readyPeers(shared, instance),
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await shared.remove(instance).catch((err: unknown) => log.warn({ err, code: 'CB_SCALE_DB_FAILED' }, 'could not remove this instance from the registry'));
      await shared.close();
    },
  };
}

/** The Twilio edge's options for several instances: the shared token secret and ledger, INSTANCE_URL in the TwiML. */
export function scaleTwilioOptions(
  env: ScaleEnv,
  scale: ScaleOut | undefined,
): { streamTokenSecret?: string; usedTokens?: ScaleStore; instanceUrl?: string } {
  return {
    ...(env.STREAM_TOKEN_SECRET ? { streamTokenSecret: env.STREAM_TOKEN_SECRET } : {}),
    ...(scale ? { usedTokens: scale.shared } : {}),
    ...(env.INSTANCE_URL ? { instanceUrl: env.INSTANCE_URL } : {}),
  };
}
