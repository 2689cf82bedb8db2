/**
 * `panelsync run SYNC [--project DIR] [--json] [--full-resync]`: runs one sync.
 *
 * With `--json`, exactly one JSON object (the {@link RunSummary}) goes to stdout and everything
 * else to stderr. Exit codes: 0 success or warning, 1 failed or interrupted, 2 configuration error.
 */
import type { Command } from 'commander';
import { loadProject } from '../config/load-project.ts';
import { SyncEvents } from '../engine/events.ts';
import { runSync } from '../engine/run-sync.ts';
import { EXIT, type RegisterCommand } from './exit-codes.ts';
import { addProjectOption } from './project-option.ts';
import { attachProgress } from './run-progress.ts';
import { formatSummary } from './format-summary.ts';
import { reportCommandError } from './report-error.ts';

export const registerRunCommand: RegisterCommand = (program: Command, setExitCode) => {
  addProjectOption(
    program
      .command('run')
      .description('run one sync: read the model, send what changed, print the summary')
      .argument('<sync>', 'the sync to run (a key of `syncs` in the project file)')
      .option('--json', 'print exactly one JSON summary on stdout; progress goes to stderr')
      .option('--full-resync', 'send every current row as added; apply no delete behaviour'),
  ).action(async (syncName: string, opts: { project?: string; json?: boolean; fullResync?: boolean }) => {
    try {
      const project = await loadProject({ projectDir: opts.project });
      const events = new SyncEvents();
      const detach = attachProgress(events);
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const summary = await runSync({ project, sync: syncName, fullResync: opts.fullResync, events, signal: controller.signal });
        if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        else process.stdout.write(formatSummary(summary));
        setExitCode(summary.status === 'success' || summary.status === 'warning' ? EXIT.ok : EXIT.failed);
      } finally {
        detach();
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    } catch (error) {
      setExitCode(reportCommandError(error, opts.json === true));
    }
  });
};
