/**
 * Split retries: the batch endpoint is all or nothing (see shared docs: user-interviews-api,
 * "Batch upsert", [confirmed]), so one bad participant rejects a whole batch. A batch rejected as
 * a whole by validation (`422`) or for its size (`413`, see the client's batchUpsert) is split in
 * halves, and each half sent again, until every row is accepted or rejected on its own with its
 * own error. A request refused for another reason (`400`, `403`, `404`…) is not split: every half
 * would be refused the same way.
 */
import type { RowResult } from '../destinations/destination.ts';

export const PARTIAL_BATCH_ERROR_CODES = ['BATCH_FAILED_PART_WAY'] as const;

/**
 * A split batch failed part-way: a half's request threw (attempts ran out, the key was refused,
 * the run was aborted) after other halves were acknowledged. `results` keeps what is known, so
 * that acknowledged rows are committed; the failure is the `cause`. A row of a half that got no
 * final answer is `null`, even when the batch's first `422` named it: whether it is then recorded
 * rejected (the run goes on) or left for the next run (the run stops) is the caller's choice.
 */
export class PartialBatchError extends Error {
  readonly code = 'BATCH_FAILED_PART_WAY' as const;
  /** One entry per row of the batch, in order: the row's result, or `null` when it got no answer. */
  readonly results: Array<RowResult | null>;
  constructor(results: Array<RowResult | null>, cause: unknown) {
    const answered = results.filter((r) => r !== null).length;
    super(`a split batch failed after ${answered} of ${results.length} rows were answered: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'PartialBatchError';
    this.results = results;
  }
}

/**
 * Sends `rows` with `send` (one result per row, in order) and splits on whole-batch rejection.
 * A batch counts as rejected whole when a `422` rejected a row only because of the others (code
 * `REJECTED_WITH_BATCH`); any other answer is final (a request refused whole throws, see http/errors.ts). With
 * `splitRetries` off, the first answer is final. Halves are sent one after the other (they stay
 * within the sync's concurrency).
 *
 * API calls for one bad row in a batch of n: 1 + 2·ceil(log2 n) at most (15 for n = 100); for a
 * batch refused whole for another reason: 1.
 *
 * @returns one result per input row, in order
 * @throws whatever `send` throws on the first call (nothing was answered); PartialBatchError when
 *   a later call throws: the halves after it are not sent
 */
export async function sendWithSplitRetries<T>(
  rows: readonly T[],
  send: (rows: readonly T[]) => Promise<RowResult[]>,
  splitRetries: boolean,
): Promise<RowResult[]> {
  const results = await send(rows);
  const rejectedWhole = results.some((r) => !r.ok && r.code === 'REJECTED_WITH_BATCH');
  if (!splitRetries || !rejectedWhole || rows.length <= 1) return results;
  const middle = Math.ceil(rows.length / 2);
  const halves = [rows.slice(0, middle), rows.slice(middle)];
  const answered: RowResult[] = [];
  for (const [i, half] of halves.entries()) {
    try {
      answered.push(...(await sendWithSplitRetries(half, send, splitRetries)));
    } catch (error) {
      const partial = error instanceof PartialBatchError ? error : null;
      const unsent = halves.slice(i + 1).flatMap((later) => later.map(() => null));
      throw new PartialBatchError(
        [...answered, ...(partial ? partial.results : half.map(() => null)), ...unsent],
        partial ? partial.cause : error,
      );
    }
  }
  return answered;
}
