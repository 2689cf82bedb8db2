/**
 * The reference model of the randomized ledger test: what the `people` model holds now, which
 * keys left it and under which delete behaviour, and which emails the API refuses. Plain JS, no
 * I/O: the commands (ledger-commands.ts) change it alongside the real project, and the checks
 * (ledger-checks.ts) read from it what the panel must look like.
 *
 * Values carry their primary key (`First3`, `F3v2`, `Last3`, `L3v1`), so that a value found on a
 * participant says whose it is: {@link ownerOfValue}.
 */
import { normalizeEmail } from '../../src/destinations/user-interviews/wire.ts';

export const DELETE_BEHAVIORS = ['do_nothing', 'clear', 'delete'] as const;
export type DeleteBehavior = (typeof DELETE_BEHAVIORS)[number];

/** The emulator refuses these emails (knob `reject_email_pattern`): they look valid to panelsync. */
export const REFUSED_DOMAIN = 'refused.example';
export const REFUSED_PATTERN = 'refused\\.example$';

/** Primary keys the commands pick from: the initial rows are 1..n (n ≤ 12), new keys above. */
export const MAX_PK = 15;

export interface PersonRow {
  email: string;
  first_name: string;
  last_name: string;
}

export interface RemovedRow {
  /** The row as it was when it left the model. */
  row: PersonRow;
  /** Delete behaviours in force from its removal on (a config change adds one). */
  behaviors: Set<DeleteBehavior>;
  /** The last_name mapping was on from its removal on. */
  lastNameMappedSince: boolean;
  /** A full resync ran since its removal (a full resync applies no delete behaviour). */
  resyncedSince: boolean;
  /** A run went by while it was in the model (its last stay): a write of it may have been applied. */
  mayHaveBeenWritten: boolean;
}

export interface LedgerModel {
  rows: Map<number, PersonRow>;
  removed: Map<number, RemovedRow>;
  /** Every key that was ever in the model (a new key is none of these). */
  everInModel: Set<number>;
  /** Keys that left the model at least once (re-added or not). */
  everRemoved: Set<number>;
  /** Per key, bumped whenever it leaves the model: a participant tie belongs to one stay. */
  epoch: Map<number, number>;
  /**
   * Per key, the normalized emails it held in the model, over all its stays: a key removed and
   * re-added before a run saw it leave still has its participant on an email of its earlier stay.
   */
  emailHistory: Map<number, Set<string>>;
  deleteBehavior: DeleteBehavior;
  lastNameMapped: boolean;
  /** The last_name mapping was on for the whole sequence. */
  lastNameAlwaysMapped: boolean;
  /** Runs made so far (trouble or not). */
  runs: number;
  /** Current keys that were in the model during a run (since they last entered it). */
  seenByRun: Set<number>;
}

export function initialRow(pk: number): PersonRow {
  return { email: `user${pk}@example.com`, first_name: `First${pk}`, last_name: `Last${pk}` };
}

export function createModel(rows: number, deleteBehavior: DeleteBehavior, lastNameMapped: boolean): LedgerModel {
  const model: LedgerModel = {
    rows: new Map(),
    removed: new Map(),
    everInModel: new Set(),
    everRemoved: new Set(),
    epoch: new Map(),
    emailHistory: new Map(),
    deleteBehavior,
    lastNameMapped,
    lastNameAlwaysMapped: lastNameMapped,
    runs: 0,
    seenByRun: new Set(),
  };
  for (let pk = 1; pk <= rows; pk++) enterModel(model, pk, initialRow(pk));
  return model;
}

export function enterModel(model: LedgerModel, pk: number, row: PersonRow): void {
  model.rows.set(pk, row);
  model.removed.delete(pk);
  model.everInModel.add(pk);
  model.seenByRun.delete(pk);
  model.emailHistory.set(pk, new Set([...(model.emailHistory.get(pk) ?? []), normalizeEmail(row.email)]));
}

export function leaveModel(model: LedgerModel, pk: number): void {
  const row = model.rows.get(pk)!;
  model.rows.delete(pk);
  model.removed.set(pk, {
    row,
    behaviors: new Set([model.deleteBehavior]),
    lastNameMappedSince: model.lastNameMapped,
    resyncedSince: false,
    mayHaveBeenWritten: model.seenByRun.has(pk),
  });
  model.seenByRun.delete(pk);
  model.everRemoved.add(pk);
  model.epoch.set(pk, epochOf(model, pk) + 1);
}

export function setEmail(model: LedgerModel, pk: number, email: string): void {
  model.rows.get(pk)!.email = email;
  model.emailHistory.get(pk)!.add(normalizeEmail(email));
}

export function epochOf(model: LedgerModel, pk: number): number {
  return model.epoch.get(pk) ?? 0;
}

export function isRefused(email: string): boolean {
  return normalizeEmail(email).endsWith(`@${REFUSED_DOMAIN}`);
}

/** The key whose value this is (`First3`, `F3v2` -> 3), or null (null, or not a tagged value). */
export function ownerOfValue(value: string | null | undefined): number | null {
  const match = /^(?:First|Last|F|L)(\d+)(?:v\d+)?$/.exec(value ?? '');
  return match ? Number(match[1]) : null;
}

/**
 * Current rows the panel must hold exactly (invariant 1), by key: not refused, email shared with
 * no other current row, and not waiting on an email another current key may still hold. A key
 * that cannot move off an email (its new one is refused, or shared, or itself waiting) keeps its
 * participant on an email it held before; a row that took such an email waits for it (ledger
 * rule: a new key whose email another current key still holds is not written). That is decided
 * conservatively: any email the stuck key ever held in the model. Also stuck: keys whose moves
 * form a cycle (they wait on each other), and a key moving to an email the participant of a key
 * that left without being deleted may still hold (the API refuses it).
 */
export function settledRows(model: LedgerModel): Map<number, PersonRow> {
  const count = new Map<string, number>();
  for (const row of model.rows.values()) count.set(normalizeEmail(row.email), (count.get(normalizeEmail(row.email)) ?? 0) + 1);
  const stuck = new Set<number>();
  for (const [pk, row] of model.rows) if (isRefused(row.email) || count.get(normalizeEmail(row.email))! > 1) stuck.add(pk);
  // A key that moves to an email a removed key's participant may still hold (not deleted) is
  // refused by the API ("email has already been taken"): its participant stays where it was.
  for (const [pk, row] of model.rows) {
    const email = normalizeEmail(row.email);
    const moved = [...model.emailHistory.get(pk)!].some((e) => e !== email);
    if (moved && [...model.removed].some(([other, r]) => other !== pk && model.emailHistory.get(other)?.has(email) && !r.behaviors.has('delete'))) {
      stuck.add(pk);
    }
  }
  // Keys whose moves form a cycle (two keys swapping emails) wait on each other for good.
  for (const pk of movesInCycle(model)) stuck.add(pk);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pk, row] of model.rows) {
      if (stuck.has(pk)) continue;
      const email = normalizeEmail(row.email);
      if ([...stuck].some((other) => model.emailHistory.get(other)!.has(email))) {
        stuck.add(pk);
        grew = true;
      }
    }
  }
  return new Map([...model.rows].filter(([pk]) => !stuck.has(pk)));
}

/**
 * Current keys on a cycle of "moves to an email another current key held": each waits for the
 * next to move off its email (ledger rule), so none ever does.
 */
function movesInCycle(model: LedgerModel): Set<number> {
  const next = new Map<number, number[]>();
  for (const [pk, row] of model.rows) {
    const email = normalizeEmail(row.email);
    next.set(
      pk,
      [...model.rows.keys()].filter((other) => other !== pk && model.emailHistory.get(other)!.has(email) && normalizeEmail(model.rows.get(other)!.email) !== email),
    );
  }
  const onCycle = new Set<number>();
  for (const start of model.rows.keys()) {
    const seen = new Set<number>();
    const stack = [...(next.get(start) ?? [])];
    while (stack.length > 0) {
      const pk = stack.pop()!;
      if (pk === start) {
        onCycle.add(start);
        break;
      }
      if (seen.has(pk)) continue;
      seen.add(pk);
      stack.push(...(next.get(pk) ?? []));
    }
  }
  return onCycle;
}

/** The model as a short readable text, for failure messages. */
export function describeModel(model: LedgerModel): string {
  const rows = [...model.rows].sort(([a], [b]) => a - b).map(([pk, r]) => `  ${pk}: ${r.email} ${r.first_name} ${r.last_name}`);
  const removed = [...model.removed].map(([pk, r]) => `${pk}(${r.row.email}; ${[...r.behaviors].join('/')})`);
  return [
    `delete_behavior ${model.deleteBehavior}, last_name ${model.lastNameMapped ? 'mapped' : 'not mapped'}`,
    'rows:',
    ...rows,
    `removed: ${removed.join(', ') || 'none'}`,
  ].join('\n');
}
