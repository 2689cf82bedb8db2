/**
 * The per-sync alert state machine: given the stored state of each trigger and a run's
 * {@link TriggerResult}s, the states to store and the notifications to send. One notification per
 * change of state (ok -> warning -> critical, and back), none while a state holds. Pure.
 *
 * Who hears about a change: a recipient is "in" a state when its `levels` include it. On a change
 * from A to B, a recipient in B gets an `alert` at level B (an escalation, or a step down it still
 * listens to); a recipient that was in A but is not in B gets a `recovery` (for PagerDuty, a
 * resolve). So a trigger that clears sends exactly one recovery to each channel that heard of it.
 */
import type { AlertLevel } from '../config/schema.ts';
import type { AlertState, AlertStateRecord } from '../state/state-store.ts';
import type { AlertTrigger } from './alert-policy.ts';
import type { TriggerResult } from './evaluate-triggers.ts';

/** What a channel is told about a change of state. */
export const NOTICE_KINDS = ['alert', 'recovery', 'test'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/** One trigger whose state changed in this run, and who hears about it. */
export interface AlertChange {
  trigger: AlertTrigger;
  from: AlertState;
  to: AlertState;
  result: TriggerResult;
  sends: Array<{ channel: string; kind: 'alert' | 'recovery' }>;
}

export interface AlertStateMachineInput {
  sync: string;
  runId: string;
  /** ISO 8601 time of the evaluation. */
  at: string;
  results: readonly TriggerResult[];
  /** Stored states of the sync's triggers; a trigger without one is `ok`. */
  previous: readonly AlertStateRecord[];
  recipients: ReadonlyArray<{ channel: string; levels: readonly AlertLevel[] }>;
}

/**
 * Applies a run's results. `states` holds one record per evaluated trigger (to save, changed or
 * not: the streak and last run move on); `changes` only the triggers whose state changed.
 */
export function alertStateMachine(input: AlertStateMachineInput): { states: AlertStateRecord[]; changes: AlertChange[] } {
  const states: AlertStateRecord[] = [];
  const changes: AlertChange[] = [];
  for (const result of input.results) {
    const stored = input.previous.find((p) => p.trigger === result.trigger);
    const from: AlertState = stored?.state ?? 'ok';
    const to = result.state;
    if (from === to) {
      states.push({
        sync: input.sync,
        trigger: result.trigger,
        state: to,
        streak: result.streak,
        since: stored?.since ?? input.at,
        runId: input.runId,
        notifiedAt: stored?.notifiedAt ?? null,
      });
      continue;
    }
    const sends: AlertChange['sends'] = [];
    for (const recipient of input.recipients) {
      const wasIn = from !== 'ok' && recipient.levels.includes(from);
      const isIn = to !== 'ok' && recipient.levels.includes(to);
      if (isIn) sends.push({ channel: recipient.channel, kind: 'alert' });
      else if (wasIn) sends.push({ channel: recipient.channel, kind: 'recovery' });
    }
    changes.push({ trigger: result.trigger, from, to, result, sends });
    states.push({
      sync: input.sync,
      trigger: result.trigger,
      state: to,
      streak: result.streak,
      since: input.at,
      runId: input.runId,
      notifiedAt: sends.length > 0 ? input.at : (stored?.notifiedAt ?? null),
    });
  }
  return { states, changes };
}
