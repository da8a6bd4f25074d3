/**
 * The store backends a store test runs against: SQLite (a temp dir) and PostgreSQL (a throwaway
 * cluster from test/support/postgres.ts, started once per test file on first use, a fresh
 * database per `open()`). Without PostgreSQL binaries its suites are skipped with the reason.
 *
 *   for (const backend of STORE_BACKENDS) {
 *     describe(`${backend.name}: …`, { skip: backend.skip }, () => {
 *       beforeEach(async () => (stores = await backend.open()));
 *       afterEach(() => stores.close());
 *   after(stopStoreBackends);
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgresStores, openStore, type Stores } from '../../src/transcripts/open-store.js';
import { postgresSkipReason, startPostgres, type TestPostgres } from './postgres.js';

export interface StoreBackendUnderTest {
  name: 'sqlite' | 'postgres';
  /** Why this backend's tests are skipped (no PostgreSQL binaries), else false. */
  skip: string | false;
  /** Fresh, empty stores (a new temp directory, removed at exit / a new database). */
  open(): Promise<Stores>;
  /** Opens the stores of the last `open()` again (a restart: same directory / database). */
  reopen(): Promise<Stores>;
}

let cluster: Promise<TestPostgres> | undefined;

async function sharedCluster(): Promise<TestPostgres> {
  cluster ??= startPostgres().then((pg) => {
    if ('skip' in pg) throw new Error(pg.skip);
    return pg;
  });
  return cluster;
}

/** Stops the file's PostgreSQL cluster, if one was started (pass to `after`). */
export async function stopStoreBackends(): Promise<void> {
  if (cluster) await (await cluster.catch(() => undefined))?.stop();
  cluster = undefined;
}

/** A fresh database URL on the file's cluster (for tests that open stores themselves, e.g. two instances). */
export async function freshPostgresUrl(): Promise<string> {
  return (await sharedCluster()).freshDatabase();
}

let lastDir = '';
/** The SQLite stores' temp directories, removed when the test file's process exits. */
const sqliteDirs = new Set<string>();
let lastUrl = '';

const sqlite: StoreBackendUnderTest = {
  name: 'sqlite',
  skip: false,
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'cb-stores-'));
    lastDir = dir;
    if (sqliteDirs.size === 0) process.once('exit', () => sqliteDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
    sqliteDirs.add(dir);
    return openStore({}, { dataDir: dir });
  },
  async reopen() {
    return openStore({}, { dataDir: lastDir });
  },
};

const postgres: StoreBackendUnderTest = {
  name: 'postgres',
  skip: postgresSkipReason(),
  async open() {
    lastUrl = await freshPostgresUrl();
    return openPostgresStores(lastUrl);
  },
  async reopen() {
    return openPostgresStores(lastUrl);
  },
};

export const STORE_BACKENDS: readonly StoreBackendUnderTest[] = [sqlite, postgres];
