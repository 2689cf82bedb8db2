/**
 * Logs in the warehouse (issue 13): `panelsync run` and `serve` write each run and its row
 * outcomes into `log_to` tables on the real PostgreSQL, MariaDB, SQLite and DuckDB; an analyst
 * joins failed rows to the model; retention deletes old runs; a log that cannot be written is a
 * warning and never fails the sync.
 */
import Database from 'better-sqlite3';
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { RunSummary } from '../../src/engine/run-summary.ts';
import { panelsync, onlyJson } from '../debugger/cli-capture.ts';
import { createPeopleProject, type PeopleProject } from '../engine/people-project.ts';
import { createChinookProject, NAME_MAPPINGS, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { createMysqlDatabase, createPostgresDatabase, type TestDatabase } from '../helpers/databases.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { apiClient, startTestServer, waitFor, writeServerProject } from '../server/server-fixture.ts';

const ENV = { UI_API_KEY: TEST_API_KEY };

/** The columns of the log tables, in order: the public contract analysts write queries against. */
const RUNS_COLUMNS = [
  'run_id', 'sync', 'triggered_by', 'status', 'started_at', 'finished_at', 'duration_ms', 'full_resync', 'reset_cdc',
  'rows_queried', 'rows_added', 'rows_changed', 'rows_removed', 'rows_unchanged', 'rows_invalid',
  'succeeded', 'rejected', 'skipped', 'unsent', 'api_calls', 'error', 'summary', 'logged_at',
];
const ROW_OUTCOMES_COLUMNS = ['run_id', 'outcome_id', 'sync', 'primary_key', 'change_class', 'result', 'error', 'participant_id', 'recorded_at'];

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** Adds top-level keys (and `log_to` overrides on the sync) to the project file. */
function addToProject(dir: string, keys: Record<string, unknown>, sync: Record<string, unknown> = {}): void {
  const file = join(dir, 'panelsync.yml');
  const config = parse(readFileSync(file, 'utf8')) as Record<string, any>;
  Object.assign(config, keys);
  Object.assign(config.syncs[SYNC], sync);
  writeFileSync(file, stringify(config));
}

async function run(dir: string): Promise<{ summary: RunSummary; stderr: string; code: number }> {
  const result = await panelsync(dir, ['run', SYNC, '--json'], ENV);
  return { summary: onlyJson<RunSummary>(result), stderr: result.stderr, code: result.code };
}

/** A people project (SQLite model) of 4 people and one without an email (invalid). */
async function peopleWithInvalidRow(): Promise<PeopleProject> {
  const people = await createPeopleProject({ rows: 4 });
  cleanups.push(() => people.close());
  people.db.prepare('INSERT INTO people (id, email, first_name, last_name) VALUES (5, NULL, ?, ?)').run('First5', 'Last5');
  return people;
}

describe('log_to PostgreSQL', () => {
  let database: TestDatabase;
  let chinook: ChinookProject;

  async function setUp(): Promise<pg.Client> {
    database = await createPostgresDatabase();
    cleanups.push(() => database.drop());
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    cleanups.push(() => client.end());
    await client.query(`CREATE TABLE people (id int PRIMARY KEY, email text, first_name text, last_name text);
      INSERT INTO people VALUES (1, 'user1@example.com', 'First1', 'Last1'), (2, 'user2@example.com', 'First2', 'Last2'),
        (3, 'user3@example.com', 'First3', 'Last3'), (4, NULL, 'First4', 'Last4')`);
    chinook = await createChinookProject({
      source: { type: 'postgres', url: database.url },
      sql: 'SELECT id AS "CustomerId", email AS "Email", first_name AS "FirstName", last_name AS "LastName" FROM people ORDER BY id',
      sync: { mappings: NAME_MAPPINGS },
    });
    cleanups.push(() => chinook.close());
    // The model's own database receives the logs: failed rows join to the model.
    addToProject(chinook.dir, { log_to: { source: 'chinook', schema: 'panelsync' }, log_retention_days: 7 });
    return client;
  }

  it('writes the run and its row outcomes into tables it creates; failed rows join to the model', async () => {
    const client = await setUp();
    const first = await run(chinook.dir);
    expect(first.code).toBe(0);
    expect(first.stderr).not.toContain('warning');

    const columns = async (table: string) =>
      (await client.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'panelsync' AND table_name = $1 ORDER BY ordinal_position`, [table])).rows.map((r) => r.column_name);
    expect(await columns('runs')).toEqual(RUNS_COLUMNS);
    expect(await columns('row_outcomes')).toEqual(ROW_OUTCOMES_COLUMNS);
    expect((await client.query('SELECT version FROM panelsync.schema_migrations')).rows).toEqual([{ version: '1' }]);

    const { rows: runs } = await client.query('SELECT * FROM panelsync.runs');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      run_id: first.summary.run_id,
      sync: SYNC,
      triggered_by: 'manual',
      status: 'warning',
      rows_queried: '4',
      rows_added: '3',
      rows_invalid: '1',
      succeeded: '3',
      rejected: '0',
      full_resync: false,
      error: null,
    });
    expect(runs[0].summary).toEqual(first.summary);
    expect(runs[0].finished_at.getTime() - runs[0].started_at.getTime()).toBeGreaterThanOrEqual(0);

    const failed = await client.query(
      `SELECT p.first_name, o.change_class, o.result, o.error FROM people p
       JOIN panelsync.row_outcomes o ON o.primary_key = p.id::text AND o.run_id = $1 WHERE o.result <> 'succeeded'`,
      [first.summary.run_id],
    );
    expect(failed.rows).toEqual([{ first_name: 'First4', change_class: 'invalid', result: 'invalid', error: expect.stringMatching(/email/i) }]);
    const succeeded = await client.query(`SELECT primary_key, change_class, participant_id FROM panelsync.row_outcomes WHERE result = 'succeeded' ORDER BY primary_key`);
    expect(succeeded.rows.map((r) => [r.primary_key, r.change_class])).toEqual([['1', 'added'], ['2', 'added'], ['3', 'added']]);
    expect(succeeded.rows.every((r) => typeof r.participant_id === 'string')).toBe(true);

    // Retention: a run logged 8 days ago (log_retention_days 7) goes with its outcomes when the next run is logged.
    await client.query(`INSERT INTO panelsync.runs (run_id, sync, status, started_at) VALUES ('r-old', $1, 'success', now() - interval '8 days')`, [SYNC]);
    await client.query(`INSERT INTO panelsync.row_outcomes (run_id, outcome_id, sync, result) VALUES ('r-old', 1, $1, 'succeeded')`, [SYNC]);
    await client.query(`UPDATE people SET first_name = 'Changed' WHERE id = 2`);
    const second = await run(chinook.dir);
    expect(second.code).toBe(0);
    const logged = await client.query('SELECT run_id, rows_changed FROM panelsync.runs ORDER BY started_at');
    expect(logged.rows).toEqual([
      { run_id: first.summary.run_id, rows_changed: '0' },
      { run_id: second.summary.run_id, rows_changed: '1' },
    ]);
    expect((await client.query(`SELECT count(*)::int AS n FROM panelsync.row_outcomes WHERE run_id = 'r-old'`)).rows[0].n).toBe(0);
    expect((await client.query(`SELECT version FROM panelsync.schema_migrations`)).rowCount).toBe(1);
  });

  it('a log that cannot be written is a warning: the run succeeds, the exit code is 0, no password shows', async () => {
    const people = await peopleWithInvalidRow();
    addToProject(people.dir, {
      sources: { chinook: { type: 'sqlite', path: 'chinook.sqlite' }, warehouse: { type: 'postgres', url: 'postgres://panelsync:pw-s3cret-9@127.0.0.1:1/analytics' } },
      log_to: { source: 'warehouse' },
    });
    const result = await run(people.dir);
    expect(result.code).toBe(0);
    expect(result.summary.status).toBe('warning');
    expect(result.summary.succeeded.added).toBe(4);
    expect(result.stderr).toMatch(
      new RegExp(`panelsync: warning: run ${result.summary.run_id} of sync "${SYNC}" was not logged to source "warehouse" \\(schema panelsync\\): cannot connect to PostgreSQL at postgres://panelsync:\\*\\*\\*@127\\.0\\.0\\.1:1/analytics`),
    );
    expect(result.stderr).not.toContain('pw-s3cret-9');
  });
});

describe('log_to MariaDB', () => {
  it('writes into the database the schema names, times in UTC to the millisecond', async () => {
    const database = await createMysqlDatabase();
    cleanups.push(() => database.drop());
    const people = await peopleWithInvalidRow();
    addToProject(people.dir, {
      sources: { chinook: { type: 'sqlite', path: 'chinook.sqlite' }, warehouse: { type: 'mysql', url: database.url } },
      log_to: { source: 'warehouse', schema: database.name },
    });
    const { summary, stderr } = await run(people.dir);
    expect(stderr).not.toContain('warning');
    const connection = await mysql.createConnection({ uri: database.url, timezone: 'Z', dateStrings: true });
    cleanups.push(() => connection.end());
    await connection.query("SET time_zone = '+00:00'");
    const [runs] = (await connection.query('SELECT run_id, status, started_at, rows_queried, rows_invalid, succeeded, full_resync FROM runs')) as [any[], unknown];
    const stateDb = new Database(join(people.dir, 'state', 'state.db'), { readonly: true });
    const [state] = stateDb.prepare('SELECT started_at FROM runs').all() as Array<{ started_at: string }>;
    stateDb.close();
    expect(runs).toEqual([
      { run_id: summary.run_id, status: 'warning', started_at: state!.started_at.replace('T', ' ').replace('Z', ''), rows_queried: 5, rows_invalid: 1, succeeded: 4, full_resync: 0 },
    ]);
    const [outcomes] = (await connection.query('SELECT primary_key, result FROM row_outcomes ORDER BY outcome_id')) as [any[], unknown];
    expect(outcomes).toEqual([
      { primary_key: '5', result: 'invalid' },
      ...[1, 2, 3, 4].map((pk) => ({ primary_key: String(pk), result: 'succeeded' })),
    ]);
  });
});

describe('log_to SQLite and DuckDB', () => {
  it('SQLite: panelsync_runs and panelsync_row_outcomes next to the model, written by serve too', async () => {
    const people = await peopleWithInvalidRow();
    addToProject(people.dir, { log_to: { source: 'chinook' } });
    const { summary } = await run(people.dir);
    const rows = () =>
      people.db.prepare(`SELECT r.run_id, r.triggered_by, o.primary_key, o.result FROM panelsync_runs r
        JOIN panelsync_row_outcomes o USING (run_id) JOIN people p ON o.primary_key = CAST(p.id AS TEXT) WHERE o.result = 'invalid'`).all();
    expect(rows()).toEqual([{ run_id: summary.run_id, triggered_by: 'manual', primary_key: '5', result: 'invalid' }]);

    writeServerProject(people);
    const server = await startTestServer(people);
    cleanups.push(() => server.close());
    const api = apiClient(server.url);
    const trigger = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' });
    expect(trigger.status).toBe(202);
    const logged = await waitFor(() => people.db.prepare(`SELECT triggered_by, status FROM panelsync_runs WHERE run_id = ?`).get(trigger.body.run_id), 15_000, 'the API run logged');
    // The same invalid row as the run before: no new problem.
    expect(logged).toEqual({ triggered_by: 'api', status: 'success' });
  });

  it('DuckDB: runs and row_outcomes in the schema; a sync with log_to: null is not logged', async () => {
    const people = await peopleWithInvalidRow();
    addToProject(people.dir, {
      sources: { chinook: { type: 'sqlite', path: 'chinook.sqlite' }, lake: { type: 'duckdb', path: 'lake.duckdb' } },
      log_to: { source: 'lake', schema: 'ops' },
    });
    const { summary } = await run(people.dir);
    const read = async (sql: string) => {
      const instance = await DuckDBInstance.create(join(people.dir, 'lake.duckdb'));
      try {
        const connection = await instance.connect();
        const rows = (await connection.runAndReadAll(sql)).getRowObjectsJson();
        connection.closeSync();
        return rows;
      } finally {
        instance.closeSync();
      }
    };
    expect(await read(`SELECT run_id, status, rows_invalid, epoch_ms(started_at) AS started FROM ops.runs`)).toEqual([
      { run_id: summary.run_id, status: 'warning', rows_invalid: '1', started: expect.any(String) },
    ]);
    expect(await read(`SELECT result, count(*)::INT AS n FROM ops.row_outcomes GROUP BY result ORDER BY result`)).toEqual([
      { result: 'invalid', n: 1 },
      { result: 'succeeded', n: 4 },
    ]);

    addToProject(people.dir, {}, { log_to: null });
    const second = await run(people.dir);
    expect(second.code).toBe(0);
    expect(await read(`SELECT count(*)::INT AS n FROM ops.runs`)).toEqual([{ n: 1 }]);
  });
});
