/**
 * PostgreSQL (and wire-compatible warehouses): rows stream through a server-side cursor
 * (pg-cursor), one `FETCH` of `chunkSize` rows per chunk.
 */
import pg from 'pg';
import Cursor from 'pg-cursor';
import { chunkSizeOf } from './chunk-rows.ts';
import { assertColumnNames } from './column-names.ts';
import { base64FromBytes, floatValue, integerValue, isoFromDateTimeText, parseJsonText } from './normalize-value.ts';
import { redactUrl, scrubPassword } from './redact-url.ts';
import { DEFAULT_CHUNK_SIZE, type JsonValue, type Row, type Source, SourceError, type StreamOptions } from './source.ts';

export interface PostgresSourceOptions {
  /** `postgres://user:password@host:port/database[?sslmode=…]` (see node-postgres connection strings). */
  url: string;
  /** Time allowed to open a connection, ms; default 10,000. */
  connectTimeoutMs?: number;
}

// PostgreSQL type OIDs (see `SELECT oid, typname FROM pg_type`).
const OID = {
  bytea: 17,
  int8: 20,
  json: 114,
  jsonArray: 199,
  float4: 700,
  float8: 701,
  int8Array: 1016,
  byteaArray: 1001,
  float4Array: 1021,
  float8Array: 1022,
  timestampArray: 1115,
  dateArray: 1182,
  timestampArrayTz: 1185,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  intervalArray: 1187,
  numericArray: 1231,
  timetz: 1266,
  numeric: 1700,
  jsonb: 3802,
  jsonbArray: 3807,
} as const;

const raw = (value: string): string => value;
const int8 = (value: string): JsonValue => integerValue(value);
const float = (value: string): JsonValue => floatValue(Number.parseFloat(value));
const json = (value: string): JsonValue => parseJsonText(value);
const bytea = (value: string): JsonValue =>
  value.startsWith('\\x') ? base64FromBytes(Buffer.from(value.slice(2), 'hex')) : value;

/** Text-format parsers by OID, so values follow the conventions of `source.ts` exactly. */
const PARSERS = new Map<number, (value: string) => JsonValue>([
  [OID.int8, int8],
  [OID.numeric, raw],
  [OID.float4, float],
  [OID.float8, float],
  [OID.date, raw],
  [OID.time, raw],
  [OID.timetz, raw],
  [OID.interval, raw],
  [OID.timestamp, isoFromDateTimeText],
  [OID.timestamptz, isoFromDateTimeText],
  [OID.json, json],
  [OID.jsonb, json],
  [OID.bytea, bytea],
]);
const ARRAY_PARSERS = new Map<number, (value: string) => JsonValue>([
  [OID.int8Array, int8],
  [OID.numericArray, raw],
  [OID.float4Array, float],
  [OID.float8Array, float],
  [OID.dateArray, raw],
  [OID.intervalArray, raw],
  [OID.timestampArray, isoFromDateTimeText],
  [OID.timestampArrayTz, isoFromDateTimeText],
  [OID.jsonArray, json],
  [OID.jsonbArray, json],
  [OID.byteaArray, bytea],
]);

/** pg-types' array literal parser; its typings describe it as a function, pg-types 2.x ships `{ create }`. */
const arrayParser = pg.types.arrayParser as unknown as {
  create(source: string, transform: (item: string | null) => JsonValue): { parse(): JsonValue[] };
};

/**
 * Per-query type parsers (never the process-wide `pg.types`, which other code may rely on).
 * Types not listed keep node-postgres' text parsing (int2/int4 -> number, bool -> boolean,
 * uuid/text -> string, other arrays -> arrays).
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (format === 'binary') return pg.types.getTypeParser(oid, 'binary');
    const parser = PARSERS.get(oid);
    if (parser) return parser;
    const element = ARRAY_PARSERS.get(oid);
    if (element) {
      return (value: string) =>
        arrayParser.create(value, (item) => (item === null ? null : element(item))).parse();
    }
    return pg.types.getTypeParser(oid, 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A PostgreSQL source over a small connection pool (up to 4 connections, opened on demand).
 * Each {@link PostgresSource.stream} call takes one connection, declares a server-side cursor
 * and fetches `chunkSize` rows per chunk; the cursor is closed and the connection returned when
 * the iteration ends, fails or stops early.
 *
 * Type notes (beyond `source.ts`): microseconds are truncated to milliseconds; `infinity`
 * dates and timestamps stay the strings PostgreSQL prints; `interval`, `time` and `timetz` are
 * PostgreSQL's text; `money` and other types without a rule here are their text. Timestamps are
 * parsed from the ISO `DateStyle` (PostgreSQL's default), which every connection sets.
 */
export class PostgresSource implements Source {
  readonly type = 'postgres' as const;
  readonly #url: string;
  readonly #pool: pg.Pool;
  #closed = false;

  constructor(options: PostgresSourceOptions) {
    this.#url = options.url;
    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: 4,
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      types: TYPES,
    });
    // An idle connection dropped by the server must not crash the process; the next stream
    // gets a fresh connection.
    this.#pool.on('error', () => undefined);
    this.#pool.on('connect', (client) => {
      client.query('SET DateStyle TO ISO, YMD').catch(() => undefined);
    });
  }

  /**
   * See {@link Source.stream}. Throws {@link SourceError} `SOURCE_CONNECT_FAILED` when no
   * connection can be opened (server down, wrong credentials or database), `SOURCE_QUERY_FAILED`
   * when PostgreSQL rejects or fails the query, `SOURCE_DUPLICATE_COLUMNS` (before the first chunk
   * is yielded) when two result columns share a name.
   */
  async *stream(sql: string, options?: StreamOptions): AsyncGenerator<Row[], void, undefined> {
    const chunkSize = chunkSizeOf(options);
    // A round trip per FETCH: small chunks (a plan's) are fetched a few at a time, at least
    // DEFAULT_CHUNK_SIZE rows per round trip.
    const fetchSize = chunkSize * Math.ceil(DEFAULT_CHUNK_SIZE / chunkSize);
    const client = await this.#connect();
    const cursor = client.query(new Cursor<Record<string, unknown>>(sql, undefined, { types: TYPES }));
    let failed = false;
    let discard: Error | undefined;
    try {
      for (let first = true; ; first = false) {
        let rows: Record<string, unknown>[];
        let fields: pg.FieldDef[];
        try {
          ({ rows, fields } = await readChunk(cursor, fetchSize));
        } catch (error) {
          failed = true;
          throw this.#queryFailed(error);
        }
        // The row description lists every column; the row objects keep one value per name.
        if (first) assertColumnNames(fields.map((field) => field.name));
        if (rows.length === 0) return;
        for (let at = 0; at < rows.length; at += chunkSize) yield rows.slice(at, at + chunkSize) as Row[];
        if (rows.length < fetchSize) return;
      }
    } finally {
      // After a query error the server already ended the portal (and pg-cursor must not send a
      // second Sync); otherwise closing it releases the server-side cursor of an early stop.
      if (!failed) {
        try {
          await cursor.close();
        } catch (error) {
          discard = error instanceof Error ? error : new Error(String(error));
        }
      }
      // A connection whose cursor could not be closed cleanly is discarded, not reused.
      client.release(discard);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  async #connect(): Promise<pg.PoolClient> {
    if (this.#closed) throw new SourceError('SOURCE_CONNECT_FAILED', 'The PostgreSQL source is closed; create a new one.');
    try {
      return await this.#pool.connect();
    } catch (error) {
      throw new SourceError(
        'SOURCE_CONNECT_FAILED',
        `Cannot connect to PostgreSQL at ${redactUrl(this.#url)}: ${scrubPassword(messageOf(error), this.#url)}. Check the source's url (host, port, user, password, database) and that the server accepts connections from this machine.`,
        { cause: error },
      );
    }
  }

  #queryFailed(error: unknown): SourceError {
    return new SourceError(
      'SOURCE_QUERY_FAILED',
      `PostgreSQL could not run the model's SQL: ${scrubPassword(messageOf(error), this.#url)}. Fix the model's sql.`,
      { cause: error },
    );
  }
}

/**
 * The next `count` rows of `cursor` with the result's fields (from PostgreSQL's row description,
 * every column of the result even when it has 0 rows). Rejects with the driver's error.
 */
function readChunk(
  cursor: Cursor<Record<string, unknown>>,
  count: number,
): Promise<{ rows: Record<string, unknown>[]; fields: pg.FieldDef[] }> {
  return new Promise((resolve, reject) => {
    // pg-cursor passes no result to a read after the end; the first read always has one.
    cursor.read(count, (error, rows, result?: pg.QueryResult) =>
      error ? reject(error) : resolve({ rows, fields: result?.fields ?? [] }),
    );
  });
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  }
  return error instanceof Error ? error.message || error.name : String(error);
}

