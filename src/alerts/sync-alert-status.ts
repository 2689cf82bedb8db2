/**
 * A sync's alerts as the web UI and API show them: the rules in force, each trigger's state, and
 * how the last notification to each channel went (a failing channel shows here). JSON-ready,
 * snake_case; no secret, no participant data.
 */
import type { Project } from '../config/load-project.ts';
import type { AlertChannelType, AlertLevel } from '../config/schema.ts';
import type { AlertState, StateStore } from '../state/state-store.ts';
import { ALERT_TRIGGERS, alertPolicy, type AlertPolicy, type AlertTrigger } from './alert-policy.ts';

/** The triggers listed whether on or not. */
const ALWAYS_LISTED = new Set<AlertTrigger>(['failed_run', 'rejected_rows', 'slow_run']);

/** The rule of a trigger that is off unless configured; `null` when off (or for an always-listed trigger). */
function ruleOf(policy: AlertPolicy, trigger: AlertTrigger): unknown {
  const rules: Partial<Record<AlertTrigger, unknown>> = {
    missed_schedule: policy.missedSchedule,
    empty_model: policy.emptyModel,
    volume_change: policy.volumeChange,
    full_resync: policy.fullResync,
  };
  return rules[trigger] ?? null;
}

/** `alerts` of `GET /api/v1/syncs/{name}`. */
export interface SyncAlertStatus {
  recipients: Array<{ channel: string; type: AlertChannelType | null; levels: AlertLevel[] }>;
  thresholds: {
    rejected_rows: { warning: number; critical: number };
    failed_runs: { warning: number | null; critical: number };
    slow_run_minutes: number | null;
    /** The triggers off unless configured: `null` when off. */
    missed_schedule: { grace_minutes: number; level: AlertLevel } | null;
    empty_model: { level: AlertLevel } | null;
    volume_change: { share: number; runs: number; level: AlertLevel } | null;
    full_resync: { level: AlertLevel } | null;
  };
  /**
   * `failed_run`, `rejected_rows` and `slow_run`, then each trigger that is on or has a state;
   * one never evaluated is `ok` with `since`, `run_id` and `notified_at` `null`.
   */
  triggers: Array<{
    trigger: AlertTrigger;
    state: AlertState;
    /** Consecutive runs that met the trigger (failed runs in a row). */
    streak: number;
    since: string | null;
    run_id: string | null;
    notified_at: string | null;
  }>;
  /** Per channel that was notified for this sync: the last delivery, and the last failure even after later successes. */
  deliveries: Array<{
    channel: string;
    last_attempt_at: string;
    last_status: 'delivered' | 'failed';
    attempts: number;
    last_error: string | null;
    last_error_at: string | null;
  }>;
}

/**
 * The alert status of `sync` of a validated project.
 * @throws Error when the store cannot be read (the caller answers 500)
 */
export function syncAlertStatus(project: Project, store: StateStore, sync: string): SyncAlertStatus {
  const policy = alertPolicy(project, sync);
  const stored = store.alertStates(sync);
  return {
    recipients: policy.recipients.map((r) => ({ channel: r.channel, type: project.alerts?.channels[r.channel]?.type ?? null, levels: r.levels })),
    thresholds: {
      rejected_rows: policy.rejectedRows,
      failed_runs: policy.failedRuns,
      slow_run_minutes: policy.slowRunMinutes,
      missed_schedule: policy.missedSchedule === null ? null : { grace_minutes: policy.missedSchedule.graceMinutes, level: policy.missedSchedule.level },
      empty_model: policy.emptyModel,
      volume_change: policy.volumeChange,
      full_resync: policy.fullResync,
    },
    triggers: ALERT_TRIGGERS.filter((trigger) => ALWAYS_LISTED.has(trigger) || ruleOf(policy, trigger) !== null || stored.some((r) => r.trigger === trigger)).map((trigger) => {
      const s = stored.find((r) => r.trigger === trigger);
      return {
        trigger,
        state: s?.state ?? 'ok',
        streak: s?.streak ?? 0,
        since: s?.since ?? null,
        run_id: s?.runId ?? null,
        notified_at: s?.notifiedAt ?? null,
      };
    }),
    deliveries: store.alertDeliveries(sync).map((d) => ({
      channel: d.channel,
      last_attempt_at: d.lastAttemptAt,
      last_status: d.lastStatus,
      attempts: d.attempts,
      last_error: d.lastError,
      last_error_at: d.lastErrorAt,
    })),
  };
}
