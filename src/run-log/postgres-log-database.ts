/** The run log in PostgreSQL: tables in a schema of their own (`CREATE SCHEMA IF NOT EXISTS`). */
import pg from 'pg';
import { redactUrl, scrubPassword } from '../sources/redact-url.ts';
import type { LogColumnType, LogDatabase, LogTable, LogValue } from './log-database.ts';
import { inTransaction } from './in-transaction.ts';

const TYPES: Record<LogColumnType, string> = {
  key: 'text',
  text: 'text',
  integer: 'bigint',
  boolean: 'boolean',
  timestamp: 'timestamptz',
  json: 'jsonb',
};

/** A connection (one client, no pool) to a PostgreSQL database holding the run log in `schema`. */
export class PostgresLogDatabase implements LogDatabase {
  readonly type = 'postgres' as const;
  #closed = false;

  private constructor(
    private readonly client: pg.Client,
    private readonly url: string,
    private readonly schema: string,
  ) {}

  /** @throws Error naming the server (password hidden) when no connection opens within 10 s */
  static async open(url: string, schema: string): Promise<PostgresLogDatabase> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined); // a dropped connection fails the statement under way; it must not crash the process
    try {
      await client.connect();
    } catch (error) {
      throw new Error(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${scrubPassword((error as Error).message, url)}`, { cause: error });
    }
    return new PostgresLogDatabase(client, url, schema);
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
    await this.all(sql, params);
  }

  async all(sql: string, params: readonly unknown[] = []): Promise<Array<Record<string, unknown>>> {
    let n = 0;
    try {
      return (await this.client.query(sql.replace(/\?/g, () => `$${++n}`), [...params])).rows as Array<Record<string, unknown>>;
    } catch (error) {
      throw new Error(`PostgreSQL: ${scrubPassword((error as Error).message, this.url)}`, { cause: error });
    }
  }

  transaction(body: () => Promise<void>): Promise<void> {
    return inTransaction(this, 'BEGIN', body);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.client.end().catch(() => undefined);
  }
}
