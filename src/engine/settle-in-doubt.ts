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

/**
 * Settles every write intent of `sync` left by earlier runs. Costs nothing when there is none;
 * otherwise one directory read (`GET /participants`, pages of 200, tag
 * `settle`), keeping in memory only the participants the intents name.
 * @returns intents settled
 * @throws the client's HttpError when the directory cannot be read (nothing is settled then);
 *   LockLostError when the run lost its lock
 */
export async function settleInDoubt(options: {
  store: StateStore;
  sync: string;
  runId: string;
  destination: Destination;
  lockOwner?: string | null;
}): Promise<number> {
  const { store, sync } = options;
  const intents = store.intentsInDoubt(sync);
  if (intents.length === 0) return 0;
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
  return settlements.length;
}
