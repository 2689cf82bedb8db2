/**
 * Retention of the state database (see README "State database size and retention"):
 * - the API calls and row outcomes of every finished run that started before the cut-off
 *   (`retention_days`) are removed; the run record stays, marked `details_pruned_at`. An outcome
 *   extended into a later run (./row-outcome-log.ts) goes with the last run it covers;
 * - a sync no longer in the project, holding no run lock and with no run since the cut-off, is
 *   forgotten whole: runs, calls, row outcomes, snapshot, write intents, recorded destination and
 *   identity, alert state. Until then (a renamed or briefly removed sync) it keeps everything.
 * Deletes run in slices (./sliced-writes.ts); after them, a file with auto_vacuum=INCREMENTAL
 * gives its free pages back to the file system, in slices too.
 */
import type Database from 'better-sqlite3';
import { SlicedWrites } from './sliced-writes.ts';

/** Per-sync tables forgotten with a removed sync (besides runs, api_calls and row_outcomes). */
export const SYNC_TABLES = [
  'snapshot',
  'write_intents',
  'snapshot_destinations',
  'snapshot_identity',
  'alert_state',
  'alert_notified',
  'alert_deliveries',
  'unmatched_rows',
] as const;

/** What retention removes (see the module doc). */
export interface RetentionTargets {
  /** Runs whose calls and row outcomes go (of syncs still in the project, or not yet removed). */
  runs: string[];
  /** Syncs forgotten whole. */
  removedSyncs: string[];
}

/**
 * What retention would remove now.
 * @param before the cut-off, ISO 8601: runs started earlier are old
 * @param syncs the syncs of the project; `undefined`: forget no sync
 */
export function retentionTargets(db: Database.Database, before: string, syncs?: readonly string[]): RetentionTargets {
  const removedSyncs = syncs === undefined ? [] : storedSyncs(db).filter((s) => !syncs.includes(s) && isRetired(db, s, before));
  const runs = (
    db
      .prepare(`SELECT id, sync FROM runs WHERE started_at < ? AND status <> 'running' AND details_pruned_at IS NULL ORDER BY started_at, id`)
      .all(before) as Array<{ id: string; sync: string }>
  )
    .filter((r) => !removedSyncs.includes(r.sync))
    .map((r) => r.id);
  return { runs, removedSyncs };
}

/** Every sync name the state database holds anything of (a skip scan of each table's leading `sync` column). */
function storedSyncs(db: Database.Database): string[] {
  const found = new Set<string>();
  for (const table of ['runs', ...SYNC_TABLES, 'row_outcomes']) {
    const next = db.prepare(`SELECT min(sync) FROM ${table} WHERE sync > ?`).pluck();
    for (let s = next.get('') as string | null; s !== null; s = next.get(s) as string | null) found.add(s);
  }
  return [...found].sort();
}

/** A sync not in the project may be forgotten: no lock held, and no run started at or after `before`. */
function isRetired(db: Database.Database, sync: string, before: string): boolean {
  if (db.prepare('SELECT 1 FROM locks WHERE sync = ?').get(sync) !== undefined) return false;
  return db.prepare('SELECT 1 FROM runs WHERE sync = ? AND started_at >= ? LIMIT 1').get(sync, before) === undefined;
}

/** What {@link pruneHistory} removed. */
export interface PruneCounts {
  /** Runs whose details went (runs of forgotten syncs not included). */
  runs: number;
  calls: number;
  outcomes: number;
  /** Syncs forgotten whole, by name. */
  removedSyncs: string[];
  /** Free pages given back to the file system (0 unless auto_vacuum is INCREMENTAL). */
  pagesFreed: number;
  /** The longest write transaction, ms. */
  longestSliceMs: number;
}

/**
 * Applies retention (see the module doc) in write transactions of about 25 ms (SLICE_TARGET_MS), pausing between them.
 * @param before the cut-off, ISO 8601
 * @param syncs the syncs of the project; `undefined`: forget no sync
 */
export async function pruneHistory(db: Database.Database, before: string, syncs?: readonly string[]): Promise<PruneCounts> {
  const targets = retentionTargets(db, before, syncs);
  const slices = new SlicedWrites(db);
  const counts: PruneCounts = { runs: 0, calls: 0, outcomes: 0, removedSyncs: targets.removedSyncs, pagesFreed: 0, longestSliceMs: 0 };
  const deleteCalls = db.prepare(
    'DELETE FROM api_calls WHERE run_id = :run AND seq IN (SELECT seq FROM api_calls WHERE run_id = :run ORDER BY seq LIMIT :limit)',
  );
  const deleteOwnOutcomes = db.prepare(
    'DELETE FROM row_outcomes WHERE rowid IN (SELECT rowid FROM row_outcomes WHERE run_id = :run AND last_run_id IS NULL LIMIT :limit)',
  );
  const deleteCarriedOutcomes = db.prepare(
    'DELETE FROM row_outcomes WHERE rowid IN (SELECT rowid FROM row_outcomes WHERE sync = :sync AND last_run_id = :run LIMIT :limit)',
  );
  const mark = db.prepare('UPDATE runs SET details_pruned_at = ? WHERE id = ?');
  const syncOf = db.prepare('SELECT sync FROM runs WHERE id = ?').pluck();
  for (const run of targets.runs) {
    const sync = syncOf.get(run) as string;
    counts.calls += await slices.repeat('calls', (limit) => deleteCalls.run({ run, limit }).changes);
    counts.outcomes += await slices.repeat('outcomes', (limit) => deleteOwnOutcomes.run({ run, limit }).changes);
    counts.outcomes += await slices.repeat('outcomes', (limit) => deleteCarriedOutcomes.run({ sync, run, limit }).changes);
    mark.run(new Date().toISOString(), run);
    counts.runs++;
  }
  for (const sync of targets.removedSyncs) await forgetSync(db, slices, sync);
  counts.pagesFreed = await giveSpaceBack(db, slices);
  counts.longestSliceMs = slices.longestSliceMs;
  return counts;
}

/** Removes everything of `sync`, in slices. */
async function forgetSync(db: Database.Database, slices: SlicedWrites, sync: string): Promise<void> {
  const runs = db.prepare('SELECT id FROM runs WHERE sync = ?').pluck().all(sync) as string[];
  const deleteCalls = db.prepare(
    'DELETE FROM api_calls WHERE run_id = :run AND seq IN (SELECT seq FROM api_calls WHERE run_id = :run ORDER BY seq LIMIT :limit)',
  );
  for (const run of runs) await slices.repeat('calls', (limit) => deleteCalls.run({ run, limit }).changes);
  const bySync = (table: string, key: string) =>
    db.prepare(`DELETE FROM ${table} WHERE sync = :sync AND ${key} IN (SELECT ${key} FROM ${table} WHERE sync = :sync LIMIT :limit)`);
  const steps: Array<[string, Database.Statement]> = [
    ['outcomes', bySync('row_outcomes', 'rowid')],
    ['snapshot', bySync('snapshot', 'pk')],
    ['intents', bySync('write_intents', 'pk')],
    ['unmatched', bySync('unmatched_rows', 'pk')],
    ['runs', bySync('runs', 'id')],
  ];
  for (const [kind, statement] of steps) await slices.repeat(kind, (limit) => statement.run({ sync, limit }).changes);
  // The one-row-per-sync tables, in one transaction.
  const small = SYNC_TABLES.filter((table) => table !== 'snapshot' && table !== 'write_intents' && table !== 'unmatched_rows');
  await slices.repeat('small', () => {
    for (const table of small) db.prepare(`DELETE FROM ${table} WHERE sync = ?`).run(sync);
    return 0;
  });
}

/**
 * With auto_vacuum=INCREMENTAL, moves the free pages to the end of the file and truncates it,
 * in slices (`PRAGMA incremental_vacuum(N)`); a file without it keeps its free pages for reuse
 * (`panelsync state --vacuum` switches it once).
 * @returns pages given back
 */
export async function giveSpaceBack(db: Database.Database, slices: SlicedWrites): Promise<number> {
  if (db.pragma('auto_vacuum', { simple: true }) !== AUTO_VACUUM_INCREMENTAL) return 0;
  const freelist = () => db.pragma('freelist_count', { simple: true }) as number;
  return slices.repeat('vacuum', (limit) => {
    const before = freelist();
    if (before === 0) return 0;
    db.pragma(`incremental_vacuum(${limit})`);
    return before - freelist();
  });
}

/** `PRAGMA auto_vacuum` values: 0 none, 1 full, 2 incremental. */
export const AUTO_VACUUM_MODES = ['none', 'full', 'incremental'] as const;
const AUTO_VACUUM_INCREMENTAL = 2;
