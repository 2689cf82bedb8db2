/**
 * The alerts side concern: subscribes to a run's {@link SyncEvents}, and when a run ends,
 * evaluates its triggers, moves the stored alert states, and delivers one notice per change of
 * state to each recipient that hears of it (and to a recipient that was not yet told of a state
 * that holds, its earlier delivery having failed included; see ./alert-state-machine.ts). The run
 * never waits for a delivery: `run:end` is handled synchronously (read and save states, hand
 * notices out) and deliveries go on afterwards; a channel counts as told of an alert only once
 * its delivery succeeded.
 */
import type { Project } from '../config/load-project.ts';
import type { SyncEvents } from '../engine/events.ts';
import type { RunSummary } from '../engine/run-summary.ts';
import { redact } from '../http/http-client.ts';
import type { StateStore } from '../state/state-store.ts';
import { alertDispatcher, type AlertLogLevel } from './alert-dispatcher.ts';
import { alertPolicy } from './alert-policy.ts';
import { evaluateModelVolume } from './evaluate-volume.ts';
import { evaluateTriggers, type TriggerResult } from './evaluate-triggers.ts';
import { alertNotice, MAX_NOTICE_ERRORS, type NoticeRowError } from './notice.ts';

export { ALERT_LOG_LEVELS, type AlertLogLevel } from './alert-dispatcher.ts';

export interface WatchRunOptions {
  /** The validated project: its `alerts`, `public_url`, syncs' `alerts` and secrets. */
  project: Project;
  /**
   * Where alert states and deliveries are kept. It must stay open until {@link RunWatcher.settled}
   * resolved: pass the same store to `runSync` (its `store` option), which then leaves it open.
   */
  store: StateStore;
  /** The events of the runs to watch (one run, or every run of a long-lived process). */
  events: SyncEvents;
  /**
   * Receives one line per notice not delivered (`warn`), and per run whose alerts could not be
   * evaluated or delivery whose outcome could not be recorded (`error`); default: stderr.
   */
  log?: (line: string, level: AlertLogLevel) => void;
}

/** What {@link watchRun} returns. */
export interface RunWatcher {
  /**
   * Resolves when every notice handed out so far was delivered or given up (each recorded in the
   * store). With `timeoutMs` or `signal`, deliveries still going on then are abandoned (recorded as
   * failed) and it resolves right after; notices handed out later are abandoned too, so use a
   * limit only when the process is about to exit. Never rejects.
   */
  settled(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
  /** Stops listening to the events; deliveries already handed out go on. */
  stop(): void;
}

/**
 * Watches the runs of `events` and alerts on them (see the module comment).
 *
 * Row errors for the notices' "first errors" come from `row:rejected` and `row:invalid` (at most
 * {@link MAX_NOTICE_ERRORS} of each per run). Notices to one channel are delivered one after the
 * other, in the order the runs ended (across the watchers of one store), so that an alert never
 * overtakes its own recovery; each is sent or skipped when its turn comes, by {@link levelAtTurn}
 * on the channel's told alert then.
 */
export function watchRun(options: WatchRunOptions): RunWatcher {
  const { project, store, events } = options;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const dispatcher = alertDispatcher({ project, store, log });
  const rowErrors = new Map<string, NoticeRowError[]>();
  /** Runs of this watcher that are full resyncs, by id: their end clears `full_resync`. */
  const fullResyncs = new Set<string>();

  const keep = (runId: string, error: NoticeRowError) => {
    const list = rowErrors.get(runId) ?? [];
    if (list.filter((e) => e.result === error.result).length >= MAX_NOTICE_ERRORS) return;
    list.push(error);
    rowErrors.set(runId, list);
  };

  /** A full resync starting: `full_resync` reaches its level, with a notice naming the run. */
  const onStart = (runId: string, sync: string, fullResync: boolean) => {
    if (!fullResync || project.syncs[sync] === undefined) return;
    const rule = alertPolicy(project, sync).fullResync;
    if (rule === null) return;
    fullResyncs.add(runId);
    const result: TriggerResult = {
      trigger: 'full_resync',
      state: rule.level,
      streak: 1,
      reason: 'a full resync started: every row of the model is sent again as added, with no delete behaviour',
    };
    dispatcher.dispatch({
      sync,
      runId,
      results: [result],
      notice: (change, kind, level, at) =>
        alertNotice({ kind, level, sync, trigger: change.trigger, from: change.from, to: change.to, reason: change.result.reason, summary: null, runId, rowErrors: [], publicUrl: project.public_url, secrets: project.secrets, at }),
    });
  };

  const onEnd = (runId: string, sync: string, summary: RunSummary) => {
    const errors = rowErrors.get(runId) ?? [];
    rowErrors.delete(runId);
    const wasFullResync = fullResyncs.delete(runId);
    if (project.syncs[sync] === undefined) return;
    let results: TriggerResult[];
    try {
      const policy = alertPolicy(project, sync);
      const previous = store.alertStates(sync);
      const streak = (trigger: string) => previous.find((p) => p.trigger === trigger)?.streak ?? 0;
      const volumes = policy.emptyModel === null && policy.volumeChange === null ? [] : store.modelVolumes(sync, Math.max(policy.volumeChange?.runs ?? 1, 1), runId);
      results = [...evaluateTriggers(summary, policy, streak), ...evaluateModelVolume(summary, policy, volumes, streak)];
      const resyncRaised = previous.some((p) => p.trigger === 'full_resync' && p.state !== 'ok');
      if (wasFullResync || resyncRaised) {
        results.push({ trigger: 'full_resync', state: 'ok', streak: 0, reason: `the full resync ended (${summary.status})` });
      }
    } catch (error) {
      log(`panelsync: alerts for run ${runId} of sync "${sync}" could not be evaluated: ${redact(error instanceof Error ? error.message : String(error), project.secrets)}`, 'error');
      return;
    }
    dispatcher.dispatch({
      sync,
      runId,
      results,
      notice: (change, kind, level, at) =>
        alertNotice({
          kind,
          level,
          sync,
          trigger: change.trigger,
          from: change.from,
          to: change.to,
          reason: change.result.reason,
          summary,
          rowErrors: errors,
          publicUrl: project.public_url,
          secrets: project.secrets,
          at,
        }),
    });
  };

  const unsubscribe = [
    events.on('run:start', (e) => onStart(e.runId, e.sync, e.options.full_resync)),
    events.on('row:rejected', (e) => keep(e.runId, { pk: e.pk, result: 'rejected', error: e.error })),
    events.on('row:invalid', (e) => keep(e.runId, { pk: e.pk, result: 'invalid', error: e.reason })),
    events.on('run:end', (e) => onEnd(e.runId, e.sync, e.summary)),
  ];

  return {
    settled: (settleOptions) => dispatcher.settled(settleOptions),
    stop() {
      for (const off of unsubscribe) off();
    },
  };
}
