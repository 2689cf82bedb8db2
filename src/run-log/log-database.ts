/**
 * The small interface the run log writes through: one connection to the database a `log_to`
 * names, with the few things that differ between engines (how a table is named, column types,
 * how a value binds). One file per engine; {@link openLogDatabase} picks it.
 */
import type { SourceConfig, SourceType } from '../config/schema.ts';
import { DuckdbLogDatabase } from './duckdb-log-database.ts';
import { MysqlLogDatabase } from './mysql-log-database.ts';
import { PostgresLogDatabase } from './postgres-log-database.ts';
import { SqliteLogDatabase } from './sqlite-log-database.ts';

/** The tables panelsync keeps in a `log_to` schema (see ./log-migrations.ts). */
export const LOG_TABLES = ['runs', 'row_outcomes', 'schema_migrations'] as const;
export type LogTable = (typeof LOG_TABLES)[number];

/**
 * Column types of the log tables, each mapped to one engine type: `key` short text that is
 * indexed (ids, names), `text` text of any length, `integer` 64-bit, `boolean`, `timestamp` an
 * instant (UTC), `json` a JSON document.
 */
export const LOG_COLUMN_TYPES = ['key', 'text', 'integer', 'boolean', 'timestamp', 'json'] as const;
export type LogColumnType = (typeof LOG_COLUMN_TYPES)[number];

/**
 * A value as the log writer hands it over: `timestamp` values are ISO 8601 UTC strings, `json`
 * values JSON text, `boolean` values booleans; every type takes `null`.
 */
export type LogValue = string | number | boolean | null;

/** One open connection to a log database. Statements use `?` placeholders whatever the engine. */
export interface LogDatabase {
  readonly type: SourceType;
  /** Creates the schema when it is missing (MySQL: the database); SQLite has none (its tables are prefixed). */
  ensureSchema(): Promise<void>;
  /** `table` as written in SQL: schema-qualified and quoted, or (SQLite) `"SCHEMA_table"`. */
  table(table: LogTable): string;
  /** The engine's column type for `type`. */
  columnType(type: LogColumnType): string;
  /** `value` as the driver binds it into a column of `type`. */
  encode(type: LogColumnType, value: LogValue): unknown;
  /** Runs one statement. */
  run(sql: string, params?: readonly unknown[]): Promise<void>;
  /** Runs one query and returns its rows. */
  all(sql: string, params?: readonly unknown[]): Promise<Array<Record<string, unknown>>>;
  /** Runs `body` in one transaction: committed when it resolves, rolled back when it throws (rethrown). */
  transaction(body: () => Promise<void>): Promise<void>;
  /** Closes the connection; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens a connection to `source` (a `sources.NAME` entry, paths already absolute) for logs kept in
 * `schema`. Opened read-write, unlike the sources models read from.
 * @throws the driver's error when the database cannot be opened (its message scrubbed of the
 *   source URL's password)
 */
export async function openLogDatabase(source: SourceConfig, schema: string): Promise<LogDatabase> {
  switch (source.type) {
    case 'postgres':
      return PostgresLogDatabase.open(source.url, schema);
    case 'mysql':
      return MysqlLogDatabase.open(source.url, schema);
    case 'sqlite':
      return SqliteLogDatabase.open(source.path, schema);
    case 'duckdb':
      return DuckdbLogDatabase.open(source.path, schema);
  }
}

