/**
 * Read-ahead over a stream of chunks: the next chunk is read while the consumer works on the one
 * it has, so that reading (a database's own threads, the network) and the consumer's work (the
 * plan's mapping and staging) overlap instead of taking turns.
 */

/**
 * Yields the items of `items` in order, asking `items` for the next one as soon as the current one
 * is handed out. At most two items are held: the consumer's and the one being read. An error of
 * the read ahead reaches the consumer at its next pull, never earlier and never unhandled. When
 * the consumer stops early (or a read fails), the read in flight settles first, then `items` is
 * closed (`return()`: a source's connection is released).
 */
export async function* readAhead<T>(items: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
  const iterator = items[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | null = iterator.next();
  let finished = false;
  try {
    for (;;) {
      const result: IteratorResult<T> = await pending!;
      if (result.done) {
        finished = true;
        return;
      }
      pending = iterator.next();
      // Awaited at the next pull; until then its failure must not count as unhandled.
      pending.catch(() => undefined);
      yield result.value;
    }
  } finally {
    if (!finished) {
      await pending?.catch(() => undefined);
      await iterator.return?.();
    }
  }
}
