/**
 * `panelsync validate [--project DIR]`: checks the project file without connecting to anything.
 * Prints `ok: 1 sync, 1 model, 1 source, 1 destination (FILE)` on stdout and exits 0, or every
 * problem as `path: message` on stderr and exits 2. Column names cannot be checked here: a run
 * checks them against the model's result.
 */
import type { Command } from 'commander';
import { ConfigError } from '../config/config-error.ts';
import { loadProject } from '../config/load-project.ts';
import { EXIT, type RegisterCommand } from './exit-codes.ts';
import { addProjectOption, type ProjectOption } from './project-option.ts';

export const registerValidateCommand: RegisterCommand = (program: Command, setExitCode) => {
  addProjectOption(
    program
      .command('validate')
      .description('check the project file (panelsync.yml): every problem is listed with its path'),
  ).action(async (opts: ProjectOption) => {
    try {
      const project = await loadProject({ projectDir: opts.project });
      const counts = [
        count(Object.keys(project.syncs).length, 'sync'),
        count(Object.keys(project.models).length, 'model'),
        count(Object.keys(project.sources).length, 'source'),
        count(Object.keys(project.destinations).length, 'destination'),
      ];
      process.stdout.write(`ok: ${counts.join(', ')} (${project.projectFile ?? project.projectDir})\n`);
      setExitCode(EXIT.ok);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`${error.message}\n`);
      setExitCode(EXIT.usage);
    }
  });
};

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
