/**
 * The small interface every database engine hides behind. A model's rows stream in chunks; no
 * source holds a whole result in memory.
 */
import type { SourceType } from '../config/schema.ts';

/**
 * One JSON value of a model row. Every engine maps its types to exactly one of these:
 * - integers: `number` when |n| <= 2^53 - 1, otherwise a decimal `string` (bigints never lose digits);
 * - decimals / numerics: the exact decimal `string` as the engine prints it (`"12.50"`);
 *   floating point (`real`, `double`): `number`, except `NaN` / `±Infinity`, which JSON cannot
 *   hold: the strings `"NaN"`, `"Infinity"`, `"-Infinity"`;
 * - booleans: `boolean` (MySQL `TINYINT(1)`/`BOOLEAN` stays a number: MySQL cannot tell them apart);
 * - dates: `"YYYY-MM-DD"`;
 * - timestamps with or without time zone: ISO 8601 in UTC, `"2026-01-02T03:04:05.000Z"`
 *   (a timestamp without time zone is read as UTC; precision is milliseconds, finer digits are
 *   truncated; `infinity` and instants JavaScript cannot represent keep the engine's text);
 * - times: `"HH:MM:SS[.ffffff]"`; intervals: the engine's text; UUIDs: lower-case `string`;
 *   text: `string`;
 * - JSON / JSONB: the parsed value (object, array, string, number, boolean or null);
 * - binary: base64 `string`; NULL: `null`.
 *
 * Engines without some of these types return what they store, and a model formats it in SQL:
 * SQLite has no decimal, boolean, date or timestamp types (REAL, 0/1 and text come back as
 * stored; see `SqliteSource`); MySQL's `SUM`/`AVG` of integers is DECIMAL, so an exact string.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One model row: column name -> value, in the column order of the query. */
export type Row = Record<string, JsonValue>;

export interface StreamOptions {
  /** Rows per chunk; default {@link DEFAULT_CHUNK_SIZE}. */
  chunkSize?: number;
}

export const DEFAULT_CHUNK_SIZE = 5_000;

/** A connection to one database (a `sources.NAME` entry of the project file). */
export interface Source {
  readonly type: SourceType;
  /**
   * Runs `sql` and yields its rows in chunks of at most `chunkSize` rows, streamed from the
   * engine (server-side cursor or streaming query). Stopping the iteration early releases the
   * cursor. Throws {@link SourceError} (code `SOURCE_QUERY_FAILED`) when the query fails, with the
   * engine's message, `SOURCE_RESERVED_COLUMN` before the first chunk when a column is named
   * `__proto__`, and `SOURCE_DUPLICATE_COLUMNS` before the first chunk when two columns of the
   * result share a name (a row would keep only one of them; see `column-names.ts`).
   */
  stream(sql: string, options?: StreamOptions): AsyncIterable<Row[]>;
  /** Closes the connection; safe to call twice. */
  close(): Promise<void>;
}

export const SOURCE_ERROR_CODES = ['SOURCE_CONNECT_FAILED', 'SOURCE_QUERY_FAILED', 'SOURCE_DUPLICATE_COLUMNS', 'SOURCE_RESERVED_COLUMN'] as const;
export type SourceErrorCode = (typeof SOURCE_ERROR_CODES)[number];

/**
 * A source could not connect or run the model's SQL, or the model's result has two columns of one
 * name. The message never contains a password.
 */
export class SourceError extends Error {
  readonly code: SourceErrorCode;
  constructor(code: SourceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SourceError';
    this.code = code;
  }
}
