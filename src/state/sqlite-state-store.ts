/**
 * The embedded state store: one SQLite file (WAL mode) beside the project. The diff between a
 * model result and the snapshot is one SQL join here, not a JS loop over every row.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { withSummaryDefaults, type RunSummary } from '../engine/run-summary.ts';
import type { ApiCall } from '../http/http-client.ts';
import type { Row } from '../sources/source.ts';
import type { RateLimit } from '../http/rate-limit-gate.ts';
import { parseBatchCallTag } from './batch-call-tag.ts';
import { MIGRATIONS } from './migrations.ts';
import { assertStateFileWritable, stateFileErrorOf } from './state-file-error.ts';
import { compressBody } from './compact-body.ts';
import { pruneHistory } from './prune-history.ts';
import { insertRowOutcomes, knownInvalidSql } from './row-outcome-log.ts';
import { truncateBody } from './truncate-body.ts';
import { prepared, SQLITE_DRIVER_PATH } from './prepared.ts';
import { decodePayload, layoutKey, type PayloadLayout } from './payload-codec.ts';
import { PayloadLayouts } from './payload-layouts.ts';
import {
  attachStageFile,
  newStageFilePath,
  removeStageFile,
  removeStaleStageFiles,
  STAGE_WORKER_FROM_ROWS,
  STAGE_WORKER_WARM_AHEAD_ROWS,
  StageWorker,
  WORKER_MAPS_BELOW_BACKLOG,
  type SliceStatement,
  type SqlStatement,
  type WorkerMapping,
} from './stage-file.ts';
import type {
  AlertChannelNotified,
  AlertDeliveryRecord,
  AlertState,
  AlertStateRecord,
  BatchCommit,
  ChangeClass,
  CommitRefusal,
  IntentSettlement,
  SnapshotIdentity,
  WriteIntent,
  WriteKind,
  DestinationFingerprint,
  LockAttempt,
  LockKeeper,
  PageFilter,
  RunLock,
  SnapshotDestination,
  PruneResult,
  DirectoryEntry,
  PlanCounts,
  PlannedRow,
  RowOutcome,
  RunRecord,
  RunOptions,
  RunStatus,
  RunStart,
  RunTrigger,
  Stage,
  StageMapping,
  StagedRow,
  StateStore,
} from './state-store.ts';
import { LOCK_HEARTBEAT_MS, LOCK_LEASE_MS, LockLostError, MAX_STORED_BODY_BYTES, leaseExpired } from './state-store.ts';

/** How long a statement waits for another connection's lock before failing "database is locked", ms. */
const BUSY_TIMEOUT_MS = 5_000;

/** What a WAL file is cut back to after a checkpoint, bytes: 64 MiB. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** Timings of the run lock's lease; tests shorten them. */
export interface SqliteStateStoreOptions {
  /** Lease of a run lock, ms; default {@link LOCK_LEASE_MS}. */
  lockLeaseMs?: number;
  /** Interval of the heartbeat renewing a held lock's lease, ms; default {@link LOCK_HEARTBEAT_MS}. */
  lockHeartbeatMs?: number;
  /** A stage diffs in a worker thread from this many staged rows; default {@link STAGE_WORKER_FROM_ROWS}. */
  stageWorkerFromRows?: number;
  /**
   * That worker maps a slice of model rows itself while fewer slices than this wait for it;
   * default {@link WORKER_MAPS_BELOW_BACKLOG}; 0: never (the calling thread maps every row),
   * `Infinity`: always.
   */
  stageWorkerMapsBelowBacklog?: number;
}

/** Opens (creating if needed) the state database at `path` and applies pending migrations. */
export class SqliteStateStore implements StateStore {
  readonly db: Database.Database;
  private stageCount = 0;
  /** The open stage of each run, by run id: the model {@link commitBatch} checks holders against. */
  private readonly stages = new Map<string, SqliteStage>();
  private readonly lockLeaseMs: number;
  private readonly lockHeartbeatMs: number;
  private readonly stageWorkerFromRows: number;
  private readonly stageWorkerMapsBelowBacklog: number;
  private readonly layouts: PayloadLayouts;

  /**
   * @param path a file path, or `:memory:` for tests
   * @throws StateFileError naming the file and the fix when it is read-only (checked before SQLite
   *   opens it), damaged or not a database; the driver's SqliteError when a migration fails otherwise
   */
  constructor(path: string, options: SqliteStateStoreOptions = {}) {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true });
      assertStateFileWritable(path);
    }
    this.lockLeaseMs = options.lockLeaseMs ?? LOCK_LEASE_MS;
    this.lockHeartbeatMs = options.lockHeartbeatMs ?? LOCK_HEARTBEAT_MS;
    this.stageWorkerFromRows = options.stageWorkerFromRows ?? STAGE_WORKER_FROM_ROWS;
    this.stageWorkerMapsBelowBacklog = options.stageWorkerMapsBelowBacklog ?? WORKER_MAPS_BELOW_BACKLOG;
    let db: Database.Database | undefined;
    try {
      db = new Database(path);
      this.db = db;
      // First: every statement after it waits for another process opening or migrating the same
      // file instead of failing "database is locked".
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // A new file gives pages freed by retention back (./prune-history.ts); set before its first table.
      if ((this.db.pragma('page_count', { simple: true }) as number) === 0) this.db.pragma('auto_vacuum = INCREMENTAL');
      this.switchToWal();
      // After a checkpoint, a WAL file grown by a large commit or pruning is cut back to this size, bytes.
      this.db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('temp_store = FILE');
      this.migrate();
      this.layouts = new PayloadLayouts(this.db);
    } catch (error) {
      db?.close();
      throw stateFileErrorOf(error, path) ?? error;
    }
  }

  /**
   * Sets journal_mode WAL (kept by the file once set). When several processes open a new file at
   * once, SQLite answers the switch "database is locked" at once, without waiting busy_timeout:
   * it is tried again every few ms until it holds or busy_timeout has passed.
   * @throws SqliteError when the file stays locked for longer than busy_timeout
   */
  private switchToWal(): void {
    const deadline = Date.now() + BUSY_TIMEOUT_MS;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      try {
        if (this.db.pragma('journal_mode = WAL', { simple: true }) === 'wal' || this.db.memory) return;
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error;
      }
      if (Date.now() >= deadline) throw new Error(`cannot switch the state database ${this.db.name} to WAL mode: another process keeps it locked`);
      Atomics.wait(pause, 0, 0, 5 + Math.random() * 20); // a synchronous sleep: the constructor is synchronous
    }
  }

  /**
   * Applies pending migrations, safe when several processes start (or upgrade) at once: the
   * applied versions are read again inside a write transaction (BEGIN IMMEDIATE), so that only
   * the first process applies a migration and the others see it applied. All pending migrations
   * are applied in that one transaction: a failure leaves the database as it was.
   */
  private migrate(): void {
    const pending = () => {
      const exists = this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get();
      const applied = new Set(exists ? (this.db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]) : []);
      return MIGRATIONS.filter((m) => !applied.has(m.version));
    };
    if (pending().length === 0) return; // up to date: no write lock taken
    this.db.transaction(() => {
      this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      const record = this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
      for (const migration of pending()) {
        this.db.exec(migration.sql);
        migration.transform?.(this.db);
        record.run(migration.version, migration.name, new Date().toISOString());
      }
    }).immediate();
  }

  /**
   * GCRA over the `rate_limit_slots` row of `account`, in one short BEGIN IMMEDIATE transaction so
   * that processes on this file never hand out the same slot: the slot starts at
   * `max(now, next - (burst - 1) * interval)` and the next free one moves to `max(next, now) + interval`.
   */
  reserveRateSlot(account: string, limit: RateLimit, nowMs: number): number {
    const intervalMs = 1000 / limit.requestsPerSecond;
    return this.db.transaction(() => {
      const next = (this.db.prepare('SELECT next_slot_ms FROM rate_limit_slots WHERE account = ?').pluck().get(account) as number | undefined) ?? nowMs;
      this.db
        .prepare('INSERT INTO rate_limit_slots (account, next_slot_ms) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET next_slot_ms = excluded.next_slot_ms')
        .run(account, Math.max(next, nowMs) + intervalMs);
      return Math.max(nowMs, next - (limit.burst - 1) * intervalMs);
    }).immediate();
  }

  acquireLock(sync: string, runId: string): LockAttempt {
    return this.db.transaction((): LockAttempt => {
      const held = this.readLock(sync);
      const now = Date.now();
      if (held && held.runId !== runId && !leaseExpired(held, now) && !holderIsGone(held)) {
        return { ok: false, heldBy: held.runId, holder: held };
      }
      const same = held?.runId === runId && held.owner !== null;
      const lock: RunLock = {
        sync,
        runId,
        owner: same ? held.owner : randomBytes(16).toString('hex'),
        pid: process.pid,
        host: hostname(),
        pidNamespace: PID_NAMESPACE,
        acquiredAt: same ? held.acquiredAt : new Date(now).toISOString(),
        renewedAt: new Date(now).toISOString(),
        expiresAt: new Date(now + this.lockLeaseMs).toISOString(),
      };
      this.db
        .prepare(
          `INSERT OR REPLACE INTO locks (sync, run_id, owner, pid, host, pid_namespace, acquired_at, renewed_at, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(lock.sync, lock.runId, lock.owner, lock.pid, lock.host, lock.pidNamespace, lock.acquiredAt, lock.renewedAt, lock.expiresAt);
      OWNERS_HERE.add(lock.owner!);
      return { ok: true, lock };
    }).immediate();
  }

  keepLock(lock: RunLock, onLost: (reason: string) => void): LockKeeper {
    if (this.db.memory) return { stop: async () => {} }; // no other connection can see this database's locks
    const worker = new Worker(HEARTBEAT_WORKER, {
      eval: true,
      workerData: {
        driver: SQLITE_DRIVER_PATH,
        path: this.db.name,
        busyTimeoutMs: BUSY_TIMEOUT_MS,
        renewSql: RENEW_LOCK_SQL,
        sync: lock.sync,
        owner: lock.owner,
        leaseMs: this.lockLeaseMs,
        heartbeatMs: this.lockHeartbeatMs,
        expiresAt: lock.expiresAt,
      } satisfies HeartbeatWorkerData,
    });
    let lost = false;
    const lose = (reason: string) => {
      if (lost) return;
      lost = true;
      onLost(reason);
    };
    worker.on('message', (message: { lost: string }) => lose(message.lost));
    worker.on('error', (error) => lose(`the heartbeat renewing the run lock stopped: ${error.message}`));
    worker.unref(); // a keeper left running never keeps the process alive
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    return {
      stop: async () => {
        lost = true; // nothing is reported after stop
        worker.postMessage('stop');
        // The thread closes its connection and exits within milliseconds; never wait on a stuck one.
        const stuck = setTimeout(() => void worker.terminate(), HEARTBEAT_STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(stuck);
      },
    };
  }

  releaseLock(sync: string, runId: string): void {
    const owner = this.db.prepare('DELETE FROM locks WHERE sync = ? AND run_id = ? RETURNING owner').pluck().get(sync, runId) as string | null | undefined;
    if (owner) OWNERS_HERE.delete(owner);
  }

  readLock(sync: string): RunLock | null {
    const row = prepared(this.db, 'SELECT * FROM locks WHERE sync = ?').get(sync) as
      | {
          sync: string; run_id: string; owner: string | null; pid: number; host: string; pid_namespace: string | null;
          acquired_at: string; renewed_at: string | null; expires_at: string | null;
        }
      | undefined;
    if (!row) return null;
    return {
      sync: row.sync,
      runId: row.run_id,
      owner: row.owner,
      pid: row.pid,
      host: row.host,
      pidNamespace: row.pid_namespace,
      acquiredAt: row.acquired_at,
      renewedAt: row.renewed_at,
      // Written before leases: it holds for one lease from when it was taken.
      expiresAt: row.expires_at ?? new Date(Date.parse(row.acquired_at) + LOCK_LEASE_MS).toISOString(),
    };
  }

  breakLock(seen: RunLock): boolean {
    // Unchanged since `seen` (a renewal changes renewed_at), so a holder that renewed since keeps it.
    return (
      this.db
        .prepare('DELETE FROM locks WHERE sync = ? AND run_id = ? AND owner IS ? AND acquired_at = ? AND renewed_at IS ?')
        .run(seen.sync, seen.runId, seen.owner, seen.acquiredAt, seen.renewedAt).changes === 1
    );
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

  startRun(run: RunStart): void {
    const options: RunOptions = { full_resync: run.options?.full_resync ?? false, reset_cdc: run.options?.reset_cdc ?? false };
    this.db
      .prepare(`INSERT INTO runs (id, sync, trigger, status, started_at, options, destination, triggered_by) VALUES (?, ?, ?, 'running', ?, ?, ?, ?)`)
      .run(
        run.id,
        run.sync,
        run.trigger,
        run.startedAt,
        JSON.stringify(options),
        run.destination ? JSON.stringify(run.destination) : null,
        run.triggeredBy ? JSON.stringify(run.triggeredBy) : null,
      );
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
      summary: row.summary ? withSummaryDefaults(JSON.parse(row.summary) as RunSummary) : null,
      error: row.error,
    };
  }

  lastEndedRun(sync: string): { id: string; status: RunStatus; options: RunOptions } | null {
    const row = this.db
      .prepare(`SELECT id, status, options FROM runs WHERE sync = ? AND status <> 'running' ORDER BY started_at DESC, id DESC LIMIT 1`)
      .get(sync) as { id: string; status: RunStatus; options: string | null } | undefined;
    if (!row) return null;
    const options = (row.options === null ? {} : JSON.parse(row.options)) as Partial<RunOptions>;
    return { id: row.id, status: row.status, options: { full_resync: options.full_resync ?? false, reset_cdc: options.reset_cdc ?? false } };
  }

  openStage(sync: string, runId: string, options: { fullResync?: boolean } = {}): Stage {
    const suffix = `${++this.stageCount}_${runId.replace(/[^A-Za-z0-9]/g, '')}`;
    const stage = new SqliteStage(this.db, sync, suffix, this.stageFile(suffix), this.layouts, options.fullResync === true, () => {
      if (this.stages.get(runId) === stage) this.stages.delete(runId);
    });
    this.stages.set(runId, stage);
    return stage;
  }

  /**
   * A file of its own for a new stage (see ./stage-file.ts), or `null`: the stage then lives in
   * the temp schema (an in-memory state database, or every attachment slot of the connection in
   * use: SQLite attaches at most 10 databases, `serve` running many large syncs at once).
   */
  private stageFile(suffix: string): ConstructorParameters<typeof SqliteStage>[3] {
    if (this.db.memory) return null;
    // Stages with a file: attached here, or detached while a worker owns the file (it attaches again for its diff).
    if ([...this.stages.values()].filter((stage) => stage.hasFile).length >= MAX_ATTACHED_STAGES) return null;
    if (this.stageCount === 1) removeStaleStageFiles();
    return { path: newStageFilePath(), schema: `stage_${suffix}`, statePath: this.db.name, workerFromRows: this.stageWorkerFromRows, workerMapsBelowBacklog: this.stageWorkerMapsBelowBacklog };
  }

  commitBatch(commit: BatchCommit): CommitRefusal[] {
    const now = new Date().toISOString();
    const upsert = prepared(this.db, 
      `INSERT INTO snapshot (sync, pk, email, email_key, participant_id, payload_layout, payload_values, run_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (sync, pk) DO UPDATE SET email = excluded.email, email_key = excluded.email_key,
         participant_id = coalesce(excluded.participant_id, snapshot.participant_id),
         payload_layout = excluded.payload_layout, payload_values = excluded.payload_values, run_id = excluded.run_id, resend = 0`,
    );
    // Encoded before the transaction: a layout stored on the way is committed whatever the batch's fate.
    const encoded = commit.synced.map((row) => this.layouts.encode(row.payload));
    const forget = prepared(this.db, 'DELETE FROM snapshot WHERE sync = ? AND pk = ?');
    // The snapshot's first rows tie it to the destination that acknowledged them (the run's).
    const bind = prepared(this.db, 
      `INSERT INTO snapshot_destinations (sync, destination, environment, base_url, api_key_sha256, recorded_at, run_id)
       SELECT sync, destination ->> '$.destination', destination ->> '$.environment', destination ->> '$.baseUrl',
              destination ->> '$.apiKeySha256', ?, id
       FROM runs WHERE id = ? AND sync = ? AND destination IS NOT NULL
       ON CONFLICT (sync) DO NOTHING`,
    );
    const settle = prepared(this.db, 'DELETE FROM write_intents WHERE sync = ? AND pk = ?');
    const matched = prepared(this.db, 'DELETE FROM unmatched_rows WHERE sync = ? AND pk = ?');
    const sent = prepared(this.db, 'UPDATE snapshot SET resend = 0 WHERE sync = ? AND pk = ?');
    const holders = prepared(this.db, 'SELECT pk FROM snapshot WHERE sync = ? AND participant_id = ? AND pk <> ? ORDER BY pk').pluck();
    // The holder's participant was found under the email written: its row takes it, to move back.
    const takeEmail = prepared(this.db, 'UPDATE snapshot SET email = ?, email_key = ?, resend = 1 WHERE sync = ? AND pk = ?');
    const storedId = prepared(this.db, 'SELECT participant_id FROM snapshot WHERE sync = ? AND pk = ?').pluck();
    // A holder that left the run's model is an old primary key handing its participant over.
    const model = this.stages.get(commit.runId);
    // BEGIN IMMEDIATE: the lock check reads first, and a read transaction that then writes fails at
    // once (SQLITE_BUSY, no busy wait) when the heartbeat renewed the lease in between.
    return this.db.transaction(() => {
      if (commit.lockOwner !== undefined) this.checkLock(commit.sync, commit.lockOwner);
      const refusals: CommitRefusal[] = [];
      commit.synced.forEach((row, i) => {
        const others = row.participantId === null ? [] : (holders.all(commit.sync, row.participantId, row.pk) as string[]);
        const heldBy = others.find((pk) => model?.inModel(pk) ?? true);
        if (heldBy !== undefined) {
          refusals.push({ pk: row.pk, error: heldParticipantError(row.participantId!, heldBy) });
          takeEmail.run(storedEmail(row.email, row.emailKey), row.emailKey, commit.sync, heldBy);
          return;
        }
        // Keys that left the model hand their participant over: their rows go with it.
        for (const pk of others) forget.run(commit.sync, pk);
        const { layoutId, values } = encoded[i]!;
        upsert.run(commit.sync, row.pk, storedEmail(row.email, row.emailKey), row.emailKey, row.participantId, layoutId, values, commit.runId);
        matched.run(commit.sync, row.pk);
      });
      if (commit.synced.length > 0) bind.run(now, commit.runId, commit.sync);
      for (const pk of commit.forgotten) forget.run(commit.sync, pk);
      for (const pk of commit.settledIntents ?? []) settle.run(commit.sync, pk);
      for (const pk of commit.resendCleared ?? []) sent.run(commit.sync, pk);
      const refused = new Map(refusals.map((r) => [r.pk, r]));
      const outcomes = commit.outcomes.map((o): RowOutcome => {
        const refusal = o.pk === null || o.result !== 'succeeded' ? undefined : refused.get(o.pk);
        if (refusal === undefined) return o;
        const participantId = (storedId.get(commit.sync, o.pk) as string | null | undefined) ?? null;
        return { ...o, result: 'unsent', error: refusal.error, participantId };
      });
      this.insertOutcomes(commit.runId, commit.sync, outcomes, now);
      return refusals;
    }).immediate();
  }

  /**
   * Throws LockLostError unless the sync's lock is held by `owner` (call inside the transaction
   * that commits, so that a run that lost its lock commits nothing more).
   */
  private checkLock(sync: string, owner: string | null): void {
    const held = this.readLock(sync);
    if (held === null || held.owner !== owner) {
      const now = held === null ? 'nobody holds it now' : `run ${held.runId} holds it now`;
      throw new LockLostError(`the run lock was broken (panelsync unlock) or taken over by another run after its lease ran out (${now})`);
    }
  }

  recordIntents(sync: string, runId: string, intents: readonly WriteIntent[]): void {
    if (intents.length === 0) return;
    const insert = prepared(this.db, 
      `INSERT OR REPLACE INTO write_intents (sync, pk, kind, email, email_key, participant_id, payload, run_id, sent_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const i of intents) insert.run(sync, i.pk, i.kind, i.email, i.emailKey, i.participantId, i.payload, runId, now);
    })();
  }

  intentsInDoubt(sync: string): WriteIntent[] {
    const rows = this.db.prepare('SELECT * FROM write_intents WHERE sync = ? ORDER BY pk').all(sync) as Array<{
      pk: string; kind: WriteKind; email: string | null; email_key: string | null; participant_id: string | null; payload: string | null; sent_at: string;
    }>;
    return rows.map((r) => ({
      pk: r.pk, kind: r.kind, email: r.email, emailKey: r.email_key, participantId: r.participant_id, payload: r.payload, sentAt: r.sent_at,
    }));
  }

  touchIntents(sync: string, pks: readonly string[]): void {
    const touch = prepared(this.db, 'UPDATE write_intents SET sent_at = ? WHERE sync = ? AND pk = ?');
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const pk of pks) touch.run(now, sync, pk);
    })();
  }

  snapshotEntry(sync: string, pk: string): { email: string; participantId: string | null } | null {
    const row = this.db.prepare('SELECT coalesce(email, email_key) AS email, participant_id FROM snapshot WHERE sync = ? AND pk = ?').get(sync, pk) as
      | { email: string; participant_id: string | null }
      | undefined;
    return row ? { email: row.email, participantId: row.participant_id } : null;
  }

  settleIntents(sync: string, runId: string, settlements: readonly IntentSettlement[], lockOwner?: string | null): void {
    const settle = prepared(this.db, 'DELETE FROM write_intents WHERE sync = ? AND pk = ?');
    const forget = prepared(this.db, 'DELETE FROM snapshot WHERE sync = ? AND pk = ?');
    const untie = prepared(this.db, 'UPDATE snapshot SET participant_id = NULL, resend = 1 WHERE sync = ? AND participant_id = ?');
    const record = prepared(this.db, 
      `INSERT INTO snapshot (sync, pk, email, email_key, participant_id, payload_layout, payload_values, run_id, resend)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (sync, pk) DO UPDATE SET email = excluded.email, email_key = excluded.email_key,
         participant_id = excluded.participant_id, run_id = excluded.run_id,
         resend = max(snapshot.resend, excluded.resend)`,
    );
    // Encoded before the transaction: a layout stored on the way is committed whatever comes after.
    const encoded = settlements.map((s) => (s.snapshot === 'record' ? this.layouts.encode(s.payload) : null));
    // One participant is never tied to two primary keys: one another key holds is not recorded.
    const heldElsewhere = prepared(this.db, 'SELECT 1 FROM snapshot WHERE sync = ? AND participant_id = ? AND pk <> ? LIMIT 1');
    this.db.transaction(() => {
      if (lockOwner !== undefined) this.checkLock(sync, lockOwner);
      settlements.forEach((s, i) => {
        settle.run(sync, s.pk);
        if (s.snapshot === 'forget') forget.run(sync, s.pk);
        if (s.snapshot !== 'record' && s.gone !== undefined) untie.run(sync, s.gone);
        else if (s.snapshot === 'record') {
          const held = s.participantId !== null && heldElsewhere.get(sync, s.participantId, s.pk) !== undefined;
          const participantId = held ? (this.snapshotEntry(sync, s.pk)?.participantId ?? null) : s.participantId;
          const { layoutId, values } = encoded[i]!;
          record.run(sync, s.pk, storedEmail(s.email, s.emailKey), s.emailKey, participantId, layoutId, values, runId, s.resend || held ? 1 : 0);
        }
      });
    }).immediate();
  }

  markResend(sync: string): number {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM unmatched_rows WHERE sync = ?').run(sync);
      return this.db.prepare('UPDATE snapshot SET resend = 1 WHERE sync = ?').run(sync).changes;
    })();
  }

  snapshotIdentity(sync: string): SnapshotIdentity | null {
    const row = this.db.prepare('SELECT primary_key, match_column FROM snapshot_identity WHERE sync = ?').get(sync) as
      | { primary_key: string; match_column: string }
      | undefined;
    return row ? { primaryKey: row.primary_key, matchColumn: row.match_column } : null;
  }

  bindIdentity(sync: string, identity: SnapshotIdentity, runId: string): void {
    this.db
      .prepare('INSERT OR REPLACE INTO snapshot_identity (sync, primary_key, match_column, recorded_at, run_id) VALUES (?, ?, ?, ?, ?)')
      .run(sync, identity.primaryKey, identity.matchColumn, new Date().toISOString(), runId);
  }

  recordOutcomes(runId: string, sync: string, outcomes: readonly RowOutcome[]): void {
    this.db.transaction(() => this.insertOutcomes(runId, sync, outcomes, new Date().toISOString()))();
  }

  private insertOutcomes(runId: string, sync: string, outcomes: readonly RowOutcome[], at: string): void {
    insertRowOutcomes(this.db, runId, sync, outcomes, at);
  }

  recordCall(runId: string, seq: number, call: ApiCall): void {
    const request = call.request_body === null ? null : truncateBody(call.request_body, MAX_STORED_BODY_BYTES);
    const response = call.response_body === null ? null : truncateBody(call.response_body, MAX_STORED_BODY_BYTES);
    const batch = parseBatchCallTag(call.tag);
    prepared(this.db, 
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
        request ? compressBody(request.text) : null,
        response ? compressBody(response.text) : null,
        call.error,
        call.tag ?? null,
        batch?.batch ?? null,
        batch?.offset ?? null,
        batch?.count ?? null,
        request?.bytes ?? null,
        response?.bytes ?? null,
      );
  }

  pruneHistory(before: string, syncs?: readonly string[]): Promise<PruneResult> {
    return pruneHistory(this.db, before, syncs);
  }

  alertStates(sync: string): AlertStateRecord[] {
    const rows = this.db.prepare('SELECT * FROM alert_state WHERE sync = ? ORDER BY trigger').all(sync) as Array<{
      sync: string; trigger: string; state: AlertState; streak: number; since: string; run_id: string; notified_at: string | null;
    }>;
    const notified = this.db.prepare('SELECT * FROM alert_notified WHERE sync = ? ORDER BY trigger, channel').all(sync) as Array<{
      trigger: string; channel: string; level: AlertChannelNotified['level']; notified_at: string;
    }>;
    return rows.map((r) => ({
      sync: r.sync,
      trigger: r.trigger,
      state: r.state,
      streak: r.streak,
      since: r.since,
      runId: r.run_id,
      notifiedAt: r.notified_at,
      notifiedChannels: notified.filter((n) => n.trigger === r.trigger).map((n) => ({ channel: n.channel, level: n.level, at: n.notified_at })),
    }));
  }

  saveAlertState(record: Omit<AlertStateRecord, 'notifiedChannels'>): void {
    this.db
      .prepare(`INSERT OR REPLACE INTO alert_state (sync, trigger, state, streak, since, run_id, notified_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(record.sync, record.trigger, record.state, record.streak, record.since, record.runId, record.notifiedAt);
  }

  recordAlertNotified(sync: string, trigger: string, told: AlertChannelNotified): void {
    this.db
      .prepare('INSERT OR REPLACE INTO alert_notified (sync, trigger, channel, level, notified_at) VALUES (?, ?, ?, ?, ?)')
      .run(sync, trigger, told.channel, told.level, told.at);
  }

  forgetAlertNotified(sync: string, trigger: string, channel: string): void {
    this.db.prepare('DELETE FROM alert_notified WHERE sync = ? AND trigger = ? AND channel = ?').run(sync, trigger, channel);
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

  modelVolumes(sync: string, limit: number, exceptRunId: string): number[] {
    return this.db
      .prepare(
        `SELECT json_extract(summary, '$.rows.queried') FROM runs
         WHERE sync = ? AND id <> ? AND status IN ('success', 'warning') AND summary IS NOT NULL
         ORDER BY started_at DESC LIMIT ?`,
      )
      .pluck()
      .all(sync, exceptRunId, limit) as number[];
  }

  snapshotSize(sync: string): number {
    return this.db.prepare('SELECT count(*) FROM snapshot WHERE sync = ?').pluck().get(sync) as number;
  }

  snapshotIsEmpty(sync: string): boolean {
    return this.db.prepare('SELECT 1 FROM snapshot WHERE sync = ? LIMIT 1').get(sync) === undefined;
  }

  snapshotDestination(sync: string): SnapshotDestination | null {
    const row = this.db.prepare('SELECT * FROM snapshot_destinations WHERE sync = ?').get(sync) as
      | { destination: string; environment: string; base_url: string; api_key_sha256: string; recorded_at: string; run_id: string }
      | undefined;
    if (!row) return null;
    return {
      destination: row.destination,
      environment: row.environment,
      baseUrl: row.base_url,
      apiKeySha256: row.api_key_sha256,
      recordedAt: row.recorded_at,
      runId: row.run_id,
    };
  }

  snapshotParticipantIds(sync: string, limit: number): string[] {
    return this.db
      .prepare(
        `SELECT participant_id FROM snapshot WHERE sync = ? AND participant_id IS NOT NULL
         GROUP BY participant_id ORDER BY max(run_id) DESC, participant_id LIMIT ?`,
      )
      .pluck()
      .all(sync, limit) as string[];
  }

  bindDestination(sync: string, destination: DestinationFingerprint, runId: string): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO snapshot_destinations (sync, destination, environment, base_url, api_key_sha256, recorded_at, run_id)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(sync, destination.destination, destination.environment, destination.baseUrl, destination.apiKeySha256, new Date().toISOString(), runId);
  }

  replaceSnapshot(sync: string): number {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM snapshot_destinations WHERE sync = ?').run(sync);
      this.db.prepare('DELETE FROM write_intents WHERE sync = ?').run(sync);
      this.db.prepare('DELETE FROM unmatched_rows WHERE sync = ?').run(sync);
      return this.db.prepare('DELETE FROM snapshot WHERE sync = ?').run(sync).changes;
    }).immediate();
  }

  recordUnmatched(sync: string, runId: string, rows: ReadonlyArray<{ pk: string; emailKey: string }>, lookedUpAt: string): void {
    if (rows.length === 0) return;
    const record = prepared(this.db, 'INSERT OR REPLACE INTO unmatched_rows (sync, pk, email_key, looked_up_at, run_id) VALUES (?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const row of rows) record.run(sync, row.pk, row.emailKey, lookedUpAt, runId);
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** This process's pid namespace on Linux (the target of /proc/self/ns/pid, e.g. `pid:[4026531836]`), else `null`. */
const PID_NAMESPACE: string | null = (() => {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
})();

/** Owner tokens of the locks this process holds (any store). */
const OWNERS_HERE = new Set<string>();

/**
 * True when the holder of `lock` provably no longer runs: it ran on this host, in this pid
 * namespace, and its pid is not running, or is this process's own pid while this process did not
 * take the lock (a restarted container's pid 1). A pid that is running proves nothing: another
 * process may have been given it. {@link SqliteStateStore.acquireLock} takes such a lock over.
 */
export function holderIsGone(lock: RunLock): boolean {
  if (lock.host !== hostname() || lock.pidNamespace !== PID_NAMESPACE) return false;
  if (lock.pid === process.pid) return lock.owner === null || !OWNERS_HERE.has(lock.owner);
  try {
    process.kill(lock.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Renews a lock's lease while its owner still holds it: (expires_at, renewed_at, sync, owner). */
const RENEW_LOCK_SQL = 'UPDATE locks SET expires_at = ?, renewed_at = ? WHERE sync = ? AND owner = ?';


/** What {@link HEARTBEAT_WORKER} receives. */
interface HeartbeatWorkerData {
  driver: string;
  path: string;
  busyTimeoutMs: number;
  renewSql: string;
  sync: string;
  owner: string | null;
  leaseMs: number;
  heartbeatMs: number;
  /** The lease's end when the heartbeat starts, ISO 8601. */
  expiresAt: string | null;
}

/** How long stopping a heartbeat thread waits for it to exit on its own before terminating it, ms. */
const HEARTBEAT_STOP_TIMEOUT_MS = 2_000;

/**
 * The heartbeat thread (plain JavaScript, run with `eval`: a worker thread does not go through
 * the TypeScript loader). On its own connection, every `heartbeatMs` it renews the lease to now +
 * `leaseMs`. It posts `{ lost }` and ends when the lock is no longer `owner`'s, or when no renewal
 * succeeded (a database busy for longer than busy_timeout each time) before the lease ran out.
 * The message 'stop' ends it.
 */
const HEARTBEAT_WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
const Database = require(w.driver);
const db = new Database(w.path, { fileMustExist: true });
db.pragma('busy_timeout = ' + w.busyTimeoutMs);
const renew = db.prepare(w.renewSql);
let leaseEnd = w.expiresAt === null ? 0 : Date.parse(w.expiresAt);
const end = () => { clearInterval(timer); parentPort.close(); db.close(); };
const timer = setInterval(() => {
  const now = Date.now();
  try {
    if (renew.run(new Date(now + w.leaseMs).toISOString(), new Date(now).toISOString(), w.sync, w.owner).changes === 0) {
      parentPort.postMessage({ lost: 'the run lock was broken (panelsync unlock) or taken over by another run after its lease ran out' });
      return end();
    }
    leaseEnd = now + w.leaseMs;
  } catch (error) {
    if (Date.now() < leaseEnd) return; // the next beat tries again
    parentPort.postMessage({ lost: 'the run lock lease ran out: no renewal succeeded (' + error.message + ')' });
    end();
  }
}, w.heartbeatMs);
parentPort.on('message', (message) => { if (message === 'stop') end(); });
`;

/**
 * Why a synced row was not stored ({@link SqliteStateStore.commitBatch}): the destination wrote it
 * to a participant that another primary key of the model holds.
 */
function heldParticipantError(participantId: string, heldBy: string): string {
  return (
    `waits: the API wrote this row to participant ${participantId}, which primary key ${heldBy} holds (its email was changed to this ` +
    `row's, e.g. by hand in User Interviews): not recorded; ${heldBy} is sent again to move it back, then this row gets its own participant`
  );
}

/** An email as the snapshot and the stage store it: `null` when it is its normalized key itself (most are). */
function storedEmail(email: string, emailKey: string): string | null {
  return email === emailKey ? null : email;
}

/** How many other primary keys the reason of a row sharing its email names. */
const SHARED_EMAIL_KEYS_SHOWN = 5;

/** Attached stage files beyond which a new stage stays in the temp schema (SQLite attaches at most 10 databases). */
const MAX_ATTACHED_STAGES = 10;

/** The diff's own tables beside a stage (see SqliteStage's `helper`), dropped with a stage in the temp schema. */
const DIFF_TABLES = ['repeated', 'duplicates', 'shared', 'snapshot_facts', 'snapshot_shared'] as const;

/** Rows per multi-row `INSERT` into a stage (5 parameters each, well under SQLite's 32,766). */
const STAGE_INSERT_ROWS = 200;

/** The stage's columns written per row, in the order of the values {@link SqliteStage.insert} collects. */
const STAGE_COLUMNS = ['pk', 'email', 'email_key', 'payload_values', 'invalid'] as const;

function insertStageSql(stage: string, rows: number): string {
  return `INSERT INTO ${stage} (${STAGE_COLUMNS.join(', ')}) VALUES ${Array(rows).fill('(?, ?, ?, ?, ?)').join(', ')}`;
}

class SqliteStage implements Stage {
  private readonly stage: string;
  private readonly plan: string;
  private readonly directory: string;
  /** The stage tables' names without their schema (as an `UPDATE ... FROM` names its target). */
  private readonly stageName: string;
  /** The schema the stage's tables live in: the stage file's, or `temp`. */
  private readonly schema: string;
  private hasDirectory = false;
  /** Inserts {@link STAGE_INSERT_ROWS} rows: one statement per many rows costs far less than one per row. */
  private readonly insertRows: Database.Statement;
  /** The {@link repeatedKeysStatement}, prepared for the slices this thread writes. */
  private readonly repeatedKeys: Database.Statement;
  private readonly holderStatements = new Map<string, Database.Statement>();
  private directoryIdStatement: Database.Statement | undefined;
  /** When the loaded directory's read started (see {@link directoryReadAt}). */
  private directoryStartedAt: string | null = null;
  private staged = 0;
  /** Rows staged invalid by the mapper (the diff adds repeated keys and shared emails). */
  private stagedInvalid = 0;
  /** The layout of every staged row's payload (one mapper's), once a row was inserted. */
  private layout: PayloadLayout | null = null;
  /** Writes and diffs the stage file once the stage is large (see ./stage-file.ts); the file is detached here meanwhile. */
  private worker: StageWorker | null = null;
  /** The worker that will take the stage over, getting ready meanwhile (see {@link STAGE_WORKER_WARM_AHEAD_ROWS}). */
  private warming: StageWorker | null = null;
  /** Why that worker could not be started: thrown when the stage grows large enough for it. */
  private warmFailure: unknown = null;
  /** How the worker stages model rows, once the plan handed the stage some (see {@link insertModelRows}). */
  private workerMapping: WorkerMapping | undefined;
  /** The worker joins each slice with the snapshot as it is written: its diff only completes the plan. */
  private eager = false;
  /** The stage file is attached to {@link db} (not while a worker owns it, nor after attaching it again failed). */
  private attached: boolean;

  /**
   * @param file the stage's own database file, attached to `db` as `schema` (the diff of a large
   *   model then runs in a worker thread: see {@link diff}); `null`: the stage lives in `db`'s temp
   *   schema (an in-memory state database, or every attachment slot in use)
   * @param fullResync the plan of a full resync (see {@link Stage.diff})
   * @param onDrop called once the stage is dropped
   */
  constructor(
    private readonly db: Database.Database,
    private readonly sync: string,
    suffix: string,
    private readonly file: { path: string; schema: string; statePath: string; workerFromRows: number; workerMapsBelowBacklog: number } | null,
    private readonly layouts: PayloadLayouts,
    private readonly fullResync: boolean,
    private readonly onDrop: () => void,
  ) {
    const schema = file?.schema ?? 'temp';
    if (file) attachStageFile(db, file.path, file.schema);
    this.attached = file !== null;
    this.schema = schema;
    this.stageName = `stage_${suffix}`;
    this.stage = `${schema}.stage_${suffix}`;
    this.plan = `${schema}.plan_${suffix}`;
    this.directory = `${schema}.directory_${suffix}`;
    // The key index is kept up as rows are written: repeated keys are found slice by slice.
    // moves_email: the row takes its stored participant to a new email (see PageFilter).
    // resend: the snapshot marks the row to be sent again whatever its values (see migration 9).
    // Payloads as stored (see ./payload-codec.ts): payload_layout NULL is the stage's layout.
    // The email is NULL when it is email_key itself.
    db.exec(`
      CREATE TABLE ${this.stage} (seq INTEGER PRIMARY KEY, pk TEXT, email TEXT, email_key TEXT, payload_values TEXT, invalid TEXT);
      CREATE INDEX ${schema}.${this.stageName}_pk ON ${this.stageName} (pk);
      CREATE TABLE ${this.helper('repeated')} (pk TEXT PRIMARY KEY);
      CREATE TABLE ${this.plan} (
        seq INTEGER PRIMARY KEY, pk TEXT NOT NULL, class TEXT NOT NULL, email TEXT, email_key TEXT NOT NULL,
        payload_layout INTEGER, payload_values TEXT NOT NULL, participant_id TEXT,
        previous_layout INTEGER, previous_values TEXT, previous_email TEXT,
        moves_email INTEGER NOT NULL DEFAULT 0, resend INTEGER NOT NULL DEFAULT 0)`);
    this.insertRows = db.prepare(insertStageSql(this.stage, STAGE_INSERT_ROWS));
    this.repeatedKeys = db.prepare(this.repeatedKeysStatement().sql);
  }

  /** The name of one of the diff's own tables, in the stage's schema. */
  private helper(name: (typeof DIFF_TABLES)[number]): string {
    return `${this.schema}.${this.stageName}_${name}`;
  }

  /** The name of a table of {@link snapshotFactStatements}: in the worker's `temp` schema for an eager diff. */
  private snapshotFacts(name: 'snapshot_facts' | 'snapshot_shared', eager = this.eager): string {
    return eager ? `temp.${this.stageName}_${name}` : this.helper(name);
  }

  async insert(rows: readonly StagedRow[], layout: PayloadLayout): Promise<void> {
    this.useLayout(layout);
    // Each row's values in STAGE_COLUMNS order.
    const values: Array<string | null> = [];
    for (const row of rows) {
      if (row.ok) values.push(row.pk, storedEmail(row.email, row.emailKey), row.emailKey, row.values, null);
      else {
        values.push(row.pk, null, null, null, row.reason);
        this.stagedInvalid++;
      }
    }
    if (this.worker !== null) await this.worker.insert(values);
    else this.writeHere(values);
    this.staged += rows.length;
    await this.startWorkerWhenLarge();
  }

  async insertModelRows(rows: readonly Row[], mapping: StageMapping): Promise<void> {
    this.workerMapping ??= mapping.worker;
    // Mapped here unless a worker writes the stage and keeps up (it maps then: see WORKER_MAPS_BELOW_BACKLOG).
    if (this.worker !== null && this.worker.backlog() < this.file!.workerMapsBelowBacklog) {
      this.useLayout(mapping.layout);
      if (await this.worker.insertModelRows(rows, mapping.worker)) {
        this.staged += rows.length;
        return;
      }
    }
    await this.insert(mapping.map(rows), mapping.layout);
  }

  /** @throws Error when `layout` is not the layout of the rows staged before */
  private useLayout(layout: PayloadLayout): void {
    if (this.layout === null) this.layout = layout;
    else if (layout !== this.layout && layoutKey(layout) !== layoutKey(this.layout)) {
      throw new Error('a stage holds payloads of one layout: rows of another were inserted');
    }
  }

  /**
   * Growing: a worker thread starts getting ready ({@link STAGE_WORKER_WARM_AHEAD_ROWS}) while this
   * thread stages on. Large: the worker writes (and maps) the rest and diffs, while this thread
   * reads the next rows.
   * @throws the error that kept the worker from starting or getting ready, once the stage is large
   */
  private async startWorkerWhenLarge(): Promise<void> {
    const { file } = this;
    if (this.worker !== null || file === null) return;
    const warmFrom = file.workerFromRows - STAGE_WORKER_WARM_AHEAD_ROWS;
    if (this.warming === null && this.warmFailure === null && this.staged >= warmFrom) this.warmWorker(file);
    if (this.staged < file.workerFromRows) return;
    if (this.warmFailure !== null) throw this.warmFailure;
    // A worker started ahead is handed the stage once ready (this thread stages on meanwhile); one
    // that could not be started ahead (the take-over set too low for it) is waited for.
    if (warmFrom >= 0 && !this.warming!.settled()) return;
    await this.startWorker(file);
  }

  /**
   * Starts the {@link StageWorker} that will take the stage over. It joins each slice with the
   * snapshot as it writes it (eager) unless the plan is a full resync (the run marks every
   * snapshot row before its diff) or writes of an earlier run are in doubt (the run settles them
   * before its diff, changing the snapshot): then the whole diff waits for the last row. Eager, it
   * reads the snapshot's facts while it gets ready (the sync's lock keeps the snapshot as it is
   * until the diff).
   */
  private warmWorker(file: NonNullable<SqliteStage['file']>): void {
    const eager = !this.fullResync && this.db.prepare('SELECT 1 FROM write_intents WHERE sync = ? LIMIT 1').get(this.sync) === undefined;
    const warmUp = eager ? this.snapshotFactStatements(true) : [];
    // The mapper is loaded only for a worker that may map.
    const mapping = file.workerMapsBelowBacklog > 0 ? this.workerMapping : undefined;
    try {
      this.warming = new StageWorker({ statePath: file.statePath, warmUp, ...(mapping === undefined ? {} : { mapping }) });
    } catch (error) {
      // Fails the plan only if the stage grows large enough to need the worker.
      this.warmFailure = error;
      return;
    }
    this.eager = eager;
  }

  /**
   * Hands the stage file to the worker once it is ready.
   * @throws the error that stopped the worker getting ready
   */
  private async startWorker(file: NonNullable<SqliteStage['file']>): Promise<void> {
    const worker = this.warming!;
    await worker.ready();
    // Held as the stage's worker before anything else can fail: drop() stops it.
    this.worker = worker;
    this.warming = null;
    this.db.exec(`DETACH DATABASE ${file.schema}`);
    this.attached = false;
    worker.takeOver({
      stagePath: file.path,
      schema: file.schema,
      table: this.stage,
      columns: STAGE_COLUMNS,
      written: this.staged,
      plan: this.eager
        ? { start: [this.joinedUpTo(this.staged)], eachSlice: [this.repeatedKeysStatement(), this.joinStatement(false)] }
        : { start: [], eachSlice: [this.repeatedKeysStatement()] },
    });
  }

  /** Writes rows' values (STAGE_COLUMNS order) in this thread, {@link STAGE_INSERT_ROWS} rows per statement. */
  private writeHere(values: ReadonlyArray<string | null>): void {
    const width = STAGE_COLUMNS.length;
    const step = STAGE_INSERT_ROWS * width;
    this.db.transaction(() => {
      let at = 0;
      for (; at + step <= values.length; at += step) this.insertRows.run(values.slice(at, at + step));
      if (at < values.length) this.db.prepare(insertStageSql(this.stage, (values.length - at) / width)).run(values.slice(at));
      this.repeatedKeys.run({ from: this.staged, to: this.staged + values.length / width });
    })();
  }

  /**
   * Run for each slice written (rows `@from` < seq <= `@to`): the slice's primary keys already
   * staged by an earlier row are noted (each key once), so that the diff marks repeated keys
   * without grouping the whole stage.
   */
  private repeatedKeysStatement(): SliceStatement {
    const { stage } = this;
    return {
      sql: `
        INSERT OR IGNORE INTO ${this.helper('repeated')} (pk)
        SELECT s.pk FROM ${stage} AS s
        WHERE s.seq > @from AND s.seq <= @to AND s.pk IS NOT NULL
          AND EXISTS (SELECT 1 FROM ${stage} AS o WHERE o.pk = s.pk AND o.seq < s.seq)`,
      params: {},
    };
  }

  /**
   * What the diff needs to know of the snapshot beyond the join: its number of rows and the emails
   * two of its rows hold (see {@link diffStatements}). Eager, read by the worker while it gets
   * ready, into its connection's `temp` schema (the sync's lock keeps the snapshot as it is until
   * the diff); else by the diff, into the stage's schema.
   */
  private snapshotFactStatements(eager = this.eager): SqlStatement[] {
    return [
      {
        sql: `CREATE TABLE ${this.snapshotFacts('snapshot_facts', eager)} AS SELECT count(*) AS rows FROM main.snapshot WHERE sync = ?`,
        params: [this.sync],
      },
      {
        sql: `CREATE TABLE ${this.snapshotFacts('snapshot_shared', eager)} AS
                SELECT email_key FROM main.snapshot WHERE sync = ? GROUP BY email_key HAVING count(*) > 1`,
        params: [this.sync],
      },
    ];
  }

  /**
   * The join of the stage's rows `@from` < seq <= `@to` with the snapshot: the rows of the model
   * valid so far (repeated keys and shared emails are found after the last row) that are added or
   * changed, into the plan. A row with a write still in doubt (not settled yet: it may still land)
   * is never unchanged, nor one the snapshot marks to be sent again (`resend`).
   * @param inKeyOrder look the rows up in key order (the whole stage at once: the snapshot's pages
   *   are then read in order); a slice is looked up as written
   */
  private joinStatement(inKeyOrder: boolean): SliceStatement {
    const { stage, plan } = this;
    return {
      sql: `
        INSERT INTO ${plan} (seq, pk, class, email, email_key, payload_values, participant_id, previous_layout, previous_values, previous_email, moves_email, resend)
        SELECT s.seq, s.pk, CASE WHEN n.pk IS NULL OR @full THEN 'added' ELSE 'changed' END, s.email, s.email_key, s.payload_values,
               n.participant_id, n.payload_layout, n.payload_values, coalesce(n.email, n.email_key),
               n.participant_id IS NOT NULL AND n.email_key <> s.email_key, coalesce(n.resend, 0)
        FROM ${stage} AS s LEFT JOIN main.snapshot AS n ON n.sync = @sync AND n.pk = s.pk
        WHERE s.seq > @from AND s.seq <= @to AND s.invalid IS NULL
          AND (@full OR n.pk IS NULL OR n.resend = 1 OR n.payload_layout IS NOT @layout OR n.payload_values <> s.payload_values
            OR n.email_key <> s.email_key OR s.pk IN (SELECT i.pk FROM main.write_intents AS i WHERE i.sync = @sync))
        ${inKeyOrder ? 'ORDER BY s.pk' : ''}`,
      params: {
        full: this.fullResync ? 1 : 0,
        sync: this.sync,
        // The stage's layout as stored; none (no snapshot row has it): every synced row changed.
        layout: this.layout === null ? -1 : (this.layouts.find(this.layout) ?? -1),
      },
    };
  }

  /** The join of the stage's first `rows` rows with the snapshot (see {@link joinStatement}). */
  private joinedUpTo(rows: number, inKeyOrder = false): SqlStatement {
    const join = this.joinStatement(inKeyOrder);
    return { sql: join.sql, params: [{ ...join.params, from: 0, to: rows }] };
  }

  /**
   * The diff's statements (see {@link Stage.diff}) and the query of its counts. A large stage
   * with a file of its own is diffed by its worker thread on its own connection (the stage file is
   * detached from this connection meanwhile, so that no transaction here waits for it); any
   * other is diffed here, in one transaction.
   */
  async diff(): Promise<PlanCounts> {
    // A large stage is diffed by its worker (waited for if not ready yet); a stage that stayed
    // smaller than the take-over, here.
    if (this.warming !== null && this.staged >= this.file!.workerFromRows) await this.startWorker(this.file!);
    this.stopWarming();
    // The invalid rows a worker staged are counted once it has written every slice.
    if (this.worker !== null) this.stagedInvalid += await this.worker.drain();
    const { statements, counts } = this.diffStatements();
    let rows: { queried: number; invalid: number; added: number; changed: number; removed: number };
    if (this.worker !== null) {
      const worker = this.worker;
      try {
        rows = await worker.diff(statements, counts);
      } finally {
        // The worker has closed its connection (or is stopped): the file is this thread's again.
        worker.stop();
        this.worker = null;
        if (this.db.open) {
          attachStageFile(this.db, this.file!.path, this.file!.schema);
          this.attached = true;
        }
      }
    } else {
      rows = this.db.transaction(() => {
        for (const { sql, params } of statements) this.db.prepare(sql).run(...params);
        return this.db.prepare(counts.sql).get(...counts.params) as typeof rows;
      })();
    }
    return {
      queried: rows.queried,
      added: rows.added,
      changed: rows.changed,
      removed: rows.removed,
      unchanged: rows.queried - rows.invalid - rows.added - rows.changed,
      invalid: rows.invalid,
    };
  }

  /**
   * The diff after the last row is written. Unless the worker joined every slice as it came
   * (eager), the snapshot's facts are read and every row is joined now. Then:
   * - every copy of a repeated primary key is invalid, and leaves the plan;
   * - every row sharing an email with another valid row is invalid, and leaves the plan. Such a
   *   group holds a planned row (a row not planned has its snapshot row's email) or only rows
   *   whose snapshot rows share that email: both are found from the plan and the snapshot's email
   *   index, not by grouping the whole stage;
   * - removed rows (snapshot rows the model no longer has) follow every current row in plan order;
   *   none when each valid row not added matched a snapshot row of its own and they are as many
   *   as the snapshot's rows. A full resync applies no delete behaviour.
   */
  private diffStatements(): { statements: SqlStatement[]; counts: SqlStatement } {
    const { stage, plan, stageName } = this;
    const repeated = this.helper('repeated');
    const duplicates = this.helper('duplicates');
    const shared = this.helper('shared');
    const facts = this.snapshotFacts('snapshot_facts');
    const sharedInSnapshot = this.snapshotFacts('snapshot_shared');
    const sql = (text: string, ...params: Array<string | number>): SqlStatement => ({ sql: text, params });
    const statements: SqlStatement[] = [];
    if (!this.eager) {
      statements.push(...this.snapshotFactStatements(), this.joinedUpTo(this.staged, true));
    }
    statements.push(
      sql(`
        CREATE TABLE ${duplicates} AS
          SELECT s.seq, s.pk, s.invalid IS NULL AS was_valid, count(*) OVER (PARTITION BY s.pk) AS copies
          FROM ${repeated} AS r CROSS JOIN ${stage} AS s ON s.pk = r.pk`),
      sql(`
        UPDATE ${stage} SET invalid = 'primary key ' || quote(d.pk) || ' appears ' || d.copies || ' times in the model'
        FROM ${duplicates} AS d WHERE ${stageName}.seq = d.seq`),
      sql(`DELETE FROM ${plan} WHERE seq IN (SELECT seq FROM ${duplicates})`),
      // The rows of every email a planned row or two snapshot rows have, each once: a group of
      // more than one valid row shares its email.
      sql(
        `
        CREATE TABLE ${shared} AS
          WITH candidates (seq, pk, email_key) AS (
            SELECT s.seq, s.pk, s.email_key FROM ${plan} AS p CROSS JOIN ${stage} AS s ON s.seq = p.seq
            UNION
            SELECT s.seq, s.pk, s.email_key
            FROM (SELECT email_key FROM ${plan} UNION SELECT email_key FROM ${sharedInSnapshot}) AS k
            CROSS JOIN main.snapshot AS n ON n.sync = ? AND n.email_key = k.email_key
            CROSS JOIN ${stage} AS s ON s.pk = n.pk
            WHERE s.email_key = k.email_key AND s.invalid IS NULL)
          SELECT c.seq, c.pk, c.email_key, g.copies
          FROM (SELECT email_key, count(*) AS copies FROM candidates GROUP BY email_key HAVING count(*) > 1) AS g
          CROSS JOIN candidates AS c ON c.email_key = g.email_key`,
        this.sync,
      ),
      sql(`CREATE INDEX ${shared}_email ON ${stageName}_shared (email_key, seq)`),
      // Every row sharing an email is invalid, and its reason names the other primary keys (up to
      // SHARED_EMAIL_KEYS_SHOWN).
      sql(`
        UPDATE ${stage} SET invalid = 'email ' || quote(coalesce(${stageName}.email, ${stageName}.email_key)) || ' is shared by ' || d.copies || ' rows of the model: it is also the email of primary key'
          || CASE WHEN d.copies > 2 THEN 's ' ELSE ' ' END
          || (SELECT group_concat(o.pk, ', ') FROM (SELECT pk FROM ${shared} AS o
                WHERE o.email_key = d.email_key AND o.seq <> d.seq ORDER BY o.seq LIMIT ${SHARED_EMAIL_KEYS_SHOWN}) AS o)
          || CASE WHEN d.copies - 1 > ${SHARED_EMAIL_KEYS_SHOWN} THEN ' and ' || (d.copies - 1 - ${SHARED_EMAIL_KEYS_SHOWN}) || ' more' ELSE '' END
          || '; every row sharing an email is invalid: give each its own email'
        FROM ${shared} AS d
        WHERE ${stageName}.seq = d.seq`),
      sql(`DELETE FROM ${plan} WHERE seq IN (SELECT seq FROM ${shared})`),
    );
    // Rows the mapper refused, copies of repeated keys that were valid, rows sharing an email.
    const invalid = `(${this.stagedInvalid} + (SELECT count(*) FROM ${duplicates} WHERE was_valid) + (SELECT count(*) FROM ${shared}))`;
    if (!this.fullResync) {
      statements.push(
        sql(
          `
        INSERT INTO ${plan} (seq, pk, class, email, email_key, payload_layout, payload_values, participant_id,
                             previous_layout, previous_values, previous_email, resend)
        SELECT ${this.staged} + row_number() OVER (ORDER BY n.pk), n.pk, 'removed',
               n.email, n.email_key, n.payload_layout, n.payload_values, n.participant_id,
               n.payload_layout, n.payload_values, coalesce(n.email, n.email_key), n.resend
        -- Each valid row not added matched its own snapshot row (valid rows have distinct keys):
        -- when they are as many as the snapshot's rows, none is removed and the snapshot is not read.
        FROM (SELECT 1 WHERE (SELECT rows FROM ${facts}) > ${this.staged} - ${invalid} - (SELECT count(*) FROM ${plan} WHERE class = 'added')) AS some
        CROSS JOIN main.snapshot AS n
        WHERE n.sync = ? AND NOT EXISTS (SELECT 1 FROM ${stage} AS s WHERE s.pk = n.pk)`,
          this.sync,
        ),
      );
    }
    // For the mass-delete guard's questions by email (see heldBySql).
    statements.push(sql(`CREATE INDEX ${plan}_email ON ${plan.slice(plan.indexOf('.') + 1)} (email_key)`));
    const counts = sql(`
      SELECT ${this.staged} AS queried, ${invalid} AS invalid,
             (SELECT count(*) FROM ${plan} WHERE class = 'added') AS added,
             (SELECT count(*) FROM ${plan} WHERE class = 'changed') AS changed,
             (SELECT count(*) FROM ${plan} WHERE class = 'removed') AS removed`);
    return { statements, counts };
  }

  async loadDirectory(entries: AsyncIterable<DirectoryEntry>): Promise<number> {
    const name = this.directory;
    const startedAt = new Date().toISOString();
    this.directoryIdStatement = undefined;
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
    this.db.exec(`CREATE INDEX ${name}_email ON ${name.slice(name.indexOf('.') + 1)} (email_key)`);
    this.hasDirectory = true;
    this.directoryStartedAt = startedAt;
    return loaded;
  }

  directoryReadAt(): string | null {
    return this.directoryStartedAt;
  }

  directoryId(emailKey: string): string | null {
    if (!this.hasDirectory) return null;
    // Asked for every row in update mode: prepared once per directory load.
    this.directoryIdStatement ??= this.db.prepare(`SELECT id FROM ${this.directory} WHERE email_key = ? LIMIT 1`).pluck();
    return (this.directoryIdStatement.get(emailKey) as string | undefined) ?? null;
  }

  page(classes: readonly ChangeClass[], afterSeq: number, limit: number, filter: PageFilter = {}): PlannedRow[] {
    const placeholders = classes.map(() => '?').join(', ');
    const moves = filter.movesEmail === undefined ? '' : `AND moves_email = ${filter.movesEmail ? 1 : 0}`;
    // A row's participant exists when its stored id is still there, or (no stored id) its email is.
    const existing = this.hasDirectory
      ? `coalesce((SELECT d.id FROM ${this.directory} AS d WHERE d.id = p.participant_id),
                  CASE WHEN p.participant_id IS NULL THEN (SELECT d.id FROM ${this.directory} AS d WHERE d.email_key = p.email_key LIMIT 1) END)`
      : 'NULL';
    // A removed row's participant is held by a key still in the model whose snapshot row (what
    // the destination acknowledged, committed earlier in this run included) names it.
    const heldBy = `CASE WHEN p.class = 'removed' THEN (
        SELECT n.pk FROM snapshot AS n WHERE n.sync = ? AND n.pk <> p.pk
          AND (n.participant_id = p.participant_id OR (p.participant_id IS NULL AND n.email_key = p.email_key))
          AND EXISTS (SELECT 1 FROM ${this.stage} AS s WHERE s.pk = n.pk) LIMIT 1) END`;
    const rows = this.db
      .prepare(
        `SELECT seq, pk, class, coalesce(email, email_key) AS email, email_key, payload_layout, payload_values, participant_id,
                previous_layout, previous_values, previous_email, resend, ${existing} AS existing_id, ${heldBy} AS held_by,
                (SELECT u.looked_up_at FROM main.unmatched_rows AS u WHERE u.sync = ? AND u.pk = p.pk AND u.email_key = p.email_key) AS unmatched_at
         FROM ${this.plan} AS p
         WHERE seq > ? AND class IN (${placeholders}) ${moves} ORDER BY seq LIMIT ?`,
      )
      .all(this.sync, this.sync, afterSeq, ...classes, limit) as Array<{
      seq: number; pk: string; class: ChangeClass; email: string; email_key: string; payload_layout: number | null; payload_values: string;
      participant_id: string | null; previous_layout: number | null; previous_values: string | null; previous_email: string | null;
      resend: number; existing_id: string | null; held_by: string | null; unmatched_at: string | null;
    }>;
    const payload = (layout: number | null, values: string) => decodePayload(layout === null ? this.layout! : this.layouts.layoutOf(layout), values);
    return rows.map((r) => ({
      seq: r.seq,
      pk: r.pk,
      class: r.class,
      email: r.email,
      emailKey: r.email_key,
      payload: payload(r.payload_layout, r.payload_values),
      participantId: r.participant_id,
      previousPayload: r.previous_values === null ? null : payload(r.previous_layout, r.previous_values),
      previousEmail: r.previous_email,
      existingId: r.existing_id,
      heldBy: r.held_by,
      resend: r.resend === 1,
      unmatchedAt: r.unmatched_at,
    }));
  }

  heldRemovedCount(): number {
    return this.db
      .prepare(`SELECT count(*) FROM ${this.plan} AS p WHERE p.class = 'removed' AND (${this.heldBySql()}) IS NOT NULL`)
      .pluck()
      .get(this.sync, this.sync) as number;
  }

  emailMoveCount(): number {
    return this.db.prepare(`SELECT count(*) FROM ${this.plan} WHERE moves_email = 1`).pluck().get() as number;
  }

  readAtOnce<T>(read: () => T): T {
    return this.db.transaction(read)();
  }

  participantHolder(participantId: string, pk: string): string | null {
    return this.holder('participant_id', participantId, pk);
  }

  emailHolder(emailKey: string, pk: string): string | null {
    return this.holder('email_key', emailKey, pk);
  }

  /**
   * Another key that holds `value` in `column`: a key still in the model (in the stage) whose
   * snapshot row has it, or any other key whose write naming it is still in doubt (not settled:
   * it may still land, e.g. a move or a delete of an earlier run, or one of this run in flight).
   */
  private holder(column: 'participant_id' | 'email_key', value: string, pk: string): string | null {
    // Asked for every row written: prepared once per stage and column.
    let statement = this.holderStatements.get(column);
    if (statement === undefined) {
      statement = this.db
        .prepare(
          `SELECT coalesce(
             (SELECT n.pk FROM snapshot AS n WHERE n.sync = ? AND n.${column} = ? AND n.pk <> ?
                AND EXISTS (SELECT 1 FROM ${this.stage} AS s WHERE s.pk = n.pk) LIMIT 1),
             (SELECT i.pk FROM write_intents AS i WHERE i.sync = ? AND i.${column} = ? AND i.pk <> ? LIMIT 1))`,
        )
        .pluck();
      this.holderStatements.set(column, statement);
    }
    return (statement.get(this.sync, value, pk, this.sync, value, pk) as string | null | undefined) ?? null;
  }

  /**
   * SQL of a removed plan row `p`'s future holder, for the mass-delete guard (two `?` parameters,
   * both the sync's name): a valid row of the model that is to write to its
   * participant (the primary key changes hands): a row with its email written by email (a key new
   * to the snapshot, or synced without an id), or a synced key still in the model with its
   * participant id. The first is a planned row (through the plan's email index) or an unchanged
   * one, whose email is its snapshot row's (through the snapshot's email index): the stage has no
   * index on emails.
   */
  private heldBySql(): string {
    return `CASE WHEN p.class = 'removed' THEN coalesce(
        (SELECT q.pk FROM ${this.plan} AS q
           WHERE q.email_key = p.email_key AND q.class IN ('added', 'changed') AND q.participant_id IS NULL LIMIT 1),
        (SELECT n.pk FROM snapshot AS n WHERE n.sync = ? AND n.email_key = p.email_key AND n.participant_id IS NULL
           AND EXISTS (SELECT 1 FROM ${this.stage} AS s WHERE s.pk = n.pk AND s.email_key = n.email_key AND s.invalid IS NULL) LIMIT 1),
        (SELECT n.pk FROM snapshot AS n WHERE n.sync = ? AND n.participant_id = p.participant_id AND n.pk <> p.pk
           AND EXISTS (SELECT 1 FROM ${this.stage} AS s WHERE s.pk = n.pk) LIMIT 1)) END`;
  }

  invalidRows(afterSeq: number, limit: number): Array<{ seq: number; pk: string | null; reason: string }> {
    return this.db
      .prepare(`SELECT seq, pk, invalid AS reason FROM ${this.stage} WHERE invalid IS NOT NULL AND seq > ? ORDER BY seq LIMIT ?`)
      .all(afterSeq, limit) as Array<{ seq: number; pk: string | null; reason: string }>;
  }

  knownInvalidCount(): number {
    const previous = this.db
      .prepare(`SELECT id, started_at FROM runs WHERE sync = ? AND status IN ('success', 'warning') ORDER BY started_at DESC LIMIT 1`)
      .get(this.sync) as { id: string; started_at: string } | undefined;
    if (previous === undefined) return 0;
    return this.db
      .prepare(knownInvalidSql(this.stage))
      .pluck()
      .get({ sync: this.sync, previous: previous.id, previousStarted: previous.started_at }) as number;
  }

  /** True when the model has a row (valid or not) with primary key `pk`. Call after {@link diff}. */
  inModel(pk: string): boolean {
    return this.db.prepare(`SELECT 1 FROM ${this.stage} WHERE pk = ? LIMIT 1`).get(pk) !== undefined;
  }

  /** The stage has a file of its own (attached here or owned by its worker) until dropped. */
  get hasFile(): boolean {
    return this.file !== null;
  }

  /** Stops a worker that did not take the stage over (and will not). */
  private stopWarming(): void {
    if (this.warming === null) return;
    this.warming.stop();
    this.warming = null;
    this.eager = false;
  }

  drop(): void {
    this.onDrop();
    this.stopWarming();
    this.worker?.stop();
    this.worker = null;
    try {
      if (this.db.open && this.file === null) {
        const helpers = DIFF_TABLES.map((name) => this.helper(name));
        this.db.exec([this.plan, this.stage, this.directory, ...helpers].map((table) => `DROP TABLE IF EXISTS ${table};`).join(' '));
      } else if (this.db.open && this.attached) {
        this.attached = false;
        this.db.exec(`DETACH DATABASE ${this.file!.schema}`);
      }
    } finally {
      if (this.file) removeStageFile(this.file.path);
    }
  }
}
