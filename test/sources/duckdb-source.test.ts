import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckdbSource } from '../../src/sources/duckdb-source.ts';
import { SourceError } from '../../src/sources/source.ts';
import { collectChunks, collectRows, EXPECTED_SIZES, EXPECTED_VALUES, firstChunkThenBreak, sequenceOf } from './collect-rows.ts';
import { tmpdir } from 'node:os';

const TYPES_SQL = `
SELECT
  1::INTEGER AS int,
  42::BIGINT AS small_bigint,
  9007199254740993::BIGINT AS big_bigint,
  170141183460469231731687303715884105727::HUGEINT AS hugeint,
  12345678901234567.89::DECIMAL(20,2) AS decimal,
  12.5::DECIMAL(10,2) AS decimal_scale,
  1.5::DOUBLE AS float,
  'NaN'::DOUBLE AS not_a_number,
  true AS bool,
  DATE '2026-01-02' AS date,
  TIMESTAMP '2026-01-02 03:04:05.123456' AS ts,
  TIMESTAMPTZ '2026-01-02 03:04:05.5+02' AS tstz,
  TIMESTAMP '1969-12-31 23:59:59.9995' AS ts_before_epoch,
  UUID '0E984725-C51C-4BF4-9960-E1C80E27ABA0' AS uuid,
  '{"a":[1,"x"],"b":null}'::JSON AS json,
  '{"big":1e999,"small":-1e999,"fine":1e308}'::JSON AS json_beyond_double,
  'O''Köhler' AS text,
  '\\xAA\\x01'::BLOB AS bytes,
  [1, 2] AS list,
  {'k': 'v'} AS struct,
  NULL AS nothing
`;

const EXPECTED = {
  int: 1,
  small_bigint: 42,
  big_bigint: '9007199254740993',
  hugeint: '170141183460469231731687303715884105727',
  decimal: '12345678901234567.89',
  decimal_scale: '12.50',
  float: 1.5,
  not_a_number: 'NaN',
  bool: true,
  date: '2026-01-02',
  ts: '2026-01-02T03:04:05.123Z',
  tstz: '2026-01-02T01:04:05.500Z',
  ts_before_epoch: '1969-12-31T23:59:59.999Z',
  uuid: '0e984725-c51c-4bf4-9960-e1c80e27aba0',
  json: { a: [1, 'x'], b: null },
  // A JSON number beyond a double's range is text, as NaN is: JSON cannot hold Infinity.
  json_beyond_double: { big: 'Infinity', small: '-Infinity', fine: 1e308 },
  text: "O'Köhler",
  bytes: 'qgE=',
  list: [1, 2],
  struct: { k: 'v' },
  nothing: null,
};

describe('DuckdbSource', () => {
  let source: DuckdbSource;

  beforeAll(() => {
    source = new DuckdbSource({ path: ':memory:', fileSearchPath: tmpdir() });
  });
  afterAll(async () => {
    await source?.close();
  });

  it('maps every type to the JSON conventions of source.ts', async () => {
    const rows = await collectRows(source, TYPES_SQL);
    expect(JSON.parse(JSON.stringify(rows))).toEqual([EXPECTED]);
    expect(Object.keys(rows[0]!)).toEqual(Object.keys(EXPECTED));
  });

  it('streams 10,005 rows in chunks of 1,000, in order', async () => {
    const chunks = await collectChunks(source, 'SELECT n::INTEGER AS n FROM range(1, 10006) t(n) ORDER BY n', 1000);
    expect(sequenceOf(chunks)).toEqual({ sizes: EXPECTED_SIZES, values: EXPECTED_VALUES });
  });

  it('stops early without reading the rest, and the source keeps working', async () => {
    const started = Date.now();
    const chunk = await firstChunkThenBreak(source, 'SELECT n FROM range(1000000000) t(n)', 100);
    expect(chunk).toHaveLength(100);
    // Materializing a billion rows would take far longer than this.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await collectRows(source, 'SELECT 1::INTEGER AS ok')).toEqual([{ ok: 1 }]);
  });

  it('throws SOURCE_QUERY_FAILED for bad SQL and a missing file', async () => {
    const error = await collectRows(source, 'SELEC 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'SOURCE_QUERY_FAILED', message: expect.stringMatching(/syntax error[\s\S]*Fix the model's sql/) });
    await expect(collectRows(source, "SELECT * FROM 'no-such-file.csv'")).rejects.toMatchObject({
      code: 'SOURCE_QUERY_FAILED',
      message: expect.stringContaining('no-such-file.csv'),
    });
    expect(await collectRows(source, 'SELECT 2::INTEGER AS ok')).toEqual([{ ok: 2 }]);
  });

  it('throws SOURCE_CONNECT_FAILED for a database file that does not exist', async () => {
    const missing = new DuckdbSource({ path: '/nonexistent-dir/warehouse.duckdb', fileSearchPath: tmpdir() });
    try {
      await expect(collectRows(missing, 'SELECT 1')).rejects.toMatchObject({
        code: 'SOURCE_CONNECT_FAILED',
        message: expect.stringContaining('/nonexistent-dir/warehouse.duckdb'),
      });
    } finally {
      await missing.close();
    }
  });
});
