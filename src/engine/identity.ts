/**
 * The ledger's identity rules, in one place: which participant a row's write may target, when a
 * row must wait for another primary key, what happens to a removed row whose email another key
 * takes, and how a write left in doubt is settled. The rest of the engine asks these functions;
 * it does not re-derive them. (Three keys meet here: the model's primary key decides added /
 * changed / removed, the participant id is the participant a key was acknowledged on, and the
 * normalized email finds a participant when no id is known. See shared docs: architecture,
 * "Identity".)
 *
 * | case                                                          | rule                                                                            |
 * | ------------------------------------------------------------- | ------------------------------------------------------------------------------- |
 * | new key, email free                                           | upsert: written by email (matched or created); insert: created; update: skipped unless the directory has the email |
 * | synced key, same email (case and spaces aside)                | written by its stored participant id with its email (an email changed by hand in User Interviews is set back) |
 * | synced key, new email (an email move)                         | written by its stored participant id with the new email: the participant is renamed, never a second one created; moves go first in a run |
 * | a write to an email, or a participant, another key still in the model holds in the snapshot | waits (unsent, with a reason naming that key) until that key's move is acknowledged or the key leaves the model |
 * | the API answers a write by email with a participant another key of the model holds (its email was changed by hand to this one) | not recorded (unsent); that key's row takes the email written and is sent again, so it moves back by id and this row then gets its own participant |
 * | a key writes the participant of a key that left the model     | the participant changes hands: the old key's snapshot row is dropped in the same commit (its delete behaviour no longer applies) |
 * | a move to an email another key still in the model holds       | waits likewise (two keys swapping emails wait on each other: give one a temporary email for one run) |
 * | two valid rows sharing an email                               | both invalid (the stage marks them): never sent                                 |
 * | removed key whose participant another key's acknowledged snapshot row now holds (same id, or same email without id) | forgotten without a call: the participant changed hands |
 * | removed key whose email another key was to take, but that key's write was rejected or not sent | the delete behaviour applies as to any removed key              |
 * | `clear` of a removed key                                       | every mapped field nulled on its participant, named by id only: its email is left as User Interviews holds it |
 * | a participant id the API no longer knows (deleted by hand)    | upsert: written by email instead; update: rejected; clear/delete: nothing left to do |
 * | primary key or match column changed since the snapshot        | the run stops before any call (see run-sync.ts): never taken for email moves   |
 * | a write that got no answer (in doubt)                         | its intent stays; the next run reads the directory and {@link settleIntent} records what the panel holds, marking the row to be sent again |
 */
import type { SyncMode } from '../config/schema.ts';
import { normalizeEmail } from '../destinations/user-interviews/wire.ts';
import type { IntentSettlement, PlannedRow, Stage, WriteIntent } from '../state/state-store.ts';
import { hasPlanned } from './plan.ts';

/** What a mode does with a planned added or changed row, before any call; see {@link decideRow}. */
export type RowDecision =
  | { action: 'write'; id: string | null }
  | { action: 'skip'; reason: string }
  | { action: 'reject'; error: string }
  /** Not written now: another key still holds the participant or email; planned again next run. */
  | { action: 'wait'; reason: string };

/**
 * The rule of each mode for a planned added or changed row, once the directory is read (update
 * and insert modes). Shared by the run and by `panelsync plan`, so that a plan says what the run
 * does. `stage.emailHolder` reads the snapshot as committed so far in the run.
 * - upsert: a synced key by its stored participant id (with its email: a move renames it), a new
 *   key by email;
 * - update: by the participant's id: the row's stored one if the directory has it, else the one
 *   with its email; with neither, skip (update mode never creates a participant);
 * - both wait while another key still in the model holds, in the snapshot, the target participant
 *   or the row's email;
 * - insert: a row synced before is skipped (insert mode never updates); a row whose email a
 *   participant holds is rejected "already exists"; otherwise created.
 */
/**
 * How long update mode trusts a directory read that found no participant with a row's email, ms:
 * 24 hours. Until then a run skips that row again without reading the directory (a participant
 * created meanwhile, e.g. by a sign-up, is found at the first read after, or at any read made for
 * another row); a row whose email changed is looked up at once.
 */
export const UNMATCHED_RECHECK_MS = 24 * 60 * 60 * 1000;

/**
 * True when {@link decideRow} needs the directory to decide `row` (update and insert modes):
 * - insert: only a key never synced (a synced one is skipped whatever the directory says);
 * - update: every row but a key with no participant id that the directory found unmatched, with
 *   its email, less than {@link UNMATCHED_RECHECK_MS} before `nowMs`;
 * so that a run whose rows these modes will skip again reads no directory.
 */
export function needsDirectory(mode: SyncMode, row: PlannedRow, nowMs = Date.now()): boolean {
  if (mode === 'insert') return row.class === 'added' && row.previousPayload === null;
  return mode === 'update' && !recentlyUnmatched(row, nowMs);
}

/**
 * True when a run of `mode` reads the directory before its writes: a planned added or changed row
 * needs it ({@link needsDirectory}); upsert never does (a row may wait for another key instead).
 * `forgetUnmatched`: decide as a full resync's run does, which forgets the keys update mode found
 * unmatched (StateStore.markResend) before its diff.
 */
export function readsDirectoryFirst(mode: SyncMode, stage: Pick<Stage, 'page'>, forgetUnmatched = false): boolean {
  if (mode === 'upsert') return false;
  return hasPlanned(stage, ['added', 'changed'], (row) => needsDirectory(mode, forgetUnmatched ? { ...row, unmatchedAt: null } : row));
}

/** Update mode: the row's key has no participant id and a directory read found none with its email less than {@link UNMATCHED_RECHECK_MS} ago. */
function recentlyUnmatched(row: PlannedRow, nowMs: number): boolean {
  return row.participantId === null && row.unmatchedAt !== null && nowMs - Date.parse(row.unmatchedAt) < UNMATCHED_RECHECK_MS;
}

/** Why update mode skips a row no participant matched: the directory read now, or the one remembered. */
export const UNMATCHED_REASON = 'no participant with this email exists (update mode never creates one)';

export function decideRow(
  mode: SyncMode,
  row: PlannedRow,
  stage: Pick<Stage, 'directoryId' | 'directoryReadAt' | 'emailHolder' | 'participantHolder'>,
): RowDecision {
  if (mode === 'insert') {
    if (row.class === 'changed' || row.previousPayload !== null) return { action: 'skip', reason: 'already synced (insert mode never updates a participant)' };
    if (row.existingId === null) return { action: 'write', id: null };
    return { action: 'reject', error: `already exists: participant ${row.existingId} has this email` };
  }
  const moves = emailMoved(row) && row.participantId !== null;
  // upsert: a synced key writes its own participant by id (an email changed by hand in User
  // Interviews is set back, never a second participant created); a new key writes by email.
  // update: by the participant's id, its stored one if the directory has it, else the one with its
  // email; with neither, skip (update mode never creates a participant).
  // update, no directory read in this run: a key found unmatched a moment ago (needsDirectory) is
  // skipped again (one whose 24 hours ran out since the run began is looked up by the next run).
  if (mode === 'update' && stage.directoryReadAt() === null && row.participantId === null && row.unmatchedAt !== null) {
    const again = new Date(Date.parse(row.unmatchedAt!) + UNMATCHED_RECHECK_MS).toISOString();
    return { action: 'skip', reason: `${UNMATCHED_REASON}: as of the directory read at ${row.unmatchedAt}; read again after ${again}, or sooner for another row` };
  }
  const id = mode === 'upsert' ? row.participantId : (row.existingId ?? stage.directoryId(row.emailKey));
  if (id === null && mode === 'update') return { action: 'skip', reason: UNMATCHED_REASON };
  // Never onto a participant, or an email, that another key of the model holds in the snapshot.
  const holder = (id !== null && id !== row.participantId ? stage.participantHolder(id, row.pk) : null) ?? stage.emailHolder(row.emailKey, row.pk);
  if (holder !== null) return { action: 'wait', reason: waitReason(holder, moves) };
  return { action: 'write', id };
}

function waitReason(holder: string, moves: boolean): string {
  return moves
    ? `waits: primary key ${holder} still holds this email; this row moves to it once ${holder} has moved off it or left the model ` +
        `(two keys swapping emails wait on each other: give one a temporary email for one run)`
    : `waits: the participant with this email belongs to primary key ${holder}; this row is written once ${holder}'s move to ` +
        `another email is acknowledged or ${holder} leaves the model`;
}

/** True when the row's email changed since it was synced (case and surrounding spaces alone are no change). */
export function emailMoved(row: Pick<PlannedRow, 'previousEmail' | 'emailKey'>): boolean {
  return row.previousEmail !== null && row.emailKey !== normalizeEmail(row.previousEmail);
}

/** What the directory shows of the participants an intent may have touched. */
export interface DirectoryFacts {
  /** The email the participant with this id holds now; `undefined` when it does not exist. */
  emailOf(participantId: string): string | undefined;
  /** The id of the participant holding this normalized email; `undefined` when none does. */
  idOf(emailKey: string): string | undefined;
}

/**
 * Settles one write left in doubt from what the directory shows now (read after the write could
 * have landed), so that the snapshot claims nothing the panel may not hold:
 * - by id (`update`, `clear`): the participant exists: its email is recorded as the directory
 *   shows it and the row is sent again; it does not: the id is dropped (a clear: the row is
 *   forgotten, nothing is left to clear);
 * - `delete`: the participant is gone: the row is forgotten, and a key that took the participant
 *   over meanwhile loses it (it is written again); else nothing was applied (kept);
 * - by email (`upsert`): a participant holds the email: it is recorded as the row's and the row
 *   is sent again (the write may or may not have been applied); none does: nothing was applied;
 * - `create`: a participant holds the email: it is the create's, recorded with what was sent
 *   (an intent recorded before payloads were kept is sent again); none: nothing was applied.
 * @param row the intent's snapshot row, if any
 */
export function settleIntent(
  intent: WriteIntent,
  row: { email: string; participantId: string | null } | null,
  directory: DirectoryFacts,
): IntentSettlement {
  const { pk } = intent;
  if (intent.kind === 'delete' || intent.kind === 'clear' || intent.kind === 'update') {
    const id = intent.participantId!;
    const email = directory.emailOf(id);
    if (intent.kind === 'delete') return email === undefined ? { pk, snapshot: 'forget', gone: id } : { pk, snapshot: 'keep' };
    if (email === undefined) {
      if (intent.kind === 'clear' || row === null) return { pk, snapshot: intent.kind === 'clear' ? 'forget' : 'keep' };
      return record(pk, null, row.email, intent.payload ?? '{}', true);
    }
    return record(pk, id, email, intent.payload ?? '{}', true);
  }
  const id = intent.emailKey === null ? undefined : directory.idOf(intent.emailKey);
  if (id === undefined) return { pk, snapshot: 'keep' };
  const email = intent.email ?? intent.emailKey!;
  return record(pk, id, email, intent.payload ?? '{}', intent.kind === 'upsert' || intent.payload === null);
}

function record(pk: string, participantId: string | null, email: string, payload: string, resend: boolean): IntentSettlement {
  return { pk, snapshot: 'record', participantId, email: email.trim(), emailKey: normalizeEmail(email), payload, resend };
}
