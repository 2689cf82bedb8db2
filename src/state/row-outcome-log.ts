/**
 * How row outcomes are stored compactly in the `row_outcomes` table (migration 11):
 * - A row skipped, invalid or rejected again in the sync's next run, with the same class and
 *   error as its latest recorded outcome, adds no row: that outcome is extended (`last_run_id`,
 *   `runs`). Its runs are consecutive runs of the sync, so a run's outcomes are the rows it
 *   recorded plus the extended ones whose streak covers it (by start time).
 * - Succeeded rows are grouped: one row per commit, class and batch (`pk` NULL, `grouped` =
 *   Brotli JSON of `[batch_index, pk, participant_id]` entries, `grouped_count`). A succeeded row
 *   whose latest outcome was rejected or invalid is stored alone, so that it ends that row's
 *   failing streak for `panelsync rows`. A group also lists, marked, the rows of its batch whose
 *   repeated rejection extended an earlier outcome, so that a call still names every row it sent.
 * Outcome ids (see OutcomeItem.id) are `rowid * 1024 + entry`: increasing in recording order.
 */
import type Database from 'better-sqlite3';
import { compressBody, readBody } from './compact-body.ts';
import { prepared } from './prepared.ts';
import type { OutcomeItem } from './run-history.ts';
import type { RowOutcome, RowResultKind } from './state-store.ts';

/** Entries of a group row at most; below {@link ID_STRIDE}. */
const GROUP_MAX_ROWS = 1_000;
/** Outcome ids per stored row: an entry's id is `rowid * ID_STRIDE + its position`. */
const ID_STRIDE = 1_024;
/** Results whose repetition extends the latest outcome instead of adding one. */
const CARRIED_RESULTS: readonly RowResultKind[] = ['skipped', 'invalid', 'rejected'];

/** One entry of a group: batch index, primary key, participant id, and `1` when not a success (listed by its extended outcome). */
type GroupEntry = [number | null, string, string | null] | [number | null, string, string | null, 1];

interface Latest {
  pk: string;
  rid: number;
  class: string;
  result: RowResultKind;
  error: string | null;
  last_run: string;
}

/**
 * Records `outcomes` of run `runId` of `sync` at `at` (ISO 8601), as described above. Call inside
 * the transaction that commits them.
 */
export function insertRowOutcomes(db: Database.Database, runId: string, sync: string, outcomes: readonly RowOutcome[], at: string): void {
  if (outcomes.length === 0) return;
  const pks = [...new Set(outcomes.flatMap((o) => (o.pk === null ? [] : [o.pk])))];
  const latest = new Map<string, Latest>();
  if (pks.length > 0) {
    const rows = prepared(db, 
        `SELECT k.value AS pk, o.rowid AS rid, o.class, o.result, o.error, coalesce(o.last_run_id, o.run_id) AS last_run
         FROM json_each(?) AS k
         JOIN row_outcomes AS o ON o.rowid = (SELECT max(rowid) FROM row_outcomes WHERE sync = ? AND pk = k.value)`,
      )
      .all(JSON.stringify(pks), sync) as Latest[];
    for (const r of rows) latest.set(r.pk, r);
  }
  const previousRun = prepared(db, 
      `SELECT p.id FROM runs AS p JOIN runs AS r ON r.id = ?
       WHERE p.sync = ? AND (p.started_at < r.started_at OR (p.started_at = r.started_at AND p.id < r.id))
       ORDER BY p.started_at DESC, p.id DESC LIMIT 1`,
    )
    .pluck()
    .get(runId, sync) as string | undefined;
  const insert = prepared(db, 
    `INSERT INTO row_outcomes (run_id, sync, pk, class, result, error, participant_id, at, batch, batch_index)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const extend = prepared(db, 'UPDATE row_outcomes SET last_run_id = ?, runs = runs + 1 WHERE rowid = ?');
  const groups = new Map<string, { class: string; batch: string | null; entries: GroupEntry[]; succeeded: number }>();
  const group = (o: RowOutcome) => {
    const key = `${o.class}\u0000${o.batch?.id ?? ''}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { class: o.class, batch: o.batch?.id ?? null, entries: [], succeeded: 0 }));
    return g;
  };
  for (const o of outcomes) {
    const last = o.pk === null ? undefined : latest.get(o.pk);
    if (o.result === 'succeeded' && last?.result !== 'rejected' && last?.result !== 'invalid') {
      const g = group(o);
      g.entries.push([o.batch?.index ?? null, o.pk!, o.participantId]);
      g.succeeded++;
      continue;
    }
    const repeats =
      last !== undefined && previousRun !== undefined && last.last_run === previousRun && CARRIED_RESULTS.includes(o.result) &&
      last.class === o.class && last.result === o.result && last.error === o.error;
    if (repeats) {
      extend.run(runId, last.rid);
      // A later outcome of the same key in this run compares with this run's, never extends twice.
      latest.set(o.pk!, { ...last, last_run: runId });
      if (o.batch) group(o).entries.push([o.batch.index, o.pk!, o.participantId, 1]);
      continue;
    }
    const rid = Number(insert.run(runId, sync, o.pk, o.class, o.result, o.error, o.participantId, at, o.batch?.id ?? null, o.batch?.index ?? null).lastInsertRowid);
    if (o.pk !== null) latest.set(o.pk, { pk: o.pk, rid, class: o.class, result: o.result, error: o.error, last_run: runId });
  }
  const insertGroup = prepared(db, 
    `INSERT INTO row_outcomes (run_id, sync, pk, class, result, error, participant_id, at, batch, batch_index, grouped, grouped_count)
     VALUES (?, ?, NULL, ?, 'succeeded', NULL, NULL, ?, ?, NULL, ?, ?)`,
  );
  for (const g of groups.values()) {
    for (let i = 0; i < g.entries.length; i += GROUP_MAX_ROWS) {
      const entries = g.entries.slice(i, i + GROUP_MAX_ROWS);
      const succeeded = entries.filter((e) => e.length === 3).length;
      insertGroup.run(runId, sync, g.class, at, g.batch, compressBody(JSON.stringify(entries)), succeeded);
    }
  }
}

/** The entries of a group row's `grouped` BLOB (compressed as call bodies are). */
function groupEntries(blob: Buffer): GroupEntry[] {
  return JSON.parse(readBody(blob)!) as GroupEntry[];
}

/** A run's identity as the outcome queries need it. */
export interface OutcomeRun {
  id: string;
  sync: string;
  /** ISO 8601. */
  startedAt: string;
}

/**
 * SQL selecting the stored rows holding outcomes of run `:run` (of sync `:sync`, started at
 * `:started`): its own rows, and outcomes of earlier runs extended into it. Columns: `rid`
 * (rowid), `own` (1 when recorded by the run itself) and the table's columns.
 */
const RUN_ROWS = `
  SELECT o.rowid AS rid, 1 AS own, o.* FROM row_outcomes AS o WHERE o.run_id = :run
  UNION ALL
  SELECT o.rowid AS rid, 0 AS own, o.* FROM row_outcomes AS o
    JOIN runs AS f ON f.id = o.run_id JOIN runs AS l ON l.id = o.last_run_id
  WHERE o.sync = :sync AND o.last_run_id IS NOT NULL AND o.run_id <> :run
    AND f.started_at < :started AND l.started_at >= :started`;

/** Row outcomes of `run` by result (a group counts its succeeded rows). */
export function countRunOutcomes(db: Database.Database, run: OutcomeRun): Array<{ result: RowResultKind; n: number }> {
  return db
    .prepare(`SELECT result, sum(coalesce(grouped_count, 1)) AS n FROM (${RUN_ROWS}) GROUP BY result`)
    .all({ run: run.id, sync: run.sync, started: run.startedAt }) as Array<{ result: RowResultKind; n: number }>;
}

/** A `row_outcomes` row as read: an {@link OutcomeItem} before its id and call are known. */
type StoredOutcome = Omit<OutcomeItem, 'id' | 'call_seq'> & { rid: number; own: number; grouped: Buffer | null };

/**
 * `run`'s row outcomes in recording order (see {@link RunHistory.listOutcomes}): only of
 * `results`, with an id above `afterId`, at most `limit` (negative: all). An outcome extended into
 * this run from an earlier one has no batch here (it was sent in this run's calls, which name it).
 */
export function listRunOutcomes(
  db: Database.Database,
  run: OutcomeRun,
  options: { results: readonly RowResultKind[]; afterId: number; limit: number },
): OutcomeItem[] {
  const { results, afterId, limit } = options;
  if (results.length === 0 || limit === 0) return [];
  const rows = db
    .prepare(
      `SELECT * FROM (${RUN_ROWS}) WHERE result IN (${results.map((_, i) => `:r${i}`).join(', ')}) AND rid >= :fromRow ORDER BY rid`,
    )
    .iterate({
      run: run.id, sync: run.sync, started: run.startedAt, fromRow: Math.floor(afterId / ID_STRIDE),
      ...Object.fromEntries(results.map((r, i) => [`r${i}`, r])),
    }) as IterableIterator<StoredOutcome>;
  const callSeq = callSeqOf(db, run.id);
  const items: OutcomeItem[] = [];
  const add = (item: OutcomeItem) => {
    if (item.id > afterId) items.push(item);
    return limit >= 0 && items.length >= limit;
  };
  for (const row of rows) {
    const base = { run_id: run.id, sync: row.sync, class: row.class, result: row.result, at: row.at };
    if (row.grouped === null) {
      const batch = row.own === 1 ? row.batch : null;
      const batchIndex = row.own === 1 ? row.batch_index : null;
      const item: OutcomeItem = {
        id: row.rid * ID_STRIDE, ...base, pk: row.pk, error: row.error, participant_id: row.participant_id,
        batch, batch_index: batchIndex, call_seq: callSeq(batch, batchIndex),
      };
      if (add(item)) break;
      continue;
    }
    let full = false;
    for (const [j, entry] of groupEntries(row.grouped).entries()) {
      if (entry.length === 4) continue;
      const [index, pk, participantId] = entry;
      const item: OutcomeItem = {
        id: row.rid * ID_STRIDE + j, ...base, pk, error: null, participant_id: participantId,
        batch: row.batch, batch_index: index, call_seq: callSeq(row.batch, index),
      };
      if ((full = add(item))) break;
    }
    if (full) break;
  }
  return items;
}

/** The last call of run `runId` that carried a batch's row (by batch index), with the calls of each batch read once. */
function callSeqOf(db: Database.Database, runId: string): (batch: string | null, index: number | null) => number | null {
  const byBatch = new Map<string, Array<{ seq: number; row_offset: number; row_count: number }>>();
  const read = db.prepare('SELECT seq, row_offset, row_count FROM api_calls WHERE run_id = ? AND batch = ? ORDER BY seq');
  return (batch, index) => {
    if (batch === null || index === null) return null;
    let calls = byBatch.get(batch);
    if (calls === undefined) byBatch.set(batch, (calls = read.all(runId, batch) as Array<{ seq: number; row_offset: number; row_count: number }>));
    let seq: number | null = null;
    for (const c of calls) if (c.row_offset <= index && index < c.row_offset + c.row_count) seq = c.seq;
    return seq;
  };
}

/** The primary keys run `runId` sent in `batch` at batch indexes `offset` to `offset + count - 1`, in batch order. */
export function batchPks(db: Database.Database, runId: string, batch: string, offset: number, count: number): string[] {
  const rows = db
    .prepare('SELECT pk, batch_index, grouped FROM row_outcomes WHERE run_id = ? AND batch = ?')
    .all(runId, batch) as Array<{ pk: string | null; batch_index: number | null; grouped: Buffer | null }>;
  const found: Array<[number, string]> = [];
  const inRange = (index: number | null): index is number => index !== null && index >= offset && index < offset + count;
  for (const r of rows) {
    if (r.grouped === null) {
      if (r.pk !== null && inRange(r.batch_index)) found.push([r.batch_index, r.pk]);
      continue;
    }
    for (const [index, pk] of groupEntries(r.grouped)) if (inRange(index)) found.push([index, pk]);
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, pk]) => pk);
}

/**
 * SQL counting the rows of stage table `stage` that are invalid for the same reason as in run
 * `:previous` (started at `:previousStarted`) of sync `:sync`, reading outcomes stored as above.
 * @param stage the stage table's name (columns `pk`, `invalid`)
 */
export function knownInvalidSql(stage: string): string {
  return `SELECT count(*) FROM ${stage} AS s WHERE s.invalid IS NOT NULL AND EXISTS (
      SELECT 1 FROM row_outcomes AS p LEFT JOIN runs AS f ON f.id = p.run_id LEFT JOIN runs AS l ON l.id = p.last_run_id
      WHERE p.sync = :sync AND p.pk IS s.pk AND p.result = 'invalid' AND p.error = s.invalid
        AND (p.run_id = :previous OR (f.started_at < :previousStarted AND l.started_at >= :previousStarted)))`;
}
