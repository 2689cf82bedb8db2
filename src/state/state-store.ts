/**
 * What a run keeps between runs and for the live debugger: the snapshot (per sync, what the
 * destination last acknowledged for each primary key), run records, row outcomes and API calls.
 * The diff itself runs as SQL inside the state database, on a staged copy of the model result.
 */
import type { RateSlotLedger } from '../http/rate-limit-gate.ts';
import type { ApiCall } from '../http/http-client.ts';
import type { Row } from '../sources/source.ts';
import type { PruneCounts } from './prune-history.ts';
import type { PayloadLayout } from './payload-codec.ts';

export const RUN_STATUSES = ['running', 'success', 'warning', 'failed', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * What started a run: `manual` (`panelsync run`), `schedule` (interval or cron), `api` (`POST
 * .../trigger`), `after` (a run-after chain: the syncs it follows ended) or `hook` (an inbound
 * webhook, `POST /api/v1/hooks/{name}`). `after` and `hook` runs say more in {@link TriggeredBy}.
 */
export const RUN_TRIGGERS = ['manual', 'schedule', 'api', 'after', 'hook'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

/** One run a run-after chain followed: the sync, its run and how that run ended. */
export interface FollowedRun {
  sync: string;
  run_id: string;
  status: RunStatus;
}

/**
 * What started a run of trigger `after` or `hook`, as stored on the run record (JSON, snake_case)
 * and shown by the API, `panelsync runs` and the UI:
 * - `{ after: FollowedRun[] }`: the runs, one per followed sync, whose end fired the chain;
 * - `{ hook, dbt_job_id?, dbt_run_id? }`: the hook's name under `hooks`, and for a dbt Cloud hook
 *   the job and run ids of the dbt Cloud run that completed.
 */
export type TriggeredBy = { after: FollowedRun[] } | { hook: string; dbt_job_id?: string; dbt_run_id?: string };

/**
 * What a run was asked to do besides sending what changed (`panelsync run --full-resync` /
 * `--reset-cdc`, or the API trigger's body), as stored on the run record (JSON, snake_case).
 */
export interface RunOptions {
  /** Every current row was sent as added, with no delete behaviour. */
  full_resync: boolean;
  /** Every current row was recorded as synced, nothing sent. */
  reset_cdc: boolean;
}

/** Classes of a planned row that is sent (or, for `removed`, acted on by the delete behaviour). */
export const CHANGE_CLASSES = ['added', 'changed', 'removed'] as const;
export type ChangeClass = (typeof CHANGE_CLASSES)[number];

/**
 * What happened to a row: `unsent` is a row the run did not write and that waits for a later run,
 * with the reason (its email is still held by another primary key); rows a failed or stopped run
 * never sent or never got an answer for are counted `unsent` in the summary without an outcome.
 */
export const ROW_RESULTS = ['succeeded', 'rejected', 'invalid', 'skipped', 'unsent'] as const;
export type RowResultKind = (typeof ROW_RESULTS)[number];

/**
 * A row of the model after mapping, as staged for the diff: `values` are its mapped fields
 * encoded for the layout given with them to {@link Stage.insert} (see ./payload-codec.ts).
 */
export type StagedRow =
  | { ok: true; pk: string; email: string; emailKey: string; values: string }
  | { ok: false; pk: string | null; reason: string };

/**
 * How model rows become {@link StagedRow}s: `map` in the calling thread, or in a stage worker
 * thread the function `createRowMap(options)` of the ES module `worker.module` (a file URL;
 * TypeScript is loaded with tsx) returns. That function gets the rows rebuilt from their values
 * (packed: see packValues in ./stage-file.ts), holding only `worker.columns`, and must stage each as `map` stages the whole row (see
 * test/engine/stage-rows.test.ts). `options` must be structured-cloneable.
 */
export interface StageMapping {
  /** The layout the staged rows' values are encoded for. */
  layout: PayloadLayout;
  map(rows: readonly Row[]): StagedRow[];
  worker: { module: string; options: unknown; columns: readonly string[] };
}

/** Row counts of a plan. `queried = added + changed + unchanged + invalid`; `removed` is apart. */
export interface PlanCounts {
  queried: number;
  added: number;
  changed: number;
  removed: number;
  unchanged: number;
  invalid: number;
}

/** One row a run must act on, in plan order (`seq`). */
export interface PlannedRow {
  seq: number;
  pk: string;
  class: ChangeClass;
  /** Current email (for `removed`: the last synced one). */
  email: string;
  emailKey: string;
  /** Current mapped fields (for `removed`: the last synced ones), canonical JSON. */
  payload: string;
  /** The participant id we last got for this primary key, if any. */
  participantId: string | null;
  /** What the snapshot holds (for `changed`), to show field-level changes. */
  previousPayload: string | null;
  previousEmail: string | null;
  /**
   * The id of the participant that exists in User Interviews for this row (by its stored id, else
   * by email), once a directory was loaded ({@link Stage.loadDirectory}); `null` when none exists
   * or no directory was loaded.
   */
  existingId: string | null;
  /**
   * For a `removed` row: the primary key of another row of the model whose acknowledged snapshot
   * row holds this row's participant now (the primary key changed hands: same participant id, or
   * no id and the same normalized email), so that the delete behaviour leaves that participant
   * alone and the row is only forgotten. `null` when none does (a key that was to take it over
   * but whose write was rejected or not sent is no holder), and for the other classes. Read at
   * {@link Stage.page} time, so it sees rows committed earlier in the run.
   */
  heldBy: string | null;
  /** The snapshot marks the row to be sent again (a write settled in doubt, an unfinished full resync). */
  resend: boolean;
  /**
   * Update mode: when a directory read last found no participant with this row's email (the
   * same normalized email as now), ISO 8601; `null` when none did or the email changed since.
   * See {@link StateStore.recordUnmatched}.
   */
  unmatchedAt: string | null;
}

/** One participant of the destination's directory: `emailKey` is the normalized email. */
export interface DirectoryEntry {
  id: string;
  emailKey: string;
}

/** What happened to one row in a run. */
export interface RowOutcome {
  pk: string | null;
  class: ChangeClass | 'invalid' | 'skipped';
  result: RowResultKind;
  error: string | null;
  participantId: string | null;
  /** The batch the row was sent in (see ./batch-call-tag.ts) and its 0-based position there; absent when not sent. */
  batch?: { id: string; index: number } | null;
}

/** Narrows the planned rows {@link Stage.page} returns; every row when a key is left out. */
export interface PageFilter {
  /**
   * `true`: only rows that take their stored participant to a new email (a synced row with a
   * participant id whose normalized email is not the snapshot's: it is written by that id, and
   * leaves its old email free); `false`: only the other rows.
   */
  movesEmail?: boolean;
}

/** A run's staged model result and its diff against the snapshot. Dropped when the run ends. */
export interface Stage {
  /**
   * Adds mapped rows (call with chunks of a few thousand) whose values are encoded for `layout`;
   * waits while a worker writing a large stage is behind (see ./stage-file.ts).
   * @throws Error when `layout` differs from the layout of rows inserted before (one mapper per
   *   stage); the error that kept the worker from starting or getting ready, once the stage is large
   */
  insert(rows: readonly StagedRow[], layout: PayloadLayout): Promise<void>;
  /**
   * Adds model rows not mapped yet (call with chunks of a few thousand): `mapping.map` stages them
   * in this thread, or, once a worker writes a large stage and keeps up, the worker stages them
   * itself with `mapping.worker` (the calling thread then only reads the model). A slice that
   * cannot be handed over (too long for a string, or nested too deep for JSON) is staged here.
   * @throws Error when `mapping.layout` differs from the layout of rows inserted before; the error
   *   of a worker that could not load `mapping.worker.module`, once the stage is large
   */
  insertModelRows(rows: readonly Row[], mapping: StageMapping): Promise<void>;
  /**
   * Marks duplicates invalid (every copy of a duplicated primary key; every row sharing an email
   * with another valid row) and diffs the stage against the sync's snapshot by primary key, over
   * the mapped values and the normalized email. Call once, after the last insert.
   * A stage opened for a full resync plans every valid row as `added` (keeping its known
   * participant id) and no row as `removed`. A large stage is diffed off the event loop (a worker
   * thread): no other call on the stage may be made until the promise settles.
   */
  diff(): Promise<PlanCounts>;
  /** Planned rows of the given classes after `afterSeq` (and `filter`), in order, at most `limit`. */
  page(classes: readonly ChangeClass[], afterSeq: number, limit: number, filter?: PageFilter): PlannedRow[];
  /**
   * Loads the destination's participants (email -> id directory, from `GET /participants`), so
   * that {@link page} can tell which planned rows exist there. Replaces any earlier directory.
   * @returns participants loaded
   */
  loadDirectory(entries: AsyncIterable<DirectoryEntry>): Promise<number>;
  /** The participant id of a normalized email in the loaded directory, if any. */
  directoryId(emailKey: string): string | null;
  /** When the loaded directory's read started, ISO 8601; `null` while none was loaded. */
  directoryReadAt(): string | null;
  /**
   * Removed rows whose participant another valid row of the model is to take over: a row with the
   * same normalized email written by email (a key new to the snapshot, or synced without an id),
   * or a synced key still in the model with the same participant id. The mass-delete guard does
   * not count them (a mass re-key is no mass delete). Call after {@link diff}.
   */
  heldRemovedCount(): number;
  /** Planned rows that take their participant to a new email (see {@link PageFilter.movesEmail}). Call after {@link diff}. */
  emailMoveCount(): number;
  /**
   * The primary key of another row still in the model (valid or not) whose snapshot row holds
   * the normalized email `emailKey` now, or `null`: a write by that email would land on that
   * key's participant. Reads the snapshot as committed so far in the run.
   */
  emailHolder(emailKey: string, pk: string): string | null;
  /** Likewise, the primary key of another row still in the model whose snapshot row names participant `participantId`, or `null`. */
  participantHolder(participantId: string, pk: string): string | null;
  /**
   * Runs `read` (synchronous, reads only: e.g. the holder questions of a whole batch) in one read
   * transaction of the state database: one snapshot of it, taken once rather than per question.
   * @returns what `read` returns; throws what it throws
   */
  readAtOnce<T>(read: () => T): T;
  /** Invalid rows with their reasons, in model order, after `afterSeq`, at most `limit`. */
  invalidRows(afterSeq: number, limit: number): Array<{ seq: number; pk: string | null; reason: string }>;
  /**
   * How many invalid rows were invalid in the sync's last completed (`success` or `warning`) run
   * too, with the same primary key (a null one matches a null one) and the same reason: no new
   * problem. 0 when there is no such run or its row outcomes were pruned. Call after {@link diff}.
   */
  knownInvalidCount(): number;
  drop(): void;
}

/** Stored request and response bodies are cut past this size, bytes (UTF-8): 64 KiB. */
export const MAX_STORED_BODY_BYTES = 64 * 1024;

/** Default of the project key `retention_days`: calls and row outcomes are kept this many days. */
export const DEFAULT_RETENTION_DAYS = 30;

/**
 * What {@link StateStore.pruneHistory} removed: runs whose details went, calls and row outcomes,
 * the syncs forgotten whole, free pages given back, and the longest write transaction (ms).
 */
export type PruneResult = PruneCounts;

/** The states of an alert trigger: `ok`, or the level it is at. */
export const ALERT_STATES = ['ok', 'warning', 'critical'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/** Per sync and trigger, the state alerts last moved to (see src/alerts/). */
export interface AlertStateRecord {
  sync: string;
  /** `failed_run`, `rejected_rows` or `slow_run`. */
  trigger: string;
  state: AlertState;
  /** Consecutive runs that met the trigger's condition (failed runs in a row); 0 when not met. */
  streak: number;
  /** ISO 8601 time the state began. */
  since: string;
  /** The last run evaluated. */
  runId: string;
  /** ISO 8601 time a notice of this trigger was last handed to a channel; `null` if none was. */
  notifiedAt: string | null;
  /**
   * The channels told of an open alert of this trigger: each accepted an alert at `level` (its
   * delivery succeeded) and no recovery was delivered or given up since. They alone get a
   * recovery when the state clears; a recipient listening to the current state that is not here
   * (never told, or its delivery failed) gets its alert at the next evaluation. Written by the
   * deliveries ({@link StateStore.recordAlertNotified}, {@link StateStore.forgetAlertNotified}),
   * not by {@link StateStore.saveAlertState}. Ordered by channel.
   */
  notifiedChannels: AlertChannelNotified[];
}

/** One channel's open alert of a trigger (see {@link AlertStateRecord.notifiedChannels}). */
export interface AlertChannelNotified {
  channel: string;
  level: Exclude<AlertState, 'ok'>;
  /** ISO 8601 time the channel accepted the alert (its delivery succeeded). */
  at: string;
}

/** Per sync and channel, how the last notification went. Never holds a secret or participant data. */
export interface AlertDeliveryRecord {
  sync: string;
  channel: string;
  /** ISO 8601 time the last notification's delivery ended (delivered or given up). */
  lastAttemptAt: string;
  lastStatus: 'delivered' | 'failed';
  /** Attempts the last notification took. */
  attempts: number;
  /** The last failure's reason, kept after later successes; `null` if none ever failed. */
  lastError: string | null;
  lastErrorAt: string | null;
}

/** A run as it starts (see {@link StateStore.startRun}). `startedAt` is ISO 8601. */
export interface RunStart {
  id: string;
  sync: string;
  trigger: RunTrigger;
  startedAt: string;
  options?: RunOptions;
  /** What started a run of trigger `after` or `hook`; absent for the others. */
  triggeredBy?: TriggeredBy;
  destination?: DestinationFingerprint;
}

/** A stored run. */
export interface RunRecord {
  id: string;
  sync: string;
  trigger: RunTrigger;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  summary: unknown;
  error: string | null;
}

/** The outcome of one acknowledged (or finally rejected) batch, committed atomically. */
export interface BatchCommit {
  runId: string;
  sync: string;
  /** Rows the destination acknowledged: the snapshot takes their current values. */
  synced: Array<{ pk: string; email: string; emailKey: string; payload: string; participantId: string | null }>;
  /** Primary keys to forget (removed rows that were deleted, cleared or left alone). */
  forgotten: string[];
  outcomes: RowOutcome[];
  /** Primary keys whose write intent ({@link StateStore.recordIntents}) is removed: the API answered their write. */
  settledIntents?: string[];
  /** Primary keys no longer marked to be sent again: the mode does not send them (skipped), so resending them means nothing. */
  resendCleared?: string[];
  /**
   * The run lock's owner token ({@link RunLock.owner}) the run holds: the commit checks, in its
   * transaction, that the sync's lock is still this one, and throws {@link LockLostError} (nothing
   * committed) when it is not.
   */
  lockOwner?: string | null;
}

/** The kinds of write a run sends: by email (may create), by id, create only, clear by id, delete by id. */
export const WRITE_KINDS = ['upsert', 'update', 'create', 'clear', 'delete'] as const;
export type WriteKind = (typeof WRITE_KINDS)[number];

/**
 * A write about to be sent for one primary key, recorded before it is sent
 * ({@link StateStore.recordIntents}) and removed once the API answered it. One left behind is in
 * doubt: it may or may not have been applied; the next run settles it (src/engine/identity.ts).
 */
export interface WriteIntent {
  pk: string;
  kind: WriteKind;
  /** The email sent (trimmed); `null` when the write named its participant by id only (a clear, a delete). */
  email: string | null;
  /** The normalized email the write holds against other keys' writes until settled (a clear's or delete's: the participant's as last synced). */
  emailKey: string | null;
  /** The participant written by id; `null` for a write by email (upsert, create). */
  participantId: string | null;
  /** Mapped fields sent, canonical JSON; `null` for a delete. */
  payload: string | null;
  /** ISO 8601 time its last attempt went on the wire, as read back ({@link StateStore.intentsInDoubt}). */
  sentAt?: string;
}

/**
 * What settling one write intent does to the snapshot (see src/engine/identity.ts): `keep` leaves
 * the snapshot row as it is; `forget` removes it; `record` writes it (creating it when missing)
 * with the participant the directory shows, marking it to be sent again when `resend`.
 */
export type IntentSettlement =
  | {
      pk: string;
      snapshot: 'keep' | 'forget';
      /** A participant found gone (a delete in doubt that was applied): any other key tied to it loses the tie and is sent again. */
      gone?: string;
    }
  | {
      pk: string;
      snapshot: 'record';
      participantId: string | null;
      email: string;
      emailKey: string;
      /** The payload to record when the row has none yet; an existing row keeps its own. */
      payload: string;
      resend: boolean;
    };

/** The columns that give a snapshot row its identity: a change makes every stored row meaningless. */
export interface SnapshotIdentity {
  /** The model's primary key column. */
  primaryKey: string;
  /** The column matched to the participant's email (`syncs.NAME.match`). */
  matchColumn: string;
}

export const LOCK_LOST_ERROR_CODES = ['LOCK_LOST'] as const;

/** A commit found that the run no longer holds the sync's lock: nothing was committed. */
export class LockLostError extends Error {
  readonly code = 'LOCK_LOST' as const;
  constructor(message: string) {
    super(message);
    this.name = 'LockLostError';
  }
}

/**
 * A row of {@link BatchCommit.synced} that {@link StateStore.commitBatch} did not store, because
 * its participant belongs to another primary key still in the model. Its outcome was recorded as
 * `unsent` with `error` (the row is planned again next run), and the holder's row took the email
 * written and is marked to be sent again (its participant's email was changed by hand).
 */
export interface CommitRefusal {
  pk: string;
  /** Names the participant and the primary key holding it. */
  error: string;
}

/**
 * How long a run lock holds without a renewal, ms (60 s). A run renews it every
 * {@link LOCK_HEARTBEAT_MS}; a holder that stops renewing (killed, host gone, frozen) loses the
 * lock this long after its last renewal, and the next run takes it over (sooner when the holder
 * was on the same host and its process is gone: see {@link StateStore.acquireLock}). Hosts sharing
 * a state database need clocks in step (NTP) to well within this.
 */
export const LOCK_LEASE_MS = 60_000;

/**
 * How often a running run renews its lock's lease, ms (10 s): a sixth of {@link LOCK_LEASE_MS}, so
 * that several renewals in a row may fail (a busy database) before the lease runs out.
 */
export const LOCK_HEARTBEAT_MS = 10_000;

/** A sync's run lock as stored: which run holds it, where, since when and until when. */
export interface RunLock {
  sync: string;
  runId: string;
  /** Random token (hex) of this holding: only its holder renews it. `null`: written before leases. */
  owner: string | null;
  /** The holder's process id, host name and pid namespace (Linux, else `null`). */
  pid: number;
  host: string;
  pidNamespace: string | null;
  /** ISO 8601 time the run took the lock. */
  acquiredAt: string;
  /** ISO 8601 time the holder last renewed the lease; `null` when it never did (a lock written before leases). */
  renewedAt: string | null;
  /** ISO 8601 time the lease runs out unless renewed (a lock written before leases: one lease after `acquiredAt`). */
  expiresAt: string;
}

/** What {@link StateStore.acquireLock} returns: the lock taken, or the live lock of another run. */
export type LockAttempt = { ok: true; lock: RunLock } | { ok: false; heldBy: string; holder: RunLock };

/** A running heartbeat renewing a lock's lease ({@link StateStore.keepLock}). */
export interface LockKeeper {
  /**
   * Stops renewing (the lock stays until released); resolves once the renewing thread has closed
   * its connection to the state database (so that the caller may close or remove it). A renewal
   * already under way may still land before that; it is harmless: it only renews a lock its owner
   * token still holds.
   */
  stop(): Promise<void>;
}

/** True when `lock`'s lease has run out at `now` (ms since the epoch). */
export function leaseExpired(lock: RunLock, now: number = Date.now()): boolean {
  return Date.parse(lock.expiresAt) <= now;
}

/**
 * One sentence on who holds `lock` and its lease, for messages: `run R (pid P on host H) has held
 * it since T; its heartbeat last renewed the lease 4 s ago, until E (in 56 s)`, or `…; its lease
 * ran out at E (12 s ago)`.
 */
export function describeLock(lock: RunLock, now: number = Date.now()): string {
  const holder = `run ${lock.runId} (pid ${lock.pid} on host ${lock.host}) has held it since ${lock.acquiredAt}`;
  const seconds = (iso: string) => Math.round(Math.abs(Date.parse(iso) - now) / 1000);
  if (leaseExpired(lock, now)) return `${holder}; its lease ran out at ${lock.expiresAt} (${seconds(lock.expiresAt)} s ago)`;
  const renewed = lock.renewedAt === null ? 'its lease runs' : `its heartbeat last renewed the lease ${seconds(lock.renewedAt)} s ago,`;
  return `${holder}; ${renewed} until ${lock.expiresAt} (in ${seconds(lock.expiresAt)} s)`;
}

/**
 * The destination a sync's snapshot rows were acknowledged by. A run whose destination differs
 * from its snapshot's must not trust that snapshot. Never holds the API key: only its SHA-256.
 */
export interface DestinationFingerprint {
  /** The destination's name in the project file (`syncs.*.destination`). */
  destination: string;
  /** `sandbox` or `production`. */
  environment: string;
  /** The API URL requests go to (the production URL when `base_url` is not set). */
  baseUrl: string;
  /** SHA-256 of the API key, lower-case hex. */
  apiKeySha256: string;
}

/** A sync's recorded {@link DestinationFingerprint}, with when and by which run it was recorded. */
export interface SnapshotDestination extends DestinationFingerprint {
  /** ISO 8601. */
  recordedAt: string;
  runId: string;
}

/**
 * The store interface. The embedded default is SQLite ({@link SqliteStateStore}); every method
 * is synchronous there, so the interface is synchronous too. As a {@link RateSlotLedger} it hands
 * out the request slots of the projects' `rate_limit`s, shared by every process on the database.
 */
export interface StateStore extends RateSlotLedger {
  /**
   * Takes the sync's run lock with a lease of {@link LOCK_LEASE_MS}, unless another run holds it
   * with a lease not run out. A lease that ran out is taken over; so is a live one whose holder
   * is provably gone: it ran on this host, in this pid namespace, and its pid is not running (or is
   * this process, which did not take it: a restarted container's pid 1). A pid in use proves
   * nothing (another process may have it): the lease decides then. `runId` taking the lock it
   * already holds keeps it (same owner token) and renews the lease. Keep the lease alive with
   * {@link keepLock} for as long as the run lasts.
   * @returns the lock taken, or the holder (`heldBy`: its run id) when another run holds it
   */
  acquireLock(sync: string, runId: string): LockAttempt;
  /**
   * Renews `lock`'s lease every {@link LOCK_HEARTBEAT_MS} until stopped, on a thread of its own so
   * that long synchronous work of the run (a diff of millions of rows) does not let it run out.
   * Calls `onLost` once, with the reason, when the lock is no longer `lock.owner`'s (broken by
   * `panelsync unlock`, or taken over after the lease ran out) or no renewal succeeded before
   * the lease ran out; renewing then stops.
   */
  keepLock(lock: RunLock, onLost: (reason: string) => void): LockKeeper;
  /** Releases the sync's lock if `runId` holds it. */
  releaseLock(sync: string, runId: string): void;
  /** The sync's run lock, whoever holds it and whatever its lease; `null` when it is not locked. */
  readLock(sync: string): RunLock | null;
  /**
   * Breaks the sync's lock if it is still exactly `seen` (same run, owner and lease expiry), so a
   * holder that renewed its lease since `seen` was read keeps it.
   * @returns whether the lock was broken
   */
  breakLock(seen: RunLock): boolean;
  /** Marks runs of `sync` still `running` (their process died) as `interrupted`; returns how many. */
  interruptStaleRuns(sync: string): number;
  /**
   * Records a run as `running`; `options` default to none (both false). `destination`: where the
   * run sends; the run's first commit of rows while the sync has no recorded destination records
   * it as the snapshot's ({@link snapshotDestination}).
   */
  startRun(run: RunStart): void;
  finishRun(id: string, end: { status: RunStatus; finishedAt: string; summary: unknown; error: string | null }): void;
  getRun(id: string): RunRecord | null;
  /** The latest run of `sync` that is no longer running (by start), with the options it was started with; `null` when none. */
  lastEndedRun(sync: string): { id: string; status: RunStatus; options: RunOptions } | null;
  /**
   * Opens a stage for a run of `sync`. `fullResync`: the stage plans a full resync (see
   * {@link Stage.diff}). A run settles its writes in doubt before the diff: until then the
   * snapshot changes only through that settlement (the sync's lock keeps other runs out).
   */
  openStage(sync: string, runId: string, options?: { fullResync?: boolean }): Stage;
  /**
   * Commits a batch's outcome in one transaction. One participant is never stored for two primary
   * keys of the model: a synced row whose participant id another primary key of the sync holds is
   * not stored, and its outcome is recorded as rejected instead, unless that key has left the
   * model of the run (no row of the stage opened for `commit.runId`: the primary key changed
   * hands, and the old key is forgotten by the delete behaviour). With no stage of the run open,
   * every holder counts as in the model. A stored row is no longer marked to be sent again.
   * @returns the synced rows refused that way (empty when every row was stored)
   * @throws LockLostError when `commit.lockOwner` is given and no longer holds the sync's lock
   */
  commitBatch(commit: BatchCommit): CommitRefusal[];
  /** Records, in one transaction, the writes about to be sent for `sync` (replacing earlier intents of the same keys). */
  recordIntents(sync: string, runId: string, intents: readonly WriteIntent[]): void;
  /** The sync's write intents left unanswered by earlier runs (in doubt), by primary key. */
  intentsInDoubt(sync: string): WriteIntent[];
  /** Records that another attempt of the writes of `pks` goes on the wire now (their intents' `sentAt`). */
  touchIntents(sync: string, pks: readonly string[]): void;
  /** The snapshot row of `pk` in `sync` (its email as acknowledged and participant id), or `null`. */
  snapshotEntry(sync: string, pk: string): { email: string; participantId: string | null } | null;
  /**
   * Applies settlements of intents in doubt in one transaction: each removes its intent and
   * changes the snapshot as it says. Checks the lock like {@link commitBatch} when `lockOwner` is given.
   * @throws LockLostError when the lock is no longer `lockOwner`'s
   */
  settleIntents(sync: string, runId: string, settlements: readonly IntentSettlement[], lockOwner?: string | null): void;
  /**
   * Marks every snapshot row of `sync` to be sent again (a full resync starting: an interrupted one
   * is finished by the next run), and forgets the keys update mode found unmatched (looked up again).
   * @returns snapshot rows marked
   */
  markResend(sync: string): number;
  /** The identity configuration the sync's snapshot was recorded with; `null` when none is recorded. */
  snapshotIdentity(sync: string): SnapshotIdentity | null;
  /** Records `identity` as the sync's snapshot identity, replacing any recorded one. */
  bindIdentity(sync: string, identity: SnapshotIdentity, runId: string): void;
  recordOutcomes(runId: string, sync: string, outcomes: readonly RowOutcome[]): void;
  /**
   * Records one API call (one attempt). Bodies longer than {@link MAX_STORED_BODY_BYTES} are cut
   * there, ending in a marker that says how many bytes were cut. A tag made by `batchCallTag`
   * links the call to the rows of its batch.
   */
  recordCall(runId: string, seq: number, call: ApiCall): void;
  /**
   * Retention (./prune-history.ts): removes the API calls and row outcomes of every run that
   * started before `before` (ISO 8601) and is no longer running; the run records (status,
   * summary) stay, marked `details_pruned_at`. With `syncs` (the project's), a sync not among
   * them, holding no lock and with no run since `before`, is forgotten whole (runs, snapshot,
   * intents, alert state). Deletes in write transactions of about 25 ms with pauses between them,
   * so that other processes' commits and lock heartbeats get the database; then gives free pages
   * back to the file system when the file has auto_vacuum=INCREMENTAL.
   */
  pruneHistory(before: string, syncs?: readonly string[]): Promise<PruneResult>;
  /** Rows the snapshot holds for a sync (counts an index: about 0.1 s per million rows). */
  snapshotSize(sync: string): number;
  /** True when the snapshot holds no row for a sync (one index probe). */
  snapshotIsEmpty(sync: string): boolean;
  /**
   * The destination the sync's snapshot rows were acknowledged by: recorded by the first commit
   * of rows (of a run started with a `destination`) while none was recorded, or by
   * {@link bindDestination}; `null` when none is recorded.
   */
  snapshotDestination(sync: string): SnapshotDestination | null;
  /**
   * Up to `limit` distinct participant ids the sync's snapshot holds, the most recently
   * acknowledged first (the likeliest still in the panel); empty when no row has one. Used to tell
   * whether a new API key opens the account that acknowledged the snapshot.
   */
  snapshotParticipantIds(sync: string, limit: number): string[];
  /** Records `destination` as the sync's snapshot destination, replacing any recorded one. */
  bindDestination(sync: string, destination: DestinationFingerprint, runId: string): void;
  /**
   * Forgets the sync's whole snapshot, its write intents and its recorded destination, in one
   * transaction (a sync moved to another destination, or re-keyed: the next commit records the new one).
   * @returns snapshot rows forgotten
   */
  replaceSnapshot(sync: string): number;
  /**
   * Update mode: records that a directory read started at `lookedUpAt` (ISO 8601) found no
   * participant with these rows' normalized emails, so that a later run may skip them again
   * without reading the directory (see UNMATCHED_RECHECK_MS in ../engine/identity.ts). A row
   * committed as synced, a replaced snapshot, or a sync pruned from the project drops its record.
   */
  recordUnmatched(sync: string, runId: string, rows: ReadonlyArray<{ pk: string; emailKey: string }>, lookedUpAt: string): void;
  /** The alert state of every trigger of `sync` evaluated so far. */
  alertStates(sync: string): AlertStateRecord[];
  /**
   * Creates or replaces the alert state of `record.sync` and `record.trigger`; the channels told
   * of its alert are left as they are.
   */
  saveAlertState(record: Omit<AlertStateRecord, 'notifiedChannels'>): void;
  /** Records that `told.channel` accepted an alert of `trigger` of `sync` at `told.level` (replacing the one it held). */
  recordAlertNotified(sync: string, trigger: string, told: AlertChannelNotified): void;
  /** Forgets `channel`'s open alert of `trigger` of `sync` (its recovery was delivered or given up); no-op without one. */
  forgetAlertNotified(sync: string, trigger: string, channel: string): void;
  /** Records how a notification to a channel for `sync` went; keeps the last error after successes. */
  recordAlertDelivery(delivery: { sync: string; channel: string; at: string; ok: boolean; attempts: number; error: string | null }): void;
  /** The last delivery per channel of `sync`'s notifications. */
  alertDeliveries(sync: string): AlertDeliveryRecord[];
  /**
   * Rows queried (`summary.rows.queried`) by the latest `limit` runs of `sync` that completed
   * (`success` or `warning`: they read their whole model), newest first by start, the run
   * `exceptRunId` left out (the alerts' volume triggers compare a run with those before it).
   */
  modelVolumes(sync: string, limit: number, exceptRunId: string): number[];
  close(): void;
}
