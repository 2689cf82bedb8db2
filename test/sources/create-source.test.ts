import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../../src/sources/create-source.ts';
import { DuckdbSource } from '../../src/sources/duckdb-source.ts';
import { MysqlSource } from '../../src/sources/mysql-source.ts';
import { PostgresSource } from '../../src/sources/postgres-source.ts';
import type { Source } from '../../src/sources/source.ts';
import { SqliteSource } from '../../src/sources/sqlite-source.ts';
import { collectRows } from './collect-rows.ts';

describe('createSource', () => {
  let projectDir: string;
  const opened: Source[] = [];
  const open = (source: Source): Source => {
    opened.push(source);
    return source;
  };

  beforeAll(async () => {
    projectDir = await mkdtemp(join(tmpdir(), 'panelsync-project-'));
    await mkdir(join(projectDir, 'data'));
    await writeFile(join(projectDir, 'data', 'people.csv'), 'id,email,name\n1,ada@example.com,Ada\n2,bob@example.com,Köhler\n');
    const writer = await DuckDBInstance.create(':memory:');
    const connection = await writer.connect();
    await connection.run(
      `COPY (SELECT 7::BIGINT AS id, 19.99::DECIMAL(10,2) AS amount) TO '${join(projectDir, 'data', 'orders.parquet')}' (FORMAT parquet)`,
    );
    await connection.run(`ATTACH '${join(projectDir, 'data', 'warehouse.duckdb')}' AS w; CREATE TABLE w.t AS SELECT 'x' AS v`);
    connection.closeSync();
    writer.closeSync();
    const sqlite = new Database(join(projectDir, 'data', 'model.sqlite'));
    sqlite.exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('from sqlite')");
    sqlite.close();
  });
  afterAll(async () => {
    for (const source of opened) await source.close();
    await rm(projectDir, { recursive: true, force: true });
  });

  it('returns the source class for each type, without connecting', () => {
    expect(open(createSource({ type: 'duckdb', path: ':memory:' }, projectDir))).toBeInstanceOf(DuckdbSource);
    expect(open(createSource({ type: 'sqlite', path: 'nowhere.sqlite' }, projectDir))).toBeInstanceOf(SqliteSource);
    expect(open(createSource({ type: 'postgres', url: 'postgres://u:p@127.0.0.1:1/db' }, projectDir))).toBeInstanceOf(PostgresSource);
    expect(open(createSource({ type: 'mysql', url: 'mysql://u:p@127.0.0.1:1/db' }, projectDir))).toBeInstanceOf(MysqlSource);
  });

  it('lets an in-memory DuckDB model read CSV and Parquet files relative to the project directory', async () => {
    const source = open(createSource({ type: 'duckdb', path: ':memory:' }, projectDir));
    expect(await collectRows(source, "SELECT * FROM read_csv('data/people.csv') ORDER BY id")).toEqual([
      { id: 1, email: 'ada@example.com', name: 'Ada' },
      { id: 2, email: 'bob@example.com', name: 'Köhler' },
    ]);
    expect(await collectRows(source, "SELECT * FROM 'data/orders.parquet'")).toEqual([{ id: 7, amount: '19.99' }]);
  });

  it('opens a DuckDB file and a SQLite file by paths relative to the project directory', async () => {
    const duck = open(createSource({ type: 'duckdb', path: 'data/warehouse.duckdb' }, projectDir));
    expect(await collectRows(duck, 'SELECT v FROM t')).toEqual([{ v: 'x' }]);
    const sqlite = open(createSource({ type: 'sqlite', path: 'data/model.sqlite' }, projectDir));
    expect(await collectRows(sqlite, 'SELECT v FROM t')).toEqual([{ v: 'from sqlite' }]);
  });

  it('close() is safe to call twice', async () => {
    const source = createSource({ type: 'duckdb', path: ':memory:' }, projectDir);
    await collectRows(source, 'SELECT 1');
    await source.close();
    await source.close();
    await expect(collectRows(source, 'SELECT 1')).rejects.toMatchObject({ code: 'SOURCE_CONNECT_FAILED' });
  });
});
