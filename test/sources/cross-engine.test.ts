import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MysqlSource } from '../../src/sources/mysql-source.ts';
import { PostgresSource } from '../../src/sources/postgres-source.ts';
import type { Row } from '../../src/sources/source.ts';
import { SqliteSource } from '../../src/sources/sqlite-source.ts';
import { CHINOOK_CUSTOMERS_MYSQL, CHINOOK_CUSTOMERS_POSTGRES, CHINOOK_CUSTOMERS_SQLITE } from '../helpers/chinook-models.ts';
import {
  CHINOOK_SQLITE_PATH,
  createMysqlDatabase,
  createPostgresDatabase,
  loadChinookMysql,
  loadChinookPostgres,
  type TestDatabase,
} from '../helpers/databases.ts';
import { collectRows } from './collect-rows.ts';

describe('the Chinook customers model on SQLite, PostgreSQL and MariaDB', () => {
  let postgresDb: TestDatabase;
  let mysqlDb: TestDatabase;
  const rows: Record<'sqlite' | 'postgres' | 'mysql', Row[]> = { sqlite: [], postgres: [], mysql: [] };

  beforeAll(async () => {
    [postgresDb, mysqlDb] = await Promise.all([createPostgresDatabase(), createMysqlDatabase()]);
    await Promise.all([loadChinookPostgres(postgresDb.url), loadChinookMysql(mysqlDb.url)]);
    const sqlite = new SqliteSource({ path: CHINOOK_SQLITE_PATH });
    const postgres = new PostgresSource({ url: postgresDb.url });
    const mysql = new MysqlSource({ url: mysqlDb.url });
    try {
      rows.sqlite = await collectRows(sqlite, CHINOOK_CUSTOMERS_SQLITE);
      rows.postgres = await collectRows(postgres, CHINOOK_CUSTOMERS_POSTGRES);
      rows.mysql = await collectRows(mysql, CHINOOK_CUSTOMERS_MYSQL);
    } finally {
      await Promise.all([sqlite.close(), postgres.close(), mysql.close()]);
    }
  });
  afterAll(async () => {
    await Promise.all([postgresDb?.drop(), mysqlDb?.drop()]);
  });

  it('returns the 59 customers with the expected values', () => {
    expect(rows.sqlite).toHaveLength(59);
    expect(rows.sqlite[1]).toEqual({
      CustomerId: 2,
      FirstName: 'Leonie',
      LastName: 'Köhler',
      Company: null,
      City: 'Stuttgart',
      State: null,
      Country: 'Germany',
      Phone: '+49 0711 2842222',
      Email: 'leonekohler@surfeu.de',
      lifetime_value: '37.62',
      last_invoice_at: '2024-07-13T00:00:00.000Z',
    });
    const total = rows.sqlite.reduce((sum, row) => sum + Math.round(Number(row.lifetime_value) * 100), 0);
    expect(total).toBe(232_860); // SUM(Total) over all 412 invoices: 2328.60
  });

  it('yields identical rows (same JSON, same column order) on all three engines', () => {
    expect(JSON.stringify(rows.postgres)).toBe(JSON.stringify(rows.sqlite));
    expect(JSON.stringify(rows.mysql)).toBe(JSON.stringify(rows.sqlite));
  });
});
