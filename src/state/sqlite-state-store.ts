/**
 * The embedded state store: one SQLite file (WAL mode) beside the project. The diff between a
 * model result and the snapshot is one SQL join here, not a JS loop over every row.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { ApiCall } from '../http/http-client.ts';
import { parseBatchCallTag } from './batch-call-tag.ts';
import { MIGRATIONS } from './migrations.ts';
import { truncateBody } from './truncate-body.ts';
import type {
  AlertDeliveryRecord,
  AlertState,
  AlertStateRecord,
  BatchCommit,
  ChangeClass,
  PruneResult,
  DirectoryEntry,
  PlanCounts,
  PlannedRow,
  RowOutcome,
  RunRecord,
  RunOptions,
  RunStatus,
  RunTrigger,
  Stage,
  StagedRow,
  StateStore,
} from './state-store.ts';
import { MAX_STORED_BODY_BYTES } from './state-store.ts';

/** Opens (creating if needed) the state database at `path` and applies pending migrations. */
export class SqliteStateStore implements StateStore {
  readonly db: Database.Database;
  private stageCount = 0;

  /** @param path a file path, or `:memory:` for tests */
  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('temp_store = FILE');
    this.migrate();
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const applied = new Set(
      this.db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[],
    );
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      this.db.transaction(() => {
        this.db.exec(migration.sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(migration.version, migration.name, new Date().toISOString());
      })();
    }
  }

  acquireLock(sync: string, runId: string): { ok: true } | { ok: false; heldBy: string } {
    return this.db.transaction(() => {
      const held = this.db.prepare('SELECT run_id, pid, host FROM locks WHERE sync = ?').get(sync) as
        | { run_id: string; pid: number; host: string }
        | undefined;
      if (held && held.run_id !== runId && isAlive(held.pid, held.host)) return { ok: false as const, heldBy: held.run_id };
      this.db
        .prepare('INSERT OR REPLACE INTO locks (sync, run_id, pid, host, acquired_at) VALUES (?, ?, ?, ?, ?)')
        .run(sync, runId, process.pid, hostname(), new Date().toISOString());
      return { ok: true as const };
    }).immediate();
  }

  releaseLock(sync: string, runId: string): void {
    this.db.prepare('DELETE FROM locks WHERE sync = ? AND run_id = ?').run(sync, runId);
  }

  interruptStaleRuns(sync: string): number {
    return this.db
      .prepare(
        `UPDATE runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?),
           error = coalesce(error, 'the process running it stopped before it finished')
         WHERE sync = ? AND status = 'running'`,
      )
      .run(new Date().toISOString(), sync).changes;
  }

  startRun(run: { id: string; sync: string; trigger: RunTrigger; startedAt: string; options?: RunOptions }): void {
    const options: RunOptions = { full_resync: run.options?.full_resync ?? false, reset_cdc: run.options?.reset_cdc ?? false };
    this.db
      .prepare(`INSERT INTO runs (id, sync, trigger, status, started_at, options) VALUES (?, ?, ?, 'running', ?, ?)`)
      .run(run.id, run.sync, run.trigger, run.startedAt, JSON.stringify(options));
  }

  finishRun(id: string, end: { status: RunStatus; finishedAt: string; summary: unknown; error: string | null }): void {
    this.db
      .prepare('UPDATE runs SET status = ?, finished_at = ?, summary = ?, error = ? WHERE id = ?')
      .run(end.status, end.finishedAt, JSON.stringify(end.summary), end.error, id);
  }

  getRun(id: string): RunRecord | null {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as
      | { id: string; sync: string; trigger: RunTrigger; status: RunStatus; started_at: string; finished_at: string | null; summary: string | null; error: string | null }
      | undefined;
    if (!row) return null;
    return {
      id: row.id,
      sync: row.sync,
      trigger: row.trigger,
      status: row.status,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      summary: row.summary ? JSON.parse(row.summary) : null,
      error: row.error,
    };
  }

  openStage(sync: string, runId: string): Stage {
    return new SqliteStage(this.db, sync, `${++this.stageCount}_${runId.replace(/[^A-Za-z0-9]/g, '')}`);
  }

  commitBatch(commit: BatchCommit): void {
    const now = new Date().toISOString();
    const upsert = this.db.prepare(
      `INSERT INTO snapshot (sync, pk, email, email_key, participant_id, payload, synced_at, run_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (sync, pk) DO UPDATE SET email = excluded.email, email_key = excluded.email_key,
         participant_id = coalesce(excluded.participant_id, snapshot.participant_id),
         payload = excluded.payload, synced_at = excluded.synced_at, run_id = excluded.run_id`,
    );
    const forget = this.db.prepare('DELETE FROM snapshot WHERE sync = ? AND pk = ?');
    this.db.transaction(() => {
      for (const row of commit.synced) {
        upsert.run(commit.sync, row.pk, row.email, row.emailKey, row.participantId, row.payload, now, commit.runId);
      }
      for (const pk of commit.forgotten) forget.run(commit.sync, pk);
      this.insertOutcomes(commit.runId, commit.sync, commit.outcomes, now);
    })();
  }

  recordOutcomes(runId: string, sync: string, outcomes: readonly RowOutcome[]): void {
    this.db.transaction(() => this.insertOutcomes(runId, sync, outcomes, new Date().toISOString()))();
  }

  private insertOutcomes(runId: string, sync: string, outcomes: readonly RowOutcome[], at: string): void {
    const insert = this.db.prepare(
      `INSERT INTO row_outcomes (run_id, sync, pk, class, result, error, participant_id, at, batch, batch_index)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const o of outcomes) {
      insert.run(runId, sync, o.pk, o.class, o.result, o.error, o.participantId, at, o.batch?.id ?? null, o.batch?.index ?? null);
    }
  }

  recordCall(runId: string, seq: number, call: ApiCall): void {
    const request = call.request_body === null ? null : truncateBody(call.request_body, MAX_STORED_BODY_BYTES);
    const response = call.response_body === null ? null : truncateBody(call.response_body, MAX_STORED_BODY_BYTES);
    const batch = parseBatchCallTag(call.tag);
    this.db
      .prepare(
        `INSERT INTO api_calls (run_id, seq, method, url, status, duration_ms, attempt, started_at, request_body, response_body, error, tag,
           batch, row_offset, row_count, request_bytes, response_bytes)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        runId,
        seq,
        call.method,
        call.url,
        call.status,
        Math.round(call.duration_ms),
        call.attempt,
        call.started_at,
        request?.text ?? null,
        response?.text ?? null,
        call.error,
        call.tag ?? null,
        batch?.batch ?? null,
        batch?.offset ?? null,
        batch?.count ?? null,
        request?.bytes ?? null,
        response?.bytes ?? null,
      );
  }

  pruneHistory(before: string): PruneResult {
    return this.db.transaction(() => {
      const runs = this.db
        .prepare(`SELECT id FROM runs WHERE started_at < ? AND status <> 'running' AND details_pruned_at IS NULL`)
        .pluck()
        .all(before) as string[];
      const deleteCalls = this.db.prepare('DELETE FROM api_calls WHERE run_id = ?');
      const deleteOutcomes = this.db.prepare('DELETE FROM row_outcomes WHERE run_id = ?');
      const mark = this.db.prepare('UPDATE runs SET details_pruned_at = ? WHERE id = ?');
      const now = new Date().toISOString();
      const result: PruneResult = { runs: runs.length, calls: 0, outcomes: 0 };
      for (const id of runs) {
        result.calls += deleteCalls.run(id).changes;
        result.outcomes += deleteOutcomes.run(id).changes;
        mark.run(now, id);
      }
      return result;
    }).immediate();
  }

  alertStates(sync: string): AlertStateRecord[] {
    const rows = this.db.prepare('SELECT * FROM alert_state WHERE sync = ? ORDER BY trigger').all(sync) as Array<{
      sync: string; trigger: string; state: AlertState; streak: number; since: string; run_id: string; notified_at: string | null;
    }>;
    return rows.map((r) => ({
      sync: r.sync,
      trigger: r.trigger,
      state: r.state,
      streak: r.streak,
      since: r.since,
      runId: r.run_id,
      notifiedAt: r.notified_at,
    }));
  }

  saveAlertState(record: AlertStateRecord): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO alert_state (sync, trigger, state, streak, since, run_id, notified_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(record.sync, record.trigger, record.state, record.streak, record.since, record.runId, record.notifiedAt);
  }

  recordAlertDelivery(d: { sync: string; channel: string; at: string; ok: boolean; attempts: number; error: string | null }): void {
    this.db
      .prepare(
        `INSERT INTO alert_deliveries (sync, channel, last_attempt_at, last_status, attempts, last_error, last_error_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (sync, channel) DO UPDATE SET last_attempt_at = excluded.last_attempt_at,
           last_status = excluded.last_status, attempts = excluded.attempts,
           last_error = coalesce(excluded.last_error, alert_deliveries.last_error),
           last_error_at = coalesce(excluded.last_error_at, alert_deliveries.last_error_at)`,
      )
      .run(d.sync, d.channel, d.at, d.ok ? 'delivered' : 'failed', d.attempts, d.ok ? null : d.error, d.ok ? null : d.at);
  }

  alertDeliveries(sync: string): AlertDeliveryRecord[] {
    const rows = this.db.prepare('SELECT * FROM alert_deliveries WHERE sync = ? ORDER BY channel').all(sync) as Array<{
      sync: string; channel: string; last_attempt_at: string; last_status: 'delivered' | 'failed'; attempts: number;
      last_error: string | null; last_error_at: string | null;
    }>;
    return rows.map((r) => ({
      sync: r.sync,
      channel: r.channel,
      lastAttemptAt: r.last_attempt_at,
      lastStatus: r.last_status,
      attempts: r.attempts,
      lastError: r.last_error,
      lastErrorAt: r.last_error_at,
    }));
  }

  snapshotSize(sync: string): number {
    return this.db.prepare('SELECT count(*) FROM snapshot WHERE sync = ?').pluck().get(sync) as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** A process is alive when it is on this host and answers signal 0. */
function isAlive(pid: number, host: string): boolean {
  if (host !== hostname()) return true; // another host: trust its lock
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

class SqliteStage implements Stage {
  private readonly stage: string;
  private readonly plan: string;
  private readonly directory: string;
  private hasDirectory = false;
  private readonly insertRow: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly sync: string,
    suffix: string,
  ) {
    this.stage = `temp.stage_${suffix}`;
    this.plan = `temp.plan_${suffix}`;
    this.directory = `temp.directory_${suffix}`;
    db.exec(`CREATE TABLE ${this.stage} (
      seq INTEGER PRIMARY KEY, pk TEXT, email TEXT, email_key TEXT, payload TEXT, invalid TEXT)`);
    this.insertRow = db.prepare(`INSERT INTO ${this.stage} (pk, email, email_key, payload, invalid) VALUES (?, ?, ?, ?, ?)`);
  }

  insert(rows: readonly StagedRow[]): void {
    this.db.transaction(() => {
      for (const row of rows) {
        if (row.ok) this.insertRow.run(row.pk, row.email, row.emailKey, row.payload, null);
        else this.insertRow.run(row.pk, null, null, null, row.reason);
      }
    })();
  }

  diff(options: { fullResync?: boolean } = {}): PlanCounts {
    const { db, stage, plan } = this;
    const fullResync = options.fullResync === true;
    const stageName = stage.slice('temp.'.length);
    db.transaction(() => {
      db.exec(`CREATE INDEX temp.${stageName}_pk ON ${stageName} (pk)`);
      db.exec(`CREATE INDEX temp.${stageName}_email ON ${stageName} (email_key)`);
      db.exec(`
        UPDATE ${stage} SET invalid = 'primary key ' || quote(${stageName}.pk) || ' appears ' || d.copies || ' times in the model'
        FROM (SELECT pk, count(*) AS copies FROM ${stage} WHERE pk IS NOT NULL GROUP BY pk HAVING count(*) > 1) AS d
        WHERE ${stageName}.pk = d.pk`);
      db.exec(`
        UPDATE ${stage} SET invalid = 'email ' || quote(${stageName}.email) || ' is shared by ' || d.copies || ' rows of the model'
        FROM (SELECT email_key, count(*) AS copies FROM ${stage} WHERE invalid IS NULL GROUP BY email_key HAVING count(*) > 1) AS d
        WHERE ${stageName}.email_key = d.email_key AND ${stageName}.invalid IS NULL`);
      db.exec(`CREATE TABLE ${plan} (
        seq INTEGER PRIMARY KEY, pk TEXT NOT NULL, class TEXT NOT NULL, email TEXT NOT NULL, email_key TEXT NOT NULL,
        payload TEXT NOT NULL, participant_id TEXT, previous_payload TEXT, previous_email TEXT)`);
      db.prepare(`
        INSERT INTO ${plan} (seq, pk, class, email, email_key, payload, participant_id, previous_payload, previous_email)
        SELECT s.seq, s.pk, CASE WHEN n.pk IS NULL OR ? THEN 'added' ELSE 'changed' END, s.email, s.email_key, s.payload,
               n.participant_id, n.payload, n.email
        FROM ${stage} AS s LEFT JOIN snapshot AS n ON n.sync = ? AND n.pk = s.pk
        WHERE s.invalid IS NULL AND (? OR n.pk IS NULL OR n.payload <> s.payload OR n.email_key <> s.email_key)`)
        .run(fullResync ? 1 : 0, this.sync, fullResync ? 1 : 0);
      // Removed rows follow every current row in plan order. A full resync applies no delete behaviour.
      if (!fullResync) db.prepare(`
        INSERT INTO ${plan} (seq, pk, class, email, email_key, payload, participant_id, previous_payload, previous_email)
        SELECT (SELECT coalesce(max(seq), 0) FROM ${stage}) + row_number() OVER (ORDER BY n.pk), n.pk, 'removed',
               n.email, n.email_key, n.payload, n.participant_id, n.payload, n.email
        FROM snapshot AS n
        WHERE n.sync = ? AND NOT EXISTS (SELECT 1 FROM ${stage} AS s WHERE s.pk = n.pk)`).run(this.sync);
    })();
    const rows = db
      .prepare(`SELECT count(*) AS queried, coalesce(sum(invalid IS NOT NULL), 0) AS invalid FROM ${stage}`)
      .get() as { queried: number; invalid: number };
    const classes = db.prepare(`SELECT class, count(*) AS n FROM ${plan} GROUP BY class`).all() as Array<{ class: ChangeClass; n: number }>;
    const count = (c: ChangeClass) => classes.find((x) => x.class === c)?.n ?? 0;
    const added = count('added');
    const changed = count('changed');
    return {
      queried: rows.queried,
      added,
      changed,
      removed: count('removed'),
      unchanged: rows.queried - rows.invalid - added - changed,
      invalid: rows.invalid,
    };
  }

  async loadDirectory(entries: AsyncIterable<DirectoryEntry>): Promise<number> {
    const name = this.directory;
    this.db.exec(`DROP TABLE IF EXISTS ${name}; CREATE TABLE ${name} (id TEXT PRIMARY KEY, email_key TEXT NOT NULL)`);
    const insert = this.db.prepare(`INSERT OR REPLACE INTO ${name} (id, email_key) VALUES (?, ?)`);
    const flush = this.db.transaction((chunk: DirectoryEntry[]) => {
      for (const e of chunk) insert.run(e.id, e.emailKey);
    });
    let chunk: DirectoryEntry[] = [];
    let loaded = 0;
    for await (const entry of entries) {
      chunk.push(entry);
      if (chunk.length === 1_000) {
        flush(chunk);
        loaded += chunk.length;
        chunk = [];
      }
    }
    flush(chunk);
    loaded += chunk.length;
    this.db.exec(`CREATE INDEX ${name}_email ON ${name.slice('temp.'.length)} (email_key)`);
    this.hasDirectory = true;
    return loaded;
  }

  directoryId(emailKey: string): string | null {
    if (!this.hasDirectory) return null;
    return (this.db.prepare(`SELECT id FROM ${this.directory} WHERE email_key = ? LIMIT 1`).pluck().get(emailKey) as string | undefined) ?? null;
  }

  page(classes: readonly ChangeClass[], afterSeq: number, limit: number): PlannedRow[] {
    const placeholders = classes.map(() => '?').join(', ');
    // A row's participant exists when its stored id is still there, or (no stored id) its email is.
    const existing = this.hasDirectory
      ? `coalesce((SELECT d.id FROM ${this.directory} AS d WHERE d.id = p.participant_id),
                  CASE WHEN p.participant_id IS NULL THEN (SELECT d.id FROM ${this.directory} AS d WHERE d.email_key = p.email_key LIMIT 1) END)`
      : 'NULL';
    const rows = this.db
      .prepare(
        `SELECT seq, pk, class, email, email_key, payload, participant_id, previous_payload, previous_email,
                ${existing} AS existing_id
         FROM ${this.plan} AS p
         WHERE seq > ? AND class IN (${placeholders}) ORDER BY seq LIMIT ?`,
      )
      .all(afterSeq, ...classes, limit) as Array<{
      seq: number; pk: string; class: ChangeClass; email: string; email_key: string; payload: string;
      participant_id: string | null; previous_payload: string | null; previous_email: string | null;
      existing_id: string | null;
    }>;
    return rows.map((r) => ({
      seq: r.seq,
      pk: r.pk,
      class: r.class,
      email: r.email,
      emailKey: r.email_key,
      payload: r.payload,
      participantId: r.participant_id,
      previousPayload: r.previous_payload,
      previousEmail: r.previous_email,
      existingId: r.existing_id,
    }));
  }

  invalidRows(afterSeq: number, limit: number): Array<{ seq: number; pk: string | null; reason: string }> {
    return this.db
      .prepare(`SELECT seq, pk, invalid AS reason FROM ${this.stage} WHERE invalid IS NOT NULL AND seq > ? ORDER BY seq LIMIT ?`)
      .all(afterSeq, limit) as Array<{ seq: number; pk: string | null; reason: string }>;
  }

  drop(): void {
    if (!this.db.open) return;
    this.db.exec(`DROP TABLE IF EXISTS ${this.plan}; DROP TABLE IF EXISTS ${this.stage}; DROP TABLE IF EXISTS ${this.directory}`);
  }
}
