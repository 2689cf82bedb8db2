/** Every subcommand of `panelsync`, in the order `--help` lists them. */
import type { RegisterCommand } from './exit-codes.ts';
import { registerRunCommand } from './run-command.ts';
import { registerPlanCommand } from './plan-command.ts';
import { registerValidateCommand } from './validate-command.ts';
import { registerEmulatorCommand } from './emulator-command.ts';
import { registerDemoCommand } from './demo-command.ts';

export const COMMANDS: RegisterCommand[] = [registerRunCommand, registerPlanCommand, registerValidateCommand, registerEmulatorCommand, registerDemoCommand];
