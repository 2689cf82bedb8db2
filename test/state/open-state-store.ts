/**
 * Child process of migrations-concurrency.test.ts: `node --import tsx open-state-store.ts PATH`
 * loads the store, prints `ready`, waits for a line on stdin (so that every child opens the
 * database at the same moment), opens the state database at PATH (applying pending migrations)
 * and exits 0, or prints the error and exits 1.
 */
import { once } from 'node:events';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: open-state-store.ts PATH');
process.stdout.write('ready\n');
await once(process.stdin, 'data');
try {
  new SqliteStateStore(path).close();
  process.stdout.write('opened\n');
} catch (error) {
  process.stdout.write(`error: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
process.stdin.destroy();
