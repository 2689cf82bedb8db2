/**
 * `panelsync plan SYNC [--project DIR] [--json] [--full-resync] [--allow-mass-delete] [--sample N]`: what a run
 * would send, sending nothing (API reads only: characteristics, and in update and insert modes the
 * participants). With `--json`, one JSON object shaped like a run's summary (status `planned`),
 * plus `already_exists`, `refused`, `in_doubt` and a `sample` of field-level changes ({@link PlanReport}).
 * Exit codes: 0 planned (also when the plan says the run would be refused), 1 the plan failed,
 * 2 configuration error.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { loadProject } from '../config/load-project.ts';
import { planSync, type PlanReport } from '../engine/plan-sync.ts';
import { EXIT, type RegisterCommand } from './exit-codes.ts';
import { plural } from './format-history.ts';
import { addProjectOption } from './project-option.ts';
import { reportCommandError } from './report-error.ts';

export const registerPlanCommand: RegisterCommand = (program: Command, setExitCode) => {
  addProjectOption(
    program
      .command('plan')
      .description('show what a run of the sync would send (counts and field-level changes), sending nothing')
      .argument('<sync>', 'the sync to plan (a key of `syncs` in the project file)')
      .option('--json', 'print exactly one JSON object on stdout')
      .option('--full-resync', 'plan a full resync: every current row as added, no delete behaviour')
      .option('--allow-mass-delete', 'plan a run allowed to empty the model, or clear/delete more than max_delete_share of the synced rows')
      .option('--sample <n>', `rows shown per class, and invalid rows shown (default ${DEFAULT_SAMPLE})`, sampleSize),
  ).action(async (syncName: string, opts: PlanOptions) => {
    setExitCode(await printPlan(syncName, opts));
  });
};

/** The options of `plan`, and those of `run --dry-run` that the plan reads. */
interface PlanOptions {
  project?: string;
  json?: boolean;
  fullResync?: boolean;
  allowMassDelete?: boolean;
  sample?: number;
}

/** Rows shown per class by default. */
const DEFAULT_SAMPLE = 5;

function sampleSize(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new InvalidArgumentError('--sample takes a whole number from 1 up, e.g. --sample 50.');
  return n;
}

/** Plans and prints; shared with `run --dry-run`. Returns the exit code. */
export async function printPlan(syncName: string, opts: PlanOptions): Promise<(typeof EXIT)[keyof typeof EXIT]> {
  try {
    // A plan sends nothing but reads: the server's token and the alert channels' secrets are not needed.
    const project = await loadProject({ projectDir: opts.project, use: { sync: syncName, alerts: false } });
    const sample = opts.sample ?? DEFAULT_SAMPLE;
    const report = await planSync({ project, sync: syncName, fullResync: opts.fullResync, allowMassDelete: opts.allowMassDelete, sampleSize: sample });
    process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatPlan(report, sample));
    return EXIT.ok;
  } catch (error) {
    return reportCommandError(error, opts.json === true);
  }
}

/**
 * The human-readable plan: counts, then up to `sample` rows per class (and invalid rows), each
 * cut list ending in how many more there are.
 */
export function formatPlan(p: PlanReport, sample = DEFAULT_SAMPLE): string {
  const r = p.rows;
  const lines = [
    `${p.sync}: PLAN (nothing was sent)`,
    `  rows     queried ${r.queried} = added ${r.added} + changed ${r.changed} + unchanged ${r.unchanged} + invalid ${r.invalid}; removed ${r.removed}`,
  ];
  if (p.refused !== null) lines.push(`  REFUSED  a run would stop before sending anything: ${p.refused.message}`);
  if (p.first_sync) {
    lines.push('  first    the snapshot is empty: every row would be sent as added; rows removed from the model before now cannot be deleted or cleared');
  }
  if (p.finishes_reset_cdc !== null) {
    lines.push(`  RESET    the run will finish the --reset-cdc of run ${p.finishes_reset_cdc}: it records the rows as synced and sends nothing`);
  }
  if (p.in_doubt > 0) {
    lines.push(
      `  doubt    ${plural(p.in_doubt, 'write')} of an earlier run got no answer: the run settles ${p.in_doubt === 1 ? 'it' : 'them'} first ` +
        '(one read of the participants) and sends those rows again; the counts below do not include them yet',
    );
  }
  const skipped = (['added', 'changed', 'removed'] as const).filter((c) => p.skipped[c] > 0);
  if (skipped.length > 0) {
    const why = p.sample.find((s) => s.outcome?.result === 'skipped')?.outcome?.reason;
    lines.push(`  skipped  ${skipped.map((c) => `${c} ${p.skipped[c]}`).join(' · ')} (${why ?? 'rows the mode does not act on'})`);
  }
  if (p.already_exists > 0) {
    lines.push(`  exists   ${plural(p.already_exists, 'added row')} would be rejected: a participant already has the email (insert mode never overwrites one)`);
  }
  const more = (count: number, shown: number, what: string) => {
    if (count > shown) lines.push(`  ${''.padEnd(8)} … and ${count - shown} more ${what} (see them with --sample ${Math.max(count, sample)})`);
  };
  for (const c of ['added', 'changed', 'removed'] as const) {
    const rows = p.sample.filter((change) => change.class === c);
    for (const change of rows) {
      const fields = change.changes.map((f) => `${f.field}: ${JSON.stringify(f.from)} -> ${JSON.stringify(f.to)}`);
      const outcome = change.outcome === undefined ? '' : `  [${change.outcome.result}: ${change.outcome.reason}]`;
      lines.push(`  ${change.class.padEnd(8)} ${change.pk}${fields.length > 0 ? `  ${fields.join(', ')}` : ''}${outcome}`);
    }
    more(r[c], rows.length, `${c} rows`);
  }
  for (const row of p.invalid_rows) lines.push(`  invalid  ${row.pk ?? '(no primary key)'}: ${row.reason}`);
  more(r.invalid, p.invalid_rows.length, 'invalid rows');
  return `${lines.join('\n')}\n`;
}
