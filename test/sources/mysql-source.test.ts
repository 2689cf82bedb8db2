import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MysqlSource } from '../../src/sources/mysql-source.ts';
import { SourceError } from '../../src/sources/source.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { collectChunks, collectRows, EXPECTED_SIZES, EXPECTED_VALUES, firstChunkThenBreak, sequenceOf } from './collect-rows.ts';
import { expectMissingDatabase, expectUnreachableWithoutPassword } from './connection-errors.ts';

// MariaDB has no timestamp-with-time-zone type: `at_offset` is a TIMESTAMP column written by a
// session in +02:00, which the source (session in UTC) must read as the UTC instant.
const TYPES_SQL = `
SELECT
  CAST(1 AS SIGNED) AS \`int\`,
  CAST(9007199254740993 AS SIGNED) AS big_bigint,
  CAST(12345678901234567.89 AS DECIMAL(20,2)) AS \`decimal\`,
  CAST(12.5 AS DECIMAL(10,2)) AS decimal_scale,
  CAST(1.5 AS DOUBLE) AS \`float\`,
  TRUE AS \`bool\`,
  DATE '2026-01-02' AS \`date\`,
  TIMESTAMP '2026-01-02 03:04:05.123456' AS ts,
  t.at_offset AS at_offset,
  t.id AS uuid,
  t.doc AS json_column,
  JSON_OBJECT('a', JSON_ARRAY(1, 'x'), 'b', NULL) AS json_function,
  'O''Köhler' AS text,
  X'AA01' AS \`bytes\`,
  SUM(3) AS sum_of_ints,
  NULL AS nothing,
  @@session.time_zone AS session_time_zone
FROM typed t
GROUP BY t.id, t.at_offset, t.doc
`;

const EXPECTED = {
  int: 1,
  big_bigint: '9007199254740993',
  decimal: '12345678901234567.89',
  decimal_scale: '12.50',
  float: 1.5,
  bool: 1,
  date: '2026-01-02',
  ts: '2026-01-02T03:04:05.123Z',
  at_offset: '2026-01-02T01:04:05.000Z',
  uuid: '0e984725-c51c-4bf4-9960-e1c80e27aba0',
  json_column: { a: [1, 'x'], b: null },
  json_function: { a: [1, 'x'], b: null },
  text: "O'Köhler",
  bytes: 'qgE=',
  sum_of_ints: '3',
  nothing: null,
  session_time_zone: '+00:00',
};

describe('MysqlSource (MariaDB)', () => {
  let db: TestDatabase;
  let source: MysqlSource;

  beforeAll(async () => {
    db = await createMysqlDatabase();
    const setup = await mysql.createConnection({ uri: db.url, charset: 'utf8mb4' });
    try {
      await setup.query("SET time_zone = '+02:00'");
      await setup.query('CREATE TABLE typed (id UUID PRIMARY KEY, at_offset TIMESTAMP NOT NULL, doc JSON)');
      await setup.query(
        `INSERT INTO typed VALUES ('0E984725-C51C-4BF4-9960-E1C80E27ABA0', '2026-01-02 03:04:05', '{"a":[1,"x"],"b":null}')`,
      );
    } finally {
      await setup.end();
    }
    source = new MysqlSource({ url: db.url });
  });
  afterAll(async () => {
    await source?.close();
    await db?.drop();
  });

  it('maps every type to the JSON conventions of source.ts', async () => {
    const rows = await collectRows(source, TYPES_SQL);
    expect(JSON.parse(JSON.stringify(rows))).toEqual([EXPECTED]);
    expect(Object.keys(rows[0]!)).toEqual(Object.keys(EXPECTED));
  });

  it('streams 10,005 rows in chunks of 1,000, in order', async () => {
    const sql = `
      WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 10005)
      SELECT n FROM seq ORDER BY n`;
    const chunks = await collectChunks(source, `SET STATEMENT max_recursive_iterations = 20000 FOR ${sql}`, 1000);
    expect(sequenceOf(chunks)).toEqual({ sizes: EXPECTED_SIZES, values: EXPECTED_VALUES });
  });

  it('releases the connection when the consumer stops early', async () => {
    const big = `
      SELECT a.seq * 1000 + b.seq AS n FROM seq_0_to_999 a CROSS JOIN seq_0_to_999 b`;
    // More early stops than the pool has connections: a connection left paused mid-result
    // would make the follow-up query wait forever.
    for (let i = 0; i < 6; i++) {
      const chunk = await firstChunkThenBreak(source, big, 100);
      expect(chunk).toHaveLength(100);
    }
    expect(await collectRows(source, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('throws SOURCE_QUERY_FAILED for bad SQL, and the source keeps working', async () => {
    const error = await collectRows(source, 'SELEC 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'SOURCE_QUERY_FAILED' });
    expect((error as Error).message).toMatch(/SQL syntax.*Fix the model's sql/);
    await expect(collectRows(source, 'SELECT * FROM no_such_table')).rejects.toMatchObject({
      code: 'SOURCE_QUERY_FAILED',
      message: expect.stringContaining('no_such_table'),
    });
    for (let i = 0; i < 5; i++) expect(await collectRows(source, 'SELECT 2 AS ok')).toEqual([{ ok: 2 }]);
  });

  it('throws SOURCE_CONNECT_FAILED for an unreachable server, without the password', () =>
    expectUnreachableWithoutPassword('mysql', (url) => new MysqlSource({ url })));

  it('throws SOURCE_CONNECT_FAILED for a database that does not exist', () =>
    expectMissingDatabase(db.url, (url) => new MysqlSource({ url })));
});
