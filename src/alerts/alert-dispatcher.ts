/**
 * Turns trigger results into stored states and delivered notices, for whatever evaluated them (a
 * run that ended or started, see ./watch-run.ts; a schedule found missed, see
 * ./watch-schedules.ts). The state machine (./alert-state-machine.ts) decides the notices; this
 * hands them out: one at a time per channel in the order handed out, across every dispatcher of
 * one state store, each sent or skipped when its turn comes by {@link levelAtTurn} on what the
 * channel was told then; a channel counts as told of an alert only once its delivery succeeded.
 */
import type { Project } from '../config/load-project.ts';
import { ALERT_DELIVERY_DEFAULTS, type AlertLevel } from '../config/schema.ts';
import { redact } from '../http/http-client.ts';
import type { StateStore } from '../state/state-store.ts';
import { alertPolicy, type AlertTrigger } from './alert-policy.ts';
import { alertStateMachine, levelAtTurn, type AlertChange } from './alert-state-machine.ts';
import { createChannel } from './channels/create-channel.ts';
import { deliverNotice } from './deliver-notice.ts';
import type { TriggerResult } from './evaluate-triggers.ts';
import { TRIGGER_LABELS, type Notice } from './notice.ts';

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
 * What the dispatchers of one state store share: per channel, the last delivery handed out (so
 * deliveries to a channel go one at a time in the order handed out); per sync, trigger and
 * channel, the notices not delivered yet (the state machine's `inFlight`).
 */
const storeDeliveries = new WeakMap<StateStore, { tails: Map<string, Promise<void>>; inFlight: Map<string, InFlightNotice> }>();

/** One evaluation to apply: the results of some of the sync's triggers (the others keep their state). */
export interface AlertEvaluation {
  sync: string;
  /** The run evaluated; for a schedule found missed, the sync's last run (`''` when it never ran). */
  runId: string;
  results: readonly TriggerResult[];
  /** The notice of `change` for one channel, at the level sent (`at`: the evaluation's time, ISO 8601). */
  notice(change: AlertChange, kind: 'alert' | 'recovery', level: AlertLevel, at: string): Notice;
}

/** Applies evaluations and delivers their notices. */
export interface AlertDispatcher {
  /**
   * Moves the stored states of `evaluation.results` and hands out the notices (deliveries go on
   * after it returns). Never throws: a failure to read or save states is logged (`error`).
   */
  dispatch(evaluation: AlertEvaluation): void;
  /**
   * Resolves when every notice handed out so far was delivered or given up (each recorded). With
   * `timeoutMs` or `signal`, deliveries still going on then are abandoned (recorded as failed)
   * and it resolves right after; later ones are abandoned too. Never rejects.
   */
  settled(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
}

/** A dispatcher for `project`'s alerts, keeping states and deliveries in `store`. */
export function alertDispatcher(options: { project: Project; store: StateStore; log: (line: string, level: AlertLogLevel) => void }): AlertDispatcher {
  const { project, store, log } = options;
  const abandon = new AbortController();
  const shared = storeDeliveries.get(store) ?? { tails: new Map<string, Promise<void>>(), inFlight: new Map<string, InFlightNotice>() };
  storeDeliveries.set(store, shared);
  const { tails, inFlight } = shared;
  const pending = new Set<Promise<void>>();

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

  return {
    dispatch(evaluation) {
      const { sync, runId } = evaluation;
      try {
        const at = new Date().toISOString();
        const policy = alertPolicy(project, sync);
        const { states, changes } = alertStateMachine({
          sync,
          runId,
          at,
          results: evaluation.results,
          previous: store.alertStates(sync),
          recipients: policy.recipients,
          inFlight: [...inFlight.values()].filter((n) => n.sync === sync),
        });
        for (const state of states) store.saveAlertState(state);
        for (const change of changes) {
          for (const send of change.sends) deliver(sync, change.trigger, send, (level) => evaluation.notice(change, send.kind, level, at));
        }
      } catch (error) {
        const what = runId === '' ? `sync "${sync}"` : `run ${runId} of sync "${sync}"`;
        log(`panelsync: alerts for ${what} could not be evaluated: ${redact(messageOf(error), project.secrets)}`, 'error');
      }
    },
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
