/**
 * Re-chunking of row streams: engines deliver rows one by one (SQLite, MySQL) or in chunks of
 * their own size (DuckDB: 2,048 rows); the {@link Source} contract is chunks of `chunkSize`.
 */
import { DEFAULT_CHUNK_SIZE, type Row, type StreamOptions } from './source.ts';

/**
 * The chunk size (rows) requested by `options`, or {@link DEFAULT_CHUNK_SIZE}.
 * Throws `RangeError` when it is not a positive integer.
 */
export function chunkSizeOf(options: StreamOptions | undefined): number {
  const size = options?.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`chunkSize must be a positive integer of rows, got ${String(size)}`);
  }
  return size;
}

/**
 * Groups `batches` of rows (any sizes, empty ones allowed) into chunks of exactly `chunkSize`
 * rows, the last one possibly shorter. Pulls from `batches` only when the consumer asks for the
 * next chunk, so at most one chunk plus one batch is held. Returning early returns `batches`.
 */
export async function* chunkRows(
  batches: AsyncIterable<readonly Row[]> | Iterable<readonly Row[]>,
  chunkSize: number,
): AsyncGenerator<Row[], void, undefined> {
  let chunk: Row[] = [];
  for await (const batch of batches) {
    for (const row of batch) {
      chunk.push(row);
      if (chunk.length === chunkSize) {
        yield chunk;
        chunk = [];
      }
    }
  }
  if (chunk.length > 0) yield chunk;
}
