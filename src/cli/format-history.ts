/** How the history commands (`runs`, `debug`, `rows`) write times, durations and run counts as text. */
import { classTotal } from '../engine/run-summary.ts';
import type { RunListItem } from '../state/run-history.ts';
import type { TriggeredBy } from '../state/state-store.ts';

/** `2026-11-29T16:06:13.690Z` -> `2026-11-29 16:06:13` (UTC; headers say so). An unreadable value is returned as is. */
export function formatTime(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]} ${match[2]}` : iso;
}

/** A duration in ms as a person reads it: `840 ms`, `4.2 s`, `3 min 05 s`, `2 h 07 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** `1 row`, `3 rows`. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * A run's trigger with what started it and a short marker for its options, named after `panelsync
 * run`'s flags: `manual`, `api +full-resync`, `schedule +reset-cdc`, `after orders r1a2 (success)`,
 * `hook after-dbt`, `hook dbt (dbt Cloud job 123, run 456)`.
 */
export function triggerText(run: RunListItem): string {
  const marks = [run.options.full_resync ? '+full-resync' : null, run.options.reset_cdc ? '+reset-cdc' : null].filter((m) => m !== null);
  return [run.trigger, ...(run.triggered_by === null ? [] : [triggeredByText(run.triggered_by)]), ...marks].join(' ');
}

/** What started a run of trigger `after` or `hook`, in words (see TriggeredBy). */
export function triggeredByText(by: TriggeredBy): string {
  if ('after' in by) return by.after.map((r) => `${r.sync} ${r.run_id} (${r.status})`).join(', ');
  if (by.dbt_job_id === undefined) return by.hook;
  return `${by.hook} (dbt Cloud job ${by.dbt_job_id}${by.dbt_run_id === undefined ? '' : `, run ${by.dbt_run_id}`})`;
}

/**
 * A run's counts for a table row: rows queried, planned added / changed / removed, invalid, rejected
 * (all classes) and API calls; `-` each while the run has no summary (running, or its process died),
 * and `-` for the row counts of a run that stopped before reading the model (`model_read: false`).
 */
export function runCounts(run: RunListItem): { queried: string; added: string; changed: string; removed: string; invalid: string; rejected: string; calls: string } {
  const s = run.summary;
  if (s === null) return { queried: '-', added: '-', changed: '-', removed: '-', invalid: '-', rejected: '-', calls: '-' };
  if (s.model_read === false) return { queried: '-', added: '-', changed: '-', removed: '-', invalid: '-', rejected: '-', calls: String(s.api_calls) };
  return {
    queried: String(s.rows.queried),
    added: String(s.rows.added),
    changed: String(s.rows.changed),
    removed: String(s.rows.removed),
    invalid: String(s.rows.invalid),
    rejected: String(classTotal(s.rejected)),
    calls: String(s.api_calls),
  };
}
