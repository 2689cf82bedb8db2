/**
 * The triggers on how many rows the model returned, after one run. Pure; the state machine
 * (./alert-state-machine.ts) turns changes of state into notifications.
 *
 * - `empty_model`: the model returned 0 rows while the last completed run that read it returned
 *   rows (or the trigger is already raised: the model stays empty). The run may have failed: the
 *   mass-delete guard stops a run whose model returned 0 rows, and that is the run to alert on.
 * - `volume_change`: the rows queried differ from the median of the last `runs` completed runs
 *   by more than `share` of that median (a median of 0 and rows now: a change). Checked once
 *   that many completed runs read the model.
 * A run that did not read its model (it failed or was stopped before) and an interrupted run
 * speak for neither; a trigger that is off is evaluated (`ok`) only while it holds an alert it
 * raised when it was on, so that it clears.
 */
import type { RunSummary } from '../engine/run-summary.ts';
import type { AlertPolicy, AlertTrigger } from './alert-policy.ts';
import type { TriggerResult } from './evaluate-triggers.ts';

/**
 * Evaluates `empty_model` and `volume_change` for a run.
 * @param volumes rows queried by the sync's latest completed (`success` or `warning`) runs that
 *   read their model, newest first, this run left out (at least `policy.volumeChange.runs` of them
 *   when there are that many)
 * @param previousStreak the streak stored for a trigger before this run (0 when none)
 */
export function evaluateModelVolume(
  summary: RunSummary,
  policy: Pick<AlertPolicy, 'emptyModel' | 'volumeChange'>,
  volumes: readonly number[],
  previousStreak: (trigger: AlertTrigger) => number,
): TriggerResult[] {
  if (summary.status === 'interrupted' || summary.model_read === false) return [];
  const queried = summary.rows.queried;
  const results: TriggerResult[] = [];

  // A trigger that is off is evaluated only to clear the alert it raised while it was on.
  const speaks = (trigger: AlertTrigger, rule: unknown) => rule !== null || previousStreak(trigger) > 0;
  const empty = policy.emptyModel;
  const last = volumes[0];
  const emptied = empty !== null && queried === 0 && ((last !== undefined && last > 0) || previousStreak('empty_model') > 0);
  if (speaks('empty_model', empty)) results.push({
    trigger: 'empty_model',
    state: emptied ? empty.level : 'ok',
    streak: emptied ? previousStreak('empty_model') + 1 : 0,
    reason: emptied
      ? `the model returned 0 rows; the last completed run that read it returned ${last ?? 0}`
      : `the model returned ${queried} ${queried === 1 ? 'row' : 'rows'}`,
  });

  const rule = policy.volumeChange;
  const window = rule === null ? [] : volumes.slice(0, rule.runs);
  if (rule === null || window.length < rule.runs) {
    if (speaks('volume_change', rule)) results.push({
      trigger: 'volume_change',
      state: 'ok',
      streak: 0,
      reason: rule === null ? 'volume change is off' : `${window.length} of the ${rule.runs} completed runs the median needs so far`,
    });
    return results;
  }
  const typical = median(window);
  const change = typical === 0 ? (queried === 0 ? 0 : Infinity) : Math.abs(queried - typical) / typical;
  const changed = change > rule.share;
  results.push({
    trigger: 'volume_change',
    state: changed ? rule.level : 'ok',
    streak: changed ? previousStreak('volume_change') + 1 : 0,
    reason:
      `the model returned ${queried} rows; the median of the last ${rule.runs} completed runs is ${typical}` +
      (Number.isFinite(change) ? ` (${Math.round(change * 1000) / 10}% away` : ' (any row is a change from 0') +
      `; alert above ${Math.round(rule.share * 1000) / 10}%)`,
  });
  return results;
}

/** The median of a non-empty list (the mean of the two middle values of an even one). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
