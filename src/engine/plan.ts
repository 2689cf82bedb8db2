/**
 * plan: reads the model, maps every row and diffs the result against the snapshot. Pure with
 * respect to the destination: it makes no API call and changes no snapshot row (changesets'
 * assembleReleasePlan / applyReleasePlan split: `execute` applies what `plan` computed).
 */
import { readAhead } from '../sources/read-ahead.ts';
import type { Source } from '../sources/source.ts';
import type { ChangeClass, PlanCounts, PlannedRow, Stage, StageMapping } from '../state/state-store.ts';
import type { RowMapper } from './row-mapper.ts';
import { stageMapping } from './stage-rows.ts';

export interface PlanOptions {
  source: Source;
  sql: string;
  /**
   * Makes the row mapper, once the model's first chunk is read (or it returned no row): a model
   * the source refuses (bad SQL, duplicated column names) fails before the mapper's own reads.
   */
  createMapper: () => Promise<RowMapper>;
  /** The stage, opened for a full resync or not (see StateStore.openStage). */
  stage: Stage;
  /** Rows per chunk read from the source; default {@link PLAN_CHUNK_ROWS}. */
  chunkSize?: number;
  /** Called after each staged chunk with the number of rows read so far. */
  onProgress?: (rowsRead: number) => void;
  /** Runs after the model is staged and before the diff reads the snapshot (settling writes in doubt). */
  beforeDiff?: () => Promise<void>;
  signal?: AbortSignal;
}

/** Planned rows read from a stage per page when looking for one. */
const PAGE_ROWS = 1_000;

/** True when the stage plans a row of `classes` for which `where` holds (read a page at a time). */
export function hasPlanned(stage: Pick<Stage, 'page'>, classes: ChangeClass[], where: (row: PlannedRow) => boolean = () => true): boolean {
  for (let afterSeq = 0; ; ) {
    const rows = stage.page(classes, afterSeq, PAGE_ROWS);
    if (rows.length === 0) return false;
    if (rows.some(where)) return true;
    afterSeq = rows[rows.length - 1]!.seq;
  }
}

/** Rows mapped and staged between two turns of the event loop (a few ms of work): half a {@link PLAN_CHUNK_ROWS} chunk. */
const STAGE_SLICE_ROWS = 1_024;

/**
 * Rows per chunk read from the source, unless the caller says otherwise: DuckDB's own chunk
 * size. The plan holds two chunks at once (it reads ahead), and rows held across V8's young
 * generation collections cost a copy each and then an old-generation collection: with chunks of
 * 5,000 rows, a no-change rerun of 1M rows spent 1.8 s in the main thread's collections, against
 * 0.85 s with chunks of 2,048 (and the GC threads 2.3 s against 1.3 s).
 */
const PLAN_CHUNK_ROWS = 2_048;

/**
 * Streams the model into the stage (bounded memory: one chunk at a time) and diffs it.
 * @returns the plan's row counts; the planned rows are then read from the stage
 * @throws SourceError when the model's SQL fails or returns a column name twice; RowMapperError
 *   when a mapped column is missing; whatever `createMapper` and `beforeDiff` throw
 */
export async function plan(options: PlanOptions): Promise<PlanCounts> {
  const { source, sql, stage } = options;
  let mapping: StageMapping | null = null;
  let read = 0;
  // The next chunk is read while this one is mapped and staged.
  for await (const chunk of readAhead(source.stream(sql, { chunkSize: options.chunkSize ?? PLAN_CHUNK_ROWS }))) {
    options.signal?.throwIfAborted();
    if (mapping === null) {
      const mapper: RowMapper = await options.createMapper();
      // Here, whichever thread maps the rows: a missing column is the user's error, not a worker's.
      if (chunk.length > 0) mapper.assertColumns(chunk[0]!);
      mapping = stageMapping(mapper);
    }
    // A slice at a time, yielding before each (a staged slice may settle without a turn of the
    // event loop, and the next chunk is read in the meantime): the event loop never waits for
    // more than one slice.
    for (let start = 0; start < chunk.length; start += STAGE_SLICE_ROWS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      await stage.insertModelRows(chunk.slice(start, start + STAGE_SLICE_ROWS), mapping);
    }
    read += chunk.length;
    options.onProgress?.(read);
  }
  // A model with no row still has its mappings checked (an unknown characteristic is an error).
  if (mapping === null) await options.createMapper();
  await options.beforeDiff?.();
  return await stage.diff();
}
