/**
 * MySQL and MariaDB: rows stream through mysql2's streaming query, which pauses the socket
 * whenever the consumer falls behind (backpressure), so only about one chunk is buffered.
 */
import mysql from 'mysql2';
import type { FieldPacket, Pool, PoolConnection, TypeCastField, TypeCastNext } from 'mysql2';
import { chunkRows, chunkSizeOf } from './chunk-rows.ts';
import { assertColumnNames } from './column-names.ts';
import { isoFromDateTimeText, jsonValue } from './normalize-value.ts';
import { redactUrl, scrubPassword } from './redact-url.ts';
import { type Row, type Source, SourceError, type StreamOptions } from './source.ts';

export interface MysqlSourceOptions {
  /** `mysql://user:password@host:port/database` (see mysql2 connection URIs). */
  url: string;
  /** Time allowed to open a connection, ms; default 10,000. */
  connectTimeoutMs?: number;
}

/**
 * DATETIME and TIMESTAMP arrive as text (`dateStrings`) in the session time zone, which every
 * connection sets to UTC, and become ISO 8601 UTC. Everything else is mysql2's default.
 */
function typeCast(field: TypeCastField, next: TypeCastNext): unknown {
  if (field.type === 'DATETIME' || field.type === 'TIMESTAMP' || field.type === 'DATETIME2' || field.type === 'TIMESTAMP2') {
    const text = field.string();
    return text === null ? null : isoFromDateTimeText(text);
  }
  return next();
}

/**
 * A MySQL / MariaDB source over a small connection pool (up to 4 connections, opened on demand,
 * each with `time_zone = '+00:00'`). Each {@link MysqlSource.stream} call takes one connection;
 * a stream that stops early destroys its connection (the server stops sending the rest of the
 * result) instead of draining it.
 *
 * Type notes (beyond `source.ts`): BIGINT follows the integer rule; DECIMAL, and aggregates like
 * `SUM(int)` that MySQL types as DECIMAL, are exact strings (`CAST(… AS SIGNED)` for a number);
 * `BOOLEAN`/`TINYINT(1)` is `0`/`1`; `BIT` and binary strings are base64; TIME is MySQL's text;
 * `'0000-00-00 00:00:00'` stays that string. JSON is parsed for MySQL's JSON type and for
 * MariaDB's JSON columns and `JSON_*` functions that the server marks as JSON (MariaDB 10.5+);
 * JSON text without that mark (e.g. a plain LONGTEXT) stays a string.
 */
export class MysqlSource implements Source {
  readonly type = 'mysql' as const;
  readonly #url: string;
  readonly #pool: Pool;
  #closed = false;

  constructor(options: MysqlSourceOptions) {
    this.#url = options.url;
    this.#pool = mysql.createPool({
      uri: options.url,
      connectionLimit: 4,
      maxIdle: 1,
      idleTimeout: 10_000,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      supportBigNumbers: true,
      bigNumberStrings: false,
      decimalNumbers: false,
      dateStrings: true,
      timezone: 'Z',
      typeCast,
    });
    this.#pool.on('connection', (connection) => {
      // Queued before the caller's query on this new connection, so TIMESTAMP reads in UTC.
      connection.query("SET time_zone = '+00:00'", () => undefined);
    });
  }

  /**
   * See {@link Source.stream}. Throws {@link SourceError} `SOURCE_CONNECT_FAILED` when no
   * connection can be opened (server down, wrong credentials or database), `SOURCE_QUERY_FAILED`
   * when the server rejects or fails the query, `SOURCE_DUPLICATE_COLUMNS` (before the first chunk)
   * when two result columns share a name.
   */
  async *stream(sql: string, options?: StreamOptions): AsyncGenerator<Row[], void, undefined> {
    const chunkSize = chunkSizeOf(options);
    const connection = await this.#connect();
    let finished = false;
    try {
      const query = connection.query({ sql, rowsAsArray: false });
      // The server sends the column definitions (the `fields` event) before the first row or the
      // end; a statement without a result set (an OK packet) reports none.
      let columns: string[] | undefined;
      query.once('fields', (fields?: FieldPacket[]) => {
        columns = fields?.map((field) => field.name);
      });
      const rows = query.stream({ highWaterMark: chunkSize });
      yield* chunkRows(this.#rowBatches(rows, () => columns), chunkSize);
      finished = true;
    } finally {
      if (finished) connection.release();
      else connection.destroy();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await new Promise<void>((resolve) => this.#pool.end(() => resolve()));
  }

  /**
   * The rows of a streaming query, one per batch. `columns()` (the result's column names, known
   * once the first row or the end has arrived) is checked then, once: the row objects keep one
   * value per name.
   */
  async *#rowBatches(rows: AsyncIterable<unknown>, columns: () => string[] | undefined): AsyncGenerator<Row[], void, undefined> {
    const iterator = rows[Symbol.asyncIterator]();
    try {
      for (let first = true; ; first = false) {
        let next: IteratorResult<unknown>;
        try {
          next = await iterator.next();
        } catch (error) {
          throw this.#queryFailed(error);
        }
        const names = first ? columns() : undefined;
        if (names) assertColumnNames(names);
        if (next.done) return;
        const source = next.value;
        if (source === null || typeof source !== 'object' || Array.isArray(source)) {
          throw this.#queryFailed(new Error('the statement returns no rows; a model must be a SELECT query'));
        }
        const row: Row = {};
        for (const [key, value] of Object.entries(source)) row[key] = jsonValue(value);
        yield [row];
      }
    } finally {
      await iterator.return?.();
    }
  }

  async #connect(): Promise<PoolConnection> {
    if (this.#closed) throw new SourceError('SOURCE_CONNECT_FAILED', 'The MySQL source is closed; create a new one.');
    try {
      return await new Promise<PoolConnection>((resolve, reject) =>
        this.#pool.getConnection((error, connection) => (error ? reject(error) : resolve(connection))),
      );
    } catch (error) {
      throw new SourceError(
        'SOURCE_CONNECT_FAILED',
        `Cannot connect to MySQL at ${redactUrl(this.#url)}: ${scrubPassword(messageOf(error), this.#url)}. Check the source's url (host, port, user, password, database) and that the server accepts connections from this machine.`,
        { cause: error },
      );
    }
  }

  #queryFailed(error: unknown): SourceError {
    return new SourceError(
      'SOURCE_QUERY_FAILED',
      `MySQL could not run the model's SQL: ${scrubPassword(messageOf(error), this.#url)}. Fix the model's sql.`,
      { cause: error },
    );
  }
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  }
  return error instanceof Error ? error.message || String((error as { code?: unknown }).code ?? error.name) : String(error);
}
