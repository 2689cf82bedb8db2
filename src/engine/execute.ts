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
 * mapped field nulled on the participant named by id, its email left alone) or `delete`
 * (`DELETE /participants/{id}`). A removed row whose participant another primary key's
 * acknowledged row holds now (the key changed hands) is forgotten without a call. Which
 * participant a write may target, and when a row waits for another key, is src/engine/identity.ts.
 *
 * Every write is recorded as an intent before it is sent (StateStore.recordIntents) and settled by
 * the commit of its answer; one that gets no answer stays in doubt for the next run to settle. A
 * transport failure is no rejection: when a request runs out of attempts (the destination is down
 * or unreachable) the run stops starting batches and fails; the rows never sent or never answered
 * are `unsent` and planned again by the next run.
 *
 * A stored participant id may name a participant deleted by hand in User Interviews since. Then a
 * changed row falls back to its email (upsert: matched or created by email; update: looked up in
 * the directory, skipped when unknown), and a removed row has nothing left to clear or delete.
 */
import type { SyncConfig } from '../config/schema.ts';
import type { Destination, ParticipantWrite, RowResult } from '../destinations/destination.ts';
import { failsEveryRequest, HttpAbortedError, HttpError } from '../http/errors.ts';
import { batchCallTag } from '../state/batch-call-tag.ts';
import {
  CHANGE_CLASSES,
  type ChangeClass,
  type PageFilter,
  type PlannedRow,
  type RowOutcome,
  type Stage,
  type StateStore,
  type WriteIntent,
} from '../state/state-store.ts';
import type { SyncEvents } from './events.ts';
import { decideRow, readsDirectoryFirst, UNMATCHED_REASON } from './identity.ts';
import { hasPlanned } from './plan.ts';
import { readDirectory } from './read-directory.ts';
import { emptyClassCounts, type ClassCounts } from './run-summary.ts';
import { PartialBatchError, sendWithSplitRetries } from './split-retry.ts';

export interface ExecuteOptions {
  runId: string;
  syncName: string;
  sync: Pick<SyncConfig, 'mode' | 'split_retries' | 'delete_behavior'>;
  stage: Stage;
  store: StateStore;
  destination: Destination;
  events: SyncEvents;
  /** Participants per batch (at most 100). */
  batchSize: number;
  /** Batches (or single-row requests) in flight at once. */
  concurrency: number;
  /** Once aborted, no new batch starts; batches in flight finish and are committed. */
  signal?: AbortSignal;
  /** The run lock's owner token: every commit checks the run still holds the lock (see BatchCommit.lockOwner). */
  lockOwner?: string | null;
  /**
   * Primary keys whose write of an earlier run may still land, with until when (ISO 8601; see
   * settleInDoubt): not written by this run, they wait (unsent).
   */
  mayStillLand?: ReadonlyMap<string, string>;
  /** Called when a failure ends the run (no answer, a refused key): requests still waiting to be sent should be dropped. */
  onFatal?: () => void;
}

export interface ExecuteResult {
  succeeded: ClassCounts;
  rejected: ClassCounts;
  /** Rows the mode does not act on (update: no such participant; insert: already synced). */
  skipped: ClassCounts;
  /** True when the signal stopped the run before every planned row was acted on. */
  interrupted: boolean;
  /**
   * The error that ended the run early (a refused API key, the destination unreachable for longer
   * than the attempts, a directory read that failed, the run lock lost); the counts above cover
   * the batches committed before it. Absent when the run went to the end.
   */
  failure?: unknown;
}

/** Planned rows read from the stage per page; a page is cut into batches. */
const PAGE_ROWS = 1_000;

/**
 * A row's outcome before it is committed: the API's answer, skipped with the reason, waiting
 * for another key (see identity.ts), or `unanswered`: its request got no answer before the run
 * stopped (recorded `unsent` with the failure; `mayBeApplied` keeps its intent in doubt). `batch` links a sent row to the calls that carried it (their
 * tags, see state/batch-call-tag.ts). `mayBeApplied`: no answer says whether a create was
 * applied, so its intent stays in doubt. `pending`: not committed now: {@link adoptLostCreates}
 * commits it later, or the row got no answer before the run stopped (it stays planned, for the
 * next run).
 */
type Outcome =
  | ((RowResult | { skipped: string } | { waits: string } | { unanswered: string }) & { batch?: { id: string; index: number }; mayBeApplied?: true })
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
  /**
   * Set while the email moves are sent: rows that wait for another key's move, held back (not
   * committed) so that they are tried again once that move went through in the same run.
   */
  heldMoves: Map<string, { row: PlannedRow; reason: string }> | null;
}

/**
 * Acts on every planned row and commits each batch's outcome. Row-level failures are outcomes,
 * not exceptions. Never throws: an error that ends the run (a refused API key or request, a
 * destination that stopped answering, a state database failure, a lost lock) stops every worker,
 * the batches in flight are committed, and the error comes back as `failure` with the counts of
 * what was committed.
 */
export async function execute(options: ExecuteOptions): Promise<ExecuteResult> {
  const ctx: Context = {
    ...options,
    result: { succeeded: emptyClassCounts(), rejected: emptyClassCounts(), skipped: emptyClassCounts(), interrupted: false },
    fatal: null,
    directory: null,
    batches: 0,
    lostCreates: [],
    heldMoves: null,
  };
  const { mode, delete_behavior: deleteBehavior } = options.sync;

  try {
    if (readsDirectoryFirst(mode, ctx.stage)) await loadDirectory(ctx);
    if (mode === 'insert') {
      await phase(ctx, ['added', 'changed'], 1, async ([row]) => [await insertRow(ctx, row!)], 'sync');
      // After a failure that ends the run, lost creates keep their intents: a later run adopts them.
      if (ctx.fatal === null) await adoptLostCreates(ctx);
    } else {
      // First the rows that move to a new email, written by their participant's id: the emails
      // they leave are free before any row is matched by email (another key may take one over).
      const send = (batch: PlannedRow[]) => upsertRows(ctx, batch);
      await sendEmailMoves(ctx, send);
      // update: the directory was read before those emails moved; rows found by email look again.
      const moved = ctx.result.succeeded.added + ctx.result.succeeded.changed > 0;
      if (mode === 'update' && moved && ctx.fatal === null) await loadDirectory(ctx, true);
      await phase(ctx, ['added', 'changed'], options.batchSize, send, 'sync', { movesEmail: false });
    }

    if (deleteBehavior === 'do_nothing') {
      await phase(ctx, ['removed'], PAGE_ROWS, async (batch) => batch.map(() => ({ ok: true, id: '' })), 'forget');
    } else {
      // A removed row without a stored participant id is found by email, if it exists at all.
      if (ctx.fatal === null && hasPlanned(ctx.stage, ['removed'], (row) => row.participantId === null && row.heldBy === null)) {
        await loadDirectory(ctx);
      }
      if (deleteBehavior === 'clear') {
        await phase(ctx, ['removed'], options.batchSize, (batch) => clearRows(ctx, batch), 'forget');
      } else {
        await phase(ctx, ['removed'], 1, async ([row]) => [await deleteRow(ctx, row!)], 'forget');
      }
    }
  } catch (error) {
    endRun(ctx, error);
  }

  // Aborted while a request waited: the run stopped as if between batches, it did not fail.
  if (ctx.fatal instanceof HttpAbortedError || (ctx.fatal instanceof PartialBatchError && ctx.fatal.cause instanceof HttpAbortedError)) {
    ctx.result.interrupted = true;
  } else if (ctx.fatal !== null) ctx.result.failure = ctx.fatal;
  ctx.result.interrupted = options.signal?.aborted === true && ctx.result.interrupted;
  return ctx.result;
}

/**
 * Sends the rows that move to a new email. A row whose new email another key of the model still
 * holds waits; once a pass acknowledged some moves, the waiting rows are tried again (a chain of
 * moves goes through in one run); the rows still waiting then are committed as unsent.
 */
async function sendEmailMoves(ctx: Context, send: (batch: PlannedRow[]) => Promise<Outcome[]>): Promise<void> {
  ctx.heldMoves = new Map();
  let only: ReadonlySet<string> | undefined;
  try {
    for (;;) {
      const before = ctx.result.succeeded.added + ctx.result.succeeded.changed;
      await phase(ctx, ['added', 'changed'], ctx.batchSize, send, 'sync', { movesEmail: true }, only);
      const moved = ctx.result.succeeded.added + ctx.result.succeeded.changed > before;
      if (ctx.heldMoves.size === 0 || !moved || ctx.fatal !== null || ctx.result.interrupted) break;
      only = new Set(ctx.heldMoves.keys());
      ctx.heldMoves.clear();
    }
  } finally {
    const held = [...ctx.heldMoves.values()];
    ctx.heldMoves = null;
    if (held.length > 0 && ctx.fatal === null) {
      commit(ctx, held.map((h) => h.row), held.map((h) => ({ waits: h.reason })), 'sync');
    }
  }
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
  only?: ReadonlySet<string>,
): Promise<void> {
  let afterSeq = 0;
  let buffer: PlannedRow[] = [];
  const next = (): PlannedRow[] | null => {
    if (ctx.fatal !== null) return null;
    while (buffer.length === 0) {
      const page = ctx.stage.page(classes, afterSeq, PAGE_ROWS, filter);
      if (page.length === 0) return null;
      afterSeq = page[page.length - 1]!.seq;
      buffer = only === undefined ? page : page.filter((row) => only.has(row.pk));
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
        outcomes = await sendUnlessInFlight(ctx, batch, send);
      } catch (error) {
        // No answer for the batch (attempts ran out: the destination is down; a refused key; the
        // run aborted): the run stops starting batches. Its rows are unsent; their intents stay in
        // doubt unless no attempt can have been applied (only 429s, or nothing sent).
        endRun(ctx, error);
        if (error instanceof HttpError && !error.mayHaveBeenApplied) settleUnapplied(ctx, batch.map((row) => row.pk));
        return;
      }
      try {
        commit(ctx, batch, outcomes, onSuccess);
      } catch (error) {
        // The state database failed: stop, so that nothing is sent that could not be recorded.
        endRun(ctx, error);
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: ctx.concurrency }, worker));
}

/**
 * Sends the rows of `batch` but those whose write of an earlier run may still land
 * ({@link ExecuteOptions.mayStillLand}): they wait, so that a late write never lands over this run's.
 */
async function sendUnlessInFlight(ctx: Context, batch: PlannedRow[], send: (batch: PlannedRow[]) => Promise<Outcome[]>): Promise<Outcome[]> {
  const late = ctx.mayStillLand;
  if (late === undefined || late.size === 0 || !batch.some((row) => late.has(row.pk))) return send(batch);
  const rest = batch.filter((row) => !late.has(row.pk));
  const sent = rest.length === 0 ? [] : await send(rest);
  const byPk = new Map(rest.map((row, i) => [row.pk, sent[i]!]));
  return batch.map(
    (row) =>
      byPk.get(row.pk) ?? {
        waits: `waits: a write of an earlier run to this row got no answer and may still land until ${late.get(row.pk)}; sent by a run after that`,
      },
  );
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
  const writes: PlannedWrite[] = [];
  // One read of the state database for the whole batch's decisions (a holder question per row).
  const decisions = ctx.stage.readAtOnce(() => batch.map((row) => decideRow(ctx.sync.mode, row, ctx.stage)));
  // update: keys the directory read just now found unmatched are skipped without a read for a while.
  const readAt = ctx.stage.directoryReadAt();
  if (ctx.sync.mode === 'update' && readAt !== null) {
    const unmatched = batch.filter((_row, i) => {
      const decision = decisions[i]!;
      return decision.action === 'skip' && decision.reason === UNMATCHED_REASON;
    });
    ctx.store.recordUnmatched(ctx.syncName, ctx.runId, unmatched, readAt);
  }
  batch.forEach((row, index) => {
    const decision = decisions[index]!;
    if (decision.action === 'skip') outcomes[index] = { skipped: decision.reason };
    else if (decision.action === 'wait') {
      if (ctx.heldMoves === null) outcomes[index] = { waits: decision.reason };
      else {
        ctx.heldMoves.set(row.pk, { row, reason: decision.reason });
        outcomes[index] = { pending: true };
      }
    } else if (decision.action === 'write') {
      // update: the directory is a moment old, so an id gone by now is rejected (looked up again
      // next run); upsert: an id the API no longer knows is dropped and the row written by email.
      const ifIdUnknown = ctx.sync.mode === 'update' ? 'reject' : 'by-email';
      writes.push({ index, write: rowWrite(row, decision.id), ifIdUnknown });
    }
  });
  await writeParticipants(ctx, ctx.sync.mode, batch, writes, outcomes);
  return outcomes;
}

/**
 * One participant of a batch call, for the planned row at `index` of its batch. `ifIdUnknown`
 * says what happens when the destination does not know `write.participantId` (a participant
 * deleted in User Interviews since its id was stored): `by-email` writes it again without the id
 * (matched, or created, by email), `nothing` settles the row as done without a write (nothing left
 * to clear), `reject` keeps the rejection.
 */
interface PlannedWrite {
  index: number;
  write: ParticipantWrite;
  ifIdUnknown: 'by-email' | 'nothing' | 'reject';
  /** The row's result once it needs no further call (set by `nothing`). */
  settled?: RowResult;
}

/**
 * Sends `writes` through split retries with Destination.writeParticipants, each recorded as an
 * intent first, and puts each row's outcome at its `index` in `outcomes`. A call refused because ids were unknown wrote nothing (all
 * or nothing), so it is sent again at once with those rows handled as their `ifIdUnknown` says; a
 * row loses its id at most once, so this ends. Errors as {@link sendBatch}.
 */
async function writeParticipants(
  ctx: Context,
  operation: string,
  batch: readonly PlannedRow[],
  writes: PlannedWrite[],
  outcomes: Outcome[],
): Promise<void> {
  if (writes.length === 0) return;
  const batchId = `b${++ctx.batches}`;
  ctx.store.recordIntents(
    ctx.syncName,
    ctx.runId,
    writes.map(({ index, write }): WriteIntent => {
      const row = batch[index]!;
      const kind = operation === 'clear' ? 'clear' : write.participantId === undefined ? 'upsert' : 'update';
      // A clear sends no email, but its intent holds the participant's email against other keys.
      return { pk: row.pk, kind, email: write.email ?? null, emailKey: row.emailKey, participantId: write.participantId ?? null, payload: row.payload };
    }),
  );
  const send = async (rows: readonly PlannedWrite[]): Promise<RowResult[]> => {
    const tag = batchCallTag(operation, batchId, writes.indexOf(rows[0]!), rows.length);
    for (;;) {
      const pending = rows.filter((w) => w.settled === undefined);
      const onAttempt = retriesTouch(ctx, pending.map((w) => batch[w.index]!.pk));
      const results = pending.length === 0 ? [] : await ctx.destination.writeParticipants(pending.map((w) => w.write), { tag, onAttempt });
      let again = false;
      pending.forEach((w, i) => {
        const r = results[i]!;
        if (r.ok || r.code !== 'UNKNOWN_PARTICIPANT' || w.write.participantId === undefined || w.ifIdUnknown === 'reject') return;
        again = true;
        if (w.ifIdUnknown === 'nothing') {
          w.settled = { ok: true, id: '' };
        } else {
          const { participantId: _unknown, ...byEmail } = w.write;
          w.write = byEmail;
        }
      });
      if (!again) {
        const answered = new Map(pending.map((w, i) => [w, results[i]!]));
        return rows.map((w) => w.settled ?? answered.get(w)!);
      }
    }
  };
  const { results, failure } = await sendBatch(ctx, writes, send, (w) => batch[w.index]!.pk);
  // This batch's own failure stops the run. Its rows without an answer: recorded unsent with why
  // when the destination stopped answering; left without an outcome when the run was stopped or
  // the request refused as a whole (the run's error says it). Their intents stay in doubt unless
  // none of this batch's attempts can have been applied.
  if (failure !== null) endRun(ctx, failure);
  const applied = !(failure instanceof HttpError) || failure.mayHaveBeenApplied;
  const unanswered = failure instanceof HttpAbortedError || failsEveryRequest(failure) ? null : `not answered, the run stopped: ${errorText(failure)}`;
  const notApplied: string[] = [];
  writes.forEach((w, i) => {
    const r = results[i]!;
    const at = { id: batchId, index: i };
    if (r !== null) outcomes[w.index] = { ...r, batch: at };
    else {
      if (!applied) notApplied.push(batch[w.index]!.pk);
      outcomes[w.index] = unanswered === null ? { pending: true } : { unanswered, batch: at, ...(applied ? { mayBeApplied: true as const } : {}) };
    }
  });
  if (notApplied.length > 0) settleUnapplied(ctx, notApplied);
}

/**
 * An `onAttempt` that records when each attempt of the writes of `pks` goes on the wire (their
 * intents' sentAt): a split half, a retry or an attempt held at the rate-limit gate goes later
 * than the intent was recorded, and the late-write horizon counts from the last one.
 */
function retriesTouch(ctx: Context, pks: readonly string[]): () => void {
  return () => ctx.store.touchIntents(ctx.syncName, pks);
}

/** Removes the intents of writes that cannot have been applied (only 429s, or never sent): nothing is in doubt. */
function settleUnapplied(ctx: Context, pks: readonly string[]): void {
  try {
    ctx.store.settleIntents(ctx.syncName, ctx.runId, pks.map((pk) => ({ pk, snapshot: 'keep' as const })));
  } catch {
    // Left in doubt: the next run settles them with a directory read.
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Offending rows named in the error of a row rejected with its batch (split retries off). */
const MAX_CAUSES_SHOWN = 5;

/**
 * One batch through split retries; one result per row, in order, and this batch's own failure.
 * A split batch that fails part-way keeps the outcomes of the halves already answered; the rows
 * that got no answer come back `null` (unsent: planned again by the next run) with `failure` set
 * (the caller stops the run). With split retries off, a row rejected only because of the others
 * gets the batch's errors, named by primary key (at most {@link MAX_CAUSES_SHOWN}).
 */
async function sendBatch<T>(
  ctx: Context,
  rows: readonly T[],
  send: (rows: readonly T[]) => Promise<RowResult[]>,
  pkOf: (row: T) => string,
): Promise<{ results: Array<RowResult | null>; failure: unknown }> {
  let results: Array<RowResult | null>;
  try {
    results = await sendWithSplitRetries(rows, send, ctx.sync.split_retries);
  } catch (error) {
    const partial = error instanceof PartialBatchError;
    return { results: partial ? error.results : rows.map(() => null), failure: partial ? error.cause : error };
  }
  return { results: withBatchCauses(ctx, rows, results, pkOf), failure: null };
}

/** With split retries off, the rows rejected only because of the others get the batch's errors. */
function withBatchCauses<T>(ctx: Context, rows: readonly T[], results: Array<RowResult | null>, pkOf: (row: T) => string): Array<RowResult | null> {
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
 * insert mode: a row never synced before is created; nothing is ever overwritten. The create's
 * intent is recorded before it is sent; a create answered "already exists" after an earlier
 * attempt got no answer is looked up in the directory before it is called a conflict.
 */
async function insertRow(ctx: Context, row: PlannedRow): Promise<Outcome> {
  const decision = decideRow('insert', row, ctx.stage);
  if (decision.action === 'skip') return { skipped: decision.reason };
  if (decision.action === 'reject') return { ok: false, own: true, code: 'ALREADY_EXISTS', error: decision.error };
  if (decision.action === 'wait') return { waits: decision.reason };
  const batch = { id: `b${++ctx.batches}`, index: 0 };
  ctx.store.recordIntents(ctx.syncName, ctx.runId, [
    { pk: row.pk, kind: 'create', email: row.email, emailKey: row.emailKey, participantId: null, payload: row.payload },
  ]);
  const result = await ctx.destination.createParticipant(rowWrite(row, null), {
    tag: batchCallTag('insert', batch.id, 0, 1),
    onAttempt: retriesTouch(ctx, [row.pk]),
  });
  if (!result.ok && result.code === 'ALREADY_EXISTS' && result.earlierAttemptMayHaveApplied) {
    // The email was free when the directory was read, and an earlier attempt of this create got
    // no answer (or a 5xx): that attempt may have created the participant. Look it up rather than
    // report a conflict. After 429s only, nothing of ours was applied: the conflict is real.
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
    // The directory could not be read: the creates stay in doubt (their intents), the run stops.
    endRun(ctx, error);
    return;
  }
  try {
    commit(ctx, lost.map((l) => l.row), outcomes, 'sync');
  } catch (error) {
    endRun(ctx, error);
  }
}

/**
 * Delete behaviour `clear`: every mapped field of the last synced values set to null, on the
 * participant named by its stored id only (else the directory's, by email), so that its email is
 * left as User Interviews holds it. A row whose participant does not exist has nothing to clear:
 * it is forgotten without a call (no id known) or once the API says the id is unknown (deleted
 * since), so clearing never creates one. A participant another primary key's acknowledged row
 * holds now is left alone: the row is forgotten without a call.
 */
async function clearRows(ctx: Context, batch: PlannedRow[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(batch.length);
  const writes: PlannedWrite[] = [];
  batch.forEach((row, index) => {
    const id = row.heldBy === null ? (row.participantId ?? ctx.stage.directoryId(row.emailKey)) : null;
    if (id === null) {
      outcomes[index] = { ok: true, id: '' };
      return;
    }
    const waits = removedRowWaits(ctx, row, id);
    if (waits !== null) {
      outcomes[index] = { waits };
      return;
    }
    const last = JSON.parse(row.payload) as Record<string, unknown>;
    const fields = Object.entries(last).flatMap(([field, value]) =>
      field === 'characteristics' ? Object.keys(value as object).map((slug) => `characteristics.${slug}`) : [field],
    );
    // Named by id only: an email changed in User Interviews since is left as it is.
    writes.push({ index, write: { participantId: id, clear: fields }, ifIdUnknown: 'nothing' });
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
  const waits = removedRowWaits(ctx, row, id);
  if (waits !== null) return { waits };
  const batch = { id: `b${++ctx.batches}`, index: 0 };
  // The intent holds the participant and its email against other keys until it is settled.
  ctx.store.recordIntents(ctx.syncName, ctx.runId, [{ pk: row.pk, kind: 'delete', email: null, emailKey: row.emailKey, participantId: id, payload: null }]);
  const onAttempt = retriesTouch(ctx, [row.pk]);
  return { ...(await ctx.destination.deleteParticipant(id, { tag: batchCallTag('delete', batch.id, 0, 1), onAttempt })), batch };
}

/**
 * Why a removed row's delete behaviour must wait, or `null`: another key's write that may still
 * land names its participant or its email (a key taking it over whose write is in doubt).
 */
function removedRowWaits(ctx: Context, row: PlannedRow, participantId: string): string | null {
  const holder = ctx.stage.participantHolder(participantId, row.pk) ?? ctx.stage.emailHolder(row.emailKey, row.pk);
  return holder === null
    ? null
    : `waits: a write of primary key ${holder} that may still land names this participant; its delete behaviour applies once that write is settled`;
}

/**
 * The write of a planned row: its email and mapped fields, to the participant `id` when one is
 * given (a move renames it), else found (or, by an upsert, created) by email.
 */
function rowWrite(row: PlannedRow, id: string | null): ParticipantWrite {
  const fields = JSON.parse(row.payload) as Record<string, unknown>;
  return id === null ? { email: row.email, fields } : { participantId: id, email: row.email, fields };
}

/**
 * Reads the destination's email -> id directory into the stage: once per run, or again with
 * `reload` (after the previous read, never at the same time: a read replaces the stage's table).
 */
async function loadDirectory(ctx: Context, reload = false): Promise<void> {
  if (ctx.directory !== null && !reload) return ctx.directory;
  const read = () => readDirectory(ctx.destination, ctx.stage).then(() => undefined);
  const previous = ctx.directory;
  ctx.directory = previous === null ? read() : previous.catch(() => undefined).then(read);
  return ctx.directory;
}


/** Records the failure that ends the run (the first one stands) and drops the requests still waiting to be sent. */
function endRun(ctx: Context, failure: unknown): void {
  ctx.fatal ??= failure;
  ctx.onFatal?.();
}

/**
 * Commits the outcomes of `batch` (rows with a `pending` outcome are left for later) in one store
 * transaction, adds them to the run's counts and emits `batch:done` with per-class counts. The
 * intents of rows whose write was answered are settled in the same commit (a create that may
 * have been applied keeps its intent: it stays in doubt); a row that waits for another key is
 * recorded `unsent` with the reason. A row the store refuses to record (its participant belongs
 * to another primary key of the model, see StateStore.commitBatch) is unsent.
 * @throws whatever the state store throws, LockLostError when the run lost its lock (nothing was committed then)
 */
function commit(ctx: Context, batch: readonly PlannedRow[], results: readonly Outcome[], onSuccess: 'sync' | 'forget'): void {
  const { runId, syncName, events, result } = ctx;
  const synced: Array<{ pk: string; email: string; emailKey: string; payload: string; participantId: string | null }> = [];
  const forgotten: string[] = [];
  const settledIntents: string[] = [];
  const resendCleared: string[] = [];
  const outcomes: RowOutcome[] = [];
  const rejectedRows: Array<{ row: PlannedRow; error: string }> = [];
  const done = { succeeded: emptyClassCounts(), rejected: emptyClassCounts(), skipped: emptyClassCounts() };
  batch.forEach((row, i) => {
    const outcome = results[i]!;
    if ('pending' in outcome) return;
    if ('skipped' in outcome) {
      if (row.resend) resendCleared.push(row.pk);
      done.skipped[row.class]++;
      outcomes.push({ pk: row.pk, class: row.class, result: 'skipped', error: outcome.skipped, participantId: row.participantId });
      return;
    }
    if ('waits' in outcome) {
      outcomes.push({ pk: row.pk, class: row.class, result: 'unsent', error: outcome.waits, participantId: row.participantId });
      return;
    }
    if ('unanswered' in outcome) {
      if (outcome.mayBeApplied !== true) settledIntents.push(row.pk);
      outcomes.push({ pk: row.pk, class: row.class, result: 'unsent', error: outcome.unanswered, participantId: row.participantId, batch: outcome.batch ?? null });
      return;
    }
    // Acknowledged after an attempt that got no answer: that attempt may land later; kept in doubt.
    const lateAttempt = outcome.ok && outcome.earlierAttemptMayHaveApplied === true;
    if (outcome.mayBeApplied !== true && !lateAttempt) settledIntents.push(row.pk);
    if (outcome.ok) {
      done.succeeded[row.class]++;
      const participantId = outcome.id === '' ? row.participantId : outcome.id;
      if (onSuccess === 'sync') {
        synced.push({ pk: row.pk, email: row.email, emailKey: row.emailKey, payload: row.payload, participantId });
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
  const refusals = ctx.store.commitBatch({ runId, sync: syncName, synced, forgotten, outcomes, settledIntents, resendCleared, ...(ctx.lockOwner === undefined ? {} : { lockOwner: ctx.lockOwner }) });
  // Written to a participant another primary key of the model holds: not recorded, unsent.
  for (const refusal of refusals) {
    const row = batch.find((r) => r.pk === refusal.pk)!;
    done.succeeded[row.class]--;
  }
  for (const c of CHANGE_CLASSES) {
    result.succeeded[c] += done.succeeded[c];
    result.rejected[c] += done.rejected[c];
    result.skipped[c] += done.skipped[c];
  }
  for (const { row, error } of rejectedRows) events.emit('row:rejected', { runId, sync: syncName, pk: row.pk, class: row.class, error });
  events.emit('batch:done', { runId, sync: syncName, rows: outcomes.length, ...done });
}
