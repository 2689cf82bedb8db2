import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/sources/source.ts';
import { SqliteSource } from '../../src/sources/sqlite-source.ts';
import { collectChunks, collectRows, EXPECTED_SIZES, EXPECTED_VALUES, firstChunkThenBreak, sequenceOf } from './collect-rows.ts';

// SQLite has no decimal, boolean, date, timestamp, uuid or JSON types: the test pins what the
// stored values become, and the SQL a model uses to format them (see SqliteSource docs).
const TYPES_SQL = `
SELECT
  1 AS int,
  9007199254740993 AS big_bigint,
  -9007199254740993 AS negative_bigint,
  '12345678901234567.89' AS decimal_text,
  printf('%.2f', 12.5) AS decimal_formatted,
  1.5 AS float,
  true AS bool,
  date('2026-01-02') AS date,
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-02 03:04:05.123') AS ts,
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-02T03:04:05.5+02:00') AS tstz,
  stored_at AS stored_timestamp,
  json_extract('{"a":[1,"x"]}', '$.a') AS json_text,
  'O''Köhler' AS text,
  x'aa01' AS bytes,
  NULL AS empty
FROM typed
`;

const EXPECTED = {
  int: 1,
  big_bigint: '9007199254740993',
  negative_bigint: '-9007199254740993',
  decimal_text: '12345678901234567.89',
  decimal_formatted: '12.50',
  float: 1.5,
  bool: 1,
  date: '2026-01-02',
  ts: '2026-01-02T03:04:05.123Z',
  tstz: '2026-01-02T01:04:05.500Z',
  stored_timestamp: '2026-01-02 03:04:05',
  json_text: '[1,"x"]',
  text: "O'Köhler",
  bytes: 'qgE=',
  empty: null,
};

describe('SqliteSource', () => {
  let dir: string;
  let source: SqliteSource;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'panelsync-sqlite-'));
    const db = new Database(join(dir, 'model.sqlite'));
    db.exec("CREATE TABLE typed (stored_at DATETIME); INSERT INTO typed VALUES ('2026-01-02 03:04:05');");
    db.close();
    source = new SqliteSource({ path: join(dir, 'model.sqlite') });
  });
  afterAll(async () => {
    await source?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('maps stored values to the JSON conventions of source.ts', async () => {
    const rows = await collectRows(source, TYPES_SQL);
    expect(JSON.parse(JSON.stringify(rows))).toEqual([EXPECTED]);
    expect(Object.keys(rows[0]!)).toEqual(Object.keys(EXPECTED));
  });

  it('streams 10,005 rows in chunks of 1,000, in order', async () => {
    const sql = `
      WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 10005)
      SELECT n FROM seq`;
    const chunks = await collectChunks(source, sql, 1000);
    expect(sequenceOf(chunks)).toEqual({ sizes: EXPECTED_SIZES, values: EXPECTED_VALUES });
  });

  it('resets the statement when the consumer stops early, so the next query runs', async () => {
    const sql = `
      WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 1000000000)
      SELECT n FROM seq`;
    const chunk = await firstChunkThenBreak(source, sql, 100);
    expect(chunk).toHaveLength(100);
    // better-sqlite3 refuses a new statement while one is still iterating.
    expect(await collectRows(source, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('opens the file read-only', async () => {
    await expect(collectRows(source, 'DELETE FROM typed RETURNING *')).rejects.toMatchObject({
      code: 'SOURCE_QUERY_FAILED',
      message: expect.stringMatching(/readonly/i),
    });
  });

  it('throws SOURCE_QUERY_FAILED for bad SQL', async () => {
    const error = await collectRows(source, 'SELEC 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'SOURCE_QUERY_FAILED', message: expect.stringMatching(/syntax error.*Fix the model's sql/) });
    expect(await collectRows(source, 'SELECT 2 AS ok')).toEqual([{ ok: 2 }]);
  });

  it('throws SOURCE_CONNECT_FAILED for a missing file or one that is not a database', async () => {
    const missing = new SqliteSource({ path: join(dir, 'missing.sqlite') });
    await expect(collectRows(missing, 'SELECT 1')).rejects.toMatchObject({
      code: 'SOURCE_CONNECT_FAILED',
      message: expect.stringContaining('missing.sqlite'),
    });
    await writeFile(join(dir, 'notes.txt'), 'this is not a database, just some text that is long enough. '.repeat(20));
    const notDb = new SqliteSource({ path: join(dir, 'notes.txt') });
    await expect(collectRows(notDb, 'SELECT 1')).rejects.toMatchObject({ code: 'SOURCE_CONNECT_FAILED' });
    await missing.close();
    await notDb.close();
  });
});
