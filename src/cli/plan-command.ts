/**
 * `panelsync plan SYNC [--project DIR] [--json] [--full-resync]`: what a run would send, sending
 * nothing. With `--json`, one JSON object shaped like a run's summary (status `planned`), plus a
 * `sample` of field-level changes. Exit codes: 0 planned, 1 the plan failed, 2 configuration error.
 */
import type { Command } from 'commander';
import { loadProject } from '../config/load-project.ts';
import { planSync, type PlanReport } from '../engine/plan-sync.ts';
import { EXIT, type RegisterCommand } from './exit-codes.ts';
import { addProjectOption } from './project-option.ts';
import { reportCommandError } from './report-error.ts';

export const registerPlanCommand: RegisterCommand = (program: Command, setExitCode) => {
  addProjectOption(
    program
      .command('plan')
      .description('show what a run of the sync would send (counts and field-level changes), sending nothing')
      .argument('<sync>', 'the sync to plan (a key of `syncs` in the project file)')
      .option('--json', 'print exactly one JSON object on stdout')
      .option('--full-resync', 'plan a full resync: every current row as added, no delete behaviour'),
  ).action(async (syncName: string, opts: { project?: string; json?: boolean; fullResync?: boolean }) => {
    setExitCode(await printPlan(syncName, opts));
  });
};

/** Plans and prints; shared with `run --dry-run`. Returns the exit code. */
export async function printPlan(
  syncName: string,
  opts: { project?: string; json?: boolean; fullResync?: boolean },
): Promise<(typeof EXIT)[keyof typeof EXIT]> {
  try {
    const project = await loadProject({ projectDir: opts.project });
    const report = await planSync({ project, sync: syncName, fullResync: opts.fullResync });
    process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatPlan(report));
    return EXIT.ok;
  } catch (error) {
    return reportCommandError(error, opts.json === true);
  }
}

/** The human-readable plan. */
export function formatPlan(p: PlanReport): string {
  const r = p.rows;
  const lines = [
    `${p.sync}: PLAN (nothing was sent)`,
    `  rows     queried ${r.queried} = added ${r.added} + changed ${r.changed} + unchanged ${r.unchanged} + invalid ${r.invalid}; removed ${r.removed}`,
  ];
  for (const change of p.sample) {
    const fields = change.changes.map((c) => `${c.field}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`);
    lines.push(`  ${change.class.padEnd(8)} ${change.pk}${fields.length > 0 ? `  ${fields.join(', ')}` : ''}`);
  }
  for (const row of p.invalid_rows) lines.push(`  invalid  ${row.pk ?? '(no primary key)'}: ${row.reason}`);
  return `${lines.join('\n')}\n`;
}
