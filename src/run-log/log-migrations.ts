/**
 * The log tables panelsync creates and migrates in a `log_to` schema, numbered like the state
 * database's migrations: each runs once per schema, recorded in `schema_migrations` (version,
 * applied_at). A migration never changes once released; a later one adds to it.
 *
 * Version 1:
 * - `runs`: one row per run: `run_id` (primary key), `sync`, `triggered_by` (manual, schedule,
 *   api), `status` (success, warning, failed, interrupted), `started_at`, `finished_at`,
 *   `duration_ms`, `full_resync`, `reset_cdc`, the row counts `rows_queried`, `rows_added`,
 *   `rows_changed`, `rows_removed`, `rows_unchanged`, `rows_invalid`, the outcome totals
 *   `succeeded`, `rejected`, `skipped`, `unsent` (added + changed + removed), `api_calls`,
 *   `error`, `summary` (the whole run summary, JSON) and `logged_at`;
 * - `row_outcomes`: one row per row outcome of a run: `run_id`, `outcome_id` (the outcome's id in
 *   the state database; primary key with `run_id`), `sync`, `primary_key` (the model's primary
 *   key value, as text), `change_class` (added, changed, removed, invalid, skipped), `result`
 *   (succeeded, rejected, invalid, skipped, unsent), `error`, `participant_id`, `recorded_at`.
 */
import type { LogColumnType, LogDatabase, LogTable } from './log-database.ts';

/** A column of a log table, in the order of the table. */
export interface LogColumn {
  name: string;
  type: LogColumnType;
}

const column = (name: string, type: LogColumnType): LogColumn => ({ name, type });

/** The columns of `runs` as migration 1 creates them. */
export const RUNS_COLUMNS: readonly LogColumn[] = [
  column('run_id', 'key'),
  column('sync', 'key'),
  column('triggered_by', 'key'),
  column('status', 'key'),
  column('started_at', 'timestamp'),
  column('finished_at', 'timestamp'),
  column('duration_ms', 'integer'),
  column('full_resync', 'boolean'),
  column('reset_cdc', 'boolean'),
  column('rows_queried', 'integer'),
  column('rows_added', 'integer'),
  column('rows_changed', 'integer'),
  column('rows_removed', 'integer'),
  column('rows_unchanged', 'integer'),
  column('rows_invalid', 'integer'),
  column('succeeded', 'integer'),
  column('rejected', 'integer'),
  column('skipped', 'integer'),
  column('unsent', 'integer'),
  column('api_calls', 'integer'),
  column('error', 'text'),
  column('summary', 'json'),
  column('logged_at', 'timestamp'),
];

/** The columns of `row_outcomes` as migration 1 creates them. */
export const ROW_OUTCOMES_COLUMNS: readonly LogColumn[] = [
  column('run_id', 'key'),
  column('outcome_id', 'integer'),
  column('sync', 'key'),
  column('primary_key', 'text'),
  column('change_class', 'key'),
  column('result', 'key'),
  column('error', 'text'),
  column('participant_id', 'key'),
  column('recorded_at', 'timestamp'),
];

interface LogMigration {
  version: number;
  /** The statements, in order, for `db`'s engine. */
  statements(db: LogDatabase): string[];
}

const createTable = (db: LogDatabase, table: LogTable, columns: readonly LogColumn[], primaryKey: string[]) =>
  `CREATE TABLE IF NOT EXISTS ${db.table(table)} (${columns.map((c) => `${c.name} ${db.columnType(c.type)}`).join(', ')}, ` +
  `PRIMARY KEY (${primaryKey.join(', ')}))`;

/** Every migration, in version order. */
export const LOG_MIGRATIONS: readonly LogMigration[] = [
  {
    version: 1,
    statements: (db) => [
      createTable(db, 'runs', RUNS_COLUMNS, ['run_id']),
      createTable(db, 'row_outcomes', ROW_OUTCOMES_COLUMNS, ['run_id', 'outcome_id']),
    ],
  },
];

/** The latest version {@link LOG_MIGRATIONS} bring a schema to. */
export const LOG_SCHEMA_VERSION = LOG_MIGRATIONS.at(-1)!.version;

/**
 * Creates the schema and brings its log tables to {@link LOG_SCHEMA_VERSION}: runs the
 * migrations not yet recorded in `schema_migrations`, each with its record in one transaction
 * (MySQL commits DDL by itself, so its statements are written to be run again safely).
 * @returns the versions applied now (empty when the tables were up to date)
 * @throws the database's error (no privilege to create the schema or tables, …)
 */
export async function migrateLogTables(db: LogDatabase): Promise<number[]> {
  await db.ensureSchema();
  const migrations = db.table('schema_migrations');
  await db.run(
    `CREATE TABLE IF NOT EXISTS ${migrations} (version ${db.columnType('integer')} PRIMARY KEY, applied_at ${db.columnType('timestamp')})`,
  );
  const [row] = await db.all(`SELECT max(version) AS version FROM ${migrations}`);
  const current = row?.version === null || row?.version === undefined ? 0 : Number(row.version);
  const applied: number[] = [];
  for (const migration of LOG_MIGRATIONS) {
    if (migration.version <= current) continue;
    await db.transaction(async () => {
      for (const statement of migration.statements(db)) await db.run(statement);
      await db.run(`INSERT INTO ${migrations} (version, applied_at) VALUES (?, ?)`, [
        db.encode('integer', migration.version),
        db.encode('timestamp', new Date().toISOString()),
      ]);
    });
    applied.push(migration.version);
  }
  return applied;
}
