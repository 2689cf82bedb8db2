/**
 * The API's views of a run (docs/http-api.md): the stored run (RunListItem / RunDetail of
 * src/state/run-history.ts) plus what only this server's memory holds — the live `progress` of a
 * run in progress here, and the follow-up runs queued here, which have no record until they start.
 */
import type { QueuedLaunch } from '../scheduler/run-launcher.ts';
import type { RunProgress } from '../scheduler/run-progress.ts';
import type { RunListItem } from '../state/run-history.ts';
import type { RunOptions, TriggeredBy } from '../state/state-store.ts';

/**
 * A stored run as the API returns it: the run as stored, plus `progress`: the counts so far while
 * the run is in progress in this server (`status: "running"`; see RunProgress), else `null` (the
 * run has ended and its `summary` holds the counts, or it runs in another process).
 */
export type RunView<T extends RunListItem = RunListItem> = T & { progress: RunProgress | null };

/**
 * A run queued behind the sync's run in progress (a trigger while it runs): it has an id but no
 * record, calls or rows until it starts. `GET /api/v1/runs/{id}` answers this for it; once it
 * starts, the same id answers the stored run with `status: "running"`. Times ISO 8601.
 */
export interface QueuedRunView {
  run_id: string;
  sync: string;
  trigger: QueuedLaunch['request']['trigger'];
  status: 'queued';
  /** When the trigger that queued it came. */
  queued_at: string;
  /** The options it will run with (those of the trigger that queued it). */
  options: RunOptions;
  /** What started it, for trigger `after` or `hook` (see TriggeredBy); `null` for the other triggers. */
  triggered_by: TriggeredBy | null;
}

/** What the views read from the server's memory. */
export interface RunRuntime {
  /** The progress so far of a run in progress in this server; `null` for any other run. */
  progress(runId: string): RunProgress | null;
}

/** `run` with its `progress` (only while it is `running`). */
export function runView<T extends RunListItem>(runtime: RunRuntime, run: T): RunView<T> {
  return { ...run, progress: run.status === 'running' ? runtime.progress(run.run_id) : null };
}

/** A queued launch as the API shows it. */
export function queuedRunView(queued: QueuedLaunch): QueuedRunView {
  return {
    run_id: queued.runId,
    sync: queued.sync,
    trigger: queued.request.trigger,
    status: 'queued',
    queued_at: queued.queuedAt,
    options: { full_resync: queued.request.fullResync ?? false, reset_cdc: queued.request.resetCdc ?? false },
    triggered_by: queued.request.triggeredBy ?? null,
  };
}
