/**
 * Makes a state database busy: a second connection, on a thread of its own, takes its write lock
 * (`BEGIN IMMEDIATE`) when told and keeps it for a while, as a long write of another process
 * would. Every write of the server's connection meanwhile waits busy_timeout (5 s), then fails
 * "database is locked" (SQLITE_BUSY); reads go on (WAL).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** The SQLite driver the state store uses. */
const DRIVER_PATH = createRequire(import.meta.url).resolve('better-sqlite3');

/** Cell 0: 1 once told to take the lock; cell 1: 1 once it holds it. */
const TAKE = 0;
const HELD = 1;

/** The holding thread (plain JavaScript, run with `eval`). */
const HOLDER = `
const { parentPort, workerData: w } = require('node:worker_threads');
const Database = require(w.driver);
const db = new Database(w.path, { fileMustExist: true });
const cells = new Int32Array(w.cells);
parentPort.postMessage('ready');
Atomics.wait(cells, ${TAKE}, 0);
db.exec('BEGIN IMMEDIATE');
Atomics.store(cells, ${HELD}, 1);
Atomics.notify(cells, ${HELD});
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, w.holdMs);
db.exec('COMMIT');
db.close();
parentPort.postMessage('released');
`;

export class WriteLockHolder {
  private constructor(
    private readonly worker: Worker,
    private readonly cells: Int32Array,
    /** Resolves once the lock has been released. */
    readonly released: Promise<void>,
  ) {}

  /** Opens the second connection to the SQLite file at `path`; {@link take} then holds its write lock `holdMs`. */
  static async open(path: string, holdMs: number): Promise<WriteLockHolder> {
    const cells = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(HOLDER, { eval: true, workerData: { driver: DRIVER_PATH, path, holdMs, cells: cells.buffer } });
    const messages = (wanted: string) =>
      new Promise<void>((resolve, reject) => {
        worker.on('message', (message) => message === wanted && resolve());
        worker.once('error', reject);
      });
    const released = messages('released');
    released.catch(() => {}); // reported by whoever awaits it
    await messages('ready');
    return new WriteLockHolder(worker, cells, released);
  }

  /**
   * Takes the write lock and returns once it holds it: synchronous, so that a test can call it
   * at an exact point of the code under test (an event listener, a state store call).
   * @throws Error when the lock was not held within 2 s
   */
  take(): void {
    Atomics.store(this.cells, TAKE, 1);
    Atomics.notify(this.cells, TAKE);
    if (Atomics.wait(this.cells, HELD, 0, 2_000) === 'timed-out') throw new Error('the second connection did not get the write lock within 2 s');
  }

  /** Ends the thread (releasing the lock if it still holds it). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
