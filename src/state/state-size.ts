/**
 * What the state database takes on disk, by table, and what retention would free now
 * (`panelsync state`). Sizes come from SQLite's `dbstat` virtual table (pages of each table and
 * of its indexes; https://sqlite.org/dbstat.html), so reading them reads the whole file once.
 */
import type Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { AUTO_VACUUM_MODES, retentionTargets, SYNC_TABLES } from './prune-history.ts';

/** One table: stored rows and the bytes of its pages (table b-tree, and its indexes apart). */
export interface TableSize {
  table: string;
  rows: number;
  bytes: number;
  index_bytes: number;
}

/** What retention would remove from one table: stored rows, and bytes estimated pro rata of its rows. */
export interface TableRetention {
  table: string;
  rows: number;
  bytes: number;
}

/** The report of `panelsync state --json`. Sizes in bytes. */
export interface StateSizeReport {
  /** The state database file (absolute path). */
  path: string;
  file_bytes: number;
  /** The write-ahead log beside it (`-wal`); 0 when absent. */
  wal_bytes: number;
  page_size: number;
  pages: number;
  /** Pages free for reuse inside the file. */
  free_pages: number;
  /** `incremental`: retention gives free pages back to the file system; `none`: they are only reused. */
  auto_vacuum: (typeof AUTO_VACUUM_MODES)[number];
  /** Largest first. */
  tables: TableSize[];
  retention: {
    retention_days: number;
    /** Runs that started before this time (ISO 8601) lose their calls and row outcomes. */
    cutoff: string;
    /** Runs whose calls and row outcomes would go. */
    runs: number;
    /** Syncs no longer in the project that would be forgotten whole. */
    removed_syncs: string[];
    /** Tables with rows to remove, largest first. */
    tables: TableRetention[];
    rows: number;
    bytes: number;
  };
}

/**
 * Measures the open state database at `path`.
 * @param retention `days` of `retention_days`, `syncs` of the project, `now` (ms since epoch)
 * @throws the driver's SqliteError when the file cannot be read
 */
export function measureState(
  db: Database.Database,
  path: string,
  retention: { days: number; syncs: readonly string[]; now: number },
): StateSizeReport {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const sizes = db
    .prepare(
      `SELECT coalesce(m.tbl_name, d.name) AS tbl, sum(CASE WHEN m.type = 'index' THEN 0 ELSE d.pgsize END) AS bytes,
              sum(CASE WHEN m.type = 'index' THEN d.pgsize ELSE 0 END) AS index_bytes
       FROM dbstat AS d LEFT JOIN sqlite_schema AS m ON m.name = d.name
       WHERE d.name NOT LIKE 'sqlite_%' OR m.type = 'index'
       GROUP BY tbl`,
    )
    .all() as Array<{ tbl: string; bytes: number; index_bytes: number }>;
  const tables = sizes
    .map((s): TableSize => ({ table: s.tbl, rows: countRows(db, s.tbl), bytes: s.bytes, index_bytes: s.index_bytes }))
    .sort((a, b) => b.bytes + b.index_bytes - (a.bytes + a.index_bytes) || a.table.localeCompare(b.table));

  const cutoff = new Date(retention.now - retention.days * 86_400_000).toISOString();
  const targets = retentionTargets(db, cutoff, retention.syncs);
  const freed = new Map<string, number>();
  const add = (table: string, rows: number) => rows > 0 && freed.set(table, (freed.get(table) ?? 0) + rows);
  const one = (sql: string, ...params: unknown[]) => db.prepare(sql).pluck().get(...params) as number;
  const syncOf = db.prepare('SELECT sync FROM runs WHERE id = ?').pluck();
  for (const run of targets.runs) {
    const sync = syncOf.get(run) as string;
    add('api_calls', one('SELECT count(*) FROM api_calls WHERE run_id = ?', run));
    add('row_outcomes', one('SELECT count(*) FROM row_outcomes WHERE run_id = ? AND last_run_id IS NULL', run));
    add('row_outcomes', one('SELECT count(*) FROM row_outcomes WHERE sync = ? AND last_run_id = ?', sync, run));
  }
  for (const sync of targets.removedSyncs) {
    add('api_calls', one('SELECT count(*) FROM api_calls WHERE run_id IN (SELECT id FROM runs WHERE sync = ?)', sync));
    for (const table of ['runs', 'row_outcomes', ...SYNC_TABLES]) {
      add(table, one(`SELECT count(*) FROM ${table} WHERE sync = ?`, sync));
    }
  }
  const retained = [...freed].map(([table, rows]): TableRetention => {
    const size = tables.find((t) => t.table === table);
    const bytes = size === undefined || size.rows === 0 ? 0 : Math.round(((size.bytes + size.index_bytes) * rows) / size.rows);
    return { table, rows, bytes };
  });
  retained.sort((a, b) => b.bytes - a.bytes || a.table.localeCompare(b.table));

  return {
    path,
    file_bytes: fileSize(path),
    wal_bytes: fileSize(`${path}-wal`),
    page_size: pageSize,
    pages: db.pragma('page_count', { simple: true }) as number,
    free_pages: db.pragma('freelist_count', { simple: true }) as number,
    auto_vacuum: AUTO_VACUUM_MODES[db.pragma('auto_vacuum', { simple: true }) as number] ?? 'none',
    tables,
    retention: {
      retention_days: retention.days,
      cutoff,
      runs: targets.runs.length,
      removed_syncs: targets.removedSyncs,
      tables: retained,
      rows: retained.reduce((sum, t) => sum + t.rows, 0),
      bytes: retained.reduce((sum, t) => sum + t.bytes, 0),
    },
  };
}

function countRows(db: Database.Database, table: string): number {
  return db.prepare(`SELECT count(*) FROM "${table.replaceAll('"', '""')}"`).pluck().get() as number;
}

function fileSize(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.size ?? 0;
}

/**
 * Switches the file to auto_vacuum=INCREMENTAL and rewrites it (`VACUUM`), which also returns
 * every free page. Holds the whole database while it runs (about as long as copying the file):
 * the caller makes sure no run is going.
 * @returns the file's size before and after, bytes
 */
export function vacuumState(db: Database.Database, path: string): { before: number; after: number } {
  const size = () => fileSize(path) + fileSize(`${path}-wal`);
  const before = size();
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec('VACUUM');
  db.pragma('wal_checkpoint(TRUNCATE)');
  return { before, after: size() };
}
