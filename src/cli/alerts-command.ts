/**
 * `panelsync alerts test CHANNEL [--project DIR] [--json] [--timeout-ms N]`: sends a test
 * notification to a channel of `alerts.channels` and says whether it arrived (a PagerDuty channel
 * gets an `info` trigger and its resolve).
 *
 * While it waits, each attempt is announced on stderr with where it goes (`host:port` only) and how
 * long it may take, and each failed attempt with its reason and when the next follows, so that an
 * endpoint that does not answer is never a silent wait. Attempts, backoff and the time limit per
 * attempt are `alerts.delivery`'s (default 3 attempts of at most 10 s); `--timeout-ms` sets
 * another time limit per attempt for the test.
 *
 * Output: `sent a test notification to "team-slack" (slack) in 1 attempt` on stdout, or the
 * failure reason on stderr. With `--json`, exactly one object on stdout and nothing on stderr:
 * `{ "channel", "type", "ok", "attempts", "error": string | null, "duration_ms" }`, or
 * `{ "error": { "code", "message" } }` when no notification could be sent (unknown channel,
 * configuration error).
 * Exit codes: 0 delivered, 1 not delivered, 2 configuration error or unknown channel.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { AlertChannelUnknownError, sendTestNotice, type TestNoticeProgress } from '../alerts/index.ts';
import { ConfigError } from '../config/config-error.ts';
import { loadProject } from '../config/load-project.ts';
import { EXIT, type RegisterCommand } from './exit-codes.ts';
import { addProjectOption } from './project-option.ts';
import { reportCommandError } from './report-error.ts';

interface AlertsTestOptions {
  project?: string;
  json?: boolean;
  timeoutMs?: number;
}

/** Adds `panelsync alerts test` to the program. */
export const registerAlertsCommand: RegisterCommand = (program: Command, setExitCode) => {
  const alerts = program.command('alerts').description('sync alerts: check the notification channels');
  addProjectOption(
    alerts
      .command('test')
      .description('send a test notification to a channel of alerts.channels and report whether it arrived')
      .argument('<channel>', 'the channel (a key of alerts.channels in the project file)')
      .option('--json', 'print one JSON object with the outcome on stdout (nothing on stderr)')
      .option('--timeout-ms <n>', 'time limit of each attempt, ms (default: alerts.delivery.timeout_ms, 10000)', parseTimeoutMs),
  ).action(async (channel: string, opts: AlertsTestOptions) => {
    const json = opts.json === true;
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    try {
      const project = await loadProject({ projectDir: opts.project });
      const result = await sendTestNotice(project, channel, {
        signal: controller.signal,
        timeoutMs: opts.timeoutMs,
        onProgress: json ? undefined : (progress) => process.stderr.write(`${progressLine(channel, progress)}\n`),
      });
      const tries = `${result.attempts} attempt${result.attempts === 1 ? '' : 's'}`;
      if (json) {
        process.stdout.write(`${JSON.stringify({ channel, type: result.type, ok: result.ok, attempts: result.attempts, error: result.error, duration_ms: result.duration_ms })}\n`);
      } else if (result.ok) {
        process.stdout.write(`sent a test notification to "${channel}" (${result.type}) in ${tries}\n`);
      } else {
        process.stderr.write(`error: the test notification to "${channel}" (${result.type}) was not delivered after ${tries}: ${result.error}\n`);
      }
      setExitCode(result.ok ? EXIT.ok : EXIT.failed);
    } catch (error) {
      if (json) {
        // One object on stdout, and the error only there.
        const message = error instanceof Error ? error.message : String(error);
        const code = error instanceof AlertChannelUnknownError || error instanceof ConfigError ? error.code : 'INTERNAL';
        process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
        setExitCode(code === 'INTERNAL' ? EXIT.failed : EXIT.usage);
      } else if (error instanceof AlertChannelUnknownError) {
        process.stderr.write(`error: ${error.message}\n`);
        setExitCode(EXIT.usage);
      } else {
        setExitCode(reportCommandError(error, false));
      }
    } finally {
      process.off('SIGINT', stop);
    }
  });
};

/**
 * One line of progress: `sending a test notification to "hook" (attempt 1 of 3) to 10.0.0.5:443;
 * waiting up to 10 s for its answer…`, `attempt 1 of 3 failed: … ; trying again in 2 s`.
 */
function progressLine(channel: string, progress: TestNoticeProgress): string {
  const of = `attempt ${progress.attempt} of ${progress.max_attempts}`;
  if (progress.kind === 'attempt') {
    return `sending a test notification to "${channel}" at ${progress.target} (${of}); waiting up to ${seconds(progress.timeout_ms)} for its answer…`;
  }
  return `${of} failed: ${progress.error}${progress.retry_in_ms === null ? '' : `; trying again in ${seconds(progress.retry_in_ms)}`}`;
}

/** `400 ms`, `10 s`, `2.5 s`. */
function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

function parseTimeoutMs(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new InvalidArgumentError('--timeout-ms takes a whole number of milliseconds from 1 up, e.g. --timeout-ms 3000.');
  return n;
}
