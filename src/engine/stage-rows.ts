/**
 * One model row as the stage keeps it: mapped (primary key, email, normalized email, encoded
 * values), or invalid with its reason. The plan maps in its own thread while a stage is small; a
 * stage worker thread maps a large stage's rows itself with {@link createRowMap}, from the
 * mapper's {@link RowMapperSpec}, so that the plan's thread only reads the model.
 */
import { normalizeEmail } from '../destinations/user-interviews/wire.ts';
import type { Row } from '../sources/source.ts';
import type { StageMapping, StagedRow } from '../state/state-store.ts';
import { oversizeReason, RowMapper, type RowMapperSpec } from './row-mapper.ts';

/** One model row as staged: mapped, or invalid with its reason. */
export function stagedRow(mapper: RowMapper, row: Row): StagedRow {
  const mapped = mapper.map(row);
  if (!mapped.ok) return mapped;
  const { pk, email, values } = mapped;
  // Refused before any call: a participant over the API's size limit would fail its whole batch.
  const tooLarge = oversizeReason(email, mapper.layout, values, mapper.layoutLength);
  if (tooLarge !== null) return { ok: false, pk, reason: tooLarge };
  return { ok: true, pk, email, emailKey: normalizeEmail(email), values };
}

/** Stages rows with `mapper`, one {@link stagedRow} each. */
function stagedRows(mapper: RowMapper): (rows: readonly Row[]) => StagedRow[] {
  return (rows) => rows.map((row) => stagedRow(mapper, row));
}

/**
 * How `mapper` stages model rows, here and in a stage worker thread (this module, loaded there,
 * builds the same mapper from `mapper.spec`; it is handed only the columns the mapper reads).
 */
export function stageMapping(mapper: RowMapper): StageMapping {
  return {
    layout: mapper.layout,
    map: stagedRows(mapper),
    worker: { module: import.meta.url, options: mapper.spec, columns: mapper.columns },
  };
}

/**
 * Run in a stage worker thread (see StageMapping.worker): the staging of rows by the mapper
 * `spec` describes, row for row what {@link stageMapping} gives in the plan's thread.
 * @throws RowMapperError when `spec` names a characteristic it does not type (never for a spec
 *   taken from a working mapper)
 */
export function createRowMap(spec: RowMapperSpec): (rows: readonly Row[]) => StagedRow[] {
  return stagedRows(RowMapper.fromSpec(spec));
}
