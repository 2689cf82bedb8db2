/**
 * `panelsync check DESTINATION [--project DIR] [--json] [--write-test [--test-email ADDRESS]
 * [--confirm-production]] [--record DIR]`: confirms or refutes every item of the User Interviews
 * contract the wire module assumes, against that destination's account (src/check/run-check.ts).
 *
 * Text: one line per item (`confirmed`, `REFUTED` with what was expected and seen, `not checked`
 * with why), then the counts. `--json`: exactly one object on stdout (CheckReport). Exit codes:
 * 0 nothing refuted, 1 something refuted (or the API could not be reached), 2 a configuration
 * or usage error. SIGINT/SIGTERM stop a write test before its next step; it still cleans up.
 */
import type { Command } from 'commander';
import { loadProject } from '../config/load-project.ts';
import { CheckUsageError, runCheck } from '../check/run-check.ts';
import type { CheckReport } from '../check/check-report.ts';
import { EXIT, type RegisterCommand } from './exit-codes.ts';
import { addProjectOption, type ProjectOption } from './project-option.ts';
import { reportCommandError } from './report-error.ts';

interface CheckCommandOptions extends ProjectOption {
  json?: boolean;
  writeTest?: boolean;
  testEmail?: string;
  confirmProduction?: boolean;
  record?: string;
}

export const registerCheckCommand: RegisterCommand = (program: Command, setExitCode) => {
  addProjectOption(
    program
      .command('check')
      .argument('<destination>', 'a destination of the project file')
      .description("confirm or refute every assumption of the User Interviews API contract against the destination's account (read-only by default)")
      .option('--json', 'print exactly one JSON object on stdout')
      .option('--write-test', 'also exercise the writes on test participants of its own (created, changed, deleted)')
      .option('--test-email <address>', 'the test participant\'s email (default: a marked panelsync-check-…@example.com); must not be a participant')
      .option('--confirm-production', 'allow --write-test on an environment: production destination')
      .option('--record <dir>', 'keep every exchange (redacted) and the report in DIR, for panelsync emulator --profile DIR'),
  ).action(async (destination: string, opts: CheckCommandOptions) => {
    const json = opts.json === true;
    if (opts.testEmail !== undefined && !opts.writeTest) {
      setExitCode(usage(json, 'CHECK_BAD_TEST_EMAIL', '--test-email goes with --write-test'));
      return;
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const project = await loadProject({ projectDir: opts.project });
      const report = await runCheck({
        project,
        destination,
        writeTest: opts.writeTest,
        testEmail: opts.testEmail,
        confirmProduction: opts.confirmProduction,
        recordDir: opts.record,
        signal: stop.signal,
      });
      process.stdout.write(json ? `${JSON.stringify(report)}\n` : formatCheckReport(report));
      setExitCode(report.counts.refuted > 0 ? EXIT.failed : EXIT.ok);
    } catch (error) {
      setExitCode(error instanceof CheckUsageError ? usage(json, error.code, error.message) : reportCommandError(error, json));
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
};

function usage(json: boolean, code: string, message: string): typeof EXIT.usage {
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  process.stderr.write(`error: ${message}\n`);
  return EXIT.usage;
}

const LABELS = { confirmed: 'confirmed', refuted: 'REFUTED', not_checked: 'not checked' } as const;

/** The text form of a report: a header line, one line per item (plus expected/seen or why), the counts. */
export function formatCheckReport(report: CheckReport): string {
  const width = Math.max(...report.assumptions.map((a) => a.id.length));
  const lines = [
    `check ${report.destination} (${report.environment}, ${report.base_url}), ${report.write_test ? 'with the write test' : 'read-only'}`,
  ];
  if (report.leftovers_removed > 0) lines.push(`removed ${report.leftovers_removed} test participant(s) an interrupted check had left`);
  for (const a of report.assumptions) {
    lines.push(`  ${LABELS[a.result].padEnd(11)}  ${a.id.padEnd(width)}  ${a.statement}`);
    const indent = ' '.repeat(17 + width);
    if (a.result === 'refuted') lines.push(`${indent}expected: ${a.expected}`, `${indent}seen:     ${a.seen}`);
    if (a.result === 'not_checked') lines.push(`${indent}why: ${a.why}`);
  }
  const { confirmed, refuted, not_checked } = report.counts;
  lines.push(`${report.assumptions.length} assumptions: ${confirmed} confirmed, ${refuted} refuted, ${not_checked} not checked`);
  return `${lines.join('\n')}\n`;
}
