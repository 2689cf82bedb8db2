import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSource } from '../../src/sources/postgres-source.ts';
import { SourceError } from '../../src/sources/source.ts';
import { createPostgresDatabase, type TestDatabase } from '../helpers/databases.ts';
import { collectChunks, collectRows, EXPECTED_SIZES, EXPECTED_VALUES, firstChunkThenBreak, sequenceOf } from './collect-rows.ts';
import { expectMissingDatabase, expectUnreachableWithoutPassword } from './connection-errors.ts';

const TYPES_SQL = `
SELECT
  1::int AS int,
  42::bigint AS small_bigint,
  9007199254740993::bigint AS big_bigint,
  12345678901234567.89::numeric(20,2) AS decimal,
  12.50::numeric(10,2) AS decimal_scale,
  1.5::float8 AS float,
  'NaN'::float8 AS not_a_number,
  true AS bool,
  date '2026-01-02' AS date,
  timestamp '2026-01-02 03:04:05.123456' AS ts,
  timestamptz '2026-01-02 03:04:05.5+02' AS tstz,
  timestamptz '1900-01-01 00:00:00+05:53:28' AS tstz_seconds_offset,
  '0E984725-C51C-4BF4-9960-E1C80E27ABA0'::uuid AS uuid,
  '{"a":[1,"x"],"b":null}'::jsonb AS jsonb,
  '[1,2]'::json AS json,
  '{"big":1e999}'::json AS json_beyond_double,
  'O''Köhler' AS text,
  '\\xaa01'::bytea AS bytes,
  ARRAY[timestamp '2026-01-02 03:04:05', NULL] AS ts_array,
  ARRAY[9007199254740993, 7]::int8[] AS int8_array,
  NULL::text AS nothing
`;

const EXPECTED = {
  int: 1,
  small_bigint: 42,
  big_bigint: '9007199254740993',
  decimal: '12345678901234567.89',
  decimal_scale: '12.50',
  float: 1.5,
  not_a_number: 'NaN',
  bool: true,
  date: '2026-01-02',
  ts: '2026-01-02T03:04:05.123Z',
  tstz: '2026-01-02T01:04:05.500Z',
  tstz_seconds_offset: '1899-12-31T18:06:32.000Z',
  uuid: '0e984725-c51c-4bf4-9960-e1c80e27aba0',
  jsonb: { a: [1, 'x'], b: null },
  json: [1, 2],
  json_beyond_double: { big: 'Infinity' },
  text: "O'Köhler",
  bytes: 'qgE=',
  ts_array: ['2026-01-02T03:04:05.000Z', null],
  int8_array: ['9007199254740993', 7],
  nothing: null,
};

describe('PostgresSource', () => {
  let db: TestDatabase;
  let source: PostgresSource;

  beforeAll(async () => {
    db = await createPostgresDatabase();
    source = new PostgresSource({ url: db.url });
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

  it('converts timestamps to UTC whatever the session time zone', async () => {
    // The server prints timestamptz in the session zone (+05:30 here); the source must undo it.
    const url = new URL(db.url);
    url.searchParams.set('options', '-c TimeZone=Asia/Kolkata');
    const kolkata = new PostgresSource({ url: url.toString() });
    try {
      const [row] = await collectRows(kolkata, `SELECT current_setting('TimeZone') AS zone, timestamptz '2026-01-02 03:04:05+02' AS tstz`);
      expect(row).toEqual({ zone: 'Asia/Kolkata', tstz: '2026-01-02T01:04:05.000Z' });
    } finally {
      await kolkata.close();
    }
  });

  it('streams 10,005 rows in chunks of 1,000 through a server-side cursor, in order', async () => {
    const chunks = await collectChunks(source, 'SELECT n FROM generate_series(1, 10005) AS n ORDER BY n', 1000);
    expect(sequenceOf(chunks)).toEqual({ sizes: EXPECTED_SIZES, values: EXPECTED_VALUES });
    // A plan's chunks (2,048 rows: three per fetch) and chunks larger than a default fetch.
    for (const [chunkSize, sizes] of [
      [2048, [2048, 2048, 2048, 2048, 1813]],
      [7000, [7000, 3005]],
    ] as const) {
      const rows = await collectChunks(source, 'SELECT n FROM generate_series(1, 10005) AS n ORDER BY n', chunkSize);
      expect(sequenceOf(rows)).toEqual({ sizes, values: EXPECTED_VALUES });
    }
  });

  it('releases the cursor and the connection when the consumer stops early', async () => {
    // More early stops than the pool has connections: a leaked connection would make the
    // follow-up query wait for a free one and time out.
    for (let i = 0; i < 6; i++) {
      const chunk = await firstChunkThenBreak(source, 'SELECT n FROM generate_series(1, 1000000) AS n', 100);
      expect(chunk).toHaveLength(100);
    }
    expect(await collectRows(source, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    // An unclosed cursor leaves its backend 'active' or 'idle in transaction'.
    const busy = await collectRows(
      source,
      "SELECT count(*)::int AS busy FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'",
    );
    expect(busy).toEqual([{ busy: 0 }]);
  });

  it('throws SOURCE_QUERY_FAILED for bad SQL, and the source keeps working', async () => {
    const error = await collectRows(source, 'SELEC 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'SOURCE_QUERY_FAILED' });
    expect((error as Error).message).toMatch(/syntax error.*Fix the model's sql/);
    const missing = await collectRows(source, 'SELECT * FROM no_such_table').catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'SOURCE_QUERY_FAILED', message: expect.stringContaining('no_such_table') });
    for (let i = 0; i < 5; i++) expect(await collectRows(source, 'SELECT 2 AS ok')).toEqual([{ ok: 2 }]);
  });

  it('throws SOURCE_CONNECT_FAILED for an unreachable server, without the password', () =>
    expectUnreachableWithoutPassword('postgres', (url) => new PostgresSource({ url })));

  it('throws SOURCE_CONNECT_FAILED for a database that does not exist', () =>
    expectMissingDatabase(db.url, (url) => new PostgresSource({ url })));
});
