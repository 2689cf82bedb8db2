/**
 * The `panelsync` command. Each subcommand lives in its own file and exports a `register`
 * function that adds it to the program; this file only wires them together.
 *
 * Exit codes (every subcommand): 0 success (a run may have finished with warnings), 1 a run or
 * command failed, 2 a configuration or usage error.
 */
import { Command, CommanderError } from 'commander';
import { EXIT } from './exit-codes.ts';
import { COMMANDS } from './commands.ts';

/**
 * Parses `argv` (as `process.argv`: node, script, args…) and runs the subcommand.
 * Returns the process exit code; never calls `process.exit` so that tests can call it in-process.
 */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('panelsync')
    .description('Keeps a User Interviews participant panel in step with a SQL model')
    .exitOverride()
    .showHelpAfterError();
  let exitCode: number = EXIT.ok;
  for (const register of COMMANDS) register(program, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw error;
  }
  return exitCode;
}
