/** The human-readable form of a run's summary. */
import type { RunSummary } from '../engine/run-summary.ts';

/** Formats a summary as a few aligned lines ending in a newline. */
export function formatSummary(s: RunSummary): string {
  const seconds = (s.duration_ms / 1000).toFixed(1);
  const r = s.rows;
  const lines = [
    `${s.sync}: ${s.status.toUpperCase()} in ${seconds} s (run ${s.run_id})`,
    `  rows     queried ${r.queried} = added ${r.added} + changed ${r.changed} + unchanged ${r.unchanged} + invalid ${r.invalid}; removed ${r.removed}`,
    `  sent     added ${s.succeeded.added} ok, ${s.rejected.added} rejected · changed ${s.succeeded.changed} ok, ${s.rejected.changed} rejected · removed ${s.succeeded.removed} ok, ${s.rejected.removed} rejected`,
    `  api      ${s.api_calls} call${s.api_calls === 1 ? '' : 's'}`,
  ];
  const skipped = s.skipped.added + s.skipped.changed + s.skipped.removed;
  if (skipped > 0) lines.push(`  skipped  ${skipped} (rows this mode does not act on)`);
  if (s.error) lines.push(`  error    ${s.error}`);
  return `${lines.join('\n')}\n`;
}
