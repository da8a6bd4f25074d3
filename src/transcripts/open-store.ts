/**
 * Opens the call store a server (or a tool) uses: PostgreSQL when DATABASE_URL is a postgres://
 * URL (every instance of a deployment shares it), else the embedded SQLite file under DATA_DIR.
 * Either way the result holds every part of the store behind its backend-neutral interface
 * (store.ts, after-call-store.ts), so nothing above this file knows which one it is.
 * docs/scale-out.md ("PostgreSQL") says how to choose.
 */
import type pg from 'pg';
import type { TranscriptStore } from './store.js';
import type { AnalysisStore, DashboardStore, DeliveryLog, JobQueue } from './after-call-store.js';
import { openSqliteStore, StoreOpenError, type SqliteTranscriptStore } from './sqlite-store.js';
import { resolve } from 'node:path';
import { CallbridgeError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { SqliteJobQueue } from './sqlite-jobs.js';
import { SqliteAnalysisStore } from './sqlite-analysis.js';
import { SqliteDeliveryLog } from './sqlite-deliveries.js';
import { SqliteDashboardStore } from './sqlite-dashboard.js';
import { PgTranscriptStore } from './pg-store.js';
import { redactDatabaseUrl } from './pg-pool.js';
import { PgJobQueue } from './pg-jobs.js';
import { PgAnalysisStore } from './pg-analysis.js';
import { PgDeliveryLog } from './pg-deliveries.js';
import { PgDashboardStore } from './pg-dashboard.js';

export type StoreBackend = 'sqlite' | 'postgres';

/** Every part of the call store, on one database. */
export interface Stores {
  backend: StoreBackend;
  /** Where it is, for logs: the SQLite file, or the PostgreSQL URL without its password. */
  location: string;
  transcripts: TranscriptStore;
  jobs: JobQueue;
  analyses: AnalysisStore;
  deliveries: DeliveryLog;
  dashboard: DashboardStore;
  /** Migrations applied at this open (empty when the schema was current). */
  appliedMigrations: number[];
  /** The SQLite store, when that is the backend (its file handle: tests, benches, diagnostics). */
  sqlite?: SqliteTranscriptStore;
  /** The PostgreSQL pool, when that is the backend (other tables of the same database: src/scale/). */
  pool?: pg.Pool;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** DATA_DIR: the SQLite file's directory (unused with PostgreSQL). */
  dataDir: string;
  /** Tools (the `calls` CLI): no migration, the schema must be current; SQLite also refuses writes. */
  readOnly?: boolean;
  /** Connections in the PostgreSQL pool (default 10). */
  poolSize?: number;
  /** Logs which store opened, where, and the migrations applied. */
  log?: Logger;
}

/** Where recordings/<CallSid>.wav go: RECORDINGS_DIR (a directory every instance mounts, docs/scale-out.md), else DATA_DIR. */
export function recordingsDirOf(env: { RECORDINGS_DIR?: string | undefined }, dataDir: string): string {
  return env.RECORDINGS_DIR ? resolve(env.RECORDINGS_DIR) : dataDir;
}

/** True when `url` selects the PostgreSQL backend. */
export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

/** The stores of this deployment: DATABASE_URL=postgres://… selects PostgreSQL, else SQLite under dataDir. */
export async function openStore(env: { DATABASE_URL?: string | undefined }, options: OpenStoreOptions): Promise<Stores> {
  const stores = isPostgresUrl(env.DATABASE_URL)
    ? await openPostgresStores(env.DATABASE_URL, options)
    : sqliteStores(openSqliteStore({ dataDir: options.dataDir, ...(options.readOnly ? { readOnly: true } : {}) }));
  options.log?.info({ backend: stores.backend, location: stores.location, migrated: stores.appliedMigrations }, 'call store open');
  return stores;
}

/** The SQLite parts over one opened file. */
export function sqliteStores(store: SqliteTranscriptStore): Stores {
  const db = store.database;
  return {
    backend: 'sqlite',
    location: store.path,
    transcripts: store,
    jobs: new SqliteJobQueue(db),
    analyses: new SqliteAnalysisStore(db),
    deliveries: new SqliteDeliveryLog(db),
    dashboard: new SqliteDashboardStore(db),
    appliedMigrations: store.appliedMigrations,
    sqlite: store,
    close: () => store.close(),
  };
}

/**
 * The PostgreSQL parts over one pool. A database that cannot be reached or migrated is a
 * CB_CONFIG_INVALID error naming the URL without its password (main.ts prints it and exits).
 */
export async function openPostgresStores(url: string, options: Omit<OpenStoreOptions, 'dataDir'> = {}): Promise<Stores> {
  let store: PgTranscriptStore;
  try {
    store = await PgTranscriptStore.open({ url, ...options });
  } catch (err) {
    if (err instanceof StoreOpenError) throw err;
    throw new CallbridgeError('CB_CONFIG_INVALID', `the call store at ${redactDatabaseUrl(url)} (DATABASE_URL) cannot be opened: ${(err as Error).message}`, { cause: err });
  }
  const pool = store.pool;
  return {
    backend: 'postgres',
    location: redactDatabaseUrl(url),
    transcripts: store,
    jobs: new PgJobQueue(pool),
    analyses: new PgAnalysisStore(pool),
    deliveries: new PgDeliveryLog(pool),
    dashboard: new PgDashboardStore(pool),
    appliedMigrations: store.appliedMigrations,
    pool,
    close: () => store.close(),
  };
}
