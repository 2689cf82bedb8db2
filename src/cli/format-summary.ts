/** The human-readable form of a run's summary. */
import type { DeleteBehavior } from '../config/schema.ts';
import { classTotal, inSyncCount, type RunSummary } from '../engine/run-summary.ts';
import { plural } from './format-history.ts';

/** What happened to removed rows, by delete behaviour (without it: `done`). */
const REMOVED_DONE: Record<DeleteBehavior, string> = { do_nothing: 'left alone', clear: 'cleared', delete: 'deleted' };

/**
 * Formats a summary as a few aligned lines ending in a newline.
 * @param deleteBehavior the sync's, to say what "removed ... ok" meant (e.g. `left alone`)
 */
export function formatSummary(s: RunSummary, deleteBehavior?: DeleteBehavior): string {
  const seconds = (s.duration_ms / 1000).toFixed(1);
  const r = s.rows;
  // Summaries recorded before these fields existed lack them (see withSummaryDefaults).
  const modelRead = s.model_read ?? true;
  const lines = [
    `${s.sync}: ${s.status.toUpperCase()} in ${seconds} s (run ${s.run_id})`,
    modelRead
      ? `  rows     queried ${r.queried} = added ${r.added} + changed ${r.changed} + unchanged ${r.unchanged} + invalid ${r.invalid}; removed ${r.removed}`
      : '  rows     the model was not read: the run stopped before reading it (see the error below)',
    `  result   added ${s.succeeded.added} ok, ${s.rejected.added} rejected · changed ${s.succeeded.changed} ok, ${s.rejected.changed} rejected · ` +
      `removed ${s.succeeded.removed} ${deleteBehavior === undefined ? 'done' : REMOVED_DONE[deleteBehavior]}, ${s.rejected.removed} rejected`,
    `  api      ${s.api_calls} call${s.api_calls === 1 ? '' : 's'}`,
  ];
  if (modelRead) {
    const written = s.succeeded.added + s.succeeded.changed;
    lines.push(`  panel    ${plural(s.in_sync ?? inSyncCount(r, s.succeeded), 'row')} in sync (${r.unchanged} unchanged + ${written} written by this run)`);
  }
  const known = s.known_invalid ?? 0;
  if (known > 0) {
    lines.push(
      `  invalid  ${known} of the ${plural(r.invalid, 'invalid row')} ${known === 1 ? 'was' : 'were'} already invalid, for the same reason, in the previous run ` +
        `(${known === r.invalid ? 'no new problem' : `${r.invalid - known} new`}); fix them in the model: panelsync rows ${s.sync} --rejected`,
    );
  }
  if (s.first_sync === true) {
    lines.push('  first    the snapshot was empty: every row is sent as added; rows removed from the model before now cannot be deleted or cleared');
  }
  const skipped = classTotal(s.skipped);
  if (skipped > 0) lines.push(`  skipped  ${skipped} (rows this mode does not act on)`);
  // Summaries recorded before `unsent` existed have none.
  const unsent = s.unsent === undefined ? 0 : classTotal(s.unsent);
  if (unsent > 0) {
    lines.push(
      `  unsent   ${unsent} (added ${s.unsent.added}, changed ${s.unsent.changed}, removed ${s.unsent.removed}): ` +
        'not written by this run (never sent or never answered, or waiting for another key); the next run sends them',
    );
  }
  if (s.error) lines.push(`  error    ${s.error}`);
  return `${lines.join('\n')}\n`;
}
