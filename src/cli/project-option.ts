/** The `--project DIR` option every command that reads the project file shares. */
import type { Command } from 'commander';

/** What {@link addProjectOption} adds to a command's options: `undefined` means the current directory. */
export interface ProjectOption {
  project?: string;
}

/**
 * Adds `--project <dir>` to `command` and returns it (for chaining). No commander default: the
 * current directory is read when the command runs (`loadProject({ projectDir: opts.project })`).
 */
export function addProjectOption(command: Command): Command {
  return command.option(
    '--project <dir>',
    'the directory holding panelsync.yml (default: current directory)',
  );
}
