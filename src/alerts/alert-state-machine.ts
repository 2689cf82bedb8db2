/**
 * The per-sync alert state machine: given the stored state of each trigger and a run's
 * {@link TriggerResult}s, the states to store and the notifications to send. Pure.
 *
 * Each trigger keeps its state (ok -> warning -> critical, and back) and which channels hold an
 * open alert of it (`notifiedChannels`: handed an alert at the current level, no recovery since).
 * A recipient "listens" to a state when its `levels` include it. After a run, in recipient order:
 * - a recipient listening to the new state that holds no alert at that level gets an `alert` at
 *   it: on an escalation, on a step down it still listens to, and also while the state holds,
 *   when it was added or began to listen to that level since (once: then it holds the alert);
 * - when the state changed, a channel holding an alert that does not listen to the new state (or
 *   is no longer a recipient) gets a `recovery` of the level it was told (for PagerDuty, a resolve).
 * So no channel hears twice of one state, and only channels that heard of an alert hear that it
 * cleared. A channel that stops listening while the state holds keeps its alert until the next
 * change of state, when it gets the recovery.
 */
import type { AlertLevel } from '../config/schema.ts';
import type { AlertState, AlertStateRecord } from '../state/state-store.ts';
import type { AlertTrigger } from './alert-policy.ts';
import type { TriggerResult } from './evaluate-triggers.ts';

/** What a channel is told: an alert, its recovery, or a test. */
export const NOTICE_KINDS = ['alert', 'recovery', 'test'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/**
 * One trigger with notices to send, or whose state changed (then `sends` may be empty): `from` and
 * `to` are its state before and after the run (equal when a recipient is told of a state that holds).
 */
export interface AlertChange {
  trigger: AlertTrigger;
  from: AlertState;
  to: AlertState;
  result: TriggerResult;
  /** In recipient order, then channels no longer recipients (by name); `level`: reached (alert) or cleared (recovery). */
  sends: Array<{ channel: string; kind: 'alert' | 'recovery'; level: AlertLevel }>;
}

export interface AlertStateMachineInput {
  sync: string;
  runId: string;
  /** ISO 8601 time of the evaluation. */
  at: string;
  results: readonly TriggerResult[];
  /** Stored states of the sync's triggers; a trigger without one is `ok`, with no channel notified. */
  previous: readonly AlertStateRecord[];
  recipients: ReadonlyArray<{ channel: string; levels: readonly AlertLevel[] }>;
}

/**
 * Applies a run's results. `states` holds one record per evaluated trigger (to save, changed or
 * not: the streak, last run and notified channels move on); `changes` the triggers whose state
 * changed or that have notices to send.
 */
export function alertStateMachine(input: AlertStateMachineInput): { states: AlertStateRecord[]; changes: AlertChange[] } {
  const states: AlertStateRecord[] = [];
  const changes: AlertChange[] = [];
  const recipientChannels = new Set(input.recipients.map((r) => r.channel));
  for (const result of input.results) {
    const stored = input.previous.find((p) => p.trigger === result.trigger);
    const from: AlertState = stored?.state ?? 'ok';
    const to = result.state;
    const open = new Map((stored?.notifiedChannels ?? []).map((n) => [n.channel, n]));
    const formerRecipients = [...open.keys()].filter((channel) => !recipientChannels.has(channel)).sort();
    const sends: AlertChange['sends'] = [];
    for (const channel of [...input.recipients.map((r) => r.channel), ...formerRecipients]) {
      const recipient = input.recipients.find((r) => r.channel === channel);
      const held = open.get(channel);
      if (to !== 'ok' && recipient?.levels.includes(to)) {
        if (held?.level === to) continue; // told of this state already: no repeat while it holds
        sends.push({ channel, kind: 'alert', level: to });
        open.set(channel, { channel, level: to, at: input.at });
      } else if (held !== undefined && from !== to) {
        sends.push({ channel, kind: 'recovery', level: held.level });
        open.delete(channel);
      }
    }
    if (from !== to || sends.length > 0) changes.push({ trigger: result.trigger, from, to, result, sends });
    states.push({
      sync: input.sync,
      trigger: result.trigger,
      state: to,
      streak: result.streak,
      since: from === to ? (stored?.since ?? input.at) : input.at,
      runId: input.runId,
      notifiedAt: sends.length > 0 ? input.at : (stored?.notifiedAt ?? null),
      notifiedChannels: [...open.values()].sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0)),
    });
  }
  return { states, changes };
}
