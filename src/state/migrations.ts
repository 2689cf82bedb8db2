/**
 * The state database's schema, as numbered migrations applied in order. A migration is never
 * edited once released: a change is a new migration.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'snapshot, runs, row outcomes, api calls, locks',
    sql: `
      -- Per sync, what the destination last acknowledged for each primary key.
      CREATE TABLE snapshot (
        sync TEXT NOT NULL,
        pk TEXT NOT NULL,
        email TEXT NOT NULL,            -- as sent (trimmed)
        email_key TEXT NOT NULL,        -- normalized for matching (trimmed, lower case)
        participant_id TEXT,
        payload TEXT NOT NULL,          -- mapped fields without email, canonical JSON
        synced_at TEXT NOT NULL,
        run_id TEXT NOT NULL,
        PRIMARY KEY (sync, pk)
      ) WITHOUT ROWID;

      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        sync TEXT NOT NULL,
        trigger TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        summary TEXT,                   -- JSON, RunSummary
        error TEXT
      );
      CREATE INDEX runs_by_sync ON runs (sync, started_at);

      CREATE TABLE row_outcomes (
        run_id TEXT NOT NULL,
        sync TEXT NOT NULL,
        pk TEXT,
        class TEXT NOT NULL,            -- added | changed | removed | invalid | skipped
        result TEXT NOT NULL,           -- succeeded | rejected | invalid | skipped
        error TEXT,
        participant_id TEXT,
        at TEXT NOT NULL
      );
      CREATE INDEX row_outcomes_by_run ON row_outcomes (run_id, result);
      CREATE INDEX row_outcomes_by_sync ON row_outcomes (sync, pk);

      CREATE TABLE api_calls (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        method TEXT NOT NULL,
        url TEXT NOT NULL,
        status INTEGER,
        duration_ms INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        request_body TEXT,
        response_body TEXT,
        error TEXT,
        tag TEXT,
        PRIMARY KEY (run_id, seq)
      ) WITHOUT ROWID;

      -- One run per sync at a time, across processes.
      CREATE TABLE locks (
        sync TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        acquired_at TEXT NOT NULL
      );
    `,
  },
];
