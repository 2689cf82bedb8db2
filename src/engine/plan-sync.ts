/**
 * `panelsync plan` (and `run --dry-run`): what a run would do, without doing it. Reads the
 * destination's characteristics and the model, diffs against the snapshot, and reports counts and
 * the field-level changes of a sample of rows. In update and insert modes it also reads the
 * destination's participants (GET only), as the run does first, to tell the rows the run would
 * skip (update: no participant has the email) or reject (insert: a participant already has it).
 * It applies the run's mass-delete guard and destination check (a new API key alone costs one
 * directory read, as in the run, to tell the same account from another) and says when the run
 * would be refused. Calls no write endpoint, records no run and changes no snapshot row or
 * recorded destination.
 */
import { randomBytes } from 'node:crypto';
import type { Project } from '../config/load-project.ts';
import type { DeleteBehavior, SyncMode } from '../config/schema.ts';
import { SqliteStateStore } from '../state/sqlite-state-store.ts';
import type { ChangeClass, PlanCounts, PlannedRow, Stage, StateStore } from '../state/state-store.ts';
import { emptyClassCounts, type ClassCounts, type RunSummary } from './run-summary.ts';
import { decideRow, readsDirectoryFirst } from './identity.ts';
import { readDirectory } from './read-directory.ts';
import {
  createDestination,
  destinationChangeError,
  destinationFingerprint,
  guardEmailMoves,
  guardMassDelete,
  identityChangeError,
  resolveSync,
  RunError,
  snapshotIdentityOf,
  stageModel,
  unfinishedResetCdc,
} from './run-sync.ts';

/** Planned rows read from the stage per page while counting outcomes. */
const PAGE_ROWS = 1_000;

/** One field whose value a run would change. Characteristics are named `characteristics.<slug>`. */
export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

/**
 * What the run would do instead of sending a planned row, once the directory is read (update and
 * insert modes): skip it, or reject it without a call. The reason is the one the run records.
 */
export interface PlannedOutcome {
  /** `unsent`: the row waits for another primary key (see src/engine/identity.ts). */
  result: 'skipped' | 'rejected' | 'unsent';
  reason: string;
}

/** A planned row of the sample. */
export interface PlannedChange {
  pk: string;
  class: ChangeClass;
  changes: FieldChange[];
  /** Present when the run would not send the row (see {@link PlannedOutcome}). */
  outcome?: PlannedOutcome;
}

/**
 * The plan: the same shape as a run's summary (status `planned`, `run_id` null, nothing
 * succeeded or rejected yet), plus:
 * - `skipped`: the rows the run would skip, by class (update mode: no participant has the email;
 *   insert mode: already synced), known from the directory; zero in upsert mode;
 * - `already_exists`: insert mode, added rows the run would reject because a participant already
 *   has the email ("already exists", never overwritten); 0 in the other modes;
 * - `refused`: the run would stop before sending anything, and why (the mass-delete guard:
 *   `--allow-mass-delete` lets it go); `null` when it would go ahead. The counts are those of the
 *   run once allowed;
 * - a sample of planned rows with their field-level changes, and the first invalid rows.
 */
export type PlanReport = Omit<RunSummary, 'run_id' | 'status'> & {
  run_id: null;
  status: 'planned';
  already_exists: number;
  /** The run would stop before sending anything: why, and what to do. */
  refused: { code: 'MASS_DELETE_GUARD' | 'MASS_EMAIL_MOVE_GUARD' | 'DESTINATION_CHANGED' | 'IDENTITY_CHANGED'; message: string } | null;
  /** Writes an earlier run left in doubt: the run settles them first (one directory read) and sends those rows again. */
  in_doubt: number;
  /** The run will finish the `--reset-cdc` of this run id (unfinished): it records the rows and sends nothing; `null` otherwise. */
  finishes_reset_cdc: string | null;
  sample: PlannedChange[];
  invalid_rows: Array<{ pk: string | null; reason: string }>;
};

/**
 * Plans one sync.
 * @param fullResync plan a full resync (every current row as added, no delete behaviour, no guard)
 * @param allowMassDelete plan a run with `--allow-mass-delete` (the guard does not apply)
 * @param sampleSize planned rows per class to show (default 5)
 * @throws RunError (unknown sync), RowMapperError, SourceError, HttpError
 */
export async function planSync(options: {
  project: Project;
  sync: string;
  fullResync?: boolean;
  allowMassDelete?: boolean;
  sampleSize?: number;
  store?: StateStore;
}): Promise<PlanReport> {
  const { project } = options;
  const started = Date.now();
  const { destination, sync } = resolveSync(project, options.sync);
  const store = options.store ?? new SqliteStateStore(project.statePath);
  let apiCalls = 0;
  const target = createDestination(project, destination, () => apiCalls++, undefined, store);
  try {
    // A new API key alone costs one directory read (GET only) to tell the same account from another.
    const moved = options.fullResync
      ? null
      : (await destinationChangeError(store, options.sync, destinationFingerprint(sync.destination, destination), target, 'plan')) ??
        identityChangeError(store, options.sync, snapshotIdentityOf(project, options.sync), 'plan');
    const firstSync = store.snapshotIsEmpty(options.sync);
    // The run finishes an unfinished --reset-cdc instead (it records rows, sends nothing, no guard).
    const finishesResetCdc = options.fullResync ? null : unfinishedResetCdc(store, options.sync);
    const { counts, stage, source } = await stageModel({
      project,
      syncName: options.sync,
      destination: target,
      store,
      runId: `plan${randomBytes(4).toString('hex')}`,
      fullResync: options.fullResync,
    });
    try {
      const refused =
        moved !== null
          ? { code: moved.code as 'DESTINATION_CHANGED' | 'IDENTITY_CHANGED', message: moved.message }
          : options.allowMassDelete || finishesResetCdc !== null
            ? null
            : guardRefusal(counts, () => store.snapshotSize(options.sync), sync, stage, options.fullResync === true);
      // The run reads the directory first in these modes when a row to send needs it (the run's
      // own rule): insert mode skips synced keys whatever it says, update mode skips keys found
      // unmatched a moment ago. upsert decides without it (a row may wait for another key).
      // A full resync forgets the keys update mode found unmatched (StateStore.markResend): looked up again.
      const asRun = (row: PlannedRow): PlannedRow => (options.fullResync ? { ...row, unmatchedAt: null } : row);
      if (readsDirectoryFirst(sync.mode, stage, options.fullResync === true)) await readDirectory(target, stage);
      const outcomeOf = (row: PlannedRow) => modeOutcome(sync.mode, asRun(row), stage);
      const counted = sync.mode !== 'upsert';
      const { skipped, alreadyExists } = counted ? countOutcomes(stage, outcomeOf) : { skipped: emptyClassCounts(), alreadyExists: 0 };
      const size = options.sampleSize ?? 5;
      const sample = (['added', 'changed', 'removed'] as const).flatMap((c) =>
        stage.page([c], 0, size).map((row) => {
          const outcome = row.class === 'removed' ? null : outcomeOf(row);
          return { ...describeChange(row, sync.delete_behavior), ...(outcome === null ? {} : { outcome }) };
        }),
      );
      const invalid = stage.invalidRows(0, size).map(({ pk, reason }) => ({ pk, reason }));
      return {
        run_id: null,
        sync: options.sync,
        status: 'planned',
        rows: counts,
        succeeded: emptyClassCounts(),
        rejected: emptyClassCounts(),
        skipped,
        unsent: emptyClassCounts(),
        api_calls: apiCalls,
        duration_ms: Date.now() - started,
        model_read: true,
        // Before the run sends anything: the rows already in sync.
        in_sync: counts.unchanged,
        known_invalid: counts.invalid > 0 ? stage.knownInvalidCount() : 0,
        first_sync: firstSync,
        already_exists: alreadyExists,
        refused,
        in_doubt: store.intentsInDoubt(options.sync).length,
        finishes_reset_cdc: finishesResetCdc,
        sample,
        invalid_rows: invalid,
      };
    } finally {
      stage.drop();
      await source.close();
    }
  } finally {
    if (!options.store) store.close();
  }
}

/**
 * The run's mass-delete guard (run-sync.ts), as a refusal to report instead of an error to throw;
 * a full resync meets only its email-move half.
 */
function guardRefusal(counts: PlanCounts, syncedRows: () => number, sync: Project['syncs'][string], stage: Stage, fullResync: boolean): PlanReport['refused'] {
  try {
    if (fullResync) guardEmailMoves(syncedRows, sync, stage);
    else guardMassDelete(counts, syncedRows, sync, stage);
    return null;
  } catch (error) {
    if (error instanceof RunError && (error.code === 'MASS_DELETE_GUARD' || error.code === 'MASS_EMAIL_MOVE_GUARD')) return { code: error.code, message: error.message };
    throw error;
  }
}

/**
 * What a run does with a planned added or changed row instead of sending it, once the directory
 * is read ({@link decideRow}, the run's own rule); `null` when it sends it (or adopts it as sent).
 */
function modeOutcome(mode: SyncMode, row: PlannedRow, stage: Stage): PlannedOutcome | null {
  const decision = decideRow(mode, row, stage);
  if (decision.action === 'skip') return { result: 'skipped', reason: decision.reason };
  if (decision.action === 'reject') return { result: 'rejected', reason: decision.error };
  if (decision.action === 'wait') return { result: 'unsent', reason: decision.reason };
  return null;
}

/** Counts the outcomes of every planned added and changed row, a page at a time. */
function countOutcomes(stage: Stage, outcomeOf: (row: PlannedRow) => PlannedOutcome | null): { skipped: ClassCounts; alreadyExists: number } {
  const skipped = emptyClassCounts();
  let alreadyExists = 0;
  for (let afterSeq = 0; ; ) {
    const rows = stage.page(['added', 'changed'], afterSeq, PAGE_ROWS);
    if (rows.length === 0) return { skipped, alreadyExists };
    afterSeq = rows[rows.length - 1]!.seq;
    for (const row of rows) {
      const outcome = outcomeOf(row);
      if (outcome?.result === 'skipped') skipped[row.class]++;
      else if (outcome?.result === 'rejected') alreadyExists++;
    }
  }
}

/**
 * The field-level change of a planned row: email first, then fields and characteristics by name.
 * A removed row changes only under delete behaviour `clear` (every field to null); under `delete`
 * the participant goes, under `do_nothing` nothing happens: no field changes either way.
 */
function describeChange(row: PlannedRow, deleteBehavior: DeleteBehavior): PlannedChange {
  if (row.class === 'removed' && deleteBehavior !== 'clear') return { pk: row.pk, class: row.class, changes: [] };
  const before = row.class === 'added' ? {} : flatten(row.previousPayload);
  const after = row.class === 'removed' ? Object.fromEntries(Object.keys(before).map((k) => [k, null])) : flatten(row.payload);
  const changes: FieldChange[] = [];
  const previousEmail = row.class === 'added' ? null : row.previousEmail;
  if (previousEmail !== row.email) changes.push({ field: 'email', from: previousEmail, to: row.email });
  for (const field of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const from = field in before ? before[field] : null;
    const to = field in after ? after[field] : null;
    if (JSON.stringify(from) !== JSON.stringify(to)) changes.push({ field, from, to });
  }
  return { pk: row.pk, class: row.class, changes };
}

function flatten(payload: string | null): Record<string, unknown> {
  if (payload === null) return {};
  const fields = JSON.parse(payload) as Record<string, unknown>;
  const { characteristics, ...rest } = fields;
  const flat: Record<string, unknown> = { ...rest };
  for (const [slug, value] of Object.entries((characteristics ?? {}) as Record<string, unknown>)) flat[`characteristics.${slug}`] = value;
  return flat;
}
