/**
 * Run-after chains of `panelsync serve`: a sync whose schedule is `{ after: [a, b], on }` runs
 * once each sync it follows has ended a run in this server since the chain last fired (`on:
 * success`: each of those latest runs ended `success` or `warning`; `on: completion`: ended,
 * whatever its status). The run is started through the {@link RunLauncher} (so it never runs twice
 * at once, and joins a run already queued) with trigger `after` and the runs it followed.
 */
import type { ChainOn, ScheduleConfig } from '../config/schema.ts';
import type { FollowedRun, RunStatus } from '../state/state-store.ts';
import { asError, type LaunchedRun, type LaunchRequest } from './run-launcher.ts';

/** A sync's run-after rule: the syncs it follows and when their runs count. */
export interface RunAfterRule {
  after: readonly string[];
  on: ChainOn;
}

/** Statuses that count as success for `on: success`: the run finished reading and writing. */
const SUCCESS_STATUSES: readonly RunStatus[] = ['success', 'warning'];

/** The run-after rule of a schedule, `null` for a timetable (interval, cron) or none. `on` defaults to `success`. */
export function runAfterRule(schedule: ScheduleConfig | undefined): RunAfterRule | null {
  if (schedule?.after === undefined) return null;
  return { after: schedule.after, on: schedule.on ?? 'success' };
}

/** What the chains need of the launcher. */
export interface ChainLauncher {
  /** @throws when the run cannot be started or queued (reported through `onError`) */
  trigger(sync: string, request: LaunchRequest): unknown;
  onRun(listener: (run: LaunchedRun) => void): () => void;
}

export interface RunAfterChainsOptions {
  /** The syncs with an `after` schedule, by name. */
  rules: ReadonlyMap<string, RunAfterRule>;
  launcher: ChainLauncher;
  /** A chain that was due but whose run could not be started (the launcher refused it: it is stopping). */
  onError?(sync: string, error: Error): void;
}

/** Fires run-after chains as the runs they follow end; {@link start} it once, {@link stop} it before the launcher. */
export class RunAfterChains {
  /** Per following sync: per followed sync, its latest run that ended since the chain last fired. */
  private readonly ended = new Map<string, Map<string, FollowedRun>>();
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: RunAfterChainsOptions) {}

  /** Watches every run the launcher starts from now on (runs that ended before do not count). */
  start(): void {
    if (this.unsubscribe !== null) return;
    this.unsubscribe = this.options.launcher.onRun((run) => {
      let started = false;
      run.events.on('run:start', () => (started = true));
      void run.done.then((outcome) => {
        // A run that never started is tried again by the launcher: only its real end counts.
        if (!started || this.unsubscribe === null) return;
        const status: RunStatus = 'summary' in outcome ? outcome.summary.status : 'failed';
        this.runEnded({ sync: run.sync, run_id: run.runId, status });
      });
    });
  }

  /** Fires no more chains. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private runEnded(run: FollowedRun): void {
    for (const [sync, rule] of this.options.rules) {
      if (!rule.after.includes(run.sync)) continue;
      const ended = this.ended.get(sync) ?? new Map<string, FollowedRun>();
      this.ended.set(sync, ended);
      ended.set(run.sync, run);
      const followed = rule.after.map((name) => ended.get(name));
      const counts = (r: FollowedRun | undefined) => r !== undefined && (rule.on === 'completion' || SUCCESS_STATUSES.includes(r.status));
      if (!followed.every(counts)) continue;
      ended.clear();
      try {
        this.options.launcher.trigger(sync, { trigger: 'after', triggeredBy: { after: followed as FollowedRun[] } });
      } catch (error) {
        this.options.onError?.(sync, asError(error));
      }
    }
  }
}
