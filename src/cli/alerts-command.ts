/**
 * `panelsync alerts test CHANNEL [--project DIR] [--json]`: sends a test notification to a channel
 * of `alerts.channels` and says whether it arrived (a PagerDuty channel gets an `info` trigger
 * and its resolve).
 *
 * Output: `sent a test notification to "team-slack" (slack) in 1 attempt` on stdout, or the
 * failure reason on stderr. With `--json`, one object on stdout:
 * `{ "channel", "type", "ok", "attempts", "error": string | null, "duration_ms" }`.
 * Exit codes: 0 delivered, 1 not delivered, 2 configuration error or unknown channel.
 */
import type { Command } from 'commander';
import { AlertChannelUnknownError, sendTestNotice } from '../alerts/index.ts';
import { loadProject } from '../config/load-project.ts';
import { EXIT, type RegisterCommand } from './exit-codes.ts';
import { addProjectOption } from './project-option.ts';
import { reportCommandError } from './report-error.ts';

interface AlertsTestOptions {
  project?: string;
  json?: boolean;
}

export const registerAlertsCommand: RegisterCommand = (program: Command, setExitCode) => {
  const alerts = program.command('alerts').description('sync alerts: check the notification channels');
  addProjectOption(
    alerts
      .command('test')
      .description('send a test notification to a channel of alerts.channels and report whether it arrived')
      .argument('<channel>', 'the channel (a key of alerts.channels in the project file)')
      .option('--json', 'print one JSON object with the outcome on stdout'),
  ).action(async (channel: string, opts: AlertsTestOptions) => {
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    try {
      const project = await loadProject({ projectDir: opts.project });
      const result = await sendTestNotice(project, channel, { signal: controller.signal });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ channel, type: result.type, ok: result.ok, attempts: result.attempts, error: result.error, duration_ms: result.duration_ms })}\n`);
      }
      const tries = `${result.attempts} attempt${result.attempts === 1 ? '' : 's'}`;
      if (result.ok) {
        if (!opts.json) process.stdout.write(`sent a test notification to "${channel}" (${result.type}) in ${tries}\n`);
        setExitCode(EXIT.ok);
      } else {
        process.stderr.write(`error: the test notification to "${channel}" (${result.type}) was not delivered after ${tries}: ${result.error}\n`);
        setExitCode(EXIT.failed);
      }
    } catch (error) {
      if (error instanceof AlertChannelUnknownError) {
        if (opts.json) process.stdout.write(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`);
        process.stderr.write(`error: ${error.message}\n`);
        setExitCode(EXIT.usage);
      } else {
        setExitCode(reportCommandError(error, opts.json === true));
      }
    } finally {
      process.off('SIGINT', stop);
    }
  });
};
