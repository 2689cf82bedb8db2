/**
 * Settles the writes an earlier run left in doubt (sent, never answered: a timeout, a dropped
 * connection, a killed process) before a run plans, so that the snapshot never claims a value the
 * panel may not hold. One read of the participant directory tells, for each intent, whether its
 * participant exists and which email it holds; {@link settleIntent} (identity.ts) turns that into
 * the snapshot's new truth, and rows whose values are unknown are marked to be sent again.
 */
import type { Destination } from '../destinations/destination.ts';
import { normalizeEmail } from '../destinations/user-interviews/wire.ts';
import type { StateStore } from '../state/state-store.ts';
import { settleIntent } from './identity.ts';

/** What {@link settleInDoubt} did: intents settled, and the rows whose write may still land. */
export interface Settled {
  settled: number;
  /**
   * Primary keys whose write of an earlier run got no answer less than the late-write horizon ago:
   * it may still land, so they are not settled and this run does not write them (they wait, unsent).
   */
  mayStillLand: Map<string, string>;
}

/**
 * Settles every write intent of `sync` left by earlier runs whose last attempt went on the wire at
 * least `lateWriteMs` ago (a request still being processed by the API could land over whatever
 * this run writes: those wait for a later run). Costs nothing when there is none to settle;
 * otherwise one directory read (`GET /participants`, pages of 200, tag `settle`), keeping in
 * memory only the participants the intents name.
 * @param lateWriteMs how long after its last attempt a write may still land, ms
 * @throws the destination's HttpError when the directory cannot be read (nothing is settled then);
 *   LockLostError when the run lost its lock
 */
export async function settleInDoubt(options: {
  store: StateStore;
  sync: string;
  runId: string;
  destination: Destination;
  lateWriteMs: number;
  lockOwner?: string | null;
  now?: number;
}): Promise<Settled> {
  const { store, sync } = options;
  const horizon = (options.now ?? Date.now()) - options.lateWriteMs;
  const mayStillLand = new Map<string, string>();
  const intents = store.intentsInDoubt(sync).filter((intent) => {
    const sent = intent.sentAt === undefined ? 0 : Date.parse(intent.sentAt);
    if (sent <= horizon) return true;
    mayStillLand.set(intent.pk, new Date(sent + options.lateWriteMs).toISOString());
    return false;
  });
  if (intents.length === 0) return { settled: 0, mayStillLand };
  const ids = new Set(intents.flatMap((i) => (i.participantId === null ? [] : [i.participantId])));
  const emails = new Set(intents.flatMap((i) => (i.emailKey === null ? [] : [i.emailKey])));
  const emailOf = new Map<string, string>();
  const idOf = new Map<string, string>();
  for await (const p of options.destination.participants({ tag: 'settle' })) {
    if (ids.has(p.id)) emailOf.set(p.id, p.email);
    const key = normalizeEmail(p.email);
    if (emails.has(key)) idOf.set(key, p.id);
  }
  const directory = { emailOf: (id: string) => emailOf.get(id), idOf: (key: string) => idOf.get(key) };
  const settlements = intents.map((intent) => settleIntent(intent, store.snapshotEntry(sync, intent.pk), directory));
  store.settleIntents(sync, options.runId, settlements, options.lockOwner);
  return { settled: settlements.length, mayStillLand };
}
