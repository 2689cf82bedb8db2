/**
 * Split retries: the batch endpoint is all or nothing (see shared docs: user-interviews-api,
 * "Batch upsert", [confirmed]), so one bad participant rejects a whole batch. A batch rejected as
 * a whole is split in halves, and each half sent again, until every row is accepted or rejected
 * on its own with its own error.
 */
import type { RowResult } from '../destinations/user-interviews/client.ts';

/**
 * Sends `rows` with `send` (one result per row, in order) and splits on whole-batch rejection.
 * A batch counts as rejected whole when any row was rejected only because of another row
 * (`own: false`). With `splitRetries` off, the first answer is final.
 *
 * API calls for one bad row in a batch of n: 1 + 2·ceil(log2 n) at most.
 *
 * @returns one result per input row, in order
 */
export async function sendWithSplitRetries<T>(
  rows: readonly T[],
  send: (rows: readonly T[]) => Promise<RowResult[]>,
  splitRetries: boolean,
): Promise<RowResult[]> {
  const results = await send(rows);
  const rejectedWhole = results.some((r) => !r.ok && !r.own);
  if (!splitRetries || !rejectedWhole || rows.length <= 1) return results;
  const middle = Math.ceil(rows.length / 2);
  // One half after the other: the halves stay within the sync's concurrency.
  const first = await sendWithSplitRetries(rows.slice(0, middle), send, splitRetries);
  const second = await sendWithSplitRetries(rows.slice(middle), send, splitRetries);
  return [...first, ...second];
}
