/**
 * A run's summary: the JSON object `panelsync run --json` prints and the run record stores.
 * `rows.queried = added + changed + unchanged + invalid`; `removed` is counted apart. For each of
 * added / changed / removed, `succeeded + rejected + skipped` equals the planned count unless the
 * run failed or was interrupted part-way.
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
 * The status a finished run earns: `warning` when any row was invalid or rejected, else `success`.
 */
export function completedStatus(rows: PlanCounts, rejected: ClassCounts): 'success' | 'warning' {
  return rows.invalid > 0 || classTotal(rejected) > 0 ? 'warning' : 'success';
}
