/**
 * Writes one ended run, its record and its row outcomes, into the log tables of a `log_to`
 * schema (./log-migrations.ts), then applies `log_retention_days`. Never request or response
 * bodies: the API calls of a run stay in the state database.
 */
import type { RunSummary } from '../engine/run-summary.ts';
import { redact } from '../http/redact.ts';
import type { OutcomeItem, RunListItem } from '../state/run-history.ts';
import type { LogDatabase, LogValue } from './log-database.ts';
import { ROW_OUTCOMES_COLUMNS, RUNS_COLUMNS, type LogColumn } from './log-migrations.ts';

/** Row outcomes inserted per statement (9 columns: well under every engine's limit of bound parameters). */
export const OUTCOMES_PER_INSERT = 500;

export interface RunLogEntry {
  /** The ended run as the state database holds it. */
  run: RunListItem;
  /** Its row outcomes, page by page in the order recorded, so that a run of millions of rows is never held whole. */
  outcomes: Iterable<OutcomeItem[]>;
  /** Runs (and their outcomes) that started more than this many days before `now` are deleted; absent: kept. */
  retentionDays?: number;
  /** Strings to redact from the texts written (the project's secrets). */
  secrets: readonly string[];
  /** The time of the write, ISO 8601 (`logged_at`, and what retention counts from). */
  now: string;
}

/** What one write did. */
export interface RunLogWriteResult {
  /** Row outcomes written for the run. */
  outcomes: number;
  /** Earlier runs deleted by retention. */
  prunedRuns: number;
}

/**
 * Writes `entry` in one transaction: rows the run already had in the log (a write that is
 * repeated) are replaced, so a run appears once; then retention deletes old runs with their
 * outcomes. The tables must be migrated ({@link ../run-log/log-migrations.ts}).
 * @throws the database's error (nothing of the run is then written)
 */
export async function writeRunLog(db: LogDatabase, entry: RunLogEntry): Promise<RunLogWriteResult> {
  const runs = db.table('runs');
  const outcomes = db.table('row_outcomes');
  const { run } = entry;
  let written = 0;
  let prunedRuns = 0;
  await db.transaction(async () => {
    await db.run(`DELETE FROM ${outcomes} WHERE run_id = ?`, [run.run_id]);
    await db.run(`DELETE FROM ${runs} WHERE run_id = ?`, [run.run_id]);
    await insert(db, runs, RUNS_COLUMNS, [runValues(entry)]);
    for (const page of entry.outcomes) {
      for (let i = 0; i < page.length; i += OUTCOMES_PER_INSERT) {
        const rows = page.slice(i, i + OUTCOMES_PER_INSERT).map((o) => outcomeValues(o, entry.secrets));
        await insert(db, outcomes, ROW_OUTCOMES_COLUMNS, rows);
        written += rows.length;
      }
    }
    if (entry.retentionDays !== undefined) {
      const before = db.encode('timestamp', new Date(Date.parse(entry.now) - entry.retentionDays * 86_400_000).toISOString());
      await db.run(`DELETE FROM ${outcomes} WHERE run_id IN (SELECT run_id FROM ${runs} WHERE started_at < ?)`, [before]);
      const [count] = await db.all(`SELECT count(*) AS n FROM ${runs} WHERE started_at < ?`, [before]);
      prunedRuns = Number(count?.n ?? 0);
      await db.run(`DELETE FROM ${runs} WHERE started_at < ?`, [before]);
    }
  });
  return { outcomes: written, prunedRuns };
}

/** Inserts `rows` (values in `columns` order) with one multi-row statement. */
async function insert(db: LogDatabase, table: string, columns: readonly LogColumn[], rows: LogValue[][]): Promise<void> {
  if (rows.length === 0) return;
  const placeholders = `(${columns.map(() => '?').join(', ')})`;
  const params = rows.flatMap((row) => row.map((value, i) => db.encode(columns[i]!.type, value)));
  await db.run(`INSERT INTO ${table} (${columns.map((c) => c.name).join(', ')}) VALUES ${rows.map(() => placeholders).join(', ')}`, params);
}

const total = (counts: { added: number; changed: number; removed: number } | undefined): number | null =>
  counts === undefined ? null : counts.added + counts.changed + counts.removed;

/** The `runs` row of a run, in {@link RUNS_COLUMNS} order. A run ended without a summary (a state database error) has null counts. */
function runValues(entry: RunLogEntry): LogValue[] {
  const { run } = entry;
  const summary: RunSummary | null = run.summary;
  const rows = summary?.rows;
  return [
    run.run_id,
    run.sync,
    run.trigger,
    run.status,
    run.started_at,
    run.finished_at,
    run.duration_ms,
    run.options.full_resync,
    run.options.reset_cdc,
    rows?.queried ?? null,
    rows?.added ?? null,
    rows?.changed ?? null,
    rows?.removed ?? null,
    rows?.unchanged ?? null,
    rows?.invalid ?? null,
    total(summary?.succeeded),
    total(summary?.rejected),
    total(summary?.skipped),
    total(summary?.unsent),
    summary?.api_calls ?? null,
    run.error === null ? null : redact(run.error, entry.secrets),
    summary === null ? null : redact(JSON.stringify(summary), entry.secrets),
    entry.now,
  ];
}

/** The `row_outcomes` row of an outcome, in {@link ROW_OUTCOMES_COLUMNS} order. */
function outcomeValues(o: OutcomeItem, secrets: readonly string[]): LogValue[] {
  return [o.run_id, o.id, o.sync, o.pk, o.class, o.result, o.error === null ? null : redact(o.error, secrets), o.participant_id, o.at];
}
