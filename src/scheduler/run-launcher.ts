/**
 * Starts runs in this process, one at a time per sync: a run asked for while the sync runs is
 * queued, once (architecture.md, "One run per sync at a time"). Used by the HTTP API (trigger
 * `api`) and the scheduler (trigger `schedule`).
 */
import type { Project } from '../config/load-project.ts';
import { SyncEvents } from '../engine/events.ts';
import { newRunId, runSync } from '../engine/run-sync.ts';
import type { RunSummary } from '../engine/run-summary.ts';
import type { RunTrigger, StateStore } from '../state/state-store.ts';
import { trackProgress, type RunProgress } from './run-progress.ts';

/** What a run is asked to do besides reading and sending what changed (as `panelsync run`'s flags). */
export interface LaunchRequest {
  trigger: Extract<RunTrigger, 'api' | 'schedule'>;
  /** Send every current row as added; apply no delete behaviour. */
  fullResync?: boolean;
  /** Record every current row as synced without sending anything. */
  resetCdc?: boolean;
}

/** The answer to a trigger: the run started now (`queued: false`) or the follow-up run waiting for the current one. */
export interface LaunchResult {
  runId: string;
  queued: boolean;
}

/** A run this launcher started: listeners get it before the run emits anything. */
export interface LaunchedRun {
  runId: string;
  sync: string;
  trigger: LaunchRequest['trigger'];
  /** The run's events; subscribe synchronously in the listener to see `run:start`. */
  events: SyncEvents;
  /** Settles when the run is over (never rejects). */
  done: Promise<RunOutcome>;
}

/** A follow-up run waiting for the sync's run in progress; it has no run record until it starts. */
export interface QueuedLaunch {
  runId: string;
  sync: string;
  /** The options of the trigger that queued it. */
  request: LaunchRequest;
  /** When that trigger came, ISO 8601. */
  queuedAt: string;
}

/** How a launched run ended: its summary (any status), or the error that kept it from running. */
export type RunOutcome = { summary: RunSummary } | { error: Error };

export const LAUNCH_ERROR_CODES = ['SYNC_UNKNOWN', 'SYNC_ALREADY_RUNNING', 'QUEUED_WITH_OTHER_OPTIONS', 'STOPPING'] as const;
export type LaunchErrorCode = (typeof LAUNCH_ERROR_CODES)[number];

/** A trigger that cannot be honoured: unknown sync, sync locked by another process, launcher stopping. */
export class LaunchError extends Error {
  readonly code: LaunchErrorCode;
  constructor(code: LaunchErrorCode, message: string) {
    super(message);
    this.name = 'LaunchError';
    this.code = code;
  }
}

interface ActiveRun {
  runId: string;
  controller: AbortController;
  done: Promise<unknown>;
  progress(): RunProgress;
}

interface SyncSlot {
  running: ActiveRun | null;
  queued: QueuedLaunch | null;
}

export interface RunLauncherOptions {
  project: Project;
  /** The state store every run uses (shared, so that the lock check and the runs see one database). */
  store: StateStore;
}

/**
 * Launches runs of a project's syncs, never two of one sync at once.
 *
 * Rules: a trigger for an idle sync starts a run at once. A trigger while it runs queues exactly one
 * follow-up run, which starts when the current one ends; further triggers while one is queued
 * return the same queued run (its options are those of the trigger that queued it). A sync whose
 * run lock is held by another process (a `panelsync run` in a shell) cannot start.
 */
export class RunLauncher {
  private readonly slots = new Map<string, SyncSlot>();
  private readonly listeners = new Set<(run: LaunchedRun) => void>();
  private stopping = false;

  constructor(private readonly options: RunLauncherOptions) {}

  /** Calls `listener` for every run started from now on, before it starts; returns the unsubscribe function. */
  onRun(listener: (run: LaunchedRun) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts a run of `sync`, or queues the one follow-up run when it is running. The run record
   * exists (status `running`) when this returns with `queued: false`.
   * @throws LaunchError `SYNC_UNKNOWN` (not in the project file), `SYNC_ALREADY_RUNNING` (another
   *   process holds its lock), `QUEUED_WITH_OTHER_OPTIONS` (a full resync or reset-cdc asked for
   *   while a follow-up run with other options is queued: it would not do what was asked),
   *   `STOPPING` (after {@link stop})
   */
  trigger(sync: string, request: LaunchRequest): LaunchResult {
    if (this.stopping) throw new LaunchError('STOPPING', 'the server is shutting down; trigger the run again once it is back');
    if (!Object.hasOwn(this.options.project.syncs, sync)) {
      const known = Object.keys(this.options.project.syncs).join(', ') || 'none';
      throw new LaunchError('SYNC_UNKNOWN', `unknown sync "${sync}" (known: ${known})`);
    }
    const slot = this.slot(sync);
    if (slot.running) {
      // A plain trigger joins whatever is queued; one asking for an option the queued run lacks is refused.
      if (slot.queued && optionsText(request) !== 'run' && optionsText(slot.queued.request) !== optionsText(request)) {
        throw new LaunchError(
          'QUEUED_WITH_OTHER_OPTIONS',
          `a ${optionsText(slot.queued.request)} of sync "${sync}" is already queued (run ${slot.queued.runId}); ` +
            `trigger the ${optionsText(request)} again once it has started`,
        );
      }
      slot.queued ??= { runId: newRunId(), sync, request, queuedAt: new Date().toISOString() };
      return { runId: slot.queued.runId, queued: true };
    }
    const runId = newRunId();
    const lock = this.options.store.acquireLock(sync, runId);
    if (!lock.ok) {
      throw new LaunchError(
        'SYNC_ALREADY_RUNNING',
        `sync "${sync}" is being run by another process (run ${lock.heldBy}); trigger it again once that run has finished`,
      );
    }
    this.start(sync, runId, request);
    return { runId, queued: false };
  }

  /** The id of the run of `sync` in progress here, if any. */
  runningRun(sync: string): string | null {
    return this.slots.get(sync)?.running?.runId ?? null;
  }

  /** The id of the follow-up run queued for `sync`, if any. */
  queuedRun(sync: string): string | null {
    return this.slots.get(sync)?.queued?.runId ?? null;
  }

  /** The queued follow-up run with id `runId`, if it is still waiting here (once it starts, its run record answers). */
  queuedLaunch(runId: string): QueuedLaunch | null {
    for (const slot of this.slots.values()) if (slot.queued?.runId === runId) return slot.queued;
    return null;
  }

  /** The progress so far of run `runId` while it runs here; `null` for any other run. */
  progress(runId: string): RunProgress | null {
    for (const slot of this.slots.values()) if (slot.running?.runId === runId) return slot.running.progress();
    return null;
  }

  /** True while a run of `sync` is in progress or queued here. */
  busy(sync: string): boolean {
    const slot = this.slots.get(sync);
    return slot !== undefined && (slot.running !== null || slot.queued !== null);
  }

  /**
   * Stops: refuses new triggers, drops queued runs (they never started, so nothing is recorded),
   * aborts running ones through their AbortSignal (batches in flight finish, the run is recorded
   * `interrupted`, the next run resumes) and resolves when they have ended.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const running: Array<Promise<unknown>> = [];
    for (const slot of this.slots.values()) {
      slot.queued = null;
      if (slot.running) {
        slot.running.controller.abort();
        running.push(slot.running.done);
      }
    }
    await Promise.all(running);
  }

  private slot(sync: string): SyncSlot {
    let slot = this.slots.get(sync);
    if (!slot) this.slots.set(sync, (slot = { running: null, queued: null }));
    return slot;
  }

  /** Runs `sync` (its lock already held under `runId`), then the queued follow-up, if any. */
  private start(sync: string, runId: string, request: LaunchRequest): void {
    const { project, store } = this.options;
    const controller = new AbortController();
    const events = new SyncEvents();
    let resolveDone!: (outcome: RunOutcome) => void;
    const done = new Promise<RunOutcome>((resolve) => (resolveDone = resolve));
    const tracker = trackProgress(events);
    this.slot(sync).running = { runId, controller, done, progress: tracker.progress };
    this.announce({ runId, sync, trigger: request.trigger, events, done });
    // runSync records the run synchronously, before its first await: the run exists once this returns.
    runSync({
      project,
      sync,
      trigger: request.trigger,
      fullResync: request.fullResync,
      resetCdc: request.resetCdc,
      events,
      signal: controller.signal,
      store,
      runId,
    })
      .then(
        (summary): RunOutcome => ({ summary }),
        (error: unknown): RunOutcome => {
          // runSync releases the lock itself once it took it; this covers a throw before that.
          store.releaseLock(sync, runId);
          return { error: error instanceof Error ? error : new Error(String(error)) };
        },
      )
      .then((result) => {
        tracker.stop();
        this.slot(sync).running = null;
        this.startQueued(sync);
        resolveDone(result);
      });
  }

  private startQueued(sync: string): void {
    const slot = this.slot(sync);
    const next = slot.queued;
    if (!next || this.stopping) return;
    slot.queued = null;
    const lock = this.options.store.acquireLock(sync, next.runId);
    if (lock.ok) {
      this.start(sync, next.runId, next.request);
      return;
    }
    const error = new LaunchError(
      'SYNC_ALREADY_RUNNING',
      `sync "${sync}" is being run by another process (run ${lock.heldBy}); the queued run ${next.runId} did not start`,
    );
    this.announce({ runId: next.runId, sync, trigger: next.request.trigger, events: new SyncEvents(), done: Promise.resolve({ error }) });
  }

  private announce(run: LaunchedRun): void {
    for (const listener of this.listeners) listener(run);
  }
}

/** What a run with these options is called in messages: `full resync`, `reset-cdc run` or `run`. */
function optionsText(request: LaunchRequest): string {
  return request.fullResync ? 'full resync' : request.resetCdc ? 'reset-cdc run' : 'run';
}
