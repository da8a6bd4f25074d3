/**
 * The PostgreSQL connection pool and the small helpers the pg-*.ts stores share: bigint and
 * numeric columns read as JS numbers (epoch ms and counts fit), one transaction on one pooled
 * connection, numbered parameters for statements built piece by piece.
 */
import pg from 'pg';

/** bigint (counts, epoch ms) and numeric (averages) as JS numbers: every value here fits. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** A pool on `url` with the number parsers above. */
export function pgPool(url: string, max = 10): pg.Pool {
  return new pg.Pool({ connectionString: url, max, types: TYPES, application_name: 'callbridge' });
}

/** `url` without its password, for logs. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** Runs `fn` in one transaction on one pooled connection. */
export async function inTransaction<T>(pool: pg.Pool, fn: (db: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const db = await pool.connect();
  try {
    await db.query(begin);
    const out = await fn(db);
    await db.query('COMMIT');
    return out;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}

/** Numbered parameters for a statement built piece by piece: `$(value)` → '$3'. */
export function params(): { list: unknown[]; $: (value: unknown) => string } {
  const list: unknown[] = [];
  return { list, $: (value) => (list.push(value), `$${list.length}`) };
}


/**
 * PostgreSQL text cannot hold U+0000 (SQLite can); a caller's words, a webhook's reply or a typed
 * name holding one would fail its whole write, and the writer would retry that batch forever.
 * JSON columns are safe (JSON.stringify escapes it); plain text goes through this.
 */
export function pgText<T extends string | null | undefined>(value: T): T {
  return (typeof value === 'string' && value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value) as T;
}
