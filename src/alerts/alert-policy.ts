/**
 * The alert rules in force for one sync: `alerts.defaults` with the sync's `alerts` laid over them
 * key by key (a sync's `recipients` list replaces the default list; thresholds merge one by one),
 * then the built-in thresholds ({@link ALERT_RULE_DEFAULTS}) for anything still unset.
 */
import type { Project } from '../config/load-project.ts';
import { ALERT_RULE_DEFAULTS, type AlertLevel } from '../config/schema.ts';

/**
 * What alerts watch. `failed_run` and `rejected_rows` are always on; `slow_run` when
 * `slow_run_minutes` is set; `missed_schedule`, `empty_model`, `volume_change` and `full_resync`
 * when their keys are set (see ./evaluate-volume.ts, ./watch-schedules.ts).
 */
export const ALERT_TRIGGERS = ['failed_run', 'rejected_rows', 'slow_run', 'missed_schedule', 'empty_model', 'volume_change', 'full_resync'] as const;
export type AlertTrigger = (typeof ALERT_TRIGGERS)[number];

/** The resolved rules of one sync. */
export interface AlertPolicy {
  recipients: Array<{ channel: string; levels: AlertLevel[] }>;
  /** Shares (0..1) of the run's rows (queried + removed) rejected or invalid; warning <= critical. */
  rejectedRows: { warning: number; critical: number };
  /** Consecutive failed runs for each level; `warning` absent: failures go straight to critical. */
  failedRuns: { warning: number | null; critical: number };
  /** A run longer than this is a warning, minutes; `null`: off. */
  slowRunMinutes: number | null;
  /** A scheduled run that did not start within `graceMinutes` of its due time reaches `level` (`serve` only); `null`: off. */
  missedSchedule: { graceMinutes: number; level: AlertLevel } | null;
  /** A model that returned 0 rows after a run that read rows reaches `level`; `null`: off. */
  emptyModel: { level: AlertLevel } | null;
  /** Rows queried more than `share` away from the median of the last `runs` completed runs reach `level`; `null`: off. */
  volumeChange: { share: number; runs: number; level: AlertLevel } | null;
  /** A full resync starting reaches `level` (and its end clears it); `null`: off. */
  fullResync: { level: AlertLevel } | null;
}

/**
 * The rules in force for `sync` of a validated project (validation already checked that
 * recipients name channels and warning <= critical).
 */
export function alertPolicy(project: Project, sync: string): AlertPolicy {
  const defaults = project.alerts?.defaults ?? {};
  const own = project.syncs[sync]?.alerts ?? {};
  return {
    recipients: (own.recipients ?? defaults.recipients ?? []).map((r) => ({ channel: r.channel, levels: [...r.levels] })),
    rejectedRows: {
      warning: own.rejected_rows?.warning ?? defaults.rejected_rows?.warning ?? ALERT_RULE_DEFAULTS.rejected_rows.warning,
      critical: own.rejected_rows?.critical ?? defaults.rejected_rows?.critical ?? ALERT_RULE_DEFAULTS.rejected_rows.critical,
    },
    failedRuns: {
      warning: own.failed_runs?.warning ?? defaults.failed_runs?.warning ?? null,
      critical: own.failed_runs?.critical ?? defaults.failed_runs?.critical ?? ALERT_RULE_DEFAULTS.failed_runs.critical,
    },
    slowRunMinutes: own.slow_run_minutes !== undefined ? own.slow_run_minutes : (defaults.slow_run_minutes ?? null),
    missedSchedule: project.syncs[sync]?.schedule === undefined ? null : rule(own.missed_schedule, defaults.missed_schedule, (r) => ({ graceMinutes: r.grace_minutes, level: r.level })),
    emptyModel: rule(own.empty_model, defaults.empty_model, (r) => ({ level: r.level })),
    volumeChange: rule(own.volume_change, defaults.volume_change, (r) => ({ share: r.share, runs: r.runs, level: r.level })),
    fullResync: rule(own.full_resync, defaults.full_resync, (r) => ({ level: r.level })),
  };
}

/** A trigger's rule: the sync's own (`null` turns a default off), else the default, else off. */
function rule<T, R>(own: T | null | undefined, fallback: T | null | undefined, resolve: (rule: T) => R): R | null {
  const chosen = own !== undefined ? own : fallback;
  return chosen === null || chosen === undefined ? null : resolve(chosen);
}
