/**
 * Prepared statements, prepared once per SQL text and reused (better-sqlite3 parses a statement
 * on `prepare`). Each SQLite store part keeps one cache over its database handle.
 */
import type Database from 'better-sqlite3';

/** `db` is read at the first use, so a class field can create the cache before its constructor runs. */
export function statementCache(db: () => Database.Database): (sql: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let s = statements.get(sql);
    if (!s) {
      s = db().prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
}
