/**
 * The `missed_schedule` trigger of `panelsync serve`: a scheduled run that did not start within
 * its grace period (`syncs.NAME.alerts.missed_schedule.grace_minutes`) of its due time.
 *
 * How it is detected: on start-up (before the scheduler fires the overdue syncs), whenever a run
 * starts, and on a timer (at each sync's deadline, at least once a minute), each scheduled sync's
 * due time is computed from the start of its last recorded run (any trigger, any process), as
 * the scheduler does. Past `due + grace`, with no run of it in progress here, the schedule is
 * missed: the server was down at the due time (found at start-up), or the run could not start
 * (its run lock held by a stuck or foreign run, a state database that stays busy). A run starting
 * clears it. Notices go out as for every trigger (./alert-dispatcher.ts), when the state changes.
 */
import type { Project } from '../config/load-project.ts';
import { redact } from '../http/http-client.ts';
import type { SchedulerClock } from '../scheduler/scheduler.ts';
import type { SyncSchedule } from '../scheduler/sync-schedule.ts';
import type { StateStore } from '../state/state-store.ts';
import { alertDispatcher, type AlertLogLevel } from './alert-dispatcher.ts';
import { alertPolicy } from './alert-policy.ts';
import type { TriggerResult } from './evaluate-triggers.ts';
import { alertNotice, noticeTime } from './notice.ts';

/** Longest wait between two looks, ms. */
const MAX_WAIT_MS = 60_000;

export interface WatchSchedulesOptions {
  /** The validated project: syncs' `alerts.missed_schedule`, channels, secrets. */
  project: Project;
  /** Where alert states and deliveries are kept (open until {@link ScheduleWatcher.settled} resolved). */
  store: StateStore;
  /** The scheduled syncs by name, as the scheduler runs them. */
  schedules: ReadonlyMap<string, SyncSchedule>;
  /** The sync's latest recorded run (its id and start); `null` when it never ran. */
  lastRun(sync: string): { runId: string; startedAt: Date } | null;
  /** True while a run of the sync is in progress in this server. */
  running(sync: string): boolean;
  /** The scheduler's clock (time and timers); default the system clock. */
  clock: SchedulerClock;
  log: (line: string, level: AlertLogLevel) => void;
}

/** A running watch of the schedules. */
export interface ScheduleWatcher {
  /** Looks at every scheduled sync now (call it when a run starts); then waits for the next deadline. */
  check(): void;
  /** Stops the timer; deliveries handed out go on. */
  stop(): void;
  /** As {@link AlertDispatcher.settled}. */
  settled(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
}

/** Starts watching: the first look happens now. */
export function watchSchedules(options: WatchSchedulesOptions): ScheduleWatcher {
  const { project, store, schedules, clock } = options;
  const dispatcher = alertDispatcher({ project, store, log: options.log });
  const since = new Date(clock.now());
  let cancelTimer: (() => void) | null = null;
  let stopped = false;

  /** Looks at `sync`; returns how long until its deadline, ms (`null`: none ahead). */
  const look = (sync: string, schedule: SyncSchedule, now: number): number | null => {
    const rule = alertPolicy(project, sync).missedSchedule;
    const stored = store.alertStates(sync).find((s) => s.trigger === 'missed_schedule');
    if (rule === null && (stored === undefined || stored.state === 'ok')) return null;
    const last = options.lastRun(sync);
    const due = schedule.nextDue(last?.startedAt ?? null, since);
    const deadline = due === null || rule === null ? null : due.getTime() + rule.graceMinutes * 60_000;
    const missed = deadline !== null && now > deadline && !options.running(sync);
    const state = missed ? rule!.level : 'ok';
    if (state !== (stored?.state ?? 'ok')) {
      // Times and lock holders in words a scrubbed reason keeps (see noticeTime).
      const lastText = last === null ? 'it never ran' : `its last run started at ${noticeTime(last.startedAt)}`;
      const lock = missed ? store.readLock(sync) : null;
      const why =
        lock !== null
          ? `its run lock is held by pid ${lock.pid} on host ${lock.host} until ${noticeTime(new Date(lock.expiresAt))} (panelsync unlock ${sync} breaks a stuck one)`
          : 'is panelsync serve running, and can it start runs?';
      const result: TriggerResult = {
        trigger: 'missed_schedule',
        state,
        streak: missed ? 1 : 0,
        reason: missed
          ? `no scheduled run started since it was due at ${noticeTime(due!)} (grace ${rule!.graceMinutes} min); ${lastText}; ${why}`
          : last === null
            ? 'no scheduled run is overdue'
            : `a run started at ${noticeTime(last.startedAt)}`,
      };
      const runId = last?.runId ?? '';
      dispatcher.dispatch({
        sync,
        runId,
        results: [result],
        notice: (change, kind, level, at) =>
          alertNotice({ kind, level, sync, trigger: change.trigger, from: change.from, to: change.to, reason: change.result.reason, summary: null, runId: null, rowErrors: [], publicUrl: project.public_url, secrets: project.secrets, at }),
      });
    }
    return deadline !== null && deadline >= now ? deadline - now + 1 : null;
  };

  const check = () => {
    if (stopped) return;
    cancelTimer?.();
    const now = clock.now();
    let wait = MAX_WAIT_MS;
    for (const [sync, schedule] of schedules) {
      try {
        const until = look(sync, schedule, now);
        if (until !== null) wait = Math.min(wait, until);
      } catch (error) {
        // A busy state database: the next look tries again.
        const message = redact(error instanceof Error ? error.message : String(error), project.secrets);
        options.log(`panelsync: could not check whether the schedule of sync "${sync}" was missed: ${message}`, 'error');
      }
    }
    cancelTimer = clock.setTimer(check, wait);
  };

  check();
  return {
    check,
    stop() {
      stopped = true;
      cancelTimer?.();
    },
    settled: (settleOptions) => dispatcher.settled(settleOptions),
  };
}
