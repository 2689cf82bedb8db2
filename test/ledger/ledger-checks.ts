/**
 * The invariants of the randomized ledger test, checked against the reference model
 * (ledger-reference.ts) and the real system (ledger-world.ts). Each check returns the broken
 * rules as readable lines (empty: all hold), so that a failure names every rule it breaks.
 *
 * After every run (faults or not): the summary adds up (5), a participant id stays with its
 * primary key (2), and no current key's values sit on a participant tied to another current key.
 * After the sequence and two clean runs: the panel equals the model (1, 2), removed rows follow
 * their delete behaviour (3), and one more run writes nothing (4, checked by the test).
 */
import { normalizeEmail } from '../../src/destinations/user-interviews/wire.ts';
import type { RunSummary } from '../../src/engine/run-summary.ts';
import type { EmulatorParticipant } from '../helpers/chinook-project.ts';
import { epochOf, ownerOfValue, settledRows, type LedgerModel } from './ledger-reference.ts';
import type { LedgerWorld } from './ledger-world.ts';

const CHANGE_CLASSES = ['added', 'changed', 'removed'] as const;

/** Invariant 5: the summary's arithmetic. `unsent` (rows never sent or never answered) is optional. */
export function summaryProblems(s: RunSummary, label: string): string[] {
  const problems: string[] = [];
  const { rows } = s;
  if (rows.queried !== rows.added + rows.changed + rows.unchanged + rows.invalid) {
    problems.push(`${label}: rows.queried ${rows.queried} != added + changed + unchanged + invalid (${JSON.stringify(rows)})`);
  }
  const unsent = (s as { unsent?: Partial<Record<(typeof CHANGE_CLASSES)[number], number>> }).unsent;
  const finished = s.status === 'success' || s.status === 'warning';
  for (const c of CHANGE_CLASSES) {
    const acted = s.succeeded[c] + s.rejected[c] + s.skipped[c] + (unsent?.[c] ?? 0);
    if (finished ? acted !== rows[c] : acted > rows[c]) {
      problems.push(
        `${label} (${s.status}): ${c}: succeeded ${s.succeeded[c]} + rejected ${s.rejected[c]} + skipped ${s.skipped[c]} + unsent ${unsent?.[c] ?? 0} ` +
          `${finished ? '!=' : '>'} rows.${c} ${rows[c]}`,
      );
    }
  }
  return problems;
}

/**
 * What an outage says (HTTP client errors: attempts exhausted on 5xx / resets, timeouts, resets),
 * never the API's refusal of a row.
 */
const OUTAGE = /with transient errors|timed out after|connection trouble/;

/**
 * Invariant 13 of the architecture: `rejected` is the API's word. A row that got no answer (an
 * outage) is `unsent`, not rejected.
 */
export function rejectionProblems(rejected: Array<{ pk: string; error: string }>, label: string): string[] {
  return rejected.filter((r) => OUTAGE.test(r.error)).map((r) => `${label}: key ${r.pk} counted rejected for an outage, not by the API: ${r.error}`);
}

/** The current key a participant id is tied to by the snapshot `ties`, by participant id. */
function currentOwners(model: LedgerModel, ties: Map<number, string | null>): Map<string, number> {
  const owners = new Map<string, number>();
  for (const [pk, id] of ties) if (id !== null && model.rows.has(pk)) owners.set(id, pk);
  return owners;
}

/**
 * After every run: records each current key's participant id from the snapshot, and reports
 * (invariant 2) a participant id tied to a key while the key it was tied to before is still in
 * the model (same stay), two current keys tied to one participant, and a participant tied to one
 * current key holding a mapped value of another current key.
 */
export async function afterRunProblems(model: LedgerModel, world: LedgerWorld, label: string): Promise<string[]> {
  const problems: string[] = [];
  const ties = world.snapshotTies();
  const seen = new Map<string, number>();
  for (const [pk, id] of ties) {
    if (id === null || !model.rows.has(pk)) continue;
    const other = seen.get(id);
    if (other !== undefined) problems.push(`${label}: participant ${id} is tied to keys ${other} and ${pk}, both in the model`);
    seen.set(id, pk);
    const before = world.ties.get(id);
    if (before && before.pk !== pk && model.rows.has(before.pk) && epochOf(model, before.pk) === before.epoch) {
      problems.push(`${label}: participant ${id}, tied to key ${before.pk} since run ${before.run}, is now tied to key ${pk} while key ${before.pk} is still in the model`);
    }
    if (before?.pk !== pk || before.epoch !== epochOf(model, pk)) world.ties.set(id, { pk, epoch: epochOf(model, pk), run: world.runs.length });
    world.lastTie.set(pk, { id, epoch: epochOf(model, pk) });
  }
  const owners = currentOwners(model, ties);
  for (const participant of await world.participants()) {
    const owner = owners.get(participant.id);
    if (owner === undefined) continue;
    for (const field of checkedFields(model)) {
      const whose = ownerOfValue(participant[field]);
      if (whose !== null && whose !== owner && model.rows.has(whose)) {
        problems.push(
          `${label}: participant ${participant.id} (${participant.email}), tied to key ${owner}, holds ${field} "${participant[field]}" of key ${whose}, also in the model`,
        );
      }
    }
  }
  return problems;
}

/** Fields whose values say whose they are: first_name always; last_name when mapped for the whole sequence. */
function checkedFields(model: LedgerModel): Array<'first_name' | 'last_name'> {
  return model.lastNameAlwaysMapped ? ['first_name', 'last_name'] : ['first_name'];
}

/** Invariants 1-3 once the sequence ended and two clean runs went by. */
export async function finalProblems(model: LedgerModel, world: LedgerWorld): Promise<string[]> {
  const problems: string[] = [];
  const participants = await world.participants();
  const byEmail = new Map<string, EmulatorParticipant[]>();
  for (const p of participants) byEmail.set(normalizeEmail(p.email), [...(byEmail.get(normalizeEmail(p.email)) ?? []), p]);
  const byId = new Map(participants.map((p) => [p.id, p]));
  const ties = world.snapshotTies();
  const owners = currentOwners(model, ties);
  const currentEmails = new Set([...model.rows.values()].map((r) => normalizeEmail(r.email)));

  // 1. Every settled row has exactly one participant, with exactly its mapped values, tied to it.
  for (const [pk, row] of settledRows(model)) {
    const holders = byEmail.get(normalizeEmail(row.email)) ?? [];
    if (holders.length !== 1) {
      problems.push(`key ${pk} (${row.email}): ${holders.length} participants hold its email (want 1)`);
      continue;
    }
    const p = holders[0]!;
    if (p.first_name !== row.first_name) problems.push(`key ${pk} (${row.email}): participant ${p.id} has first_name ${JSON.stringify(p.first_name)}, the model ${row.first_name}`);
    if (model.lastNameMapped && p.last_name !== row.last_name) {
      problems.push(`key ${pk} (${row.email}): participant ${p.id} has last_name ${JSON.stringify(p.last_name)}, the model ${row.last_name}`);
    }
    if (ties.get(pk) !== p.id) problems.push(`key ${pk} (${row.email}): the snapshot ties it to participant ${ties.get(pk) ?? 'none'}, its email is on participant ${p.id}`);
  }

  // 2. A current key's data sits on its own participant only: a participant no current key holds
  // carries no value of a key that never left the model.
  for (const p of participants) {
    if (owners.has(p.id)) continue;
    for (const field of checkedFields(model)) {
      const whose = ownerOfValue(p[field]);
      if (whose !== null && model.rows.has(whose) && !model.everRemoved.has(whose)) {
        const own = ties.get(whose);
        problems.push(`participant ${p.id} (${p.email}) holds ${field} "${p[field]}" of key ${whose}, which is tied to participant ${own ?? 'none'}: its data sits on two participants`);
      }
    }
  }

  // 3. Removed rows follow the delete behaviour they left under (when it stayed the same since).
  // A participant another key was tied to since (it changed hands) is that key's business.
  const changedHands = (id: string, pk: number) => [...world.lastTie].some(([other, tie]) => other !== pk && tie.id === id);
  for (const [pk, removed] of model.removed) {
    if (removed.behaviors.size !== 1 || removed.resyncedSince) continue;
    const behavior = [...removed.behaviors][0]!;
    const last = world.lastTie.get(pk);
    // The participant id its last stay was tied to; null when never acknowledged in that stay.
    const tie = last !== undefined && last.epoch === epochOf(model, pk) - 1 ? last.id : null;
    const lastEmail = normalizeEmail(removed.row.email);
    if (behavior === 'delete') {
      const p = tie === null ? undefined : byId.get(tie);
      if (p && !owners.has(p.id) && !changedHands(p.id, pk)) problems.push(`removed key ${pk} (delete): its participant ${tie} (${p.email}) still exists and no current key holds it`);
      // Never acknowledged: only a write in doubt can have made it (its own values tell), and the
      // run after settles that.
      const holder = byEmail.get(lastEmail)?.[0];
      if (holder && !currentEmails.has(lastEmail) && !changedHands(holder.id, pk) && (tie !== null || ownerOfValue(holder.first_name) === pk)) {
        problems.push(`removed key ${pk} (delete): participant ${holder.id} still holds its last email ${removed.row.email}`);
      }
    } else if (behavior === 'clear' && tie !== null) {
      const p = byId.get(tie);
      if (!p || owners.has(p.id) || currentEmails.has(normalizeEmail(p.email)) || changedHands(p.id, pk)) continue;
      const fields = removed.lastNameMappedSince && model.lastNameAlwaysMapped ? (['first_name', 'last_name'] as const) : (['first_name'] as const);
      for (const field of fields) {
        if (p[field] !== null) problems.push(`removed key ${pk} (clear): its participant ${p.id} (${p.email}) still has ${field} ${JSON.stringify(p[field])}`);
      }
    }
  }
  return problems;
}
