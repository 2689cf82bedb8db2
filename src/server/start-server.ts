/**
 * `panelsync serve` as a library: opens the state database, starts the run launcher, the
 * scheduler and the HTTP server, and stops them in order.
 */
import type { Project } from '../config/load-project.ts';
import { classTotal } from '../engine/run-summary.ts';
import { newRunId } from '../engine/run-sync.ts';
import { AlertChannelUnknownError, sendTestNotice, syncAlertStatus, watchRun, watchSchedules, type AlertLogLevel, type RunWatcher } from '../alerts/index.ts';
import { redact } from '../http/http-client.ts';
import { listen, type ListeningServer } from '../http/listen.ts';
import { retrySeconds } from '../scheduler/retry-backoff.ts';
import { asError, RunLauncher, type LaunchedRun } from '../scheduler/run-launcher.ts';
import { Scheduler, SYSTEM_CLOCK, type SchedulerClock } from '../scheduler/scheduler.ts';
import { parseSchedule, type SyncSchedule } from '../scheduler/sync-schedule.ts';
import { RunLogWriter } from '../run-log/run-log-writer.ts';
import { RunAfterChains, runAfterRule, type RunAfterRule } from '../scheduler/run-after.ts';
import { SqliteAuditLog } from '../state/sqlite-audit-log.ts';
import { SqliteRunHistory } from '../state/sqlite-run-history.ts';
import { SqliteStateStore } from '../state/sqlite-state-store.ts';
import { createApp } from './create-app.ts';
import { ServerMetrics } from './server-metrics.ts';

/** Where `panelsync serve` listens when neither the flags nor `server.port` / `server.host` say. */
export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';

/** How long stopping waits for alert notices still being delivered, ms. */
export const ALERT_SETTLE_TIMEOUT_MS = 10_000;

export interface StartServerOptions {
  /** A validated project with `server.api_token` set. */
  project: Project;
  /** TCP port; 0 picks a free one. Default `server.port`, else {@link DEFAULT_PORT}. */
  port?: number;
  /** Interface to listen on. Default `server.host`, else {@link DEFAULT_HOST}. */
  host?: string;
  /** The scheduler's clock (tests); default the system clock. */
  clock?: SchedulerClock;
  /**
   * Receives one line per event worth logging (run started/ended, errors), secrets redacted;
   * `level` is set for a line that reports a problem (`warn`: something is tried again, e.g. a run
   * that could not start or a notice not delivered; `error`: something failed or was lost, e.g.
   * alerts not evaluated, an internal error answering a request), else absent (information).
   */
  log?: (line: string, level?: AlertLogLevel) => void;
}

/** A running server. */
export interface RunningServer {
  /** `http://HOST:PORT` with the port actually bound. */
  url: string;
  /**
   * Stops: the scheduler and the run-after chains fire no more runs, running runs are aborted (batches in flight finish,
   * the run is recorded `interrupted` and the next run resumes it), alert notices still being
   * delivered get up to {@link ALERT_SETTLE_TIMEOUT_MS}, run logs (`log_to`) being written are
   * finished, then the HTTP server closes and the state database with it. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Starts the server. Runs left `running` by a process that died are marked `interrupted` first;
 * overdue scheduled syncs start once it listens, and run-after chains (../scheduler/run-after.ts)
 * follow the runs it starts.
 * @throws Error when `server.api_token` is missing; the listen error (`EADDRINUSE`, `EACCES`…)
 *   when the port cannot be bound (nothing is left open then)
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { project } = options;
  const log = (line: string, level?: AlertLogLevel) => options.log?.(redact(line, project.secrets), level);
  const port = options.port ?? project.server?.port ?? DEFAULT_PORT;
  const host = options.host ?? project.server?.host ?? DEFAULT_HOST;

  const store = new SqliteStateStore(project.statePath);
  const history = new SqliteRunHistory(store.db);
  interruptDeadRuns(store, Object.keys(project.syncs), log);
  const launcher = new RunLauncher({ project, store, log });
  // A request never waits for a busy state database to record its action: the entry waits instead.
  const audit = new SqliteAuditLog(store.db, {
    secrets: project.secrets,
    deferWhenBusy: true,
    onError: (error) => log(`an audit log entry could not be recorded: ${asError(error).message}`, 'error'),
  });
  const metrics = new ServerMetrics(Object.keys(project.syncs));
  launcher.onRun((run) => metrics.observe(run));
  launcher.onRun((run) => logRun(run, log));
  const watchers = new Set<RunWatcher>();
  launcher.onRun((run) => {
    const watcher = watchRun({ project, store, events: run.events, log });
    watchers.add(watcher);
    void run.done
      .then(() => watcher.settled())
      .then(() => {
        watcher.stop();
        watchers.delete(watcher);
      });
  });

  const runLog = new RunLogWriter({ project, history, warn: (line) => log(line, 'warn') });
  launcher.onRun((run) => {
    const stop = runLog.watch(run.events);
    void run.done.then(stop);
  });

  const schedules = new Map<string, SyncSchedule>();
  const chainRules = new Map<string, RunAfterRule>();
  for (const [name, sync] of Object.entries(project.syncs)) {
    const rule = runAfterRule(sync.schedule);
    if (rule !== null) chainRules.set(name, rule);
    else if (sync.schedule) schedules.set(name, parseSchedule(sync.schedule));
  }
  const chains = new RunAfterChains({
    rules: chainRules,
    launcher,
    onError: (sync, error) => log(`run-after chain of ${sync} could not start its run: ${error.message}`, 'warn'),
  });
  const scheduler = new Scheduler({
    schedules,
    launcher,
    clock: options.clock,
    lastStartedAt: (sync) => {
      const last = history.listRuns({ sync, limit: 1 })[0];
      return last ? new Date(last.started_at) : null;
    },
    onError: (sync, error, retryInMs) =>
      log(`scheduled run of ${sync} could not be fired: ${error.message}; trying again in ${retrySeconds(retryInMs)} s`, 'warn'),
  });

  let server: ListeningServer;
  try {
    const app = createApp({
      project,
      history,
      launcher,
      nextRunAt: (sync) => scheduler.nextRunAt(sync),
      alertStatus: (sync) => syncAlertStatus(project, store, sync),
      audit,
      testAlert: async (channel) => {
        try {
          return await sendTestNotice(project, channel);
        } catch (error) {
          if (error instanceof AlertChannelUnknownError) return null;
          throw error;
        }
      },
      metrics,
      onInternalError: (error) => {
        const { stack, message } = asError(error);
        log(`internal error answering a request: ${stack ?? message}`, 'error');
      },
    });
    server = await listen(app.fetch, port, host);
  } catch (error) {
    store.close();
    throw error;
  }
  chains.start();
  // Before the scheduler fires the overdue syncs: a schedule missed while the server was down is told.
  const missed = watchSchedules({
    project,
    store,
    schedules,
    clock: options.clock ?? SYSTEM_CLOCK,
    lastRun: (sync) => {
      const last = history.listRuns({ sync, limit: 1 })[0];
      return last ? { runId: last.run_id, startedAt: new Date(last.started_at) } : null;
    },
    running: (sync) => launcher.runningRun(sync) !== null,
    log,
  });
  launcher.onRun((run) => run.events.on('run:start', () => missed.check()));
  scheduler.start();

  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    close: () =>
      (closing ??= (async () => {
        scheduler.stop();
        chains.stop();
        missed.stop();
        await launcher.stop();
        await Promise.all([...watchers, missed].map((watcher) => watcher.settled({ timeoutMs: ALERT_SETTLE_TIMEOUT_MS })));
        await runLog.settled();
        await server.close();
        audit.flush();
        store.close();
      })()),
  };
}

/**
 * Marks `running` runs of `syncs` as `interrupted` when no live process holds the sync's lock
 * (their process died), so that the API does not show them as running. A state database that
 * fails meanwhile (busy for longer than busy_timeout) is logged and skips the sync: the sync's
 * next run marks them (see runSync). The probe's lock, if left, frees itself with the lease.
 */
function interruptDeadRuns(store: SqliteStateStore, syncs: readonly string[], log: (line: string, level: AlertLogLevel) => void): void {
  for (const sync of syncs) {
    const probe = newRunId();
    try {
      if (!store.acquireLock(sync, probe).ok) continue;
      try {
        store.interruptStaleRuns(sync);
      } finally {
        store.releaseLock(sync, probe);
      }
    } catch (error) {
      log(`could not mark runs of ${sync} left running by a stopped process as interrupted: ${asError(error).message}; its next run will`, 'warn');
    }
  }
}

function logRun(run: LaunchedRun, log: (line: string, level?: AlertLogLevel) => void): void {
  let started = false;
  run.events.on('run:start', () => {
    started = true;
    log(`run ${run.runId} of ${run.sync} started (${run.trigger})`);
  });
  run.events.on('run:warning', ({ message }) => log(`run ${run.runId} of ${run.sync}: ${message}`, 'warn'));
  void run.done.then((outcome) => {
    if ('error' in outcome) {
      // One that did not start is tried again (the launcher logs when).
      log(`run ${run.runId} of ${run.sync} ${started ? 'failed' : 'did not start'}: ${outcome.error.message}`, started ? 'error' : 'warn');
      return;
    }
    const s = outcome.summary;
    log(
      `run ${run.runId} of ${run.sync} ended ${s.status} in ${(s.duration_ms / 1000).toFixed(1)} s: ` +
        `${classTotal(s.succeeded)} rows succeeded, ${classTotal(s.rejected)} rejected, ${s.rows.invalid} invalid, ${classTotal(s.unsent)} unsent` +
        (s.error ? ` (${s.error})` : ''),
    );
  });
}
