/**
 * execute: applies a plan to the destination. Planned rows are read from the stage in plan order,
 * sent in batches (several in flight), and each batch's outcome is committed at once: the
 * snapshot takes a row only after the destination acknowledged it, so a crash at any point leaves
 * a snapshot that is true for every row it holds.
 *
 * What each mode sends (see shared docs: architecture, "Semantics that must be exactly right"):
 * - upsert: added and changed rows through `PATCH /participants/batches`; the rows that take
 *   their participant (by its stored id) to a new email first, so that an email one primary key
 *   leaves is free before another key, matched by email, takes it in the same run;
 * - update: the same, but only for participants that exist (an email -> id directory is read
 *   first, and again after those email moves), always written by that id so that nothing is ever
 *   created; the others are skipped;
 * - insert: added rows never synced before, one `POST /participants` each; an existing email is
 *   rejected ("already exists"), never overwritten; changed rows are skipped. An insert intent is
 *   recorded before each create, so that a create applied by an attempt that got no answer is
 *   adopted: in this run after one directory read for all such creates, else by a later run
 *   (by the email that create was sent with, even when the row's email changed since).
 * Rows that left the model get the delete behaviour: `do_nothing` (forgotten), `clear` (every
 * mapped field nulled, email kept) or `delete` (`DELETE /participants/{id}`). A removed row whose
 * participant another primary key holds now (the key changed hands) is forgotten without a call.
 *
 * A stored participant id may name a participant deleted by hand in User Interviews since. Then a
 * changed row falls back to its email (upsert: matched or created by email; update: looked up in
 * the directory, skipped when unknown), and a removed row has nothing left to clear or delete.
 */
import type { SyncConfig, SyncMode } from '../config/schema.ts';
import type { RowResult, UserInterviewsClient } from '../destinations/user-interviews/client.ts';
import { normalizeEmail, type ParticipantInput } from '../destinations/user-interviews/wire.ts';
import { failsEveryRequest, HttpAbortedError } from '../http/errors.ts';
import { batchCallTag } from '../state/batch-call-tag.ts';
import {
  CHANGE_CLASSES,
  type ChangeClass,
  type PageFilter,
  type PlannedRow,
  type RowOutcome,
  type Stage,
  type StateStore,
} from '../state/state-store.ts';
import type { SyncEvents } from './events.ts';
import { readDirectory } from './read-directory.ts';
import { emptyClassCounts, type ClassCounts } from './run-summary.ts';
import { PartialBatchError, sendWithSplitRetries } from './split-retry.ts';

export interface ExecuteOptions {
  runId: string;
  syncName: string;
  sync: Pick<SyncConfig, 'mode' | 'split_retries' | 'delete_behavior'>;
  stage: Stage;
  store: StateStore;
  client: UserInterviewsClient;
  events: SyncEvents;
  /** Participants per batch (at most 100). */
  batchSize: number;
  /** Batches (or single-row requests) in flight at once. */
  concurrency: number;
  /** Once aborted, no new batch starts; batches in flight finish and are committed. */
  signal?: AbortSignal;
}

export interface ExecuteResult {
  succeeded: ClassCounts;
  rejected: ClassCounts;
  /** Rows the mode does not act on (update: no such participant; insert: already synced). */
  skipped: ClassCounts;
  /** True when the signal stopped the run before every planned row was acted on. */
  interrupted: boolean;
  /**
   * The error that ended the run early (a refused API key, a directory read that failed); the
   * counts above cover the batches committed before it. Absent when the run went to the end.
   */
  failure?: unknown;
}

/** Planned rows read from the stage per page; a page is cut into batches. */
const PAGE_ROWS = 1_000;

/**
 * A row's outcome before it is committed: the API's answer, or skipped with the reason. `batch`
 * links a sent row to the calls that carried it (their tags, see state/batch-call-tag.ts).
 * `mayBeApplied`: no answer says whether a create was applied, so its insert intent is kept.
 * `createdWith`: an adopted create was sent with this (normalized) email, not the row's current
 * one: the participant has that email, so the snapshot records it.
 * `pending`: not committed now: {@link adoptLostCreates} commits it later, or the row got no
 * answer before the run stopped (it stays planned, for the next run).
 */
type Outcome =
  | ((RowResult | { skipped: string }) & { batch?: { id: string; index: number }; mayBeApplied?: true; createdWith?: string })
  | { pending: true };

/** Insert mode: a create answered "already exists" after an earlier attempt of it got no answer. */
interface LostCreate {
  row: PlannedRow;
  /** The answer, kept when the directory shows no participant with the row's email. */
  rejection: RowResult;
  batch: { id: string; index: number };
}

/** Lost creates held before the directory is read again to adopt them (bounds memory). */
const LOST_CREATES_PER_READ = 1_000;

interface Context extends ExecuteOptions {
  result: ExecuteResult;
  /** Set by the first error that must fail the run (a refused API key, a state database failure); stops every worker. */
  fatal: unknown;
  /** The last (re)load of the directory; reloads run one after the other, never two at once. */
  directory: Promise<void> | null;
  /** Batch ids handed out so far (`b1`, `b2`, …), for the call tags. */
  batches: number;
  /** Insert mode: creates waiting for the next directory read to be adopted. */
  lostCreates: LostCreate[];
}

/**
 * Acts on every planned row and commits each batch's outcome. Row-level failures are outcomes,
 * not exceptions. Never throws: an error that must end the run (a refused API key or request, a
 * host that cannot be reached: see isFatal) stops every worker, the batches in flight are committed, and the error comes back as
 * `failure` with the counts of what was committed.
 */
export async function execute(options: ExecuteOptions): Promise<ExecuteResult> {
  const ctx: Context = {
    ...options,
    result: { succeeded: emptyClassCounts(), rejected: emptyClassCounts(), skipped: emptyClassCounts(), interrupted: false },
    fatal: null,
    directory: null,
    batches: 0,
    lostCreates: [],
  };
  const { mode, delete_behavior: deleteBehavior } = options.sync;

  try {
    if (mode !== 'upsert' && hasPlanned(ctx, ['added', 'changed'])) await loadDirectory(ctx);
    if (mode === 'insert') {
      await phase(ctx, ['added', 'changed'], 1, async ([row]) => [await insertRow(ctx, row!)], 'sync');
      // After a failure that ends the run, lost creates keep their intents: a later run adopts them.
      if (ctx.fatal === null) await adoptLostCreates(ctx);
    } else {
      // First the rows that move to a new email, written by their participant's id: the emails
      // they leave are free before any row is matched by email (another key may take one over).
      const send = (batch: PlannedRow[]) => upsertRows(ctx, batch);
      await phase(ctx, ['added', 'changed'], options.batchSize, send, 'sync', { movesEmail: true });
      // update: the directory was read before those emails moved; rows found by email look again.
      const moved = ctx.result.succeeded.added + ctx.result.succeeded.changed > 0;
      if (mode === 'update' && moved && ctx.fatal === null) await loadDirectory(ctx, true);
      await phase(ctx, ['added', 'changed'], options.batchSize, send, 'sync', { movesEmail: false });
    }

    if (deleteBehavior === 'do_nothing') {
      await phase(ctx, ['removed'], PAGE_ROWS, async (batch) => batch.map(() => ({ ok: true, id: '' })), 'forget');
    } else {
      // A removed row without a stored participant id is found by email, if it exists at all.
      if (ctx.fatal === null && hasPlanned(ctx, ['removed'], (row) => row.participantId === null && row.heldBy === null)) {
        await loadDirectory(ctx);
      }
      if (deleteBehavior === 'clear') {
        await phase(ctx, ['removed'], options.batchSize, (batch) => clearRows(ctx, batch), 'forget');
      } else {
        await phase(ctx, ['removed'], 1, async ([row]) => [await deleteRow(ctx, row!)], 'forget');
      }
    }
  } catch (error) {
    ctx.fatal ??= error;
  }

  // Aborted while a request waited: the run stopped as if between batches, it did not fail.
  if (ctx.fatal instanceof HttpAbortedError) ctx.result.interrupted = true;
  else if (ctx.fatal !== null) ctx.result.failure = ctx.fatal;
  ctx.result.interrupted = options.signal?.aborted === true && ctx.result.interrupted;
  return ctx.result;
}

/**
 * Pages the planned rows of `classes` (narrowed by `filter`), cuts them into batches of `size`,
 * and runs `send` on each with `concurrency` workers. Each batch is committed as soon as its
 * outcome is known. `onSuccess`: `sync` writes acknowledged rows to the snapshot, `forget`
 * removes them from it.
 */
async function phase(
  ctx: Context,
  classes: ChangeClass[],
  size: number,
  send: (batch: PlannedRow[]) => Promise<Outcome[]>,
  onSuccess: 'sync' | 'forget',
  filter: PageFilter = {},
): Promise<void> {
  let afterSeq = 0;
  let buffer: PlannedRow[] = [];
  const next = (): PlannedRow[] | null => {
    if (ctx.fatal !== null) return null;
    if (buffer.length === 0) {
      buffer = ctx.stage.page(classes, afterSeq, PAGE_ROWS, filter);
      if (buffer.length === 0) return null;
      afterSeq = buffer[buffer.length - 1]!.seq;
    }
    if (ctx.signal?.aborted) {
      ctx.result.interrupted = true;
      return null;
    }
    return buffer.splice(0, size);
  };
  const worker = async () => {
    for (let batch = next(); batch; batch = next()) {
      let outcomes: Outcome[];
      try {
        outcomes = await send(batch);
      } catch (error) {
        if (isFatal(error)) {
          ctx.fatal ??= error;
          return;
        }
        // Attempts ran out, or the whole batch failed otherwise: its rows are rejected for this
        // run, and planned again by the next one with their values then. No answer says whether
        // they were applied.
        outcomes = batch.map(() => ({ ok: false, own: false, error: errorMessage(error), mayBeApplied: true }));
      }
      try {
        commit(ctx, batch, outcomes, onSuccess);
      } catch (error) {
        // The state database failed: stop, so that nothing is sent that could not be recorded.
        ctx.fatal ??= error;
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: ctx.concurrency }, worker));
}

/**
 * upsert and update modes: one batch call, split on whole-batch rejection.
 * upsert: a row is written by its stored participant id (when its email changed), else by email;
 * an id the API no longer knows is dropped and the row written by email. update: only rows whose
 * participant is in the directory (by stored id, else by email) are written, always by that id:
 * written by email, a participant whose email was changed in User Interviews would be created.
 */
async function upsertRows(ctx: Context, batch: PlannedRow[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(batch.length);
  const writes: ParticipantWrite[] = [];
  batch.forEach((row, index) => {
    const decision = decideRow(ctx.sync.mode, row, ctx.stage, ctx.store, ctx.syncName);
    if (decision.action === 'skip') outcomes[index] = { skipped: decision.reason };
    else if (decision.action === 'write') {
      // update: the directory is a moment old, so an id gone by now is rejected (looked up again
      // next run); upsert: an id the API no longer knows is dropped and the row written by email.
      const ifIdUnknown = ctx.sync.mode === 'update' ? 'reject' : 'by-email';
      writes.push({ index, participant: toParticipant(row, decision.id), ifIdUnknown });
    }
  });
  await writeParticipants(ctx, ctx.sync.mode, batch, writes, outcomes);
  return outcomes;
}

/**
 * One participant of a batch call, for the planned row at `index` of its batch. `ifIdUnknown`
 * says what happens when the API does not know `participant.id` (a participant deleted in User
 * Interviews since its id was stored): `by-email` writes it again without the id (matched, or
 * created, by email), `nothing` settles the row as done without a write (nothing left to clear),
 * `reject` keeps the API's rejection.
 */
interface ParticipantWrite {
  index: number;
  participant: ParticipantInput;
  ifIdUnknown: 'by-email' | 'nothing' | 'reject';
  /** The row's result once it needs no further call (set by `nothing`). */
  settled?: RowResult;
}

/**
 * Sends `writes` through split retries with `PATCH /participants/batches` and puts each row's
 * outcome at its `index` in `outcomes`. A call refused because ids were unknown wrote nothing (all
 * or nothing), so it is sent again at once with those rows handled as their `ifIdUnknown` says; a
 * row loses its id at most once, so this ends. Errors as {@link sendBatch}.
 */
async function writeParticipants(
  ctx: Context,
  operation: string,
  batch: readonly PlannedRow[],
  writes: ParticipantWrite[],
  outcomes: Outcome[],
): Promise<void> {
  if (writes.length === 0) return;
  const batchId = `b${++ctx.batches}`;
  const send = async (rows: readonly ParticipantWrite[]): Promise<RowResult[]> => {
    const tag = batchCallTag(operation, batchId, writes.indexOf(rows[0]!), rows.length);
    for (;;) {
      const pending = rows.filter((w) => w.settled === undefined);
      const results = pending.length === 0 ? [] : await ctx.client.batchUpsert(pending.map((w) => w.participant), { tag });
      let again = false;
      pending.forEach((w, i) => {
        const r = results[i]!;
        if (r.ok || r.code !== 'UNKNOWN_PARTICIPANT' || w.participant.id === undefined || w.ifIdUnknown === 'reject') return;
        again = true;
        if (w.ifIdUnknown === 'nothing') {
          w.settled = { ok: true, id: '' };
        } else {
          const { id: _unknown, ...byEmail } = w.participant;
          w.participant = byEmail;
        }
      });
      if (!again) {
        const answered = new Map(pending.map((w, i) => [w, results[i]!]));
        return rows.map((w) => w.settled ?? answered.get(w)!);
      }
    }
  };
  const results = await sendBatch(ctx, writes, send, (w) => batch[w.index]!.pk);
  writes.forEach((w, i) => {
    const r = results[i]!;
    outcomes[w.index] = r === null ? { pending: true } : { ...r, batch: { id: batchId, index: i } };
  });
}

/** Offending rows named in the error of a row rejected with its batch (split retries off). */
const MAX_CAUSES_SHOWN = 5;

/**
 * One batch through split retries; one result per row, in order. When attempts run out, the rows
 * not acknowledged are rejected with the failure (planned again next run); a split batch that
 * fails part-way keeps the outcomes of the halves already acknowledged. An error that stops the
 * run (see isFatal: a refused API key or request, the run's abort while a request waited) is
 * thrown when nothing was acknowledged, else recorded in `ctx.fatal`, and the rows that got no
 * answer come back `null`: they are not rejected, they stay planned for the next run. With split
 * retries off, a row rejected only because of the others gets the batch's errors, named by
 * primary key (at most {@link MAX_CAUSES_SHOWN}).
 */
async function sendBatch<T>(
  ctx: Context,
  rows: readonly T[],
  send: (rows: readonly T[]) => Promise<RowResult[]>,
  pkOf: (row: T) => string,
): Promise<Array<RowResult | null>> {
  let results: Array<RowResult | null>;
  try {
    results = await sendWithSplitRetries(rows, send, ctx.sync.split_retries);
  } catch (error) {
    if (error instanceof PartialBatchError && isFatal(error.cause)) {
      ctx.fatal ??= error.cause;
      results = error.results;
    } else if (error instanceof PartialBatchError) {
      const failure = errorMessage(error.cause);
      results = error.results.map((r) => r ?? { ok: false, own: false, error: failure });
    } else if (isFatal(error)) {
      throw error;
    } else {
      // Attempts ran out on the first call: nothing of the batch was acknowledged.
      results = rows.map(() => ({ ok: false, own: false, error: errorMessage(error) }));
    }
  }
  if (ctx.sync.split_retries) return results;
  const causes = rows.flatMap((row, i) => {
    const r = results[i];
    return r && !r.ok && r.own ? [`primary key ${pkOf(row)}: ${r.error}`] : [];
  });
  if (causes.length === 0) return results;
  const shown = causes.slice(0, MAX_CAUSES_SHOWN).join('; ') + (causes.length > MAX_CAUSES_SHOWN ? `; and ${causes.length - MAX_CAUSES_SHOWN} more` : '');
  const whole = `batch rejected as a whole (split_retries is off): ${shown}`;
  return results.map((r) => (r && !r.ok && r.code === 'REJECTED_WITH_BATCH' ? { ...r, error: whole } : r));
}

/**
 * insert mode: a row never synced before is created; nothing is ever overwritten. The insert
 * intent recorded before the create is settled when the row is committed with a known outcome;
 * while it stays, the participant holding the row's email is taken as the one that create made.
 */
async function insertRow(ctx: Context, row: PlannedRow): Promise<Outcome> {
  const decision = decideRow('insert', row, ctx.stage, ctx.store, ctx.syncName);
  if (decision.action === 'skip') return { skipped: decision.reason };
  if (decision.action === 'adopt') return { ok: true, id: decision.id, ...(decision.createdWith === undefined ? {} : { createdWith: decision.createdWith }) };
  if (decision.action === 'reject') return { ok: false, own: true, code: 'ALREADY_EXISTS', error: decision.error };
  const intended = ctx.store.insertIntent(ctx.syncName, row.pk) === row.emailKey;
  const batch = { id: `b${++ctx.batches}`, index: 0 };
  ctx.store.recordInsertIntent({ sync: ctx.syncName, pk: row.pk, emailKey: row.emailKey, runId: ctx.runId });
  const result = await ctx.client.createParticipant(toParticipant(row, null), { tag: batchCallTag('insert', batch.id, 0, 1) });
  if (!result.ok && result.code === 'ALREADY_EXISTS' && (result.earlierAttemptMayHaveApplied || intended)) {
    // The email was free when the directory was read, and an earlier attempt of this create (in
    // this run, or an earlier one) got no answer (or a 5xx): that attempt may have created the
    // participant. Look it up rather than report a conflict. After 429s only, nothing of ours was
    // applied: the conflict is real.
    ctx.lostCreates.push({ row, rejection: result, batch });
    if (ctx.lostCreates.length >= LOST_CREATES_PER_READ) await adoptLostCreates(ctx);
    return { pending: true };
  }
  return { ...result, batch };
}

/**
 * insert mode: settles the lost creates held so far with one directory read, made after every one
 * of them was answered. A create whose email the directory holds is adopted (succeeded, with that
 * participant's id); one not found keeps its "already exists" rejection and its insert intent, for
 * a later run. A read that fails rejects them all the same way (a refused API key fails the run).
 */
async function adoptLostCreates(ctx: Context): Promise<void> {
  const lost = ctx.lostCreates.splice(0);
  if (lost.length === 0) return;
  let outcomes: Outcome[];
  try {
    await loadDirectory(ctx, true);
    outcomes = lost.map(({ row, rejection, batch }) => {
      const id = ctx.stage.directoryId(row.emailKey);
      return id === null ? { ...rejection, batch, mayBeApplied: true } : { ok: true, id, batch };
    });
  } catch (error) {
    if (isFatal(error)) {
      ctx.fatal ??= error;
      return;
    }
    const why = `could not read the participants to check whether an earlier attempt created it: ${errorMessage(error)}`;
    outcomes = lost.map(({ batch }) => ({ ok: false, own: false, error: why, batch, mayBeApplied: true }));
  }
  try {
    commit(ctx, lost.map((l) => l.row), outcomes, 'sync');
  } catch (error) {
    ctx.fatal ??= error;
  }
}

/**
 * Delete behaviour `clear`: every mapped field of the last synced values set to null, on the
 * participant by its stored id (else the directory's, by email). A row whose participant does not
 * exist has nothing to clear: it is forgotten without a call (no id known) or once the API says
 * the id is unknown (deleted since), so clearing never creates one. A participant another
 * primary key holds now is left alone: the row is forgotten without a call.
 */
async function clearRows(ctx: Context, batch: PlannedRow[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(batch.length);
  const writes: ParticipantWrite[] = [];
  batch.forEach((row, index) => {
    const id = row.heldBy === null ? (row.participantId ?? ctx.stage.directoryId(row.emailKey)) : null;
    if (id === null) {
      outcomes[index] = { ok: true, id: '' };
      return;
    }
    const last = JSON.parse(row.payload) as Record<string, unknown>;
    const cleared: ParticipantInput = { email: row.email };
    for (const [field, value] of Object.entries(last)) {
      if (field === 'characteristics') {
        cleared.characteristics = Object.fromEntries(Object.keys(value as object).map((slug) => [slug, null]));
      } else {
        (cleared as Record<string, unknown>)[field] = null;
      }
    }
    cleared.id = id;
    writes.push({ index, participant: cleared, ifIdUnknown: 'nothing' });
  });
  await writeParticipants(ctx, 'clear', batch, writes, outcomes);
  return outcomes;
}

/**
 * Delete behaviour `delete`: by the stored participant id, else by the directory's. A participant
 * already gone (deleted by hand) answers 404, which the client reports as done. A participant
 * another primary key holds now is not ours to delete: the row is forgotten without a call.
 */
async function deleteRow(ctx: Context, row: PlannedRow): Promise<Outcome> {
  if (row.heldBy !== null) return { ok: true, id: '' };
  const id = row.participantId ?? ctx.stage.directoryId(row.emailKey);
  if (id === null) return { ok: true, id: '' }; // no such participant: nothing left to delete
  const batch = { id: `b${++ctx.batches}`, index: 0 };
  return { ...(await ctx.client.deleteParticipant(id, { tag: batchCallTag('delete', batch.id, 0, 1) })), batch };
}

/**
 * The participant sent for a planned row: written by `id` when one is given, else found (or, by
 * an upsert, created) by email.
 */
function toParticipant(row: PlannedRow, id: string | null): ParticipantInput {
  const fields = JSON.parse(row.payload) as Omit<ParticipantInput, 'email'>;
  const participant: ParticipantInput = { email: row.email, ...fields };
  if (id !== null) participant.id = id;
  return participant;
}

/** What a mode does with a planned added or changed row, before any call; see {@link decideRow}. */
export type RowDecision =
  | { action: 'write'; id: string | null }
  | { action: 'skip'; reason: string }
  | { action: 'reject'; error: string }
  /** `createdWith`: the normalized email the earlier create was sent with, when it is not the row's now. */
  | { action: 'adopt'; id: string; createdWith?: string };

/**
 * The rule of each mode for a planned added or changed row, once the directory is read (update
 * and insert modes). Shared by the run and by `panelsync plan`, so that a plan says what the run does.
 * - upsert: write, by the stored participant id when the row's email changed, else by email;
 * - update: write by the participant's id: the row's stored one if the directory has it, else the
 *   one with its email; with neither, skip (update mode never creates a participant; written by
 *   email, a participant whose email was changed in User Interviews would be created);
 * - insert: a row synced before is skipped (insert mode never updates); a row whose own create of
 *   an earlier run got no answer (its insert intent) adopts the participant holding the email that
 *   create was sent with, even when the row's email changed since (else a second participant
 *   would be created for it); a row whose email a participant holds is rejected "already
 *   exists"; otherwise write (create).
 */
export function decideRow(
  mode: SyncMode,
  row: PlannedRow,
  directory: Pick<Stage, 'directoryId'>,
  intents: Pick<StateStore, 'insertIntent'>,
  sync: string,
): RowDecision {
  if (mode === 'upsert') return { action: 'write', id: emailChanged(row) ? row.participantId : null };
  if (mode === 'update') {
    // A stored id missing from the directory names a participant deleted since: try the email.
    const id = row.existingId ?? directory.directoryId(row.emailKey);
    return id === null ? { action: 'skip', reason: 'no participant with this email exists (update mode never creates one)' } : { action: 'write', id };
  }
  if (row.class === 'changed' || row.previousPayload !== null) return { action: 'skip', reason: 'already synced (insert mode never updates a participant)' };
  // An earlier run sent this create and got no answer: the participant with that email is its.
  const intent = intents.insertIntent(sync, row.pk);
  if (intent !== null) {
    const made = intent === row.emailKey ? row.existingId : directory.directoryId(intent);
    if (made !== null) return intent === row.emailKey ? { action: 'adopt', id: made } : { action: 'adopt', id: made, createdWith: intent };
  }
  if (row.existingId === null) return { action: 'write', id: null };
  return { action: 'reject', error: `already exists: participant ${row.existingId} has this email` };
}

/** True when the row's email changed since it was synced (case and surrounding spaces alone are no change). */
function emailChanged(row: PlannedRow): boolean {
  return row.previousEmail !== null && row.emailKey !== normalizeEmail(row.previousEmail);
}

/**
 * Reads the destination's email -> id directory into the stage: once per run, or again with
 * `reload` (after the previous read, never at the same time: a read replaces the stage's table).
 */
async function loadDirectory(ctx: Context, reload = false): Promise<void> {
  if (ctx.directory !== null && !reload) return ctx.directory;
  const read = () => readDirectory(ctx.client, ctx.stage).then(() => undefined);
  const previous = ctx.directory;
  ctx.directory = previous === null ? read() : previous.catch(() => undefined).then(read);
  return ctx.directory;
}

/**
 * A failure that must stop the run at once: one every further request would meet too (a refused
 * API key, a request refused as a whole such as a 404 from a wrong base_url or a 403, a host a
 * retry cannot reach; see failsEveryRequest), or the run's abort while a request waited (the run
 * then ends interrupted, not failed). A single row refused for what it carries (400, 409, 422 on
 * a create or a delete) is no such failure: the client answers it as that row's rejection. Rows
 * that got no answer before such a failure are never recorded as rejected.
 */
function isFatal(error: unknown): boolean {
  return failsEveryRequest(error) || error instanceof HttpAbortedError;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function hasPlanned(ctx: Context, classes: ChangeClass[], where: (row: PlannedRow) => boolean = () => true): boolean {
  for (let afterSeq = 0; ; ) {
    const rows = ctx.stage.page(classes, afterSeq, PAGE_ROWS);
    if (rows.length === 0) return false;
    if (rows.some(where)) return true;
    afterSeq = rows[rows.length - 1]!.seq;
  }
}

/**
 * Commits the outcomes of `batch` (rows with a `pending` outcome are left for later) in one store
 * transaction, adds them to the run's counts and emits `batch:done` with per-class counts. In
 * insert mode, the insert intents of rows whose outcome is known are settled in the same commit.
 * A row the store refuses to record (its participant belongs to another primary key of the model,
 * see StateStore.commitBatch) counts as rejected.
 * @throws whatever the state store throws (nothing was committed then)
 */
function commit(ctx: Context, batch: readonly PlannedRow[], results: readonly Outcome[], onSuccess: 'sync' | 'forget'): void {
  const { runId, syncName, events, result } = ctx;
  const synced: Array<{ pk: string; email: string; emailKey: string; payload: string; participantId: string | null }> = [];
  const forgotten: string[] = [];
  const settledIntents: string[] = [];
  const outcomes: RowOutcome[] = [];
  const rejectedRows: Array<{ row: PlannedRow; error: string }> = [];
  const done = { succeeded: emptyClassCounts(), rejected: emptyClassCounts(), skipped: emptyClassCounts() };
  const settlesIntents = ctx.sync.mode === 'insert' && onSuccess === 'sync';
  batch.forEach((row, i) => {
    const outcome = results[i]!;
    if ('pending' in outcome) return;
    if (settlesIntents && !('skipped' in outcome) && outcome.mayBeApplied !== true) settledIntents.push(row.pk);
    if ('skipped' in outcome) {
      done.skipped[row.class]++;
      outcomes.push({ pk: row.pk, class: row.class, result: 'skipped', error: outcome.skipped, participantId: row.participantId });
    } else if (outcome.ok) {
      done.succeeded[row.class]++;
      const participantId = outcome.id === '' ? row.participantId : outcome.id;
      if (onSuccess === 'sync') {
        const email = outcome.createdWith ?? row.email;
        synced.push({ pk: row.pk, email, emailKey: outcome.createdWith ?? row.emailKey, payload: row.payload, participantId });
      } else {
        forgotten.push(row.pk);
      }
      outcomes.push({ pk: row.pk, class: row.class, result: 'succeeded', error: null, participantId, batch: outcome.batch ?? null });
    } else {
      done.rejected[row.class]++;
      outcomes.push({ pk: row.pk, class: row.class, result: 'rejected', error: outcome.error, participantId: row.participantId, batch: outcome.batch ?? null });
      rejectedRows.push({ row, error: outcome.error });
    }
  });
  if (outcomes.length === 0) return;
  const refusals = ctx.store.commitBatch({ runId, sync: syncName, synced, forgotten, outcomes, ...(settlesIntents ? { settledIntents } : {}) });
  // Written to a participant another primary key of the model holds: recorded as rejected.
  for (const refusal of refusals) {
    const row = batch.find((r) => r.pk === refusal.pk)!;
    done.succeeded[row.class]--;
    done.rejected[row.class]++;
    rejectedRows.push({ row, error: refusal.error });
  }
  for (const c of CHANGE_CLASSES) {
    result.succeeded[c] += done.succeeded[c];
    result.rejected[c] += done.rejected[c];
    result.skipped[c] += done.skipped[c];
  }
  for (const { row, error } of rejectedRows) events.emit('row:rejected', { runId, sync: syncName, pk: row.pk, class: row.class, error });
  events.emit('batch:done', { runId, sync: syncName, rows: outcomes.length, ...done });
}
