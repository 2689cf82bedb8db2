/**
 * The run log in MySQL and MariaDB, where a schema is a database: the tables live in the
 * database `log_to.schema` names (`CREATE DATABASE IF NOT EXISTS`), on the server of the source's URL.
 */
import mysql from 'mysql2/promise';
import { redactUrl, scrubPassword } from '../sources/redact-url.ts';
import type { LogColumnType, LogDatabase, LogTable, LogValue } from './log-database.ts';
import { inTransaction } from './in-transaction.ts';

const TYPES: Record<LogColumnType, string> = {
  key: 'VARCHAR(255)',
  text: 'TEXT',
  integer: 'BIGINT',
  boolean: 'BOOLEAN',
  // Milliseconds, as every time panelsync records; the session's time zone is UTC.
  timestamp: 'DATETIME(3)',
  json: 'JSON',
};

/** A connection to a MySQL / MariaDB server holding the run log in the database `schema`. */
export class MysqlLogDatabase implements LogDatabase {
  readonly type = 'mysql' as const;
  #closed = false;

  private constructor(
    private readonly connection: mysql.Connection,
    private readonly url: string,
    private readonly schema: string,
  ) {}

  /** @throws Error naming the server (password hidden) when no connection opens within 10 s */
  static async open(url: string, schema: string): Promise<MysqlLogDatabase> {
    let connection: mysql.Connection;
    try {
      connection = await mysql.createConnection({ uri: url, connectTimeout: 10_000, timezone: 'Z', charset: 'utf8mb4' });
    } catch (error) {
      throw new Error(`cannot connect to MySQL at ${redactUrl(url)}: ${scrubPassword((error as Error).message, url)}`, { cause: error });
    }
    connection.on('error', () => undefined);
    const database = new MysqlLogDatabase(connection, url, schema);
    await database.run("SET time_zone = '+00:00'");
    return database;
  }

  ensureSchema(): Promise<void> {
    return this.run(`CREATE DATABASE IF NOT EXISTS \`${this.schema}\` CHARACTER SET utf8mb4`);
  }

  table(table: LogTable): string {
    return `\`${this.schema}\`.\`${table}\``;
  }

  columnType(type: LogColumnType): string {
    return TYPES[type];
  }

  /** Timestamps as `YYYY-MM-DD HH:MM:SS.mmm` (UTC): DATETIME takes no `T` or `Z`. */
  encode(type: LogColumnType, value: LogValue): unknown {
    return type === 'timestamp' && typeof value === 'string' ? value.replace('T', ' ').replace(/Z$/, '') : value;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<void> {
    await this.all(sql, params);
  }

  async all(sql: string, params: readonly unknown[] = []): Promise<Array<Record<string, unknown>>> {
    try {
      const [rows] = await this.connection.query(sql, [...params]);
      return Array.isArray(rows) ? (rows as Array<Record<string, unknown>>) : [];
    } catch (error) {
      throw new Error(`MySQL: ${scrubPassword((error as Error).message, this.url)}`, { cause: error });
    }
  }

  /** DDL commits by itself in MySQL: only the writes of `body` are one transaction. */
  transaction(body: () => Promise<void>): Promise<void> {
    return inTransaction(this, 'START TRANSACTION', body);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.connection.end().catch(() => this.connection.destroy());
  }
}
