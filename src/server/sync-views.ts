/**
 * The API's views of a sync (`GET /api/v1/syncs`, `GET /api/v1/syncs/{name}`): its project-file
 * settings, schedule, what runs now and its recent runs, JSON-ready with snake_case keys
 * (see docs/http-api.md).
 */
import type { Project } from '../config/load-project.ts';
import type { ChainOn, DeleteBehavior, MappingConfig, SyncMode } from '../config/schema.ts';
import type { FailingRows, RunHistory, RunListItem } from '../state/run-history.ts';
import type { RunStatus } from '../state/state-store.ts';
import { runView, type RunRuntime, type RunView } from './run-views.ts';

/** A sync's health: its last completed run's status, or `never_run`. */
export const SYNC_HEALTHS = ['ok', 'warning', 'failed', 'never_run'] as const;
export type SyncHealth = (typeof SYNC_HEALTHS)[number];

/** Runs listed in `recent_runs`, newest first. */
export const RECENT_RUNS = 20;

/** A sync as listed. Times are ISO 8601. */
export interface SyncListItem {
  name: string;
  model: string;
  destination: string;
  mode: SyncMode;
  delete_behavior: DeleteBehavior;
  /** As written in the project file (`on` with its default); `null`: runs only when triggered. */
  schedule: { interval: string } | { cron: string } | { after: string[]; on: ChainOn } | null;
  /** When the scheduler runs it next (in the past while it waits for a run in progress); `null` without a timetable (none, or `after`). */
  next_run_at: string | null;
  /** The run in progress in this server, if any, with its live `progress`. */
  running: RunView | null;
  /** A follow-up run is queued behind the running one. */
  queued: boolean;
  /** The newest run that has ended, if any. */
  last_run: RunView | null;
  /** From `last_run`: success -> ok, warning -> warning, failed or interrupted -> failed; none -> never_run. */
  health: SyncHealth;
  /** At most {@link RECENT_RUNS} runs, newest first (running ones included, with their `progress`). */
  recent_runs: RunView[];
}

/** A sync with its configuration and its currently failing rows. */
export interface SyncDetail extends SyncListItem {
  config: {
    model: string;
    destination: string;
    mode: SyncMode;
    match: string;
    delete_behavior: DeleteBehavior;
    split_retries: boolean;
    max_delete_share: number;
    mappings: MappingConfig[];
  };
  failing_rows: FailingRows;
}

/** What the views read besides the project and the run history. */
export interface SyncRuntime extends RunRuntime {
  /** The id of the run of `sync` in progress in this server, if any. */
  runningRun(sync: string): string | null;
  /** The id of the run queued behind it, if any. */
  queuedRun(sync: string): string | null;
  /** When the scheduler runs `sync` next; `null` without a schedule. */
  nextRunAt(sync: string): Date | null;
}

const HEALTH_BY_STATUS: Record<Exclude<RunStatus, 'running'>, SyncHealth> = {
  success: 'ok',
  warning: 'warning',
  failed: 'failed',
  interrupted: 'failed',
};

/** `sync` (a key of `project.syncs`) as listed. */
export function syncListItem(project: Project, history: RunHistory, runtime: SyncRuntime, sync: string): SyncListItem {
  const config = project.syncs[sync]!;
  const recent = history.listRuns({ sync, limit: RECENT_RUNS }).map((run) => runView(runtime, run));
  const runningId = runtime.runningRun(sync);
  const runningItem = runningId === null ? null : (recent.find((r) => r.run_id === runningId) ?? listItem(history, runningId));
  const running = runningItem === null ? null : runView(runtime, runningItem);
  const lastRun = recent.find((r) => r.status !== 'running') ?? null;
  const nextRunAt = runtime.nextRunAt(sync);
  return {
    name: sync,
    model: config.model,
    destination: config.destination,
    mode: config.mode,
    delete_behavior: config.delete_behavior,
    schedule: scheduleOf(config.schedule),
    next_run_at: nextRunAt === null ? null : nextRunAt.toISOString(),
    running,
    queued: runtime.queuedRun(sync) !== null,
    last_run: lastRun,
    health: lastRun === null || lastRun.status === 'running' ? 'never_run' : HEALTH_BY_STATUS[lastRun.status],
    recent_runs: recent,
  };
}

/** `sync` (a key of `project.syncs`) with its configuration and failing rows. */
export function syncDetail(project: Project, history: RunHistory, runtime: SyncRuntime, sync: string): SyncDetail {
  const config = project.syncs[sync]!;
  return {
    ...syncListItem(project, history, runtime, sync),
    config: {
      model: config.model,
      destination: config.destination,
      mode: config.mode,
      match: config.match,
      delete_behavior: config.delete_behavior,
      split_retries: config.split_retries,
      max_delete_share: config.max_delete_share,
      mappings: config.mappings,
    },
    failing_rows: history.failingRows(sync),
  };
}

function scheduleOf(schedule: Project['syncs'][string]['schedule']): SyncListItem['schedule'] {
  if (schedule?.interval !== undefined) return { interval: schedule.interval };
  if (schedule?.cron !== undefined) return { cron: schedule.cron };
  if (schedule?.after !== undefined) return { after: schedule.after, on: schedule.on ?? 'success' };
  return null;
}

function listItem(history: RunHistory, runId: string): RunListItem | null {
  const detail = history.getRun(runId);
  if (detail === null) return null;
  const { calls: _calls, outcomes: _outcomes, ...item } = detail;
  return item;
}
