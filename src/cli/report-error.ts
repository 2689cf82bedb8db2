/**
 * How every command reports an error it cannot turn into a result: configuration errors list each
 * issue (exit 2), a run that cannot start says why (exit 1). With `json`, stdout still gets one
 * JSON object (`{ "error": { "code", "message" } }`) so scripts never parse an empty stdout.
 * Only an error none of our modules raised is `INTERNAL` and shows its stack (a bug to report).
 */
import { ConfigError } from '../config/config-error.ts';
import { RowMapperError } from '../engine/row-mapper.ts';
import { RunError } from '../engine/run-sync.ts';
import { HttpError } from '../http/errors.ts';
import { SourceError } from '../sources/source.ts';
import { StateFileError } from '../state/state-file-error.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';

/** Errors whose message already says what to fix; exit 2 when the fix is in the project file or the command line. */
function known(error: unknown): { code: string; exit: ExitCode } | null {
  if (error instanceof ConfigError) return { code: error.code, exit: EXIT.usage };
  if (error instanceof RowMapperError) return { code: error.code, exit: EXIT.usage };
  if (error instanceof RunError) return { code: error.code, exit: error.code === 'SYNC_UNKNOWN' ? EXIT.usage : EXIT.failed };
  if (error instanceof SourceError || error instanceof HttpError || error instanceof StateFileError) return { code: error.code, exit: EXIT.failed };
  return null;
}

/**
 * Prints `error` (stderr, and with `json` one JSON object on stdout) and returns the exit code.
 * @returns 2 for a configuration or usage error, 1 otherwise
 */
export function reportCommandError(error: unknown, json: boolean): ExitCode {
  const message = error instanceof Error ? error.message : String(error);
  const kind = known(error);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code: kind?.code ?? 'INTERNAL', message } })}\n`);
  if (error instanceof ConfigError) process.stderr.write(`${message}\n`);
  else if (kind !== null) process.stderr.write(`error: ${message}\n`);
  else process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? message) : message}\n`);
  return kind?.exit ?? EXIT.failed;
}
