/** Every subcommand of `panelsync`, in the order `--help` lists them. */
import type { RegisterCommand } from './exit-codes.ts';
import { registerRunCommand } from './run-command.ts';
import { registerPlanCommand } from './plan-command.ts';
import { registerValidateCommand } from './validate-command.ts';
import { registerEmulatorCommand } from './emulator-command.ts';
import { registerDemoCommand } from './demo-command.ts';
import { registerRunsCommand } from './runs-command.ts';
import { registerDebugCommand } from './debug-command.ts';
import { registerRowsCommand } from './rows-command.ts';
import { registerAlertsCommand } from './alerts-command.ts';
import { registerServeCommand } from './serve-command.ts';
import { registerUnlockCommand } from './unlock-command.ts';
import { registerCheckCommand } from './check-command.ts';
import { registerStateCommand } from './state-command.ts';

export const COMMANDS: RegisterCommand[] = [registerRunCommand, registerPlanCommand, registerValidateCommand, registerEmulatorCommand, registerDemoCommand, registerRunsCommand, registerDebugCommand, registerRowsCommand, registerAlertsCommand, registerServeCommand, registerUnlockCommand, registerCheckCommand, registerStateCommand];
