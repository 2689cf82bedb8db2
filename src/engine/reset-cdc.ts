/**
 * `--reset-cdc`: records every current row of the model as synced, sending nothing, for a panel
 * that was loaded by hand. Participant ids are taken from the destination's directory (a read),
 * so that later email changes and deletes still find the right participant.
 */
import type { ExecuteOptions, ExecuteResult } from './execute.ts';
import type { PlannedRow } from '../state/state-store.ts';
import { readDirectory } from './read-directory.ts';
import { emptyClassCounts } from './run-summary.ts';

const PAGE_ROWS = 1_000;

/**
 * Commits every planned added and changed row to the snapshot as it is now, and forgets removed
 * rows. Calls only `GET /participants`. Each row takes the participant that holds its email now
 * (else its stored one, if it still exists). A row whose participant another primary key of the
 * model holds is not recorded (see StateStore.commitBatch): it is unsent. Stops between pages once
 * `signal` aborts.
 * @throws the destination's HttpError when the directory cannot be read; LockLostError when the
 *   run lost its lock (every commit checks it)
 */
export async function resetCdc(options: ExecuteOptions): Promise<ExecuteResult> {
  const { stage, store, destination, runId, syncName } = options;
  const result: ExecuteResult = { succeeded: emptyClassCounts(), rejected: emptyClassCounts(), skipped: emptyClassCounts(), interrupted: false };
  await readDirectory(destination, stage);
  // The panel holds the row as it is now: the participant with its email, else its stored one if it still exists.
  const heldNow = (r: PlannedRow) => stage.directoryId(r.emailKey) ?? r.existingId;
  for (let afterSeq = 0; ; ) {
    // Stopped (Ctrl-C, a lost lock): the next run finishes the reset.
    if (options.signal?.aborted) {
      result.interrupted = true;
      break;
    }
    const rows = stage.page(['added', 'changed', 'removed'], afterSeq, PAGE_ROWS);
    if (rows.length === 0) break;
    afterSeq = rows[rows.length - 1]!.seq;
    const current = rows.filter((r) => r.class !== 'removed');
    const refusals = store.commitBatch({
      runId,
      sync: syncName,
      synced: current.map((r) => ({ pk: r.pk, email: r.email, emailKey: r.emailKey, payload: r.payload, participantId: heldNow(r) })),
      forgotten: rows.filter((r) => r.class === 'removed').map((r) => r.pk),
      outcomes: rows.map((r) => ({ pk: r.pk, class: r.class, result: 'succeeded', error: null, participantId: r.class === 'removed' ? r.participantId : heldNow(r) })),
      ...(options.lockOwner === undefined ? {} : { lockOwner: options.lockOwner }),
    });
    // A row whose participant another key holds is not recorded: unsent (the summary's remainder).
    const refused = new Set(refusals.map((r) => r.pk));
    for (const r of rows) if (!refused.has(r.pk)) result.succeeded[r.class]++;
  }
  return result;
}
