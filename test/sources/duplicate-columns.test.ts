/**
 * Issue 9, item 7: a model returning two columns of one name (`SELECT p.*, o.email …`) is refused
 * before its first chunk on every engine, from the engine's column metadata (0 rows included),
 * and the same model with an alias runs. Real databases: a DuckDB and a SQLite file, and
 * throwaway PostgreSQL and MariaDB databases, each holding the same two tables.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckdbSource } from '../../src/sources/duckdb-source.ts';
import { MysqlSource } from '../../src/sources/mysql-source.ts';
import { PostgresSource } from '../../src/sources/postgres-source.ts';
import { type Row, type Source, SourceError } from '../../src/sources/source.ts';
import { SqliteSource } from '../../src/sources/sqlite-source.ts';
import { createMysqlDatabase, createPostgresDatabase, type TestDatabase } from '../helpers/databases.ts';
import { collectRows } from './collect-rows.ts';

/** The same tables on every engine: people, and orders that carry a billing email of their own. */
const SETUP = [
  'CREATE TABLE person (id INTEGER PRIMARY KEY, email VARCHAR(100))',
  'CREATE TABLE orders (id INTEGER PRIMARY KEY, person_id INTEGER, email VARCHAR(100))',
  "INSERT INTO person VALUES (1, 'ada@example.com'), (2, 'bob@example.com')",
  "INSERT INTO orders VALUES (10, 1, 'billing@acme.test'), (11, 2, 'billing@acme.test')",
];

const JOIN = 'FROM person p JOIN orders o ON o.person_id = p.id';

const REFUSAL =
  'The model returns column "email" 2 times, but a row keeps only one value per column name: give each a distinct name with AS in the model\'s sql, e.g. SELECT p.*, o.email AS order_email.';

const ENGINES = ['duckdb', 'sqlite', 'postgres', 'mysql'] as const;
type Engine = (typeof ENGINES)[number];

/** Runs `sql` and returns the chunks it yielded before it failed, and the error. */
async function chunksThenError(source: Source, sql: string): Promise<{ chunks: Row[][]; error: unknown }> {
  const chunks: Row[][] = [];
  try {
    for await (const chunk of source.stream(sql)) chunks.push(chunk);
  } catch (error) {
    return { chunks, error };
  }
  return { chunks, error: undefined };
}

describe('a model with two columns of one name, on every engine', () => {
  let dir: string;
  let postgresDb: TestDatabase;
  let mysqlDb: TestDatabase;
  const sources: Partial<Record<Engine, Source>> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'panelsync-duplicate-columns-'));
    [postgresDb, mysqlDb] = await Promise.all([createPostgresDatabase(), createMysqlDatabase()]);

    const duckdb = await DuckDBInstance.create(join(dir, 'model.duckdb'));
    const duckdbSetup = await duckdb.connect();
    for (const statement of SETUP) await duckdbSetup.run(statement);
    duckdbSetup.closeSync();
    duckdb.closeSync();

    const sqlite = new Database(join(dir, 'model.sqlite'));
    for (const statement of SETUP) sqlite.exec(statement);
    sqlite.close();

    const postgres = new pg.Client({ connectionString: postgresDb.url });
    await postgres.connect();
    try {
      for (const statement of SETUP) await postgres.query(statement);
    } finally {
      await postgres.end();
    }

    const mariadb = await mysql.createConnection({ uri: mysqlDb.url });
    try {
      for (const statement of SETUP) await mariadb.query(statement);
    } finally {
      await mariadb.end();
    }

    sources.duckdb = new DuckdbSource({ path: join(dir, 'model.duckdb'), fileSearchPath: dir });
    sources.sqlite = new SqliteSource({ path: join(dir, 'model.sqlite') });
    sources.postgres = new PostgresSource({ url: postgresDb.url });
    sources.mysql = new MysqlSource({ url: mysqlDb.url });
  });
  afterAll(async () => {
    await Promise.all(Object.values(sources).map((source) => source.close()));
    await Promise.all([postgresDb?.drop(), mysqlDb?.drop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(ENGINES)('%s: refuses a.email and b.email before the first chunk, naming the column and an alias', async (engine) => {
    const { chunks, error } = await chunksThenError(sources[engine]!, `SELECT p.id, p.email, o.email ${JOIN} ORDER BY p.id`);
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'SOURCE_DUPLICATE_COLUMNS', message: REFUSAL });
    expect(chunks).toEqual([]);
  });

  it.each(ENGINES)('%s: refuses SELECT p.*, o.email, also when the result has no rows', async (engine) => {
    const source = sources[engine]!;
    await expect(collectRows(source, `SELECT p.*, o.email ${JOIN}`)).rejects.toMatchObject({
      code: 'SOURCE_DUPLICATE_COLUMNS',
      message: REFUSAL,
    });
    await expect(collectRows(source, `SELECT p.*, o.email ${JOIN} WHERE p.id < 0`)).rejects.toMatchObject({
      code: 'SOURCE_DUPLICATE_COLUMNS',
      message: REFUSAL,
    });
  });

  it.each(ENGINES)('%s: names every duplicated column with its count', async (engine) => {
    await expect(collectRows(sources[engine]!, `SELECT p.id, p.email, o.id, o.email ${JOIN}`)).rejects.toMatchObject({
      code: 'SOURCE_DUPLICATE_COLUMNS',
      message: expect.stringMatching(/^The model returns columns "id" 2 times, "email" 2 times, /),
    });
  });

  it.each(ENGINES)('%s: runs the same model with an alias, after a refusal on the same source', async (engine) => {
    const source = sources[engine]!;
    await expect(collectRows(source, `SELECT p.id, p.email, o.email ${JOIN}`)).rejects.toBeInstanceOf(SourceError);
    expect(await collectRows(source, `SELECT p.id, p.email, o.email AS order_email ${JOIN} ORDER BY p.id`)).toEqual([
      { id: 1, email: 'ada@example.com', order_email: 'billing@acme.test' },
      { id: 2, email: 'bob@example.com', order_email: 'billing@acme.test' },
    ]);
  });
});
