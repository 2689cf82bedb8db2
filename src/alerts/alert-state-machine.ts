/**
 * The per-sync alert state machine: given the stored state of each trigger and a run's
 * {@link TriggerResult}s, the states to store and the notifications to send. Pure.
 *
 * Each trigger keeps its state (ok -> warning -> critical, and back) and which channels were told
 * of an open alert of it (`notifiedChannels`: accepted an alert at a level, no recovery since).
 * Only a delivery that succeeded tells a channel ({@link levelAtTurn} says what the deliveries do);
 * a channel with a notice still being delivered is taken to hold what that notice leaves it with.
 * A recipient "listens" to a state when its `levels` include it. After a run, in recipient order:
 * - a recipient listening to the new state that was not told of it gets an `alert` at it: on an
 *   escalation, on a step down it still listens to, and also while the state holds, when it was
 *   added or began to listen to that level since, or its earlier alert was not delivered (so a
 *   failed delivery is retried at each run until one succeeds, then not repeated);
 * - when the state changed, a channel told of an alert that does not listen to the new state (or
 *   is no longer a recipient) gets a `recovery` of the level it was told (for PagerDuty, a resolve).
 * So no channel hears twice of one state, and only channels that heard of an alert hear that it
 * cleared. A channel that stops listening while the state holds keeps its alert until the next
 * change of state, when it gets the recovery.
 */
import type { AlertLevel } from '../config/schema.ts';
import type { AlertChannelNotified, AlertState, AlertStateRecord } from '../state/state-store.ts';
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
  /**
   * Per trigger and channel, the last notice handed out whose delivery is not over yet (default
   * none). The channel is taken to hold what it leaves it with, as if delivered: an alert at its
   * level, nothing after a recovery. So an alert being delivered is not handed out twice, and
   * a recovery is handed out after it (sent only if the alert was delivered: {@link levelAtTurn}).
   */
  inFlight?: ReadonlyArray<{ trigger: string; channel: string; kind: 'alert' | 'recovery'; level: AlertLevel }>;
}

/**
 * Applies a run's results. `states` holds one record per evaluated trigger (to save, changed or
 * not: the streak and last run move on; the channels told are the deliveries' to record);
 * `changes` the triggers whose state changed or that have notices to send.
 */
export function alertStateMachine(input: AlertStateMachineInput): {
  states: Array<Omit<AlertStateRecord, 'notifiedChannels'>>;
  changes: AlertChange[];
} {
  const states: Array<Omit<AlertStateRecord, 'notifiedChannels'>> = [];
  const changes: AlertChange[] = [];
  const recipientChannels = new Set(input.recipients.map((r) => r.channel));
  for (const result of input.results) {
    const stored = input.previous.find((p) => p.trigger === result.trigger);
    const from: AlertState = stored?.state ?? 'ok';
    const to = result.state;
    const told = new Map<string, { level: AlertLevel }>((stored?.notifiedChannels ?? []).map((n) => [n.channel, n]));
    for (const notice of input.inFlight ?? []) {
      if (notice.trigger !== result.trigger) continue;
      if (notice.kind === 'alert') told.set(notice.channel, { level: notice.level });
      else told.delete(notice.channel);
    }
    const formerRecipients = [...told.keys()].filter((channel) => !recipientChannels.has(channel)).sort();
    const sends: AlertChange['sends'] = [];
    for (const channel of [...input.recipients.map((r) => r.channel), ...formerRecipients]) {
      const recipient = input.recipients.find((r) => r.channel === channel);
      const held = told.get(channel);
      if (to !== 'ok' && recipient?.levels.includes(to)) {
        if (held?.level === to) continue; // told of this state already: no repeat while it holds
        sends.push({ channel, kind: 'alert', level: to });
      } else if (held !== undefined && from !== to) {
        sends.push({ channel, kind: 'recovery', level: held.level });
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
    });
  }
  return { states, changes };
}

/**
 * What a send of {@link AlertChange.sends} does when its turn comes: deliveries to a channel go
 * one at a time in the order handed out, so `told` is the channel's open alert of the trigger
 * after every earlier notice to it was delivered or given up (`undefined`: none).
 * - An alert is sent unless the channel was told of that level meanwhile (an alert still being
 *   delivered when the next run was evaluated); once delivered, the channel holds it at that level.
 * - A recovery is sent for the level the channel was told, and not at all when it was told of
 *   nothing (its alert was never delivered); once delivered or given up, the channel holds none.
 * @returns the level to send the notice at, or `null` when it is not to be sent
 */
export function levelAtTurn(send: AlertChange['sends'][number], told: AlertChannelNotified | undefined): AlertLevel | null {
  if (send.kind === 'alert') return told?.level === send.level ? null : send.level;
  return told?.level ?? null;
}
