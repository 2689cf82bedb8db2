/**
 * `panelsync state [--project DIR] [--json] [--vacuum]`: the state database's size by table (rows,
 * bytes of data and of indexes), the file and its write-ahead log, free pages, and what retention
 * would free now (rows and estimated bytes per table); see src/state/state-size.ts. With
 * `--json`, exactly one {@link StateSizeReport} object on stdout.
 * `--vacuum` first rewrites the file once (`VACUUM`) with auto_vacuum=INCREMENTAL, so that
 * retention gives space back from then on (files created since migration 11 have it already); it
 * refuses while a run holds a lock, since it holds the whole database while it runs.
 * Reads only the state location: needs no API key. Exit codes: 0 measured, 1 no state database
 * yet or a run is going (`--vacuum`), 2 configuration error.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { loadStateLocation } from '../config/load-project.ts';
import { SqliteStateStore } from '../state/sqlite-state-store.ts';
import { measureState, vacuumState, type StateSizeReport } from '../state/state-size.ts';
import { describeLock, leaseExpired, type RunLock } from '../state/state-store.ts';
import { EXIT, type ExitCode, type RegisterCommand } from './exit-codes.ts';
import { formatTime, plural } from './format-history.ts';
import { addProjectOption, type ProjectOption } from './project-option.ts';
import { reportCommandError } from './report-error.ts';
import { textTable } from './text-table.ts';

interface StateOptions extends ProjectOption {
  json?: boolean;
  vacuum?: boolean;
}

/** Stable codes of {@link StateCommandError}; both exit 1. */
export const STATE_COMMAND_ERROR_CODES = ['STATE_NOT_FOUND', 'SYNC_RUNNING'] as const;

/** `panelsync state` cannot measure (no state database yet) or vacuum (a run holds a lock). */
export class StateCommandError extends Error {
  constructor(
    readonly code: (typeof STATE_COMMAND_ERROR_CODES)[number],
    message: string,
  ) {
    super(message);
    this.name = 'StateCommandError';
  }
}

/** Adds `panelsync state` to the program. */
export const registerStateCommand: RegisterCommand = (program: Command, setExitCode) => {
  addProjectOption(
    program
      .command('state')
      .description("the state database's size by table, and what retention would free")
      .option('--json', 'print exactly one JSON object on stdout')
      .option('--vacuum', 'first rewrite the file once so that retention gives space back (no run may be going)'),
  ).action(async (opts: StateOptions) => {
    setExitCode(await stateCommand(opts));
  });
};

async function stateCommand(opts: StateOptions): Promise<ExitCode> {
  const json = opts.json === true;
  let store: SqliteStateStore | undefined;
  try {
    const location = await loadStateLocation({ projectDir: opts.project });
    if (!existsSync(location.statePath)) {
      throw new StateCommandError('STATE_NOT_FOUND', `no state database at ${location.statePath} yet: the first run creates it`);
    }
    store = new SqliteStateStore(location.statePath);
    let vacuumed: { before: number; after: number } | null = null;
    if (opts.vacuum) {
      const held = (store.db.prepare('SELECT sync FROM locks').pluck().all() as string[])
        .map((sync) => store!.readLock(sync))
        .filter((lock): lock is RunLock => lock !== null && !leaseExpired(lock, Date.now()));
      if (held.length > 0) {
        throw new StateCommandError(
          'SYNC_RUNNING',
          `not vacuumed: ${held.map((lock) => `sync "${lock.sync}" is running (${describeLock(lock)})`).join('; ')}. VACUUM holds the whole database; run it again once no run is going`,
        );
      }
      vacuumed = vacuumState(store.db, location.statePath);
    }
    const report = measureState(store.db, location.statePath, { days: location.retentionDays, syncs: location.syncs, now: Date.now() });
    process.stdout.write(json ? `${JSON.stringify(report)}\n` : formatReport(report, vacuumed));
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof StateCommandError)) return reportCommandError(error, json);
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`);
    process.stderr.write(`error: ${error.message}\n`);
    return EXIT.failed;
  } finally {
    store?.close();
  }
}

/** The report as text: the file, its tables largest first, then what retention would free. */
export function formatReport(report: StateSizeReport, vacuumed: { before: number; after: number } | null): string {
  const lines: string[] = [];
  if (vacuumed !== null) lines.push(`Vacuumed: ${mib(vacuumed.before)} -> ${mib(vacuumed.after)}; retention gives space back from now on.`, '');
  lines.push(
    `State database ${report.path}: ${mib(report.file_bytes + report.wal_bytes)} (file ${mib(report.file_bytes)}, write-ahead log ${mib(report.wal_bytes)})`,
    `  ${report.pages.toLocaleString('en')} pages of ${report.page_size / 1024} KiB, ${report.free_pages.toLocaleString('en')} free (${mib(report.free_pages * report.page_size)})`,
    report.auto_vacuum === 'incremental'
      ? '  auto_vacuum incremental: retention gives free pages back to the file system'
      : `  auto_vacuum ${report.auto_vacuum}: free pages are reused, never given back; switch once with \`panelsync state --vacuum\` (no run may be going)`,
    '',
    ...textTable(
      [{ header: 'TABLE' }, { header: 'ROWS', right: true }, { header: 'DATA', right: true }, { header: 'INDEXES', right: true }],
      report.tables.map((t) => [t.table, t.rows.toLocaleString('en'), mib(t.bytes), mib(t.index_bytes)]),
    ),
    '',
  );
  const r = report.retention;
  const what = [
    r.runs > 0 ? `the calls and row outcomes of ${plural(r.runs, 'run')} started before ${formatTime(r.cutoff)} UTC` : '',
    r.removed_syncs.length > 0 ? `everything of ${plural(r.removed_syncs.length, 'sync')} no longer in the project (${r.removed_syncs.join(', ')})` : '',
  ].filter(Boolean);
  if (what.length === 0) {
    lines.push(`Retention (retention_days ${r.retention_days}) would free nothing now.`);
  } else {
    lines.push(
      `Retention (retention_days ${r.retention_days}) would remove ${what.join(', and ')}: ${r.rows.toLocaleString('en')} rows, about ${mib(r.bytes)}, at the start of the next run`,
      ...textTable(
        [{ header: 'TABLE' }, { header: 'ROWS', right: true }, { header: 'ABOUT', right: true }],
        r.tables.map((t) => [t.table, t.rows.toLocaleString('en'), mib(t.bytes)]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
