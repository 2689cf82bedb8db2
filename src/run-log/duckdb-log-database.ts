/**
 * The run log in a DuckDB file: tables in a schema of their own (`CREATE SCHEMA IF NOT EXISTS`).
 * DuckDB lets one process at a time open a file for writing: a run log is written after the run,
 * once the model's read-only connection is closed, and fails (a warning) while another process
 * holds the file.
 */
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { LogColumnType, LogDatabase, LogTable, LogValue } from './log-database.ts';
import { inTransaction } from './in-transaction.ts';

const TYPES: Record<LogColumnType, string> = {
  key: 'VARCHAR',
  text: 'VARCHAR',
  integer: 'BIGINT',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMPTZ',
  json: 'JSON',
};

/** A read-write connection to a DuckDB file holding the run log in `schema`. */
export class DuckdbLogDatabase implements LogDatabase {
  readonly type = 'duckdb' as const;
  #closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly schema: string,
  ) {}

  /** @throws DuckDB's error when the file cannot be opened for writing (another process holds it) */
  static async open(path: string, schema: string): Promise<DuckdbLogDatabase> {
    const instance = await DuckDBInstance.create(path);
    try {
      return new DuckdbLogDatabase(instance, await instance.connect(), schema);
    } catch (error) {
      instance.closeSync();
      throw error;
    }
  }

  ensureSchema(): Promise<void> {
    return this.run(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
  }

  table(table: LogTable): string {
    return `"${this.schema}"."${table}"`;
  }

  columnType(type: LogColumnType): string {
    return TYPES[type];
  }

  encode(_type: LogColumnType, value: LogValue): unknown {
    return value;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<void> {
    await this.connection.run(sql, params as DuckDBValue[]);
  }

  async all(sql: string, params: readonly unknown[] = []): Promise<Array<Record<string, unknown>>> {
    return (await this.connection.runAndReadAll(sql, params as DuckDBValue[])).getRowObjectsJS() as Array<Record<string, unknown>>;
  }

  transaction(body: () => Promise<void>): Promise<void> {
    return inTransaction(this, 'BEGIN TRANSACTION', body);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
