/**
 * SQLite: a database file opened read-only with better-sqlite3.
 */
import Database from 'better-sqlite3';
import { chunkSizeOf } from './chunk-rows.ts';
import { assertColumnNames } from './column-names.ts';
import { base64FromBytes, floatValue, integerValue } from './normalize-value.ts';
import { type JsonValue, type Row, type Source, SourceError, type StreamOptions } from './source.ts';

export interface SqliteSourceOptions {
  /** Absolute path of the SQLite file. It must exist; it is opened read-only. */
  path: string;
}

function sqliteValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return integerValue(value);
  if (typeof value === 'number') return floatValue(value);
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return base64FromBytes(value);
  return String(value);
}

/**
 * A SQLite source. The file opens (read-only, must exist) on the first
 * {@link SqliteSource.stream} call. Rows are pulled from the statement one at a time
 * (`Statement.iterate()`), only as fast as the consumer takes chunks.
 *
 * SQLite has only INTEGER, REAL, TEXT and BLOB storage classes, so the values are the stored
 * ones: INTEGER follows the integer rule (read as bigint, never rounded), REAL is a `number`,
 * BLOB base64. There are no date, boolean or decimal types: `DATETIME` columns come back as the
 * stored text (`"2021-01-01 00:00:00"`), booleans as `0`/`1`, `NUMERIC(10,2)` as a `number`.
 * A model that must match the conventions formats them in SQL, e.g.
 * `strftime('%Y-%m-%dT%H:%M:%fZ', ts)` and `printf('%.2f', amount)`.
 *
 * better-sqlite3 is synchronous: while a stream is open, another statement on the same source
 * fails with SOURCE_QUERY_FAILED ("connection is busy"); stop or finish the first one before.
 */
export class SqliteSource implements Source {
  readonly type = 'sqlite' as const;
  readonly #options: SqliteSourceOptions;
  #db: Database.Database | undefined;
  #closed = false;

  constructor(options: SqliteSourceOptions) {
    this.#options = options;
  }

  /**
   * See {@link Source.stream}. Throws {@link SourceError} `SOURCE_CONNECT_FAILED` when the file
   * cannot be opened, `SOURCE_QUERY_FAILED` when SQLite rejects or fails the query,
   * `SOURCE_DUPLICATE_COLUMNS` (before any row is read) when two result columns share a name.
   */
  async *stream(sql: string, options?: StreamOptions): AsyncGenerator<Row[], void, undefined> {
    const chunkSize = chunkSizeOf(options);
    const db = this.#open();
    let statement: Database.Statement;
    try {
      statement = db.prepare(sql);
      if (!statement.reader) {
        throw new Error('the statement returns no rows; a model must be a SELECT (or WITH … SELECT) query');
      }
    } catch (error) {
      throw queryFailed(error);
    }
    // The prepared statement's columns, before `iterate()` builds row objects that keep one value per name.
    assertColumnNames(statement.columns().map((column) => column.name));
    let iterator: IterableIterator<unknown>;
    try {
      statement.safeIntegers(true);
      iterator = statement.iterate();
    } catch (error) {
      throw queryFailed(error);
    }
    try {
      let chunk: Row[] = [];
      for (;;) {
        let next: IteratorResult<unknown>;
        try {
          next = iterator.next();
        } catch (error) {
          throw queryFailed(error);
        }
        if (next.done) break;
        const source = next.value as Record<string, unknown>;
        const row: Row = {};
        for (const key in source) row[key] = sqliteValue(source[key]);
        chunk.push(row);
        if (chunk.length === chunkSize) {
          yield chunk;
          chunk = [];
        }
      }
      if (chunk.length > 0) yield chunk;
    } finally {
      // Resets the statement, so the connection can run the next query.
      iterator.return?.();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db?.close();
    this.#db = undefined;
  }

  #open(): Database.Database {
    if (this.#closed) throw new SourceError('SOURCE_CONNECT_FAILED', 'The SQLite source is closed; create a new one.');
    if (this.#db) return this.#db;
    const { path } = this.#options;
    try {
      const db = new Database(path, { readonly: true, fileMustExist: true });
      try {
        // Opening is lazy in SQLite; reading the header finds a file that is not a database.
        db.pragma('schema_version');
      } catch (error) {
        db.close();
        throw error;
      }
      this.#db = db;
    } catch (error) {
      throw new SourceError(
        'SOURCE_CONNECT_FAILED',
        `Cannot open the SQLite database ${path}: ${messageOf(error)}. Check the source's path (relative to the project file) and that the file is a readable SQLite database.`,
        { cause: error },
      );
    }
    return this.#db;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function queryFailed(error: unknown): SourceError {
  return new SourceError(
    'SOURCE_QUERY_FAILED',
    `SQLite could not run the model's SQL: ${messageOf(error)}. Fix the model's sql.`,
    { cause: error },
  );
}
