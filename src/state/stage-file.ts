/**
 * A run's stage in a database file of its own, and its diff in a worker thread.
 *
 * The stage (the model's mapped rows and the plan, see SqliteStage in ./sqlite-state-store.ts)
 * lives in a file under the system's temporary directory, attached to the state database's
 * connection. Its diff (index builds, the join of millions of rows with the snapshot) then runs
 * on another connection in a worker thread, so that the event loop of the process keeps turning
 * (`panelsync serve` answers `GET /api/v1/healthz` while it plans a large model). A file is
 * removed when its stage is dropped; files left by a process that died are removed by the next
 * process that opens a stage ({@link removeStaleStageFiles}).
 */
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SQLITE_DRIVER_PATH } from './prepared.ts';

/** One SQL statement and its parameters. */
export interface SqlStatement {
  sql: string;
  params: Array<string | number>;
}

/** Page cache of a stage file, per connection, KiB: index builds over a large stage stay in memory. */
export const STAGE_CACHE_KIB = 65_536;

/** A stage diffs in a worker thread from this many staged rows; a smaller one diffs at once, in the calling thread. */
export const STAGE_WORKER_FROM_ROWS = 50_000;

const PREFIX = 'panelsync-stage-';

/** A new stage file's path: `<tmpdir>/panelsync-stage-<pid>-<random>.db` (not created yet). */
export function newStageFilePath(): string {
  return join(tmpdir(), `${PREFIX}${process.pid}-${randomBytes(6).toString('hex')}.db`);
}

/** Removes the stage files of processes that no longer run (a run killed mid-plan leaves its file). */
export function removeStaleStageFiles(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const pid = /^panelsync-stage-(\d+)-[0-9a-f]+\.db$/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || processRuns(Number(pid))) continue;
    rmSync(join(tmpdir(), name), { force: true });
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Attaches the stage file at `path` (created when missing) to `db` as `schema`, without a journal
 * and without syncs: a stage is scratch data, dropped with its run.
 * @throws SqliteError "too many attached databases" when the connection's slots are used up
 */
export function attachStageFile(db: Database.Database, path: string, schema: string): void {
  db.prepare(`ATTACH DATABASE ? AS ${schema}`).run(path);
  // Held by this connection alone until detached: no file lock taken and dropped per statement
  // (a run asks the stage twice per row written), no check that another connection changed it.
  db.pragma(`${schema}.locking_mode = EXCLUSIVE`);
  db.pragma(`${schema}.journal_mode = OFF`);
  db.pragma(`${schema}.synchronous = OFF`);
  db.pragma(`${schema}.cache_size = -${STAGE_CACHE_KIB}`);
}

/**
 * Runs `statements` in one transaction, then the `counts` query, on a connection of a worker
 * thread that opens `statePath` and attaches `stagePath` as `schema`.
 * @returns the row of the `counts` query
 * @throws Error with the SQLite message (and `code`) of a failing statement
 */
export function diffInWorker<T>(job: { statePath: string; stagePath: string; schema: string; statements: SqlStatement[]; counts: SqlStatement }): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const worker = new Worker(DIFF_WORKER, { eval: true, workerData: { ...job, driver: SQLITE_DRIVER_PATH, cacheKib: STAGE_CACHE_KIB } });
    let settled = false;
    worker.once('message', (message: { counts: T } | { error: { message: string; code?: string } }) => {
      settled = true;
      if ('counts' in message) resolve(message.counts);
      else reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the diff worker exited (${code}) without an answer`));
    });
  });
}

/**
 * The diff worker (plain JavaScript, run with `eval`: a worker thread does not go through the
 * TypeScript loader). The statements write the attached stage file alone; the state database is
 * only read (in WAL mode, beside other connections' writes).
 */
const DIFF_WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
const Database = require(w.driver);
let db;
try {
  db = new Database(w.statePath, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  db.pragma('temp_store = FILE');
  db.pragma('cache_size = -' + w.cacheKib);
  db.prepare('ATTACH DATABASE ? AS ' + w.schema).run(w.stagePath);
  db.pragma(w.schema + '.locking_mode = EXCLUSIVE');
  db.pragma(w.schema + '.journal_mode = OFF');
  db.pragma(w.schema + '.synchronous = OFF');
  db.pragma(w.schema + '.cache_size = -' + w.cacheKib);
  const counts = db.transaction(() => {
    for (const s of w.statements) db.prepare(s.sql).run(...s.params);
    return db.prepare(w.counts.sql).get(...w.counts.params);
  })();
  parentPort.postMessage({ counts });
} catch (error) {
  parentPort.postMessage({ error: { message: error && error.message || String(error), code: error && error.code } });
} finally {
  if (db) db.close();
}
`;
