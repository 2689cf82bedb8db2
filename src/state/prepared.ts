/**
 * Prepared statements kept per connection and SQL text: for the fixed statements run for every
 * batch or call (a prepare costs more than running a small statement). Never for SQL naming a
 * run's stage tables (they are dropped with the stage: the cache would only grow).
 */
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';

const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** The statement of `sql` on `db`, prepared on first use. A caller that sets a mode (`pluck`) sets it on every use. */
export function prepared(db: Database.Database, sql: string): Database.Statement {
  let bySql = statements.get(db);
  if (bySql === undefined) statements.set(db, (bySql = new Map()));
  let statement = bySql.get(sql);
  if (statement === undefined) bySql.set(sql, (statement = db.prepare(sql)));
  return statement;
}

/** Where worker threads (lock heartbeat, stage diff) load the SQLite driver from: the one this process uses. */
export const SQLITE_DRIVER_PATH = createRequire(import.meta.url).resolve('better-sqlite3');
