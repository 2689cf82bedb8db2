/** The transaction of the log databases whose driver sends statements one by one. */
import type { LogDatabase } from './log-database.ts';

/**
 * `body` between `begin` and `COMMIT` on `db`, rolled back (and the error rethrown) when it
 * throws: the transaction of the engines whose driver sends statements one by one (PostgreSQL
 * `BEGIN`, MySQL `START TRANSACTION`, DuckDB `BEGIN TRANSACTION`).
 */
export async function inTransaction(db: Pick<LogDatabase, 'run'>, begin: string, body: () => Promise<void>): Promise<void> {
  await db.run(begin);
  try {
    await body();
    await db.run('COMMIT');
  } catch (error) {
    await db.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
