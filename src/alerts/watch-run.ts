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
import { ALERT_DELIVERY_DEFAULTS, type AlertLevel } from '../config/schema.ts';
import type { SyncEvents } from '../engine/events.ts';
import type { RunSummary } from '../engine/run-summary.ts';
import { redact } from '../http/http-client.ts';
import type { StateStore } from '../state/state-store.ts';
import { alertPolicy, type AlertTrigger } from './alert-policy.ts';
import { alertStateMachine, levelAtTurn, type AlertChange } from './alert-state-machine.ts';
import { createChannel } from './channels/create-channel.ts';
import { deliverNotice } from './deliver-notice.ts';
import { evaluateTriggers } from './evaluate-triggers.ts';
import { alertNotice, MAX_NOTICE_ERRORS, TRIGGER_LABELS, type Notice, type NoticeRowError } from './notice.ts';

/** How much a line alerts log matters: `warn` a notice not delivered, `error` alerts not evaluated or not recorded. */
export const ALERT_LOG_LEVELS = ['warn', 'error'] as const;
export type AlertLogLevel = (typeof ALERT_LOG_LEVELS)[number];

/** A notice handed out whose delivery is not over, the last of `pending` ones for its sync, trigger and channel. */
interface InFlightNotice {
  sync: string;
  trigger: AlertTrigger;
  channel: string;
  kind: 'alert' | 'recovery';
  level: AlertLevel;
  pending: number;
}

/**
 * What the watchers of one state store share (a server watches each run apart): per channel, the
 * last delivery handed out, so that deliveries to a channel go one at a time in the order handed
 * out whichever run handed them out; per sync, trigger and channel, the notices not delivered yet
 * (the state machine's `inFlight`).
 */
const storeDeliveries = new WeakMap<StateStore, { tails: Map<string, Promise<void>>; inFlight: Map<string, InFlightNotice> }>();

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
  const abandon = new AbortController();
  const rowErrors = new Map<string, NoticeRowError[]>();
  const shared = storeDeliveries.get(store) ?? { tails: new Map<string, Promise<void>>(), inFlight: new Map<string, InFlightNotice>() };
  storeDeliveries.set(store, shared);
  const { tails, inFlight } = shared;
  const pending = new Set<Promise<void>>();

  const keep = (runId: string, error: NoticeRowError) => {
    const list = rowErrors.get(runId) ?? [];
    if (list.filter((e) => e.result === error.result).length >= MAX_NOTICE_ERRORS) return;
    list.push(error);
    rowErrors.set(runId, list);
  };

  /** Hands out `send` of a change of `trigger`; `noticeAt` makes its notice at the level sent. */
  const deliver = (sync: string, trigger: AlertTrigger, send: AlertChange['sends'][number], noticeAt: (level: AlertLevel) => Notice) => {
    const channelName = send.channel;
    const key = JSON.stringify([sync, trigger, channelName]);
    inFlight.set(key, { sync, trigger, ...send, pending: (inFlight.get(key)?.pending ?? 0) + 1 });
    const run = async () => {
      try {
        const told = store
          .alertStates(sync)
          .find((s) => s.trigger === trigger)
          ?.notifiedChannels.find((n) => n.channel === channelName);
        const level = levelAtTurn(send, told);
        if (level === null) return;
        // Left out of this run for an unset variable (see config/project-use.ts): what it was told stands.
        if (project.skippedAlertChannels?.some((c) => c.channel === channelName)) return;
        const config = project.alerts?.channels[channelName];
        if (config === undefined) {
          // A former recipient whose channel left the project file: its alert can no longer be resolved.
          store.forgetAlertNotified(sync, trigger, channelName);
          return;
        }
        const notice = noticeAt(level);
        const result = await deliverNotice(createChannel(channelName, config), notice, {
          delivery: project.alerts?.delivery ?? ALERT_DELIVERY_DEFAULTS,
          secrets: project.secrets,
          signal: abandon.signal,
        });
        if (!result.ok) {
          log(
            `panelsync: ${describe(notice)} for sync "${sync}" was not delivered to channel "${channelName}" (${config.type}) ` +
              `after ${result.attempts} attempt${result.attempts === 1 ? '' : 's'}: ${result.error}` +
              (send.kind === 'alert' ? '; the next run retries it while the state holds' : ''),
            'warn',
          );
        }
        const at = new Date().toISOString();
        if (send.kind === 'recovery') store.forgetAlertNotified(sync, trigger, channelName);
        else if (result.ok) store.recordAlertNotified(sync, trigger, { channel: channelName, level, at });
        store.recordAlertDelivery({ sync, channel: channelName, at, ok: result.ok, attempts: result.attempts, error: result.error });
      } catch (error) {
        log(`panelsync: could not read or record the delivery to channel "${channelName}" for sync "${sync}": ${redact(messageOf(error), project.secrets)}`, 'error');
      } finally {
        const notice = inFlight.get(key)!;
        if (notice.pending === 1) inFlight.delete(key);
        else notice.pending--;
      }
    };
    const tail = (tails.get(channelName) ?? Promise.resolve()).then(run, run);
    tails.set(channelName, tail);
    pending.add(tail);
    void tail.finally(() => pending.delete(tail));
  };

  const onEnd = (runId: string, sync: string, summary: RunSummary) => {
    const errors = rowErrors.get(runId) ?? [];
    rowErrors.delete(runId);
    if (project.syncs[sync] === undefined) return;
    try {
      const at = new Date().toISOString();
      const policy = alertPolicy(project, sync);
      const previous = store.alertStates(sync);
      const results = evaluateTriggers(summary, policy, (trigger) => previous.find((p) => p.trigger === trigger)?.streak ?? 0);
      const { states, changes } = alertStateMachine({
        sync,
        runId,
        at,
        results,
        previous,
        recipients: policy.recipients,
        inFlight: [...inFlight.values()].filter((n) => n.sync === sync),
      });
      for (const state of states) store.saveAlertState(state);
      for (const change of changes) {
        for (const send of change.sends) {
          const noticeAt = (level: AlertLevel) =>
            alertNotice({
              kind: send.kind,
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
            });
          deliver(sync, change.trigger, send, noticeAt);
        }
      }
    } catch (error) {
      log(`panelsync: alerts for run ${runId} of sync "${sync}" could not be evaluated: ${redact(messageOf(error), project.secrets)}`, 'error');
    }
  };

  const unsubscribe = [
    events.on('row:rejected', (e) => keep(e.runId, { pk: e.pk, result: 'rejected', error: e.error })),
    events.on('row:invalid', (e) => keep(e.runId, { pk: e.pk, result: 'invalid', error: e.reason })),
    events.on('run:end', (e) => onEnd(e.runId, e.sync, e.summary)),
  ];

  return {
    async settled(settleOptions = {}) {
      const { timeoutMs, signal } = settleOptions;
      const stopWaiting = () => abandon.abort();
      const timer = timeoutMs === undefined ? undefined : setTimeout(stopWaiting, timeoutMs);
      signal?.addEventListener('abort', stopWaiting, { once: true });
      if (signal?.aborted) stopWaiting();
      try {
        while (pending.size > 0) await Promise.allSettled([...pending]);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', stopWaiting);
      }
    },
    stop() {
      for (const off of unsubscribe) off();
    },
  };
}

/** `the critical alert on rejected rows`, `the recovery notice of failed runs`. */
function describe(notice: Notice): string {
  const trigger = notice.trigger === null ? 'test' : TRIGGER_LABELS[notice.trigger];
  return notice.kind === 'recovery' ? `the recovery notice of ${trigger}` : `the ${notice.level ?? ''} alert on ${trigger}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
