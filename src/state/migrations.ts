/**
 * The state database's schema, as numbered migrations applied in order. A migration is never
 * edited once released: a change is a new migration.
 */
import type Database from 'better-sqlite3';
import { normalizeEmail } from '../destinations/user-interviews/wire.ts';
import { PayloadLayouts } from './payload-layouts.ts';
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Runs after `sql`, in the same transaction: for a change SQL alone cannot compute. */
  transform?: (db: Database.Database) => void;
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
  {
    version: 2,
    name: 'live debugger: calls linked to batch rows, body sizes, retention',
    sql: `
      -- A call that sent rows of a batch: the batch id (unique within the run, e.g. b3) and the
      -- slice of the batch's rows it sent (0-based offset, count). NULL for other calls.
      ALTER TABLE api_calls ADD COLUMN batch TEXT;
      ALTER TABLE api_calls ADD COLUMN row_offset INTEGER;
      ALTER TABLE api_calls ADD COLUMN row_count INTEGER;
      -- Full size of each body before truncation, bytes (UTF-8). NULL without a body.
      ALTER TABLE api_calls ADD COLUMN request_bytes INTEGER;
      ALTER TABLE api_calls ADD COLUMN response_bytes INTEGER;
      CREATE INDEX api_calls_by_batch ON api_calls (run_id, batch, row_offset);

      -- The batch a sent row was in, and its 0-based position there; NULL for rows not sent.
      ALTER TABLE row_outcomes ADD COLUMN batch TEXT;
      ALTER TABLE row_outcomes ADD COLUMN batch_index INTEGER;
      CREATE INDEX row_outcomes_by_batch ON row_outcomes (run_id, batch, batch_index);

      -- When retention removed the run's calls and row outcomes (the run record stays).
      ALTER TABLE runs ADD COLUMN details_pruned_at TEXT;
      CREATE INDEX runs_by_start ON runs (started_at);
    `,
  },
  {
    version: 3,
    name: 'alerts: state per sync and trigger, last delivery per sync and channel',
    sql: `
      -- Per sync and trigger (failed_run | rejected_rows | slow_run): the state alerts last moved to.
      CREATE TABLE alert_state (
        sync TEXT NOT NULL,
        trigger TEXT NOT NULL,
        state TEXT NOT NULL,            -- ok | warning | critical
        streak INTEGER NOT NULL,        -- consecutive runs that met the trigger (failed runs in a row)
        since TEXT NOT NULL,            -- when the state began
        run_id TEXT NOT NULL,           -- the last run evaluated
        notified_at TEXT,               -- when the last change of state was handed to the channels
        PRIMARY KEY (sync, trigger)
      ) WITHOUT ROWID;

      -- Per sync and channel: how the last notification went. No secrets, no participant data.
      CREATE TABLE alert_deliveries (
        sync TEXT NOT NULL,
        channel TEXT NOT NULL,
        last_attempt_at TEXT NOT NULL,
        last_status TEXT NOT NULL,      -- delivered | failed
        attempts INTEGER NOT NULL,      -- attempts the last notification took
        last_error TEXT,                -- the last failure's reason, kept after later successes
        last_error_at TEXT,
        PRIMARY KEY (sync, channel)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    name: 'runs: the options a run was started with',
    sql: `
      -- JSON, RunOptions: {"full_resync": bool, "reset_cdc": bool}. NULL for runs recorded
      -- before this migration (read as no option).
      ALTER TABLE runs ADD COLUMN options TEXT;
    `,
  },
  {
    version: 5,
    name: 'insert intents; snapshot looked up by email and by participant',
    sql: `
      -- Insert mode: per sync, a create sent for a primary key whose outcome is not known yet (no
      -- answer came back). A later run adopts the participant holding email_key for that key.
      CREATE TABLE insert_intents (
        sync TEXT NOT NULL,
        pk TEXT NOT NULL,
        email_key TEXT NOT NULL,        -- normalized email the create was sent with
        run_id TEXT NOT NULL,           -- the run that sent it
        sent_at TEXT NOT NULL,
        PRIMARY KEY (sync, pk)
      ) WITHOUT ROWID;

      -- A removed row whose participant another primary key now holds (same email or id) is
      -- forgotten without a call: these find that other key.
      CREATE INDEX snapshot_by_email ON snapshot (sync, email_key);
      CREATE INDEX snapshot_by_participant ON snapshot (sync, participant_id);
    `,
  },
  {
    version: 6,
    name: 'run locks held by a lease renewed by a heartbeat',
    sql: `
      -- A random token naming the holding (only its holder renews it), the time its holder last
      -- renewed the lease, and when the lease runs out unless renewed (see LOCK_LEASE_MS). A lock
      -- written before leases (NULL) holds for one lease from acquired_at. pid_namespace: the
      -- holder's pid namespace (Linux /proc/self/ns/pid), so that its pid is only looked up by a
      -- process that sees the same pids.
      ALTER TABLE locks ADD COLUMN owner TEXT;
      ALTER TABLE locks ADD COLUMN renewed_at TEXT;
      ALTER TABLE locks ADD COLUMN expires_at TEXT;
      ALTER TABLE locks ADD COLUMN pid_namespace TEXT;
    `,
  },
  {
    version: 7,
    name: 'snapshots tied to the destination that acknowledged them',
    sql: `
      -- JSON, DestinationFingerprint: the destination a run sent to. The API key only as its SHA-256.
      -- NULL for runs recorded before this migration.
      ALTER TABLE runs ADD COLUMN destination TEXT;

      -- Per sync, the destination its snapshot rows were acknowledged by: recorded when rows are
      -- first committed, replaced by --full-resync / --reset-cdc to a new destination.
      CREATE TABLE snapshot_destinations (
        sync TEXT PRIMARY KEY,
        destination TEXT NOT NULL,      -- the destination's name in the project file
        environment TEXT NOT NULL,      -- sandbox | production
        base_url TEXT NOT NULL,         -- the API URL requests went to
        api_key_sha256 TEXT NOT NULL,   -- hex; never the key itself
        recorded_at TEXT NOT NULL,
        run_id TEXT NOT NULL            -- the run whose commit recorded it
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 8,
    name: 'alerts: the channels holding an open alert of each trigger',
    sql: `
      -- Per sync, trigger and channel: the channel was handed an alert at level (the trigger's state
      -- then) and no recovery since. Only these channels get a recovery when the state clears; a
      -- recipient listening to the current state without a row here is alerted at the next run.
      -- Empty after this migration: a trigger already in warning or critical alerts its listening
      -- recipients once more at the next run (who had heard of it was not recorded).
      CREATE TABLE alert_notified (
        sync TEXT NOT NULL,
        trigger TEXT NOT NULL,
        channel TEXT NOT NULL,
        level TEXT NOT NULL,            -- warning | critical
        notified_at TEXT NOT NULL,      -- when the alert was handed to the channel
        PRIMARY KEY (sync, trigger, channel)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 9,
    name: 'the ledger: write intents of every kind, rows to send again, the snapshot identity',
    sql: `
      -- Per sync and primary key, a write sent whose answer is not known yet (recorded before it is
      -- sent, removed when it is answered). One left behind (no answer: timeout, dropped connection,
      -- killed process) is in doubt: the next run settles it against the participant directory
      -- before it plans. Replaces insert_intents (its rows become creates).
      CREATE TABLE write_intents (
        sync TEXT NOT NULL,
        pk TEXT NOT NULL,
        kind TEXT NOT NULL,             -- upsert (by email) | update (by id) | create | clear | delete
        email TEXT,                     -- as sent; NULL when the write named the participant by id only
        email_key TEXT,                 -- normalized email sent
        participant_id TEXT,            -- the participant written by id; NULL for writes by email
        payload TEXT,                   -- mapped fields sent (canonical JSON); NULL for a delete
        run_id TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (sync, pk)
      ) WITHOUT ROWID;
      -- A write in doubt holds its email and participant against other keys' writes.
      CREATE INDEX write_intents_by_email ON write_intents (sync, email_key);
      CREATE INDEX write_intents_by_participant ON write_intents (sync, participant_id);
      INSERT INTO write_intents (sync, pk, kind, email, email_key, participant_id, payload, run_id, sent_at)
        SELECT sync, pk, 'create', email_key, email_key, NULL, NULL, run_id, sent_at FROM insert_intents;
      DROP TABLE insert_intents;

      -- 1: the panel may not hold this row's payload (a write settled in doubt, a full resync not
      -- finished yet): the diff plans the row whatever its values.
      ALTER TABLE snapshot ADD COLUMN resend INTEGER NOT NULL DEFAULT 0;

      -- Per sync, the identity configuration the snapshot was recorded with: a run whose primary key
      -- or match column differs stops before any call.
      CREATE TABLE snapshot_identity (
        sync TEXT PRIMARY KEY,
        primary_key TEXT NOT NULL,      -- the model's primary key column
        match_column TEXT NOT NULL,     -- the column matched to the participant's email
        recorded_at TEXT NOT NULL,
        run_id TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 10,
    name: 'email keys in Unicode NFC with IDNA ASCII domains',
    // email_key became NFC with the domain in IDNA ASCII form (see normalizeEmail): keys recorded
    // before, for non-ASCII emails only, are computed again from the email stored beside them, so
    // that a snapshot row is not taken for an email move (and its participant renamed) by the
    // first run after the upgrade. ASCII emails keep their key unchanged and are not touched.
    sql: '',
    transform: (db) => {
      for (const table of ['snapshot', 'write_intents']) {
        const update = db.prepare(`UPDATE ${table} SET email_key = ? WHERE sync = ? AND pk = ?`);
        const rows = db
          .prepare(`SELECT sync, pk, email, email_key FROM ${table} WHERE email IS NOT NULL AND length(email) <> length(CAST(email AS BLOB))`)
          .iterate() as IterableIterator<{ sync: string; pk: string; email: string; email_key: string }>;
        const changed = [...rows].filter((r) => normalizeEmail(r.email) !== r.email_key);
        for (const r of changed) update.run(normalizeEmail(r.email), r.sync, r.pk);
      }
    },
  },
  {
    version: 11,
    name: 'bounded state: compressed call bodies, row outcomes kept once per streak, succeeded rows grouped',
    sql: `
      -- api_calls.request_body / response_body: written from now on as Brotli BLOBs (see
      -- ./compact-body.ts); TEXT bodies written before stay TEXT and are read as they are.

      -- A row skipped, invalid or rejected again in the sync's next run, with the same class and
      -- error, extends its latest outcome instead of adding one: last_run_id is the latest run of
      -- that streak (NULL: run_id alone), runs the consecutive runs it covers.
      ALTER TABLE row_outcomes ADD COLUMN last_run_id TEXT;
      ALTER TABLE row_outcomes ADD COLUMN runs INTEGER NOT NULL DEFAULT 1;
      -- Succeeded rows of one commit and batch, grouped in one row (pk NULL, result succeeded):
      -- Brotli JSON [[batch_index, pk, participant_id], ...] (see ./row-outcome-log.ts), and
      -- how many succeeded rows it holds. NULL for an outcome of one row.
      ALTER TABLE row_outcomes ADD COLUMN grouped BLOB;
      ALTER TABLE row_outcomes ADD COLUMN grouped_count INTEGER;
      CREATE INDEX row_outcomes_carried ON row_outcomes (sync, last_run_id) WHERE last_run_id IS NOT NULL;
    `,
  },
  {
    version: 12,
    name: 'rate-limit slots shared by every process',
    sql: `
      -- Per API account, the next free request slot under the project's rate_limit (the GCRA's
      -- theoretical arrival time, epoch ms), shared by every process on this file. The account is
      -- the SHA-256 of the base URL and the API key, never the key.
      CREATE TABLE rate_limit_slots (
        account TEXT PRIMARY KEY,
        next_slot_ms REAL NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 13,
    name: 'audit log of operator actions',
    sql: `
      -- One row per operator action (see src/state/audit-log.ts): who (by the kind of token or
      -- caller), when, what, on which sync, and how it went. Never a token, a body or participant data.
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,               -- ISO 8601
        token_kind TEXT NOT NULL,       -- operator | viewer | hook | cli
        action TEXT NOT NULL,           -- trigger | full_resync | reset_cdc | unlock | alert_test | hook
        sync TEXT,                      -- the sync acted on; NULL for an alert test
        target TEXT,                    -- the alert channel or hook named; else NULL
        run_id TEXT,                    -- the run started or queued; else NULL
        result TEXT NOT NULL,           -- started | queued | succeeded | failed | refused | denied
        detail TEXT                     -- why it was refused or failed, or what it did; secrets redacted
      );
      CREATE INDEX audit_log_by_sync ON audit_log (sync, id);
    `,
  },
  {
    version: 14,
    name: 'runs: what started a run-after or webhook run',
    sql: `
      -- JSON, TriggeredBy: {"after": [{"sync", "run_id", "status"}]} for a run of a run-after chain,
      -- {"hook": NAME, "dbt_job_id"?, "dbt_run_id"?} for a run an inbound webhook started; NULL otherwise.
      ALTER TABLE runs ADD COLUMN triggered_by TEXT;
    `,
  },
  {
    version: 15,
    name: 'a smaller snapshot: payload values apart from their layout, email only when it differs from its key',
    sql: `
      -- Each payload layout (the canonical JSON around the values, see ./payload-codec.ts) once.
      CREATE TABLE payload_layouts (
        id INTEGER PRIMARY KEY,
        parts TEXT NOT NULL UNIQUE      -- JSON array of strings: n + 1 parts around n values
      );
      CREATE TABLE snapshot_v15 (
        sync TEXT NOT NULL,
        pk TEXT NOT NULL,
        email TEXT,                     -- as sent (trimmed); NULL when it is email_key itself
        email_key TEXT NOT NULL,        -- normalized for matching (trimmed, lower case)
        participant_id TEXT,
        payload_layout INTEGER NOT NULL, -- payload_layouts.id
        payload_values TEXT NOT NULL,   -- the mapped fields' values, see ./payload-codec.ts
        run_id TEXT NOT NULL,           -- the run whose commit recorded it (run ids sort by start time)
        resend INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (sync, pk)
      ) WITHOUT ROWID;
    `,
    // Rows are copied in key order, each payload encoded (its canonical JSON is kept byte for byte);
    // synced_at is dropped (nothing reads it: run_id tells when).
    transform: (db) => {
      const layouts = new PayloadLayouts(db, { oneTransaction: true });
      const insert = db.prepare(
        `INSERT INTO snapshot_v15 (sync, pk, email, email_key, participant_id, payload_layout, payload_values, run_id, resend)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      // A page at a time (a connection cannot write while it iterates), after the last key copied.
      const page = db
        .prepare(
          `SELECT sync, pk, email, email_key, participant_id, payload, run_id, resend FROM snapshot
           WHERE (sync, pk) > (?, ?) ORDER BY sync, pk LIMIT 10000`,
        )
        .raw();
      let after: [string, string] = ['', ''];
      for (;;) {
        const rows = page.all(...after) as Array<[string, string, string, string, string | null, string, string, number]>;
        if (rows.length === 0) break;
        for (const [sync, pk, email, emailKey, participantId, payload, runId, resend] of rows) {
          const { layoutId, values } = layouts.encode(payload);
          insert.run(sync, pk, email === emailKey ? null : email, emailKey, participantId, layoutId, values, runId, resend);
        }
        after = [rows.at(-1)![0], rows.at(-1)![1]];
      }
      db.exec(`
        DROP TABLE snapshot;
        ALTER TABLE snapshot_v15 RENAME TO snapshot;
        CREATE INDEX snapshot_by_email ON snapshot (sync, email_key);
        CREATE INDEX snapshot_by_participant ON snapshot (sync, participant_id);`);
    },
  },
  {
    version: 16,
    name: 'update mode: keys no participant matched at the last directory read',
    sql: `
      -- Per sync, a key of the model update mode skipped because the directory read that started
      -- at looked_up_at held no participant with its email (email_key). A later run skips it again
      -- without reading the directory until UNMATCHED_RECHECK_MS after (src/engine/identity.ts),
      -- unless its email changed or the directory is read for another row.
      CREATE TABLE unmatched_rows (
        sync TEXT NOT NULL,
        pk TEXT NOT NULL,
        email_key TEXT NOT NULL,
        looked_up_at TEXT NOT NULL,     -- ISO 8601: when the directory read started
        run_id TEXT NOT NULL,
        PRIMARY KEY (sync, pk)
      ) WITHOUT ROWID;
    `,
  },
];
