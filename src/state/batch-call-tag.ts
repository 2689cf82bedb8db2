/**
 * The tag of an API call that sends rows of a batch: how the live debugger links a call to the
 * rows it carried and nests split retries under the call they split. The engine builds it with
 * {@link batchCallTag}; the state store parses it with {@link parseBatchCallTag} when it records
 * the call. Format: `OPERATION:BATCH:OFFSET+COUNT`, e.g. `upsert:b3:50+25` (rows 50..74 of batch
 * b3, 0-based).
 */

/** The parts of a batch call tag. `offset` and `count` are rows, 0-based within the batch. */
export interface BatchCallTag {
  /** What the call does, e.g. `upsert`. Letters, digits, `_` and `-`. */
  operation: string;
  /** The batch id, unique within a run, e.g. `b3`. Letters, digits, `_` and `-`. */
  batch: string;
  offset: number;
  count: number;
}

const TAG = /^([A-Za-z0-9_-]+):([A-Za-z0-9_-]+):(\d+)\+(\d+)$/;

/**
 * The tag of a call sending rows `offset .. offset + count - 1` of batch `batch`.
 * @throws RangeError when a name holds other characters than letters, digits, `_` and `-`, or
 *   offset/count are not whole numbers (offset >= 0, count >= 1)
 */
export function batchCallTag(operation: string, batch: string, offset: number, count: number): string {
  const tag = `${operation}:${batch}:${offset}+${count}`;
  if (!TAG.test(tag) || !Number.isInteger(offset) || !Number.isInteger(count) || offset < 0 || count < 1) {
    throw new RangeError(`invalid batch call tag ${JSON.stringify(tag)}: use names of letters, digits, "_" and "-", offset >= 0 and count >= 1`);
  }
  return tag;
}

/** The parts of a batch call tag; `null` for any other tag (or none). */
export function parseBatchCallTag(tag: string | null | undefined): BatchCallTag | null {
  const match = tag ? TAG.exec(tag) : null;
  if (!match) return null;
  return { operation: match[1]!, batch: match[2]!, offset: Number(match[3]), count: Number(match[4]) };
}
