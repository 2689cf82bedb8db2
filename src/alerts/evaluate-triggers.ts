/**
 * Trigger evaluation: what state (ok / warning / critical) each trigger is in after one run.
 * Pure; the state machine (./alert-state-machine.ts) turns changes of state into notifications.
 */
import { classTotal, type RunSummary } from '../engine/run-summary.ts';
import type { AlertState } from '../state/state-store.ts';
import type { AlertPolicy, AlertTrigger } from './alert-policy.ts';

/** One trigger after a run. */
export interface TriggerResult {
  trigger: AlertTrigger;
  state: AlertState;
  /** Consecutive runs that met the condition, this one included; 0 when it was not met. */
  streak: number;
  /** What happened, one sentence without participant data, e.g. "2 of 59 rows (3.4%) were rejected or invalid". */
  reason: string;
}

/**
 * Evaluates the triggers a run can speak for. An `interrupted` run speaks for none (it resumes);
 * a `failed` run only for `failed_run` (its row counts are incomplete, its duration meaningless).
 *
 * - `failed_run`: the streak of failed runs reaches `failedRuns.critical` (critical) or
 *   `failedRuns.warning` (warning);
 * - `rejected_rows`: share = (rejected + new invalid rows) / (queried + removed rows), where an
 *   invalid row is new unless it was invalid, for the same reason, in the previous completed run
 *   (`known_invalid`): the same invalid rows warn once, not on every run. A level is reached when
 *   the share is above 0 and at least its threshold;
 * - `slow_run`: the run took longer than `slowRunMinutes` (warning); ok when off.
 *
 * @param previousStreak the streak stored for a trigger before this run (0 when none)
 */
export function evaluateTriggers(
  summary: RunSummary,
  policy: AlertPolicy,
  previousStreak: (trigger: AlertTrigger) => number,
): TriggerResult[] {
  if (summary.status === 'interrupted') return [];
  const results: TriggerResult[] = [];

  if (summary.status === 'failed') {
    const streak = previousStreak('failed_run') + 1;
    const { warning, critical } = policy.failedRuns;
    const state: AlertState = streak >= critical ? 'critical' : warning !== null && streak >= warning ? 'warning' : 'ok';
    results.push({ trigger: 'failed_run', state, streak, reason: streak === 1 ? 'the run failed' : `${streak} runs in a row failed` });
    return results;
  }
  results.push({ trigger: 'failed_run', state: 'ok', streak: 0, reason: `the run completed (${summary.status})` });

  const known = Math.min(summary.known_invalid ?? 0, summary.rows.invalid);
  const bad = classTotal(summary.rejected) + summary.rows.invalid - known;
  const total = summary.rows.queried + summary.rows.removed;
  const share = total === 0 ? 0 : bad / total;
  const { warning, critical } = policy.rejectedRows;
  const rejectedState: AlertState = share > 0 && share >= critical ? 'critical' : share > 0 && share >= warning ? 'warning' : 'ok';
  results.push({
    trigger: 'rejected_rows',
    state: rejectedState,
    streak: bad > 0 ? previousStreak('rejected_rows') + 1 : 0,
    reason:
      `${bad} of ${total} rows (${percent(share)}) were rejected or invalid ` +
      `(warning at ${percent(warning)}${warning === 0 ? ': any' : ''}, critical at ${percent(critical)})` +
      (known > 0 ? `; ${known} more invalid ${known === 1 ? 'row was' : 'rows were'} already invalid in the previous run and ${known === 1 ? 'is' : 'are'} not counted again` : ''),
  });

  const limit = policy.slowRunMinutes;
  const slow = limit !== null && summary.duration_ms > limit * 60_000;
  results.push({
    trigger: 'slow_run',
    state: slow ? 'warning' : 'ok',
    streak: slow ? previousStreak('slow_run') + 1 : 0,
    reason: `the run took ${durationText(summary.duration_ms)}` + (limit === null ? '' : ` (limit ${limit} min)`),
  });
  return results;
}

/** `0.034` -> `3.4%`; `0.2` -> `20%`. */
function percent(share: number): string {
  const value = Math.round(share * 1000) / 10;
  return `${value}%`;
}

/** A run's duration in ms for a notice: `42.0 s` under a minute, else `3.5 min`. */
export function durationText(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}
