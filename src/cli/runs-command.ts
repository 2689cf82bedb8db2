/**
 * `panelsync runs [SYNC] [--project DIR] [--json] [--limit N]`: recent runs, newest first, with
 * status and counts (of one sync, or all). With `--json`, exactly one object on stdout:
 * `{ "runs": RunListItem[] }` (see src/state/run-history.ts). Exit codes: 0 listed (also when
 * there are none), 2 unknown sync or configuration error.
 */
import type { Command } from 'commander';
import type { RunListItem } from '../state/run-history.ts';
import { DEFAULT_RUNS_LIMIT } from '../state/sqlite-run-history.ts';
import type { RegisterCommand } from './exit-codes.ts';
import { formatDuration, formatTime, plural, runCounts, triggerText } from './format-history.ts';
import { parseLimit, requireSync, runHistoryCommand, type HistoryContext, type HistoryOptions } from './history-command.ts';
import { addProjectOption } from './project-option.ts';
import { textTable } from './text-table.ts';

interface RunsOptions extends HistoryOptions {
  limit?: number;
}

/** What `panelsync runs --json` prints. */
export interface RunsJson {
  runs: RunListItem[];
}

/** Adds `panelsync runs` to the program. */
export const registerRunsCommand: RegisterCommand = (program: Command, setExitCode) => {
  addProjectOption(
    program
      .command('runs')
      .description('list recent runs, newest first, with status and counts')
      .argument('[sync]', 'only the runs of this sync (a key of `syncs` in the project file)')
      .option('--json', 'print exactly one JSON object on stdout')
      .option('--limit <n>', `runs listed, at most (default ${DEFAULT_RUNS_LIMIT})`, parseLimit),
  ).action(async (syncName: string | undefined, opts: RunsOptions) => {
    setExitCode(
      await runHistoryCommand(opts, ({ location, history, suggest }) => {
        if (syncName !== undefined) requireSync(location, syncName);
        const runs = history?.listRuns({ sync: syncName, limit: opts.limit ?? DEFAULT_RUNS_LIMIT }) ?? [];
        return opts.json ? ({ runs } satisfies RunsJson) : formatRuns(runs, syncName, suggest);
      }),
    );
  });
};

/**
 * The runs as a table (times UTC), newest first; a failed or interrupted run's error on the line
 * under it; a hint to `panelsync debug` at the end.
 */
export function formatRuns(runs: readonly RunListItem[], sync: string | undefined, suggest: HistoryContext['suggest']): string {
  if (runs.length === 0) return `No runs recorded yet${sync === undefined ? '' : ` for ${sync}`}.\n`;
  const rows = runs.map((run) => {
    const c = runCounts(run);
    return [
      run.run_id,
      run.sync,
      run.status.toUpperCase(),
      triggerText(run),
      formatTime(run.started_at),
      run.duration_ms === null ? '-' : formatDuration(run.duration_ms),
      c.queried,
      c.added,
      c.changed,
      c.removed,
      c.invalid,
      c.rejected,
      c.calls,
    ];
  });
  const table = textTable(
    [
      { header: 'RUN' },
      { header: 'SYNC' },
      { header: 'STATUS' },
      { header: 'TRIGGER' },
      { header: 'STARTED (UTC)' },
      { header: 'TOOK', right: true },
      { header: 'QUERIED', right: true },
      { header: 'ADDED', right: true },
      { header: 'CHANGED', right: true },
      { header: 'REMOVED', right: true },
      { header: 'INVALID', right: true },
      { header: 'REJECTED', right: true },
      { header: 'CALLS', right: true },
    ],
    rows,
  );
  const lines = [`${plural(runs.length, 'run')}${sync === undefined ? '' : ` of ${sync}`}, newest first:`, table[0]!];
  runs.forEach((run, i) => {
    lines.push(table[i + 1]!);
    if (run.error !== null) lines.push(`    └ error: ${run.error}`);
  });
  lines.push('', `Details of a run: ${suggest(`debug ${runs[0]!.run_id}`)}`);
  return `${lines.join('\n')}\n`;
}
