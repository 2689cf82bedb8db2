/**
 * What a run keeps between runs and for the live debugger: the snapshot (per sync, what the
 * destination last acknowledged for each primary key), run records, row outcomes and API calls.
 * The diff itself runs as SQL inside the state database, on a staged copy of the model result.
 */
import type { ApiCall } from '../http/http-client.ts';

export const RUN_STATUSES = ['running', 'success', 'warning', 'failed', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const RUN_TRIGGERS = ['manual', 'schedule', 'api'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

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

export const ROW_RESULTS = ['succeeded', 'rejected', 'invalid', 'skipped'] as const;
export type RowResultKind = (typeof ROW_RESULTS)[number];

/** A row of the model after mapping, as staged for the diff. */
export type StagedRow =
  | { ok: true; pk: string; email: string; emailKey: string; payload: string }
  | { ok: false; pk: string | null; reason: string };

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

/** A run's staged model result and its diff against the snapshot. Dropped when the run ends. */
export interface Stage {
  /** Adds mapped rows (call with chunks of a few thousand). */
  insert(rows: readonly StagedRow[]): void;
  /**
   * Marks duplicates invalid (every copy of a duplicated primary key; every row sharing an email
   * with another valid row) and diffs the stage against the sync's snapshot by primary key, over
   * the mapped values and the normalized email. Call once, after the last insert.
   * With `fullResync`, every valid row is planned as `added` (keeping its known participant id)
   * and no row is planned as `removed`.
   */
  diff(options?: { fullResync?: boolean }): PlanCounts;
  /** Planned rows of the given classes after `afterSeq`, in order, at most `limit`. */
  page(classes: readonly ChangeClass[], afterSeq: number, limit: number): PlannedRow[];
  /**
   * Loads the destination's participants (email -> id directory, from `GET /participants`), so
   * that {@link page} can tell which planned rows exist there. Replaces any earlier directory.
   * @returns participants loaded
   */
  loadDirectory(entries: AsyncIterable<DirectoryEntry>): Promise<number>;
  /** The participant id of a normalized email in the loaded directory, if any. */
  directoryId(emailKey: string): string | null;
  /** Invalid rows with their reasons, in model order, after `afterSeq`, at most `limit`. */
  invalidRows(afterSeq: number, limit: number): Array<{ seq: number; pk: string | null; reason: string }>;
  drop(): void;
}

/** Stored request and response bodies are cut past this size, bytes (UTF-8): 64 KiB. */
export const MAX_STORED_BODY_BYTES = 64 * 1024;

/** Default of the project key `retention_days`: calls and row outcomes are kept this many days. */
export const DEFAULT_RETENTION_DAYS = 30;

/** What {@link StateStore.pruneHistory} removed: runs whose details went, calls and row outcomes. */
export interface PruneResult {
  runs: number;
  calls: number;
  outcomes: number;
}

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
  /** ISO 8601 time the last change of state was handed to the channels; `null` if none was. */
  notifiedAt: string | null;
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
}

/**
 * The store interface. The embedded default is SQLite ({@link SqliteStateStore}); every method
 * is synchronous there, so the interface is synchronous too.
 */
export interface StateStore {
  /** Takes the sync's run lock. Returns the holder's run id when another live process has it. */
  acquireLock(sync: string, runId: string): { ok: true } | { ok: false; heldBy: string };
  releaseLock(sync: string, runId: string): void;
  /** Marks runs of `sync` still `running` (their process died) as `interrupted`; returns how many. */
  interruptStaleRuns(sync: string): number;
  /** Records a run as `running`; `options` default to none (both false). */
  startRun(run: { id: string; sync: string; trigger: RunTrigger; startedAt: string; options?: RunOptions }): void;
  finishRun(id: string, end: { status: RunStatus; finishedAt: string; summary: unknown; error: string | null }): void;
  getRun(id: string): RunRecord | null;
  /** Opens a stage for a run of `sync`. */
  openStage(sync: string, runId: string): Stage;
  commitBatch(commit: BatchCommit): void;
  recordOutcomes(runId: string, sync: string, outcomes: readonly RowOutcome[]): void;
  /**
   * Records one API call (one attempt). Bodies longer than {@link MAX_STORED_BODY_BYTES} are cut
   * there, ending in a marker that says how many bytes were cut. A tag made by `batchCallTag`
   * links the call to the rows of its batch.
   */
  recordCall(runId: string, seq: number, call: ApiCall): void;
  /**
   * Retention: removes the API calls and row outcomes of every run that started before `before`
   * (ISO 8601) and is no longer running. The run records (status, summary) stay, marked
   * `details_pruned_at`.
   */
  pruneHistory(before: string): PruneResult;
  /** Rows the snapshot holds for a sync. */
  snapshotSize(sync: string): number;
  /** The alert state of every trigger of `sync` evaluated so far. */
  alertStates(sync: string): AlertStateRecord[];
  /** Creates or replaces the alert state of `record.sync` and `record.trigger`. */
  saveAlertState(record: AlertStateRecord): void;
  /** Records how a notification to a channel for `sync` went; keeps the last error after successes. */
  recordAlertDelivery(delivery: { sync: string; channel: string; at: string; ok: boolean; attempts: number; error: string | null }): void;
  /** The last delivery per channel of `sync`'s notifications. */
  alertDeliveries(sync: string): AlertDeliveryRecord[];
  close(): void;
}
