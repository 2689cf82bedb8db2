/**
 * A run's summary: the JSON object `panelsync run --json` prints and the run record stores.
 * `rows.queried = added + changed + unchanged + invalid`; `removed` is counted apart. For each of
 * added / changed / removed, `succeeded + rejected + skipped + unsent` equals the planned count.
 */
import type { PlanCounts, RunStatus } from '../state/state-store.ts';

export interface ClassCounts {
  added: number;
  changed: number;
  removed: number;
}

export interface RunSummary {
  run_id: string;
  sync: string;
  status: Exclude<RunStatus, 'running'>;
  rows: PlanCounts;
  succeeded: ClassCounts;
  rejected: ClassCounts;
  /** Rows the mode does not act on: update mode, no such participant; insert mode, already synced. */
  skipped: ClassCounts;
  /**
   * Rows not written by this run and planned again by the next: never sent or never answered (an
   * outage, a stop, a lost lock), or waiting for another primary key (identity.ts). Only a
   * refusal by the API itself is `rejected`. Absent from summaries recorded before it existed.
   */
  unsent: ClassCounts;
  /** Every HTTP attempt made to the destination, reads included. */
  api_calls: number;
  duration_ms: number;
  /** Why the run failed; present only when `status` is `failed`. */
  error?: string;
  /**
   * `false` when the run ended (failed or interrupted) before the model was read: its `rows` are
   * 0 because nothing was read, not because the model returned no rows. Absent from summaries
   * recorded before it existed, which {@link withSummaryDefaults} reads as `true`.
   */
  model_read: boolean;
  /**
   * Rows of the model that the panel holds as the model says once the run ended: `unchanged` +
   * `succeeded.added` + `succeeded.changed` (a healthy run that sent nothing has every valid row here).
   */
  in_sync: number;
  /**
   * Of `rows.invalid`, the rows that were already invalid, with the same primary key and the same
   * reason, in the sync's previous completed (success or warning) run: no new problem. A run whose
   * only problems are such rows is `success` (see {@link completedStatus}).
   */
  known_invalid: number;
  /**
   * The snapshot was empty when the run started (a new sync, or a state database deleted or
   * emptied): every row was planned as added, and rows removed from the model before now cannot
   * be deleted or cleared (the state no longer knows them). Always `false` for a `--reset-cdc` run,
   * which sends nothing.
   */
  first_sync: boolean;
}

/** The fields a summary recorded before they existed lacks; see {@link withSummaryDefaults}. */
type LaterSummaryFields = 'model_read' | 'in_sync' | 'known_invalid' | 'first_sync';

/**
 * A stored summary with the fields added since it was recorded: `model_read` true, `in_sync`
 * computed from its counts, `known_invalid` 0, `first_sync` false.
 */
export function withSummaryDefaults<S extends Omit<RunSummary, LaterSummaryFields> & Partial<Pick<RunSummary, LaterSummaryFields>>>(
  summary: S,
): S & Pick<RunSummary, LaterSummaryFields> {
  // A summary stored without counts (a run recorded by an older version at its start) is kept as it is.
  if (summary === null || typeof summary !== 'object' || summary.rows === undefined || summary.succeeded === undefined) {
    return summary as S & Pick<RunSummary, LaterSummaryFields>;
  }
  return {
    ...summary,
    model_read: summary.model_read ?? true,
    in_sync: summary.in_sync ?? inSyncCount(summary.rows, summary.succeeded),
    known_invalid: summary.known_invalid ?? 0,
    first_sync: summary.first_sync ?? false,
  };
}

/** Rows of the model the panel holds as it says: unchanged + succeeded added + succeeded changed. */
export function inSyncCount(rows: PlanCounts, succeeded: ClassCounts): number {
  return rows.unchanged + succeeded.added + succeeded.changed;
}

export function emptyCounts(): PlanCounts {
  return { queried: 0, added: 0, changed: 0, removed: 0, unchanged: 0, invalid: 0 };
}

export function emptyClassCounts(): ClassCounts {
  return { added: 0, changed: 0, removed: 0 };
}

/** added + changed + removed of per-class counts (e.g. a summary's `rejected`). */
export function classTotal(counts: ClassCounts): number {
  return counts.added + counts.changed + counts.removed;
}

/**
 * The status a finished run earns: `warning` when a row was rejected or left unsent (waiting for
 * another key), or a row is invalid that was not already invalid, for the same reason, in the
 * previous completed run (`knownInvalid` counts those); else `success`. So the same invalid rows
 * run after run warn once, in the run where they first appear.
 */
export function completedStatus(rows: PlanCounts, rejected: ClassCounts, unsent: ClassCounts, knownInvalid = 0): 'success' | 'warning' {
  return rows.invalid > knownInvalid || classTotal(rejected) > 0 || classTotal(unsent) > 0 ? 'warning' : 'success';
}

/** Per class, the planned rows that got no outcome among succeeded, rejected and skipped (never below 0). */
export function unsentCounts(rows: PlanCounts, done: { succeeded: ClassCounts; rejected: ClassCounts; skipped: ClassCounts }): ClassCounts {
  const left = (c: keyof ClassCounts) => Math.max(0, rows[c] - done.succeeded[c] - done.rejected[c] - done.skipped[c]);
  return { added: left('added'), changed: left('changed'), removed: left('removed') };
}
