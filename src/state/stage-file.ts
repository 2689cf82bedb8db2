/**
 * A run's stage in a database file of its own, written and diffed by a worker thread once large.
 *
 * The stage (the model's mapped rows and the plan, see SqliteStage in ./sqlite-state-store.ts)
 * lives in a file under the system's temporary directory, attached to the state database's
 * connection. Once it holds many rows, a {@link StageWorker} takes the file over: it writes the
 * rest of the rows while the calling thread reads and maps the next ones (and, while it keeps up,
 * maps some slices itself: {@link WORKER_MAPS_BELOW_BACKLOG}), and diffs them (the join of
 * millions of rows with the snapshot: slice by slice as they are written, or once at the end, see
 * {@link StageWorkerPlan}) on its own connection, so that the event loop of the process keeps
 * turning (`panelsync serve` answers `GET /api/v1/healthz` while it plans a large model). A file is removed when its stage is dropped; files left by a process that died
 * are removed by the next process that opens a stage ({@link removeStaleStageFiles}).
 */
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { JsonValue, Row } from '../sources/source.ts';
import { SQLITE_DRIVER_PATH } from './prepared.ts';

/** One SQL statement and its parameters. */
export interface SqlStatement {
  sql: string;
  /** Anonymous parameters, or one object of named ones (`@name`). */
  params: Array<string | number> | [Record<string, string | number>];
}

/**
 * Page cache of a stage file per connection, and of a stage worker's own connection to the state
 * database, KiB. Small: the diff builds no index over a large stage (its key index is kept up as
 * rows are written), and each cache counts in the process's RSS.
 */
export const STAGE_CACHE_KIB = 16_384;

/** A {@link StageWorker} takes a stage over once it holds this many rows; a smaller one is written and diffed in the calling thread. */
export const STAGE_WORKER_FROM_ROWS = 50_000;

/**
 * A stage starts its {@link StageWorker}, which then gets ready (see {@link StageWorker}), this
 * many rows before the worker takes it over: at 5,000 rows with the default take-over. The
 * calling thread stages on meanwhile, past the take-over too until the worker is ready, rather
 * than waiting for it: getting ready took about 0.9 s on 2 cores next to a 1M-row snapshot, and a
 * 1M-row no-change rerun waited 1 s for it before. (A take-over set lower than this, as tests do,
 * starts the worker at the first row and waits for it.) The price: a model of 5,000 to 50,000
 * rows starts a worker it never hands the stage (about 0.6 s of CPU on another core, mostly
 * loading the mapper); a smaller one starts none.
 */
export const STAGE_WORKER_WARM_AHEAD_ROWS = 45_000;

const PREFIX = 'panelsync-stage-';

/** From this size a stage file is unlinked off the event loop: freeing gigabytes takes hundreds of ms. */
const UNLINK_OFF_LOOP_BYTES = 64 * 1024 ** 2;

/**
 * Removes a stage file, and the rollback journal a process killed mid-write may have left beside
 * it. A large file is unlinked in the background (`serve` keeps answering); if that fails, the
 * file is left to {@link removeStaleStageFiles} once this process has ended.
 */
export function removeStageFile(path: string): void {
  rmSync(`${path}-journal`, { force: true });
  if ((statSync(path, { throwIfNoEntry: false })?.size ?? 0) < UNLINK_OFF_LOOP_BYTES) rmSync(path, { force: true });
  else void rm(path, { force: true }).catch(() => undefined);
}

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
    const pid = /^panelsync-stage-(\d+)-[0-9a-f]+\.db(?:-journal)?$/.exec(name)?.[1];
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
 * Attaches the stage file at `path` (created when missing) to `db` as `schema`, its rollback
 * journal in memory (better-sqlite3's defensive mode refuses `journal_mode = OFF`) and without
 * syncs: a stage is scratch data, dropped with its run.
 * @throws SqliteError "too many attached databases" when the connection's slots are used up
 */
export function attachStageFile(db: Database.Database, path: string, schema: string): void {
  db.prepare(`ATTACH DATABASE ? AS ${schema}`).run(path);
  // Held by this connection alone until detached: no file lock taken and dropped per statement
  // (a run asks the stage twice per row written), no check that another connection changed it.
  db.pragma(`${schema}.locking_mode = EXCLUSIVE`);
  db.pragma(`${schema}.journal_mode = MEMORY`);
  db.pragma(`${schema}.synchronous = OFF`);
  db.pragma(`${schema}.cache_size = -${STAGE_CACHE_KIB}`);
}

/** Slices a {@link StageWorker} may hold unwritten before `insert` waits: bounds the memory of a fast model. */
const WORKER_SLICES_IN_FLIGHT = 16;

/**
 * A stage worker maps a slice of model rows itself ({@link StageWorker.insertModelRows}) while
 * fewer than this many slices wait for it; otherwise the calling thread maps the slice. Mapping is
 * the larger part of a plan's work beside reading the model: shared this way, both threads stay
 * busy on two cores whichever is faster on the machine (no-change reruns of 1M rows on 2 cores:
 * 8.7 s against 9.9 s with every row mapped in the calling thread, means of 6 interleaved reruns).
 */
export const WORKER_MAPS_BELOW_BACKLOG = 2;

/**
 * A statement run for each slice of rows written, with the slice's sequence numbers bound as
 * `@from` (exclusive) and `@to` (inclusive) beside its own named `params`.
 */
export interface SliceStatement {
  sql: string;
  params: Record<string, string | number>;
}

/**
 * What a {@link StageWorker} does besides writing rows: `start` runs once, in a transaction, when
 * it takes the stage over; `eachSlice` runs in the transaction of each slice it writes (e.g. the
 * search for repeated primary keys, and, for an eager diff, the slice's join with the snapshot).
 * No read of the state database is held open across slices, so its log (WAL) is checkpointed
 * meanwhile.
 */
export interface StageWorkerPlan {
  start: SqlStatement[];
  eachSlice: SliceStatement[];
}

/** How a stage worker stages model rows itself (see {@link StageWorker.insertModelRows}). */
export interface WorkerMapping {
  /** The URL of a module exporting `createRowMap(options)`, which returns the function that stages a slice of rows. */
  module: string;
  options: unknown;
  /** The model's columns the function reads. */
  columns: readonly string[];
}

/**
 * A worker thread that owns a stage file once its stage is large: it writes the rows the calling
 * thread maps (so that mapping and writing run at once, on two cores), then runs the diff on its
 * own connection to the state database and ends.
 *
 * It gets ready before it owns the file, while the calling thread still writes the stage: it
 * opens the state database, runs the `warmUp` statements (reads of the snapshot the diff needs,
 * into its connection's `temp` schema) and loads the mapping module. {@link takeOver} then hands it
 * the file, which from then on must not be attached to the calling thread's connection.
 */
export class StageWorker {
  private readonly worker: Worker;
  private inFlight = 0;
  private failure: Error | null = null;
  private readonly waiting: Array<() => void> = [];
  private answer: { resolve: (counts: unknown) => void; reject: (error: Error) => void } | null = null;
  /** The worker was told how to stage model rows (see {@link insertModelRows}). */
  private mapping = false;
  /** Invalid rows among the model rows the worker staged so far. */
  private invalid = 0;
  private exited = false;
  /** The diff's counts came back: the worker ends on its own. */
  private done = false;
  private readonly isReady: Promise<void>;
  private readied: { resolve: () => void; reject: (error: Error) => void } | undefined;
  /** The worker answered `{ready}`. */
  private wasReady = false;

  /**
   * Starts the worker, which gets ready (see {@link ready}).
   * @param job.warmUp statements run in one transaction once the state database is open
   * @param job.mapping the mapping module to load now, if known (else at the first {@link insertModelRows})
   */
  constructor(job: { statePath: string; warmUp: SqlStatement[]; mapping?: WorkerMapping }) {
    this.isReady = new Promise<void>((resolve, reject) => (this.readied = { resolve, reject }));
    // Seen only by a caller that waits for it.
    this.isReady.catch(() => undefined);
    const mapping = job.mapping === undefined ? undefined : this.mappingMessage(job.mapping);
    this.worker = new Worker(STAGE_WORKER, {
      eval: true,
      workerData: { statePath: job.statePath, warmUp: job.warmUp, mapping, driver: SQLITE_DRIVER_PATH, cacheKib: STAGE_CACHE_KIB, rowsPerStatement: WORKER_ROWS_PER_STATEMENT },
    });
    type Message = { ready: true } | { inserted: true; invalid?: number } | { counts: unknown } | { error: { message: string; code?: string } };
    this.worker.on('message', (message: Message) => {
      if ('ready' in message) {
        this.wasReady = true;
        this.readied?.resolve();
      }
      else if ('inserted' in message) {
        this.inFlight--;
        this.invalid += message.invalid ?? 0;
        for (const wake of this.waiting.splice(0)) wake();
      } else if ('counts' in message) {
        this.done = true;
        this.answer?.resolve(message.counts);
      }
      else this.fail(Object.assign(new Error(message.error.message), { code: message.error.code }));
    });
    this.worker.once('error', (error) => this.fail(error));
    this.worker.once('exit', (code) => {
      this.exited = true;
      if (!this.done) this.fail(new Error(`the stage worker exited (${code}) before it was done`));
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const wake of this.waiting.splice(0)) wake();
    this.readied?.reject(this.failure);
    this.answer?.reject(this.failure);
  }

  /**
   * Resolves once the worker is ready: the state database open, the warm-up run and the mapping
   * module given to the constructor loaded.
   * @throws the error that stopped the worker (e.g. the mapping module could not be loaded)
   */
  ready(): Promise<void> {
    return this.isReady;
  }

  /** The worker is ready now (see {@link ready}), or an error stopped it (which {@link ready} then throws). */
  settled(): boolean {
    return this.wasReady || this.failure !== null;
  }

  /**
   * Hands the worker the stage file (detached from the calling thread's connection): it attaches
   * it as `schema`, then runs `plan.start` in one transaction, after its warm-up.
   * @param job.table the stage table (`schema.name`) the rows go to, with its `columns` in the
   *   order of each row's values; `written` rows are in it already (sequence numbers 1 to `written`)
   */
  takeOver(job: { stagePath: string; schema: string; table: string; columns: readonly string[]; written: number; plan: StageWorkerPlan }): void {
    this.worker.postMessage({ takeOver: job });
  }

  /** The message that tells the worker how to stage model rows (see {@link insertModelRows}). */
  private mappingMessage(mapping: WorkerMapping): WorkerMapping & { loader: string } {
    this.mapping = true;
    return { module: mapping.module, options: mapping.options, columns: mapping.columns, loader: tsLoader() };
  }

  /**
   * Hands one slice of rows to the worker: `values` holds each row's values in column order.
   * Waits while {@link WORKER_SLICES_IN_FLIGHT} slices are not written yet.
   * @throws the error that stopped the worker (e.g. SQLITE_FULL), at this or a later call
   */
  async insert(values: ReadonlyArray<string | null>): Promise<void> {
    // A few strings and arrays rather than thousands of strings: a structured clone costs per string.
    await this.send({ values: packValues(values) });
  }

  /**
   * Hands one slice of model rows to the worker, which stages them itself: it loads
   * `mapping.module` (with tsx: TypeScript is allowed) once and stages each slice with the
   * function its `createRowMap(mapping.options)` returns. Only `mapping.columns` are handed over,
   * packed ({@link packValues}), column after column; the worker builds the rows again. Waits
   * like {@link insert}.
   * @returns false, handing nothing over, when the slice cannot be packed (longer than a string
   *   can be, or nested too deep for JSON): the caller stages it
   * @throws the error that stopped the worker (e.g. the module could not be loaded), at this or a later call
   */
  async insertModelRows(rows: readonly Row[], mapping: WorkerMapping): Promise<boolean> {
    if (this.failure) throw this.failure;
    const values: Array<JsonValue | undefined> = [];
    for (const column of mapping.columns) for (const row of rows) values.push(row[column]);
    let packed: PackedValues;
    try {
      packed = packValues(values);
    } catch (error) {
      if (error instanceof RangeError) return false;
      throw error;
    }
    if (!this.mapping) this.worker.postMessage({ mapping: this.mappingMessage(mapping) });
    await this.send({ rows: packed });
    return true;
  }

  /** Slices handed over and not written yet. */
  backlog(): number {
    return this.inFlight;
  }

  private async send(message: { values: PackedValues } | { rows: PackedValues }): Promise<void> {
    if (this.failure) throw this.failure;
    this.inFlight++;
    this.worker.postMessage(message, transferred('values' in message ? message.values : message.rows));
    await this.until(() => this.inFlight <= WORKER_SLICES_IN_FLIGHT);
  }

  /** Waits until `ready()` holds after a slice is written; throws the worker's error if it stops first. */
  private async until(ready: () => boolean): Promise<void> {
    while (!ready() && this.failure === null) await new Promise<void>((wake) => this.waiting.push(wake));
    if (this.failure) throw this.failure;
  }

  /**
   * Waits until every slice handed over is written.
   * @returns how many of the model rows the worker staged ({@link insertModelRows}) are invalid
   * @throws the error that stopped the worker
   */
  async drain(): Promise<number> {
    await this.until(() => this.inFlight === 0);
    const invalid = this.invalid;
    this.invalid = 0;
    return invalid;
  }

  /**
   * Once every row is written: runs `statements`, then the `counts` query, in one transaction;
   * the worker then closes its connection and ends.
   * @returns the row of the `counts` query
   * @throws Error with the SQLite message (and `code`) of a failing statement or write
   */
  diff<T>(statements: SqlStatement[], counts: SqlStatement): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.answer = { resolve: resolve as (counts: unknown) => void, reject };
      this.worker.postMessage({ statements, counts });
    });
  }

  /** Ends the worker whatever it is doing (a run that stopped before its diff). */
  stop(): void {
    if (!this.exited) void this.worker.terminate();
  }
}

/**
 * The file URL of tsx's ES module register API (`tsx/esm/api`), with which a stage worker loads a
 * TypeScript mapping module (see {@link StageWorker.insertModelRows}). Resolved through tsx's own
 * export map (a worker run with `eval` resolves bare names from the working directory), when a
 * worker first needs it.
 */
function tsLoader(): string {
  if (tsLoaderUrl === undefined) {
    const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
    const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
    tsLoaderUrl = pathToFileURL(join(dirname(manifest), exports['./esm/api']!.import.default)).href;
  }
  return tsLoaderUrl;
}

/** {@link tsLoader}'s answer, read from tsx's package.json once per process (every large plan starts a worker). */
let tsLoaderUrl: string | undefined;

/**
 * Values handed to a stage worker in one message, packed rather than as JSON: parsing JSON text
 * whose strings are full of escaped quotes and separators cost the worker about 1 s per million
 * rows, packing and unpacking costs a copy. `tags` says what each of the `count` values is
 * ({@link PACKED_TAG}); strings are concatenated in `text`, their lengths (UTF-16 code units) in
 * `lengths`, in order; numbers are in `numbers` (a double keeps -0); arrays and objects are JSON
 * text in `text`. Unpacked by the worker's `unpack`.
 */
export interface PackedValues {
  count: number;
  tags: Uint8Array;
  lengths: Int32Array;
  numbers: Float64Array;
  text: string;
}

/** What a packed value is: see {@link PackedValues}. */
const PACKED_TAG = { null: 0, string: 1, number: 2, true: 3, false: 4, json: 5 } as const;

/**
 * Packs `values` (missing ones are null) for a stage worker.
 * @throws RangeError when the text is longer than a string can be, or an array or object is
 *   nested too deep for JSON
 */
export function packValues(values: ReadonlyArray<JsonValue | undefined>): PackedValues {
  const tags = new Uint8Array(values.length);
  const lengths = new Int32Array(values.length);
  const numbers = new Float64Array(values.length);
  const text: string[] = [];
  let strings = 0;
  let doubles = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'string') {
      tags[i] = PACKED_TAG.string;
      lengths[strings++] = value.length;
      text.push(value);
    } else if (typeof value === 'number') {
      tags[i] = PACKED_TAG.number;
      numbers[doubles++] = value;
    } else if (typeof value === 'boolean') tags[i] = value ? PACKED_TAG.true : PACKED_TAG.false;
    else if (value === null || value === undefined) tags[i] = PACKED_TAG.null;
    else {
      const json = JSON.stringify(value);
      tags[i] = PACKED_TAG.json;
      lengths[strings++] = json.length;
      text.push(json);
    }
  }
  return { count: values.length, tags, lengths: lengths.slice(0, strings), numbers: numbers.slice(0, doubles), text: text.join('') };
}

/** The buffers of `packed`, handed over to the worker rather than copied. */
function transferred(packed: PackedValues): ArrayBuffer[] {
  return [packed.tags.buffer as ArrayBuffer, packed.lengths.buffer as ArrayBuffer, packed.numbers.buffer as ArrayBuffer];
}

/** Rows per multi-row INSERT the worker writes (5 parameters each: well under SQLite's 32,766). */
const WORKER_ROWS_PER_STATEMENT = 200;

/**
 * The stage worker (plain JavaScript, run with `eval`: a worker thread does not go through the
 * TypeScript loader; it registers tsx itself only to load a mapping module). It opens `statePath`,
 * starts loading the `mapping` module if given, runs `warmUp`, and answers `{ready}` once both are
 * done. `{takeOver}` then attaches `stagePath` as `schema` and runs its {@link StageWorkerPlan}:
 * its `start`, then each slice of rows written with its `eachSlice` statements, in a transaction of
 * its own, answered `{inserted}` (with the slice's invalid rows when it mapped the slice:
 * `{mapping}` once if not given at the start, then `{rows}`; staged values come as `{values}`).
 * Messages are handled in order. Then it runs the diff's statements, answers `{counts}`, closes
 * its connection and ends. After an error it answers `{error}` once and ignores every message that
 * follows. The worker writes the stage file alone; the state database is only read (in WAL mode,
 * beside other connections' writes).
 */
const STAGE_WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
const Database = require(w.driver);
let db;
let failed = false;
const fail = (error) => {
  if (failed) return;
  failed = true;
  parentPort.postMessage({ error: { message: error && error.message || String(error), code: error && error.code } });
};
// The mapping module (see loadMapping): its loading starts before the warm-up.
let mapping = null;
const loadMapping = async (m) => {
  (await import(m.loader)).register();
  const { createRowMap } = await import(m.module);
  return { mapRows: createRowMap(m.options), columns: m.columns };
};
if (w.mapping) {
  mapping = loadMapping(w.mapping);
  mapping.catch(() => undefined);
}
try {
  db = new Database(w.statePath, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  db.pragma('temp_store = FILE');
  db.pragma('cache_size = -' + w.cacheKib);
  db.transaction(() => {
    for (const s of w.warmUp) db.prepare(s.sql).run(...s.params);
  })();
} catch (error) {
  fail(error);
}
// Set by takeOver: the stage table, its columns, the rows in it and the statements per slice.
let stage, width, full, eachSlice, written;
const insertSql = (rows) => 'INSERT INTO ' + stage.table + ' (' + stage.columns.join(', ') + ') VALUES ' +
  Array(rows).fill('(' + Array(width).fill('?').join(', ') + ')').join(', ');
const takeOver = (job) => {
  stage = job;
  width = job.columns.length;
  written = job.written;
  db.prepare('ATTACH DATABASE ? AS ' + job.schema).run(job.stagePath);
  db.pragma(job.schema + '.locking_mode = EXCLUSIVE');
  db.pragma(job.schema + '.journal_mode = MEMORY');
  db.pragma(job.schema + '.synchronous = OFF');
  db.pragma(job.schema + '.cache_size = -' + w.cacheKib);
  full = db.prepare(insertSql(w.rowsPerStatement));
  eachSlice = job.plan.eachSlice.map((s) => ({ statement: db.prepare(s.sql), params: s.params }));
  db.transaction(() => {
    for (const s of job.plan.start) db.prepare(s.sql).run(...s.params);
  })();
};
const writeSlice = (values) => {
  const step = w.rowsPerStatement * width;
  let at = 0;
  for (; at + step <= values.length; at += step) full.run(values.slice(at, at + step));
  if (at < values.length) db.prepare(insertSql((values.length - at) / width)).run(values.slice(at));
  const from = written;
  written += values.length / width;
  for (const { statement, params } of eachSlice) statement.run(Object.assign({}, params, { from, to: written }));
};
const write = failed ? null : db.transaction(writeSlice);
// Staged rows -> their values in column order (as SqliteStage.insert writes them: the email is
// NULL when it is its normalized form itself).
const stagedValues = (rows) => {
  const values = [];
  let invalid = 0;
  for (const row of rows) {
    if (row.ok) values.push(row.pk, row.email === row.emailKey ? null : row.email, row.emailKey, row.values, null);
    else {
      values.push(row.pk, null, null, null, row.reason);
      invalid++;
    }
  }
  return { values, invalid };
};
// PackedValues -> the values packed (see packValues).
const unpack = (packed) => {
  const { count, tags, lengths, numbers, text } = packed;
  const values = new Array(count);
  let at = 0;
  let string = 0;
  let number = 0;
  for (let i = 0; i < count; i++) {
    switch (tags[i]) {
      case 1: values[i] = text.slice(at, (at += lengths[string++])); break;
      case 2: values[i] = numbers[number++]; break;
      case 3: values[i] = true; break;
      case 4: values[i] = false; break;
      case 5: values[i] = JSON.parse(text.slice(at, (at += lengths[string++]))); break;
      default: values[i] = null;
    }
  }
  return values;
};
// A slice handed over column after column -> its rows (keys set as a source sets them).
const rowsOf = (values, columns) => {
  const count = columns.length === 0 ? 0 : values.length / columns.length;
  const rows = new Array(count);
  for (let r = 0; r < count; r++) {
    const row = {};
    for (let c = 0; c < columns.length; c++) row[columns[c]] = values[c * count + r];
    rows[r] = row;
  }
  return rows;
};
// Messages are handled one after the other, once the worker is ready.
let queue = (async () => {
  if (mapping) await mapping;
  if (!failed) parentPort.postMessage({ ready: true });
})().catch(fail);
parentPort.on('message', (message) => {
  queue = queue.then(() => handle(message)).catch(fail);
});
const handle = async (message) => {
  if (failed) return;
  if (message.takeOver) {
    takeOver(message.takeOver);
    return;
  }
  if (message.mapping) {
    mapping = loadMapping(message.mapping);
    mapping.catch(() => undefined);
    return;
  }
  if (message.rows) {
    const { mapRows, columns } = await mapping;
    const { values, invalid } = stagedValues(mapRows(rowsOf(unpack(message.rows), columns)));
    write(values);
    parentPort.postMessage({ inserted: true, invalid });
    return;
  }
  if (message.values) {
    write(unpack(message.values));
    parentPort.postMessage({ inserted: true });
    return;
  }
  let counts;
  try {
    counts = db.transaction(() => {
      for (const s of message.statements) db.prepare(s.sql).run(...s.params);
      return db.prepare(message.counts.sql).get(...message.counts.params);
    })();
  } catch (error) {
    fail(error);
  }
  // Closed before the answer: the calling thread then attaches the file again, held by nobody.
  db.close();
  if (!failed) parentPort.postMessage({ counts });
  parentPort.close();
};
`;
