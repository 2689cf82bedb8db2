/**
 * `panelsync run SYNC [--project DIR] [--json] [--full-resync] [--reset-cdc] [--allow-mass-delete]
 * [--dry-run]`: runs one sync (`--dry-run`: prints the plan, as `panelsync plan`).
 *
 * With `--json`, exactly one JSON object (the {@link RunSummary}) goes to stdout and everything
 * else to stderr. Alert notifications (see src/alerts/) are sent after the summary is printed; the
 * command waits at most {@link ALERTS_WAIT_MS} for them (Ctrl-C stops waiting), then for the run log
 * (`log_to`, see src/run-log/), whose failure is a warning on stderr. Exit codes: 0
 * success or warning, 1 failed or interrupted, 2 configuration error.
 */
import type { Command } from 'commander';
import { loadProject } from '../config/load-project.ts';
import { skippedChannelWarning } from '../config/project-use.ts';
import { SyncEvents } from '../engine/events.ts';
import { runSync } from '../engine/run-sync.ts';
import { watchRun } from '../alerts/index.ts';
import { RunLogWriter } from '../run-log/run-log-writer.ts';
import { SqliteRunHistory } from '../state/sqlite-run-history.ts';
import { SqliteStateStore } from '../state/sqlite-state-store.ts';
import { EXIT, type RegisterCommand } from './exit-codes.ts';
import { addProjectOption } from './project-option.ts';
import { attachProgress } from './run-progress.ts';
import { formatSummary } from './format-summary.ts';
import { printPlan } from './plan-command.ts';
import { recordCliAction } from './cli-audit.ts';
import { reportCommandError } from './report-error.ts';

/** How long the command waits for alert notifications after the run, ms; undelivered ones are then recorded as failed. */
export const ALERTS_WAIT_MS = 30_000;

interface RunOptions {
  project?: string;
  json?: boolean;
  fullResync?: boolean;
  resetCdc?: boolean;
  allowMassDelete?: boolean;
  dryRun?: boolean;
}

export const registerRunCommand: RegisterCommand = (program: Command, setExitCode) => {
  addProjectOption(
    program
      .command('run')
      .description('run one sync: read the model, send what changed, print the summary')
      .argument('<sync>', 'the sync to run (a key of `syncs` in the project file)')
      .option('--json', 'print exactly one JSON summary on stdout; progress goes to stderr')
      .option('--full-resync', 'send every current row as added; apply no delete behaviour')
      .option('--reset-cdc', 'record every current row as synced without sending anything (a panel loaded by hand)')
      .option('--allow-mass-delete', 'let this run empty the model, or clear/delete more than max_delete_share of the synced rows')
      .option('--dry-run', 'print what the run would send, send nothing (same as `panelsync plan`)'),
  ).action(async (syncName: string, opts: RunOptions) => {
    if (opts.dryRun) {
      setExitCode(await printPlan(syncName, opts));
      return;
    }
    try {
      const project = await loadProject({ projectDir: opts.project, use: { sync: syncName, alerts: true } });
      const events = new SyncEvents();
      events.on('run:warning', ({ message }) => process.stderr.write(`panelsync: warning: ${message}\n`));
      for (const skipped of project.skippedAlertChannels ?? []) process.stderr.write(`panelsync: warning: ${skippedChannelWarning(skipped)}\n`);
      const detach = attachProgress(events);
      // One store for the run and its alerts: runSync leaves a store it was given open, so that
      // alert deliveries (after the run) can still record how they went.
      const store = new SqliteStateStore(project.statePath);
      const alerts = watchRun({ project, store, events });
      // The run log (`log_to`) is written after the run; a failure is a warning, never the exit code.
      const runLog = new RunLogWriter({ project, history: new SqliteRunHistory(store.db), warn: (line) => process.stderr.write(`panelsync: warning: ${line}\n`) });
      const stopRunLog = runLog.watch(events);
      // A full resync or a reset CDC is an operator action: recorded in the audit log.
      const action = opts.fullResync ? 'full_resync' : opts.resetCdc ? 'reset_cdc' : null;
      let started = false;
      if (action !== null) {
        events.on('run:start', ({ runId }) => {
          started = true;
          recordCliAction(store.db, project.secrets, { action, sync: syncName, target: null, run_id: runId, result: 'started', detail: null });
        });
      }
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const summary = await runSync({
          project,
          sync: syncName,
          fullResync: opts.fullResync,
          resetCdc: opts.resetCdc,
          allowMassDelete: opts.allowMassDelete,
          events,
          signal: controller.signal,
          store,
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        else process.stdout.write(formatSummary(summary, project.syncs[syncName]?.delete_behavior));
        setExitCode(summary.status === 'success' || summary.status === 'warning' ? EXIT.ok : EXIT.failed);
      } catch (error) {
        if (action !== null && !started) {
          const detail = error instanceof Error ? error.message : String(error);
          recordCliAction(store.db, project.secrets, { action, sync: syncName, target: null, run_id: null, result: 'refused', detail });
        }
        throw error;
      } finally {
        detach();
        // The summary is out; notifications get a bounded time to arrive before the process exits.
        await alerts.settled({ timeoutMs: ALERTS_WAIT_MS, signal: controller.signal });
        alerts.stop();
        await runLog.settled();
        stopRunLog();
        store.close();
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    } catch (error) {
      setExitCode(reportCommandError(error, opts.json === true));
    }
  });
};
