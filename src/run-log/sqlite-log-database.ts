/**
 * The run log in a SQLite file, which has no schemas: the tables are named `SCHEMA_runs`,
 * `SCHEMA_row_outcomes` (`panelsync_runs`, `panelsync_row_outcomes` by default). The file is
 * created when missing.
 */
import Database from 'better-sqlite3';
import type { LogColumnType, LogDatabase, LogTable, LogValue } from './log-database.ts';

const TYPES: Record<LogColumnType, string> = {
  key: 'TEXT',
  text: 'TEXT',
  integer: 'INTEGER',
  boolean: 'INTEGER',
  // ISO 8601 UTC text, which sorts and compares as time does.
  timestamp: 'TEXT',
  json: 'TEXT',
};

/** A read-write connection to a SQLite file holding the run log under the table prefix `SCHEMA_`. */
export class SqliteLogDatabase implements LogDatabase {
  readonly type = 'sqlite' as const;
  #closed = false;

  private constructor(
    private readonly db: Database.Database,
    private readonly schema: string,
  ) {}

  /** @throws the SQLite error when the file cannot be opened or created */
  static async open(path: string, schema: string): Promise<SqliteLogDatabase> {
    const db = new Database(path);
    // A model may be reading the same file: wait for its lock rather than fail at once.
    db.pragma('busy_timeout = 10000');
    return new SqliteLogDatabase(db, schema);
  }

  async ensureSchema(): Promise<void> {}

  table(table: LogTable): string {
    return `"${this.schema}_${table}"`;
  }

  columnType(type: LogColumnType): string {
    return TYPES[type];
  }

  encode(_type: LogColumnType, value: LogValue): unknown {
    return typeof value === 'boolean' ? Number(value) : value;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<void> {
    this.db.prepare(sql).run(...params);
  }

  async all(sql: string, params: readonly unknown[] = []): Promise<Array<Record<string, unknown>>> {
    return this.db.prepare(sql).all(...params) as Array<Record<string, unknown>>;
  }

  async transaction(body: () => Promise<void>): Promise<void> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      await body();
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.db.close();
  }
}
