/**
 * readAhead: the next chunk is read while the consumer works on the current one; errors arrive
 * at the consumer's next pull; stopping early closes the source after the read in flight.
 */
import { describe, expect, it } from 'vitest';
import { readAhead } from '../../src/sources/read-ahead.ts';

/** A source of `count` items that logs each read (started, done) and its close. */
function loggedSource(count: number, log: string[], failAt?: number): AsyncIterable<number> {
  return (async function* () {
    try {
      for (let i = 1; i <= count; i++) {
        log.push(`read ${i}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (i === failAt) throw new Error(`read ${i} failed`);
        yield i;
      }
    } finally {
      log.push('closed');
    }
  })();
}

describe('readAhead', () => {
  it('yields every item in order and starts reading the next before the consumer works on the current one', async () => {
    const log: string[] = [];
    const seen: number[] = [];
    for await (const item of readAhead(loggedSource(3, log))) {
      log.push(`work ${item}`);
      seen.push(item);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(seen).toEqual([1, 2, 3]);
    // The source's end (and close) is read ahead too, while item 3 is worked on.
    expect(log).toEqual(['read 1', 'read 2', 'work 1', 'read 3', 'work 2', 'closed', 'work 3']);
  });

  it('hands a failed read ahead to the consumer at its next pull, after the item it holds', async () => {
    const log: string[] = [];
    const seen: number[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(
        (async () => {
          for await (const item of readAhead(loggedSource(5, log, 2))) {
            // The read of item 2 fails while item 1 is worked on.
            await new Promise((resolve) => setTimeout(resolve, 20));
            seen.push(item);
          }
        })(),
      ).rejects.toThrow('read 2 failed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(seen).toEqual([1]);
    expect(unhandled).toEqual([]);
    expect(log.at(-1)).toBe('closed');
  });

  it('closes the source once the read in flight settles when the consumer stops early', async () => {
    const log: string[] = [];
    for await (const item of readAhead(loggedSource(10, log))) {
      if (item === 2) break;
    }
    expect(log).toEqual(['read 1', 'read 2', 'read 3', 'closed']);
  });
});
