/**
 * Starts runs in this process, one at a time per sync: a run asked for while the sync runs is
 * queued, once (architecture.md, "One run per sync at a time"). Used by the HTTP API (trigger
 * `api`) and the scheduler (trigger `schedule`). A run that cannot start for a reason that passes
 * (a busy or failing state database, a run lock held elsewhere) waits, queued, and is tried again.
 */
import type { Project } from '../config/load-project.ts';
import { SyncEvents } from '../engine/events.ts';
import { newRunId, runSync } from '../engine/run-sync.ts';
import type { RunSummary } from '../engine/run-summary.ts';
import { describeLock, type LockAttempt, type RunLock, type RunTrigger, type StateStore, type TriggeredBy } from '../state/state-store.ts';
import { retryDelayMs, retrySeconds } from './retry-backoff.ts';
import { trackProgress, type RunProgress } from './run-progress.ts';

/** What a run is asked to do besides reading and sending what changed (as `panelsync run`'s flags). */
export interface LaunchRequest {
  trigger: Exclude<RunTrigger, 'manual'>;
  /** What started a run of trigger `after` or `hook` (recorded on the run; a run that joins a queued one keeps the queued run's). */
  triggeredBy?: TriggeredBy;
  /** Send every current row as added; apply no delete behaviour. */
  fullResync?: boolean;
  /** Record every current row as synced without sending anything. */
  resetCdc?: boolean;
}

/**
 * The answer to a trigger: the run started now (`queued: false`), or the run waiting: the follow-up
 * of the current one, or a run that could not start yet and is tried again.
 */
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
  /**
   * Settles when the run is over and its lock released (never rejects): after the retries of a
   * release a busy state database refused, or at once on {@link RunLauncher.stop}.
   */
  done: Promise<RunOutcome>;
}

/**
 * A run waiting for the sync's run in progress, or to be tried again after it could not start; it
 * has no run record until it starts.
 */
export interface QueuedLaunch {
  runId: string;
  sync: string;
  /** The options of the trigger that queued it. */
  request: LaunchRequest;
  /** When that trigger came, ISO 8601. */
  queuedAt: string;
}

/**
 * How a launched run ended: its summary (any status), or the error that kept it from starting (it
 * is tried again) or from ending as it should (a state database error; the launcher records the
 * run `failed` if its end was not recorded).
 */
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
  done: Promise<RunOutcome>;
  progress(): RunProgress;
  /**
   * Set while the run has ended but its lock release (and the record of its end) waits for a busy
   * or failing state database: ends that waiting at once and settles `done` ({@link RunLauncher.stop}).
   */
  abandon: (() => void) | null;
}

interface SyncSlot {
  running: ActiveRun | null;
  queued: QueuedLaunch | null;
  /** Attempts in a row at starting the sync's next run that failed; 0 starts `queued` as soon as the sync is free. */
  failures: number;
  /** Cancels the timer of the next attempt at starting `queued`, while one is set. */
  cancelRetry: (() => void) | null;
}

/** Why a run did not start now; `holder`: the run lock of another process that kept it from starting. */
interface StartFailure {
  problem: string;
  holder?: RunLock;
}

/** How much a line the launcher logs matters: `warn` something is tried again, `error` something failed for good (a bug). */
export type LaunchLogLevel = 'warn' | 'error';

export interface RunLauncherOptions {
  project: Project;
  /** The state store every run uses (shared, so that the lock check and the runs see one database). */
  store: StateStore;
  /** Receives a line for each failure the launcher handles itself (a run retried, a lock release retried). */
  log?: (line: string, level: LaunchLogLevel) => void;
}

/**
 * Launches runs of a project's syncs, never two of one sync at once.
 *
 * Rules: a trigger for an idle sync starts a run at once. A trigger while it runs queues exactly one
 * follow-up run, which starts when the current one ends; further triggers while one is queued
 * return the same queued run (its options are those of the trigger that queued it). A sync whose
 * run lock is held by another process (a `panelsync run` in a shell) cannot start by API trigger.
 *
 * A run that cannot start now stays queued and is tried again with a backoff (1 s doubling up to
 * 30 s, see retry-backoff.ts) until it starts: a queued follow-up, a scheduled run
 * that meets the lock of another process, and any run that meets a state database busy for longer
 * than its busy_timeout (or failing). Triggers meanwhile join it. A run that ended without
 * releasing its lock or recording its end (the database failed then) has both retried, and its
 * sync stays busy until they are done.
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
   * Starts a run of `sync`, or queues it: behind the run in progress, or (`queued: true` too) to
   * be tried again when it cannot start now (a busy state database; for a scheduled run, the lock
   * of another process). The run record exists (status `running`) when this returns with
   * `queued: false`.
   * @throws LaunchError `SYNC_UNKNOWN` (not in the project file), `SYNC_ALREADY_RUNNING` (an API
   *   trigger while another process holds its lock), `QUEUED_WITH_OTHER_OPTIONS` (a full resync or
   *   reset-cdc asked for while a follow-up run with other options is queued: it would not do what
   *   was asked), `STOPPING` (after {@link stop})
   */
  trigger(sync: string, request: LaunchRequest): LaunchResult {
    if (this.stopping) throw new LaunchError('STOPPING', 'the server is shutting down; trigger the run again once it is back');
    if (!Object.hasOwn(this.options.project.syncs, sync)) {
      const known = Object.keys(this.options.project.syncs).join(', ') || 'none';
      throw new LaunchError('SYNC_UNKNOWN', `unknown sync "${sync}" (known: ${known})`);
    }
    const slot = this.slot(sync);
    if (slot.running || slot.queued) {
      // A plain trigger joins whatever is queued; one asking for an option the queued run lacks is refused.
      if (slot.queued && optionsText(request) !== 'run' && optionsText(slot.queued.request) !== optionsText(request)) {
        throw new LaunchError(
          'QUEUED_WITH_OTHER_OPTIONS',
          `a ${optionsText(slot.queued.request)} of sync "${sync}" is already queued (run ${slot.queued.runId}); ` +
            `trigger the ${optionsText(request)} again once it has started`,
        );
      }
      slot.queued ??= newLaunch(sync, request);
      return { runId: slot.queued.runId, queued: true };
    }
    const launch = newLaunch(sync, request);
    const failure = this.tryStart(launch);
    if (failure === null) return { runId: launch.runId, queued: false };
    if (failure.holder && request.trigger === 'api') {
      throw new LaunchError(
        'SYNC_ALREADY_RUNNING',
        `sync "${sync}" is being run by another process (run ${failure.holder.runId}); trigger it again once that run has finished`,
      );
    }
    this.retryLater(launch, failure.problem);
    return { runId: launch.runId, queued: true };
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
   * Stops: refuses new triggers, drops queued runs (they never started, so nothing is recorded)
   * and their retries, aborts running ones through their AbortSignal (batches in flight finish,
   * the run is recorded `interrupted`, the next run resumes) and resolves when they have ended. A
   * lock release still being retried is given up at once: the lock frees itself (its process is
   * gone, or its lease runs out), and the next server marks a run left `running` as interrupted.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const running: Array<Promise<unknown>> = [];
    for (const slot of this.slots.values()) {
      slot.queued = null;
      slot.cancelRetry?.();
      slot.cancelRetry = null;
      const active = slot.running;
      if (active) {
        active.controller.abort();
        running.push(active.done);
        active.abandon?.(); // ends the run's slot at once (settles `done`)
      }
    }
    await Promise.all(running);
  }

  private slot(sync: string): SyncSlot {
    let slot = this.slots.get(sync);
    if (!slot) this.slots.set(sync, (slot = { running: null, queued: null, failures: 0, cancelRetry: null }));
    return slot;
  }

  /**
   * Takes the sync's lock for `launch` and starts it; `null` when its run is recorded. Never
   * throws: a state database error is a failure like a lock held by another process.
   */
  private tryStart(launch: QueuedLaunch): StartFailure | null {
    let lock: LockAttempt;
    try {
      lock = this.options.store.acquireLock(launch.sync, launch.runId);
    } catch (error) {
      return { problem: `its run lock could not be taken: ${asError(error).message}` };
    }
    if (!lock.ok) return { problem: `another process holds its run lock: ${describeLock(lock.holder)}`, holder: lock.holder };
    if (!this.start(launch)) return { problem: 'the state database did not record it (see the error of the run)' };
    this.slot(launch.sync).failures = 0;
    return null;
  }

  /** Queues `launch` (not started for `problem`) to be tried again after the backoff. */
  private retryLater(launch: QueuedLaunch, problem: string): void {
    const slot = this.slot(launch.sync);
    // Nothing can be queued here: `launch` was the queued run, or the sync was idle.
    slot.queued = launch;
    slot.failures++;
    this.log(
      `run ${launch.runId} of ${launch.sync} could not start: ${problem}; trying again in ${retrySeconds(retryDelayMs(slot.failures))} s`,
      'warn',
    );
    this.startQueued(launch.sync);
  }

  /** Starts the sync's queued run once the sync is free: at once, or after the backoff when attempts failed. */
  private startQueued(sync: string): void {
    const slot = this.slot(sync);
    if (this.stopping || slot.running || !slot.queued || slot.cancelRetry) return;
    if (slot.failures === 0) {
      this.attemptQueued(sync);
      return;
    }
    slot.cancelRetry = this.later(retryDelayMs(slot.failures), () => {
      slot.cancelRetry = null;
      this.attemptQueued(sync);
    });
  }

  private attemptQueued(sync: string): void {
    const slot = this.slot(sync);
    const launch = slot.queued;
    if (this.stopping || slot.running || !launch) return;
    slot.queued = null;
    const failure = this.tryStart(launch);
    if (failure !== null) this.retryLater(launch, failure.problem);
  }

  /**
   * Runs `launch` (its lock already held), then the queued follow-up, if any.
   * @returns whether its run is recorded: false when the state database failed before that (the
   *   run then ends with that error, and its lock is released)
   */
  private start(launch: QueuedLaunch): boolean {
    const { sync, runId, request } = launch;
    const { project, store } = this.options;
    const controller = new AbortController();
    const events = new SyncEvents();
    let resolveDone!: (outcome: RunOutcome) => void;
    const done = new Promise<RunOutcome>((resolve) => (resolveDone = resolve));
    const tracker = trackProgress(events);
    let recorded = false;
    let ended = false;
    events.on('run:start', () => (recorded = true));
    events.on('run:end', () => (ended = true));
    const active: ActiveRun = { runId, controller, done, progress: tracker.progress, abandon: null };
    this.slot(sync).running = active;
    this.announce({ runId, sync, trigger: request.trigger, events, done });
    const end = (outcome: RunOutcome) => {
      tracker.stop();
      this.slot(sync).running = null;
      this.startQueued(sync);
      resolveDone(outcome);
    };
    // runSync records the run synchronously, before its first await: the run exists once this returns.
    runSync({
      project,
      sync,
      trigger: request.trigger,
      triggeredBy: request.triggeredBy,
      fullResync: request.fullResync,
      resetCdc: request.resetCdc,
      events,
      signal: controller.signal,
      store,
      runId,
    })
      .then(
        (summary) => end({ summary }),
        (error: unknown) => {
          const outcome: RunOutcome = { error: asError(error) };
          // runSync records the run's end and releases the lock itself; a state database that
          // failed on either (or before runSync took the lock) leaves them to do here.
          this.settle(active, sync, () => {
            if (recorded && !ended) recordFailed(store, runId, outcome.error);
            store.releaseLock(sync, runId);
          }, () => end(outcome));
        },
      )
      .catch((error: unknown) => this.log(`the launcher failed after run ${runId} of ${sync} ended: ${asError(error).stack ?? String(error)}`, 'error'));
    return recorded;
  }

  /**
   * Calls `cleanUp` until it does not throw (at once, then after each backoff delay), then
   * `end`. Once stopping, nothing more is tried: `end` is called at once.
   */
  private settle(active: ActiveRun, sync: string, cleanUp: () => void, end: () => void): void {
    let failures = 0;
    const attempt = () => {
      active.abandon = null;
      if (this.stopping) return end();
      try {
        cleanUp();
      } catch (error) {
        const delay = retryDelayMs(++failures);
        this.log(
          `run ${active.runId} of ${sync} ended, but its end could not be recorded or its run lock released: ${asError(error).message}; ` +
            `trying again in ${retrySeconds(delay)} s (the sync waits until then)`,
          'warn',
        );
        const cancel = this.later(delay, attempt);
        active.abandon = () => {
          cancel();
          end();
        };
        return;
      }
      end();
    };
    attempt();
  }

  /** Calls `callback` after `ms` (a timer that does not keep the process alive); returns the function that cancels it. */
  private later(ms: number, callback: () => void): () => void {
    const timer = setTimeout(() => {
      try {
        callback();
      } catch (error) {
        this.log(`a retry of the run launcher failed: ${asError(error).stack ?? String(error)}`, 'error');
      }
    }, ms);
    timer.unref();
    return () => clearTimeout(timer);
  }

  private announce(run: LaunchedRun): void {
    for (const listener of this.listeners) {
      try {
        listener(run);
      } catch (error) {
        // A listener (metrics, logs, alerts) must not keep the run from starting or the lock from being released.
        this.log(`a listener of run ${run.runId} of ${run.sync} failed: ${asError(error).stack ?? String(error)}`, 'error');
      }
    }
  }

  private log(line: string, level: LaunchLogLevel): void {
    this.options.log?.(line, level);
  }
}

/** `error` as an Error (a thrown non-Error becomes its text). */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** A launch of `sync` asked for now, with a new run id. */
function newLaunch(sync: string, request: LaunchRequest): QueuedLaunch {
  return { runId: newRunId(), sync, request, queuedAt: new Date().toISOString() };
}

/**
 * Records run `runId` `failed` with `error` if it is still `running` (its end was not recorded).
 * @throws the state database's error
 */
function recordFailed(store: StateStore, runId: string, error: Error): void {
  if (store.getRun(runId)?.status !== 'running') return;
  store.finishRun(runId, {
    status: 'failed',
    finishedAt: new Date().toISOString(),
    summary: null,
    error: `the run stopped on an error of the state database (${error.message}); the next run resumes from what was recorded`,
  });
}

/** What a run with these options is called in messages: `full resync`, `reset-cdc run` or `run`. */
function optionsText(request: LaunchRequest): string {
  return request.fullResync ? 'full resync' : request.resetCdc ? 'reset-cdc run' : 'run';
}
