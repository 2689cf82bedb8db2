/**
 * The in-process scheduler of `panelsync serve`: runs each scheduled sync when it is due, through
 * the {@link RunLauncher} (so a sync never runs twice at once).
 *
 * When a sync is due is decided from the start of its last run, read from the state store, so that
 * a server that was down for a while runs each overdue sync once at start, not once per missed
 * slot, and a run triggered by hand or through the API counts as the sync's last run.
 */
import { retryDelayMs } from './retry-backoff.ts';
import { asError, type LaunchedRun } from './run-launcher.ts';
import type { SyncSchedule } from './sync-schedule.ts';

/** Time and timers, injectable so that tests need not wait. */
export interface SchedulerClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds; returns a function that cancels it. */
  setTimer(callback: () => void, ms: number): () => void;
}

/** The system clock; its timers do not keep the process alive. */
export const SYSTEM_CLOCK: SchedulerClock = {
  now: () => Date.now(),
  setTimer(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/**
 * Longest sleep between checks, ms: bounds the effect of a wall-clock jump and keeps under
 * setTimeout's 2^31 ms limit.
 */
const MAX_SLEEP_MS = 60_000;

/** What the scheduler needs of the launcher. */
export interface ScheduledLauncher {
  /** @throws when the run cannot be fired (reported through `onError`, tried again after a backoff) */
  trigger(sync: string, request: { trigger: 'schedule' }): unknown;
  /** True while the sync runs or has a run queued. */
  busy(sync: string): boolean;
  /** Calls the listener for every run started; the scheduler re-plans when one ends. */
  onRun(listener: (run: LaunchedRun) => void): () => void;
}

export interface SchedulerOptions {
  /** The scheduled syncs by name (syncs without a schedule are left out). */
  schedules: ReadonlyMap<string, SyncSchedule>;
  launcher: ScheduledLauncher;
  /** When the sync's latest run started (any trigger), from the state store; `null` if it never ran. */
  lastStartedAt(sync: string): Date | null;
  clock?: SchedulerClock;
  /**
   * A due run that could not be fired (the launcher refused it, or reading when the sync last ran
   * failed: a busy or failing state database); it is tried again in `retryInMs` (clock time).
   */
  onError?(sync: string, error: Error, retryInMs: number): void;
}

/** Fires scheduled runs; {@link start} it once, {@link stop} it before stopping the launcher. */
export class Scheduler {
  private readonly clock: SchedulerClock;
  /** Per sync, when this scheduler last fired it (clock time): a due time is never fired twice. */
  private readonly firedAt = new Map<string, Date>();
  /** Per sync whose last look failed: failures in a row, and when to look again (clock time, ms). */
  private readonly retries = new Map<string, { failures: number; at: number }>();
  /** When {@link start} was called (clock time): a sync that never ran is scheduled from then. */
  private startedAt = new Date(0);
  private cancelTimer: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  private running = false;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** Runs every overdue sync now (once each), then keeps firing syncs as they fall due. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = new Date(this.clock.now());
    this.unsubscribe = this.options.launcher.onRun((run) => {
      void run.done.then(() => this.tick());
    });
    this.tick();
  }

  /** Fires nothing more; runs already started go on (stop them through the launcher). */
  stop(): void {
    this.running = false;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /**
   * When `sync` is next due (in the past while it waits for a run in progress to end), or `null`
   * when it has no schedule or its cron expression has no later time.
   */
  nextRunAt(sync: string): Date | null {
    const schedule = this.options.schedules.get(sync);
    if (!schedule) return null;
    return schedule.nextDue(this.lastStart(sync), this.running ? this.startedAt : new Date(this.clock.now()));
  }

  /**
   * Fires every sync that is due and idle, then sleeps until the next due time (at most
   * {@link MAX_SLEEP_MS}). Never throws: a sync that could not be fired is reported through
   * `onError` and looked at again after a backoff, still due (not at its next slot).
   */
  tick(): void {
    if (!this.running) return;
    this.cancelTimer?.();
    this.cancelTimer = null;
    const now = this.clock.now();
    let sleep = MAX_SLEEP_MS;
    for (const sync of this.options.schedules.keys()) {
      const wait = this.look(sync, now);
      if (wait !== null) sleep = Math.min(sleep, wait);
    }
    this.cancelTimer = this.clock.setTimer(() => this.tick(), sleep);
  }

  /**
   * Fires `sync` if it is due, idle and not waiting to be tried again.
   * @returns how long until it needs a look again, ms; `null`: when a run of it ends (or never)
   */
  private look(sync: string, now: number): number | null {
    // A busy sync is looked at again when its run ends (a run queued in the launcher included).
    if (this.options.launcher.busy(sync)) return null;
    const retry = this.retries.get(sync);
    if (retry !== undefined && now < retry.at) return retry.at - now;
    const fired = this.firedAt.get(sync);
    try {
      let due = this.nextRunAt(sync);
      if (due !== null && due.getTime() <= now) {
        this.firedAt.set(sync, new Date(now));
        this.options.launcher.trigger(sync, { trigger: 'schedule' });
        due = this.options.launcher.busy(sync) ? null : this.nextRunAt(sync);
      }
      this.retries.delete(sync);
      return due === null ? null : Math.max(due.getTime() - now, 0);
    } catch (error) {
      // Not fired: the sync stays due.
      if (fired === undefined) this.firedAt.delete(sync);
      else this.firedAt.set(sync, fired);
      const failures = (retry?.failures ?? 0) + 1;
      const delay = retryDelayMs(failures);
      this.retries.set(sync, { failures, at: now + delay });
      this.options.onError?.(sync, asError(error), delay);
      return delay;
    }
  }

  /** The later of the sync's last recorded start and the last time this scheduler fired it. */
  private lastStart(sync: string): Date | null {
    const recorded = this.options.lastStartedAt(sync);
    const fired = this.firedAt.get(sync) ?? null;
    if (recorded === null || fired === null) return recorded ?? fired;
    return recorded.getTime() >= fired.getTime() ? recorded : fired;
  }
}
