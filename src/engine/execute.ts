/**
 * execute: applies a plan to the destination. Planned rows are read from the stage in plan order,
 * sent in batches (several in flight), and each batch's outcome is committed at once: the
 * snapshot takes a row only after the destination acknowledged it, so a crash at any point leaves
 * a snapshot that is true for every row it holds.
 */
import type { SyncConfig } from '../config/schema.ts';
import type { RowResult, UserInterviewsClient } from '../destinations/user-interviews/client.ts';
import { normalizeEmail, type ParticipantInput } from '../destinations/user-interviews/wire.ts';
import { HttpError } from '../http/errors.ts';
import type { ChangeClass, PlannedRow, RowOutcome, Stage, StateStore } from '../state/state-store.ts';
import type { SyncEvents } from './events.ts';
import { emptyClassCounts, type ClassCounts } from './run-summary.ts';
import { sendWithSplitRetries } from './split-retry.ts';

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
  /** Batches in flight at once. */
  concurrency: number;
  /** Once aborted, no new batch starts; batches in flight finish and are committed. */
  signal?: AbortSignal;
}

export interface ExecuteResult {
  succeeded: ClassCounts;
  rejected: ClassCounts;
  /** True when the signal stopped the run before every planned row was sent. */
  interrupted: boolean;
}

/** Planned rows read from the stage per page; a page is cut into batches. */
const PAGE_ROWS = 1_000;

/**
 * Sends every planned added and changed row (upsert mode) and commits each batch's outcome.
 * Row-level failures are outcomes, not exceptions.
 *
 * @throws HttpError (`HTTP_UNAUTHORIZED`) when the API key is refused: the run fails at once,
 *   after the batches in flight are committed
 */
export async function execute(options: ExecuteOptions): Promise<ExecuteResult> {
  const { stage, signal } = options;
  const succeeded = emptyClassCounts();
  const rejected = emptyClassCounts();
  const classes: ChangeClass[] = ['added', 'changed'];
  let afterSeq = 0;
  let buffer: PlannedRow[] = [];
  let fatal: unknown = null;

  const nextBatch = (): PlannedRow[] | null => {
    if (fatal !== null || signal?.aborted) return null;
    if (buffer.length === 0) {
      buffer = stage.page(classes, afterSeq, PAGE_ROWS);
      if (buffer.length === 0) return null;
      afterSeq = buffer[buffer.length - 1]!.seq;
    }
    return buffer.splice(0, options.batchSize);
  };

  const worker = async () => {
    for (let batch = nextBatch(); batch; batch = nextBatch()) {
      try {
        const results = await sendWithSplitRetries(
          batch,
          (rows) => options.client.batchUpsert(rows.map(toParticipant), { tag: 'upsert' }),
          options.sync.split_retries,
        );
        commit(options, batch, results, succeeded, rejected);
      } catch (error) {
        if (error instanceof HttpError && error.code === 'HTTP_UNAUTHORIZED') {
          fatal ??= error;
          return;
        }
        // Attempts ran out (or another whole-batch failure): these rows are rejected for this
        // run and planned again by the next one, with their values then.
        const message = error instanceof Error ? error.message : String(error);
        commit(options, batch, batch.map(() => ({ ok: false, own: false, error: message })), succeeded, rejected);
      }
    }
  };

  await Promise.all(Array.from({ length: options.concurrency }, worker));
  if (fatal !== null) throw fatal;
  if (!signal?.aborted) forgetRemoved(options, succeeded);
  return { succeeded, rejected, interrupted: signal?.aborted === true && nextPlanned(stage, classes, afterSeq, buffer) };
}

/**
 * Delete behaviour `do_nothing`: a row that left the model leaves the participant as it is; the
 * snapshot forgets it, so that it is planned as added again should it come back.
 */
function forgetRemoved(options: ExecuteOptions, succeeded: ClassCounts): void {
  const { stage, store, runId, syncName } = options;
  for (let afterSeq = 0; ; ) {
    const rows = stage.page(['removed'], afterSeq, PAGE_ROWS);
    if (rows.length === 0) return;
    afterSeq = rows[rows.length - 1]!.seq;
    store.commitBatch({
      runId,
      sync: syncName,
      synced: [],
      forgotten: rows.map((r) => r.pk),
      outcomes: rows.map((r) => ({ pk: r.pk, class: 'removed', result: 'succeeded', error: null, participantId: r.participantId })),
    });
    succeeded.removed += rows.length;
  }
}

function nextPlanned(stage: Stage, classes: ChangeClass[], afterSeq: number, buffer: PlannedRow[]): boolean {
  return buffer.length > 0 || stage.page(classes, afterSeq, 1).length > 0;
}

/** The participant sent for a planned row. A changed email updates the same participant by id. */
function toParticipant(row: PlannedRow): ParticipantInput {
  const fields = JSON.parse(row.payload) as Omit<ParticipantInput, 'email'>;
  const participant: ParticipantInput = { email: row.email, ...fields };
  if (row.class === 'changed' && row.participantId !== null && row.previousEmail !== null && row.emailKey !== normalizeEmail(row.previousEmail)) {
    participant.id = row.participantId;
  }
  return participant;
}

function commit(
  options: ExecuteOptions,
  batch: readonly PlannedRow[],
  results: readonly RowResult[],
  succeeded: ClassCounts,
  rejected: ClassCounts,
): void {
  const { runId, syncName, events } = options;
  const synced: Array<{ pk: string; email: string; emailKey: string; payload: string; participantId: string | null }> = [];
  const outcomes: RowOutcome[] = [];
  let ok = 0;
  batch.forEach((row, i) => {
    const result = results[i]!;
    if (result.ok) {
      ok++;
      succeeded[row.class]++;
      synced.push({ pk: row.pk, email: row.email, emailKey: row.emailKey, payload: row.payload, participantId: result.id });
      outcomes.push({ pk: row.pk, class: row.class, result: 'succeeded', error: null, participantId: result.id });
    } else {
      rejected[row.class]++;
      outcomes.push({ pk: row.pk, class: row.class, result: 'rejected', error: result.error, participantId: row.participantId });
      events.emit('row:rejected', { runId, sync: syncName, pk: row.pk, class: row.class, error: result.error });
    }
  });
  options.store.commitBatch({ runId, sync: syncName, synced, forgotten: [], outcomes });
  events.emit('batch:done', {
    runId,
    sync: syncName,
    class: batch[0]!.class,
    rows: batch.length,
    succeeded: ok,
    rejected: batch.length - ok,
  });
}
