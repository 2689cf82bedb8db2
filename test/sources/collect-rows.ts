/** Test helpers shared by the per-engine source tests. */
import type { Row, Source } from '../../src/sources/source.ts';

/** Runs `sql` and returns every chunk (the rows of each) in the order they arrived. */
export async function collectChunks(source: Source, sql: string, chunkSize?: number): Promise<Row[][]> {
  const chunks: Row[][] = [];
  for await (const chunk of source.stream(sql, chunkSize === undefined ? undefined : { chunkSize })) chunks.push(chunk);
  return chunks;
}

/** Runs `sql` and returns all its rows. */
export async function collectRows(source: Source, sql: string): Promise<Row[]> {
  return (await collectChunks(source, sql)).flat();
}

/** Starts `sql`, takes the first chunk only and stops the iteration (`break`). */
export async function firstChunkThenBreak(source: Source, sql: string, chunkSize: number): Promise<Row[]> {
  for await (const chunk of source.stream(sql, { chunkSize })) return chunk;
  throw new Error('the query returned no rows');
}

/** Asserts the shape of a 10,005-row `n` sequence read with chunkSize 1,000. */
export function sequenceOf(chunks: Row[][]): { sizes: number[]; values: unknown[] } {
  return { sizes: chunks.map((c) => c.length), values: chunks.flat().map((r) => r.n) };
}

export const EXPECTED_SIZES = [...Array<number>(10).fill(1000), 5];
export const EXPECTED_VALUES = Array.from({ length: 10_005 }, (_, i) => i + 1);
