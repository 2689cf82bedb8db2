/**
 * How every command reports an error it cannot turn into a result: configuration errors list each
 * issue (exit 2), a run that cannot start says why (exit 1). With `json`, stdout still gets one
 * JSON object (`{ "error": { "code", "message" } }`) so scripts never parse an empty stdout.
 */
import { ConfigError } from '../config/config-error.ts';
import { RunError } from '../engine/run-sync.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';

export function reportCommandError(error: unknown, json: boolean): ExitCode {
  const code = error instanceof ConfigError || error instanceof RunError ? error.code : 'INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  if (error instanceof ConfigError) {
    process.stderr.write(`${message}\n`);
    return EXIT.usage;
  }
  if (error instanceof RunError) {
    process.stderr.write(`error: ${message}\n`);
    return error.code === 'SYNC_UNKNOWN' ? EXIT.usage : EXIT.failed;
  }
  process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? message) : message}\n`);
  return EXIT.failed;
}
