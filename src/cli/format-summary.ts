/** The human-readable form of a run's summary. */
import type { DeleteBehavior } from '../config/schema.ts';
import { classTotal, type RunSummary } from '../engine/run-summary.ts';

/** What happened to removed rows, by delete behaviour (without it: `done`). */
const REMOVED_DONE: Record<DeleteBehavior, string> = { do_nothing: 'left alone', clear: 'cleared', delete: 'deleted' };

/**
 * Formats a summary as a few aligned lines ending in a newline.
 * @param deleteBehavior the sync's, to say what "removed ... ok" meant (e.g. `left alone`)
 */
export function formatSummary(s: RunSummary, deleteBehavior?: DeleteBehavior): string {
  const seconds = (s.duration_ms / 1000).toFixed(1);
  const r = s.rows;
  const lines = [
    `${s.sync}: ${s.status.toUpperCase()} in ${seconds} s (run ${s.run_id})`,
    `  rows     queried ${r.queried} = added ${r.added} + changed ${r.changed} + unchanged ${r.unchanged} + invalid ${r.invalid}; removed ${r.removed}`,
    `  result   added ${s.succeeded.added} ok, ${s.rejected.added} rejected · changed ${s.succeeded.changed} ok, ${s.rejected.changed} rejected · ` +
      `removed ${s.succeeded.removed} ${deleteBehavior === undefined ? 'done' : REMOVED_DONE[deleteBehavior]}, ${s.rejected.removed} rejected`,
    `  api      ${s.api_calls} call${s.api_calls === 1 ? '' : 's'}`,
  ];
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
