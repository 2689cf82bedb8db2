/**
 * The read side of the state store: run history and the live debugger. Every method returns
 * plain, JSON-ready objects with snake_case keys (as the run summary), so that the CLI (`runs`,
 * `debug`, `rows`) and the HTTP API print them as they are. The SQLite implementation is
 * {@link ../state/sqlite-run-history.ts}.
 */
import type { RunSummary } from '../engine/run-summary.ts';
import type { ChangeClass, RowResultKind, RunOptions, RunStatus, RunTrigger, TriggeredBy } from './state-store.ts';

/** A run as listed: its record and summary. Times are ISO 8601, durations ms. */
export interface RunListItem {
  run_id: string;
  sync: string;
  trigger: RunTrigger;
  status: RunStatus;
  started_at: string;
  /** `null` while running. */
  finished_at: string | null;
  /** finished_at - started_at, ms; `null` while running. */
  duration_ms: number | null;
  /** The run's summary (`panelsync run --json`); `null` while running. */
  summary: RunSummary | null;
  /** Why the run failed or was interrupted; `null` otherwise. */
  error: string | null;
  /** When retention removed the run's calls and row outcomes; `null` while they are kept. */
  details_pruned_at: string | null;
  /** Whether the run was a full resync or a reset-cdc (both false for a normal run, and for runs recorded before options were kept). */
  options: RunOptions;
  /** What started a run of trigger `after` (the runs it followed) or `hook` (the hook); `null` for the other triggers. */
  triggered_by: TriggeredBy | null;
}

/** A run with what the debugger holds for it. */
export interface RunDetail extends RunListItem {
  /** API calls stored for the run (every attempt). */
  calls: number;
  /** Row outcomes stored for the run, by result. */
  outcomes: Record<RowResultKind, number>;
}

/** One API call (one attempt) as listed, without bodies. */
export interface CallListItem {
  /** 1-based order of the call within its run. */
  seq: number;
  method: string;
  /** Full URL, secrets redacted. */
  url: string;
  /** `null` when no response came (timeout, reset). */
  status: number | null;
  duration_ms: number;
  /** 1-based attempt within its request (retries after 5xx, 429, timeouts count up). */
  attempt: number;
  started_at: string;
  /** The engine's label, e.g. `upsert:b3:50+25` (see ./batch-call-tag.ts). */
  tag: string | null;
  /** The batch whose rows the call sent; `null` for calls that send no rows. */
  batch: string | null;
  /** First row of the batch the call sent (0-based); `null` as `batch`. */
  row_offset: number | null;
  /** Rows the call sent; `null` as `batch`. */
  row_count: number | null;
  /** What went wrong below HTTP (timeout, reset); `null` when a response came. */
  error: string | null;
}

/** One API call with its bodies and the primary keys of the rows it sent. */
export interface CallDetail extends CallListItem {
  /** As stored: redacted, cut past 64 KiB with a `…[truncated: N bytes not stored]` marker. */
  request_body: string | null;
  response_body: string | null;
  /** Full size before truncation, bytes; `null` without a body. */
  request_bytes: number | null;
  response_bytes: number | null;
  request_truncated: boolean;
  response_truncated: boolean;
  /** Primary keys of the rows the call sent, in the order sent (from the row outcomes). */
  pks: string[];
}

/** A call placed in the run's call tree (see {@link ../state/call-tree.ts}). */
export interface CallTreeItem extends CallListItem {
  /** 0 for a top-level request; a split retry is one deeper than the call it split. */
  depth: number;
  /** First attempt of the request this one split; `null` at the top. */
  parent_seq: number | null;
  /** First attempt of this call's own request (itself for attempt 1). */
  request_seq: number;
}

/**
 * One page of a run's call tree: calls after a `seq`, in `seq` order, each placed as in the tree
 * of the whole run (see {@link RunHistory.listCallTree}).
 */
export interface CallTreePage {
  /** In `seq` order (not depth first): show each under `parent_seq`, next to its `request_seq`. */
  calls: CallTreeItem[];
  /** The `after` of the next page, when more calls follow; `null` on the last page. */
  next_after: number | null;
}

/** One row's outcome in a run. */
export interface OutcomeItem {
  /** Stable id of the outcome, increasing in the order outcomes were recorded. */
  id: number;
  run_id: string;
  sync: string;
  /** `null` for an invalid row without a primary key. */
  pk: string | null;
  class: ChangeClass | 'invalid' | 'skipped';
  result: RowResultKind;
  /** The API's error (rejected), the validation reason (invalid) or why it was skipped. */
  error: string | null;
  participant_id: string | null;
  /** When the outcome was committed. */
  at: string;
  /** The batch the row was sent in and its position there; `null` when not sent. */
  batch: string | null;
  batch_index: number | null;
  /** The last call that carried the row (its final answer); `null` when not sent. */
  call_seq: number | null;
}

/** A row of a sync that is currently failing; see {@link RunHistory.failingRows}. */
export interface FailingRow {
  /** `null` for an invalid row without a primary key (listed from the reference run only). */
  pk: string | null;
  class: ChangeClass | 'invalid' | 'skipped';
  result: 'rejected' | 'invalid';
  /** The latest error. */
  error: string | null;
  participant_id: string | null;
  /** The run of the first failure of the current streak, and when it started. */
  first_failed_run: string;
  first_failed_at: string;
  /** The run of the latest failure, and when it started. */
  last_failed_run: string;
  last_failed_at: string;
  /** Runs in the current streak that failed this row. */
  failed_runs: number;
}

/** The currently failing rows of a sync. */
export interface FailingRows {
  sync: string;
  /** The reference run: the sync's latest completed run (`null` when it has none). */
  as_of_run: string | null;
  /** Failing rows in all (`rows` may hold fewer, see `limit`). */
  total: number;
  rows: FailingRow[];
}

/** Read-only queries over runs, calls and row outcomes. Unknown ids give `null` or `[]`. */
export interface RunHistory {
  /** Runs, newest first (by start time), of one sync or all; at most `limit` (default 20). */
  listRuns(options?: { sync?: string; limit?: number }): RunListItem[];
  getRun(runId: string): RunDetail | null;
  /** A run's calls in order (`seq`), after `afterSeq` (default 0), at most `limit` (default all). */
  listCalls(runId: string, options?: { afterSeq?: number; limit?: number }): CallListItem[];
  getCall(runId: string, seq: number): CallDetail | null;
  /**
   * A page of the run's call tree: the calls after `afterSeq` (default 0), at most `limit`
   * (default all), in `seq` order, each with the `depth`, `parent_seq` and `request_seq` it has
   * in the tree of the whole run (./call-tree.ts). A call's place depends only on the calls
   * before it (the request it retries, the calls of its batch), so a page is read with just
   * those: pages never read the whole run, and the pages laid end to end are the whole tree.
   */
  listCallTree(runId: string, options?: { afterSeq?: number; limit?: number }): CallTreePage;
  /**
   * A run's row outcomes in the order recorded, only of `results` when given, after outcome id
   * `afterId` (default 0), at most `limit` (default all).
   */
  listOutcomes(runId: string, options?: { results?: readonly RowResultKind[]; afterId?: number; limit?: number }): OutcomeItem[];
  /**
   * The rows of `sync` that are currently failing, at most `limit` (default 1000), in the order
   * of their latest failure (by its run's start, then by when the outcome was first recorded: a
   * failure repeated run after run is stored once, see ./row-outcome-log.ts).
   *
   * Definition. Outcomes of a primary key are ordered as recorded. The reference run is the
   * sync's latest run with status `success` or `warning` (a run that read the whole model); when
   * there is none, every run counts. A row is currently failing when its latest outcome is
   * `rejected` or `invalid` and comes from the reference run or a later run. A row whose latest
   * failure is older left the model (or stopped being planned) and is not listed.
   * - `last_failed_run`: the run of that latest outcome;
   * - `first_failed_run`: the run of the first outcome of the current streak, i.e. the first
   *   `rejected`/`invalid` outcome after the row's latest `succeeded`/`skipped` one (runs without
   *   an outcome for the row, e.g. it was absent, do not break the streak); a failure repeated
   *   run after run is one stored outcome, kept while the streak goes on, but a streak broken by
   *   runs without an outcome for the row starts at the oldest outcome retention kept;
   * - `failed_runs`: distinct runs with a failing outcome in the streak.
   * Rows without a primary key cannot be followed across runs: those of the reference run are
   * listed, each with first = last = that run.
   */
  failingRows(sync: string, options?: { limit?: number }): FailingRows;
}
