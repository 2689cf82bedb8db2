/** Process exit codes shared by every subcommand. */
export const EXIT = {
  /** Success, or a run that finished with warnings. */
  ok: 0,
  /** A run or command failed. */
  failed: 1,
  /** A configuration or usage error: fix the project file or the command line. */
  usage: 2,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Adds one subcommand to the program. `setExitCode` records the code `main` returns once the
 * command's action has finished.
 */
export type RegisterCommand = (
  program: import('commander').Command,
  setExitCode: (code: ExitCode) => void,
) => void;
