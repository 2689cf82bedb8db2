/**
 * `panelsync rows SYNC --rejected [--project DIR] [--json] [--limit N]`: the rows of a sync that are
 * currently failing (rejected by the API or invalid), each with the run where it first failed (in
 * its current streak) and the run where it last failed. Which rows count as currently failing is
 * defined on {@link RunHistory.failingRows}.
 *
 * `--rejected` is required: it names the only listing there is, so that later listings can be added
 * beside it. With `--json`, exactly one {@link FailingRows} object on stdout. Exit codes: 0 listed
 * (also when none fail), 2 unknown sync, missing `--rejected` or configuration error.
 */
import type { Command } from 'commander';
import type { FailingRows, RunHistory } from '../state/run-history.ts';
import { DEFAULT_FAILING_ROWS_LIMIT } from '../state/sqlite-run-history.ts';
import type { RegisterCommand } from './exit-codes.ts';
import { formatTime, plural } from './format-history.ts';
import { parseLimit, requireSync, runHistoryCommand, type HistoryContext, type HistoryOptions } from './history-command.ts';
import { addProjectOption } from './project-option.ts';
import { textTable } from './text-table.ts';

interface RowsOptions extends HistoryOptions {
  rejected: true;
  limit?: number;
}

/** Adds `panelsync rows` to the program. */
export const registerRowsCommand: RegisterCommand = (program: Command, setExitCode) => {
  addProjectOption(
    program
      .command('rows')
      .description('list the rows of a sync that are currently failing (rejected or invalid), with the runs where each first and last failed')
      .argument('<sync>', 'the sync (a key of `syncs` in the project file)')
      .option('--rejected', 'list the rows currently rejected by the API or invalid (the default: the only listing)')
      .option('--json', 'print exactly one JSON object on stdout')
      .option('--limit <n>', `rows listed, at most (default ${DEFAULT_FAILING_ROWS_LIMIT})`, parseLimit),
  ).action(async (syncName: string, opts: RowsOptions) => {
    setExitCode(
      await runHistoryCommand(opts, ({ location, history, suggest }) => {
        requireSync(location, syncName);
        const failing = failingRows(history, syncName, opts.limit ?? DEFAULT_FAILING_ROWS_LIMIT);
        return opts.json ? failing : formatFailingRows(failing, suggest);
      }),
    );
  });
};

function failingRows(history: RunHistory | null, sync: string, limit: number): FailingRows {
  return history?.failingRows(sync, { limit }) ?? { sync, as_of_run: null, total: 0, rows: [] };
}

/** The failing rows as a table: since which run (and when, UTC) each fails, its latest run and error. */
export function formatFailingRows(f: FailingRows, suggest: HistoryContext['suggest']): string {
  const asOf = f.as_of_run === null ? 'no run has completed yet' : `as of run ${f.as_of_run} (the latest completed run)`;
  if (f.total === 0) return `${f.sync}: no rows are failing, ${asOf}.\n`;
  const shown = f.rows.length < f.total ? ` (the first ${f.rows.length} shown; raise --limit for more)` : '';
  const lines = [
    `${f.sync}: ${plural(f.total, 'row')} failing, ${asOf}${shown}`,
    ...textTable(
      [
        { header: 'PK' },
        { header: 'RESULT' },
        { header: 'CLASS' },
        { header: 'FAILING SINCE (UTC)' },
        { header: 'LAST FAILED (UTC)' },
        { header: 'RUNS', right: true },
        { header: 'ERROR' },
      ],
      f.rows.map((r) => [
        r.pk ?? '(none)',
        r.result,
        r.class,
        `${formatTime(r.first_failed_at)} ${r.first_failed_run}`,
        `${formatTime(r.last_failed_at)} ${r.last_failed_run}`,
        String(r.failed_runs),
        r.error ?? '',
      ]),
    ),
    '',
    `RUNS: runs that failed the row since it began failing. The calls behind a run: ${suggest(`debug ${f.rows.at(-1)?.last_failed_run ?? f.as_of_run}`)}`,
  ];
  return `${lines.join('\n')}\n`;
}
