/**
 * `panelsync plan` (and `run --dry-run`): what a run would do, without doing it. Reads the
 * destination's characteristics and the model, diffs against the snapshot, and reports counts and
 * the field-level changes of a sample of rows. Calls no write endpoint, records no run and changes
 * no snapshot row.
 */
import { randomBytes } from 'node:crypto';
import type { Project } from '../config/load-project.ts';
import type { DeleteBehavior } from '../config/schema.ts';
import { SqliteStateStore } from '../state/sqlite-state-store.ts';
import type { ChangeClass, PlannedRow, StateStore } from '../state/state-store.ts';
import { emptyClassCounts, type RunSummary } from './run-summary.ts';
import { createClient, resolveSync, stageModel } from './run-sync.ts';

/** One field whose value a run would change. Characteristics are named `characteristics.<slug>`. */
export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

/** A planned row of the sample. */
export interface PlannedChange {
  pk: string;
  class: ChangeClass;
  changes: FieldChange[];
}

/**
 * The plan: the same shape as a run's summary (status `planned`, `run_id` null, nothing
 * succeeded or rejected yet), plus a sample of planned rows with their field-level changes and
 * the first invalid rows.
 */
export type PlanReport = Omit<RunSummary, 'run_id' | 'status'> & {
  run_id: null;
  status: 'planned';
  sample: PlannedChange[];
  invalid_rows: Array<{ pk: string | null; reason: string }>;
};

/**
 * Plans one sync.
 * @param sampleSize planned rows per class to show (default 5)
 * @throws RunError (unknown sync), RowMapperError, SourceError, HttpError
 */
export async function planSync(options: {
  project: Project;
  sync: string;
  fullResync?: boolean;
  sampleSize?: number;
  store?: StateStore;
}): Promise<PlanReport> {
  const { project } = options;
  const started = Date.now();
  const { destination, sync } = resolveSync(project, options.sync);
  const store = options.store ?? new SqliteStateStore(project.statePath);
  let apiCalls = 0;
  const client = createClient(project, destination, () => apiCalls++);
  try {
    const { counts, stage, source } = await stageModel({
      project,
      syncName: options.sync,
      client,
      store,
      runId: `plan${randomBytes(4).toString('hex')}`,
      fullResync: options.fullResync,
    });
    try {
      const size = options.sampleSize ?? 5;
      const sample = (['added', 'changed', 'removed'] as const).flatMap((c) => stage.page([c], 0, size).map((row) => describeChange(row, sync.delete_behavior)));
      const invalid = stage.invalidRows(0, size).map(({ pk, reason }) => ({ pk, reason }));
      return {
        run_id: null,
        sync: options.sync,
        status: 'planned',
        rows: counts,
        succeeded: emptyClassCounts(),
        rejected: emptyClassCounts(),
        skipped: emptyClassCounts(),
        api_calls: apiCalls,
        duration_ms: Date.now() - started,
        sample,
        invalid_rows: invalid,
      };
    } finally {
      stage.drop();
      await source.close();
    }
  } finally {
    if (!options.store) store.close();
  }
}

/**
 * The field-level change of a planned row: email first, then fields and characteristics by name.
 * A removed row changes only under delete behaviour `clear` (every field to null); under `delete`
 * the participant goes, under `do_nothing` nothing happens: no field changes either way.
 */
function describeChange(row: PlannedRow, deleteBehavior: DeleteBehavior): PlannedChange {
  if (row.class === 'removed' && deleteBehavior !== 'clear') return { pk: row.pk, class: row.class, changes: [] };
  const before = row.class === 'added' ? {} : flatten(row.previousPayload);
  const after = row.class === 'removed' ? Object.fromEntries(Object.keys(before).map((k) => [k, null])) : flatten(row.payload);
  const changes: FieldChange[] = [];
  const previousEmail = row.class === 'added' ? null : row.previousEmail;
  if (previousEmail !== row.email) changes.push({ field: 'email', from: previousEmail, to: row.email });
  for (const field of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const from = field in before ? before[field] : null;
    const to = field in after ? after[field] : null;
    if (JSON.stringify(from) !== JSON.stringify(to)) changes.push({ field, from, to });
  }
  return { pk: row.pk, class: row.class, changes };
}

function flatten(payload: string | null): Record<string, unknown> {
  if (payload === null) return {};
  const fields = JSON.parse(payload) as Record<string, unknown>;
  const { characteristics, ...rest } = fields;
  const flat: Record<string, unknown> = { ...rest };
  for (const [slug, value] of Object.entries((characteristics ?? {}) as Record<string, unknown>)) flat[`characteristics.${slug}`] = value;
  return flat;
}
