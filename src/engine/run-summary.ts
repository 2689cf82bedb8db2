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
 * The status a finished run earns: `warning` when any row was invalid, rejected or left unsent
 * (waiting for another key), else `success`.
 */
export function completedStatus(rows: PlanCounts, rejected: ClassCounts, unsent: ClassCounts): 'success' | 'warning' {
  return rows.invalid > 0 || classTotal(rejected) > 0 || classTotal(unsent) > 0 ? 'warning' : 'success';
}

/** Per class, the planned rows that got no outcome among succeeded, rejected and skipped (never below 0). */
export function unsentCounts(rows: PlanCounts, done: { succeeded: ClassCounts; rejected: ClassCounts; skipped: ClassCounts }): ClassCounts {
  const left = (c: keyof ClassCounts) => Math.max(0, rows[c] - done.succeeded[c] - done.rejected[c] - done.skipped[c]);
  return { added: left('added'), changed: left('changed'), removed: left('removed') };
}
