/**
 * {@link RunHistory} over the embedded SQLite state database: read-only queries on the runs,
 * api_calls and row_outcomes tables (see ./migrations.ts).
 */
import type Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { withSummaryDefaults, type RunSummary } from '../engine/run-summary.ts';
import { callTree } from './call-tree.ts';
import type {
  CallDetail,
  CallListItem,
  CallTreePage,
  FailingRow,
  FailingRows,
  OutcomeItem,
  RunDetail,
  RunHistory,
  RunListItem,
} from './run-history.ts';
import { SqliteStateStore } from './sqlite-state-store.ts';
import { ROW_RESULTS, type RowResultKind, type TriggeredBy } from './state-store.ts';
import { readBody } from './compact-body.ts';
import { batchPks, countRunOutcomes, listRunOutcomes, type OutcomeRun } from './row-outcome-log.ts';
import { wasTruncated } from './truncate-body.ts';

/** Runs listed when no limit is given. */
export const DEFAULT_RUNS_LIMIT = 20;
/** Failing rows listed when no limit is given. */
export const DEFAULT_FAILING_ROWS_LIMIT = 1_000;

const CALL_COLUMNS = 'seq, method, url, status, duration_ms, attempt, started_at, tag, batch, row_offset, row_count, error';

interface RunRow {
  id: string;
  sync: string;
  trigger: RunListItem['trigger'];
  status: RunListItem['status'];
  started_at: string;
  finished_at: string | null;
  summary: string | null;
  error: string | null;
  details_pruned_at: string | null;
  /** JSON RunOptions; NULL for runs recorded before migration 4. */
  options: string | null;
  /** JSON TriggeredBy; NULL for other triggers and runs recorded before migration 14. */
  triggered_by: string | null;
}

/** Reads run history from an open state database (its migrations applied). */
export class SqliteRunHistory implements RunHistory {
  constructor(private readonly db: Database.Database) {}

  /**
   * Opens the state database at `path` for reading history; `null` when the file does not exist
   * (no run has been recorded yet), so that reading never creates it.
   * @throws the SQLite error when the file cannot be opened or is not a state database
   */
  static open(path: string): { history: SqliteRunHistory; close(): void } | null {
    if (!existsSync(path)) return null;
    const store = new SqliteStateStore(path);
    return { history: new SqliteRunHistory(store.db), close: () => store.close() };
  }

  listRuns(options: { sync?: string; limit?: number } = {}): RunListItem[] {
    const limit = options.limit ?? DEFAULT_RUNS_LIMIT;
    const rows = (
      options.sync === undefined
        ? this.db.prepare('SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?').all(limit)
        : this.db.prepare('SELECT * FROM runs WHERE sync = ? ORDER BY started_at DESC, id DESC LIMIT ?').all(options.sync, limit)
    ) as RunRow[];
    return rows.map(toRunListItem);
  }

  getRun(runId: string): RunDetail | null {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(runId) as RunRow | undefined;
    if (!row) return null;
    const calls = this.db.prepare('SELECT count(*) FROM api_calls WHERE run_id = ?').pluck().get(runId) as number;
    // A pruned run keeps no outcomes, even one extended into a later run (it belongs to that run now).
    const counts = row.details_pruned_at !== null ? [] : countRunOutcomes(this.db, outcomeRun(row));
    const outcomes = Object.fromEntries(ROW_RESULTS.map((r) => [r, counts.find((c) => c.result === r)?.n ?? 0])) as Record<RowResultKind, number>;
    return { ...toRunListItem(row), calls, outcomes };
  }

  listCalls(runId: string, options: { afterSeq?: number; limit?: number } = {}): CallListItem[] {
    return this.db
      .prepare(`SELECT ${CALL_COLUMNS} FROM api_calls WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?`)
      .all(runId, options.afterSeq ?? 0, options.limit ?? -1) as CallListItem[];
  }

  listCallTree(runId: string, options: { afterSeq?: number; limit?: number } = {}): CallTreePage {
    const afterSeq = options.afterSeq ?? 0;
    const limit = options.limit ?? -1;
    const read = this.listCalls(runId, { afterSeq, limit: limit < 0 ? -1 : limit + 1 });
    const more = limit >= 0 && read.length > limit;
    const page = more ? read.slice(0, limit) : read;
    const seqs = new Set(page.map((c) => c.seq));
    const tree = callTree([...this.callsBefore(runId, afterSeq, page), ...page]).filter((c) => seqs.has(c.seq));
    return { calls: tree.sort((a, b) => a.seq - b.seq), next_after: more ? page[page.length - 1]!.seq : null };
  }

  /**
   * The calls at or before `afterSeq` that place `page`'s calls in the tree (see call-tree.ts):
   * every earlier call of a batch the page sends rows of (a split retry's parent is an earlier
   * call of its batch, its retries share its batch tag), and for a retry of a call that sends no
   * batch (`attempt` > 1), the latest earlier calls of the same tag (or, untagged, method and
   * URL), as many as attempts before it. Read through the (run_id, batch) index and backwards
   * from `afterSeq` by the primary key: bounded by batch sizes and attempts, not by the run.
   */
  private callsBefore(runId: string, afterSeq: number, page: readonly CallListItem[]): CallListItem[] {
    if (afterSeq === 0 || page.length === 0) return [];
    const found = new Map<number, CallListItem>();
    const batches = [...new Set(page.flatMap((c) => (c.batch === null ? [] : [c.batch])))];
    const byBatch = this.db.prepare(`SELECT ${CALL_COLUMNS} FROM api_calls WHERE run_id = ? AND batch = ? AND seq <= ?`);
    for (const batch of batches) for (const call of byBatch.all(runId, batch, afterSeq) as CallListItem[]) found.set(call.seq, call);
    const byTag = this.db.prepare(`SELECT ${CALL_COLUMNS} FROM api_calls WHERE run_id = ? AND seq <= ? AND tag = ? ORDER BY seq DESC LIMIT ?`);
    const byEndpoint = this.db.prepare(
      `SELECT ${CALL_COLUMNS} FROM api_calls WHERE run_id = ? AND seq <= ? AND tag IS NULL AND method = ? AND url = ? ORDER BY seq DESC LIMIT ?`,
    );
    const retried = new Set<string>();
    for (const call of page) {
      const key = call.tag ?? `${call.method} ${call.url}`;
      if (call.batch !== null || call.attempt === 1 || retried.has(key)) continue;
      retried.add(key);
      const earlier = (
        call.tag !== null ? byTag.all(runId, afterSeq, call.tag, call.attempt - 1) : byEndpoint.all(runId, afterSeq, call.method, call.url, call.attempt - 1)
      ) as CallListItem[];
      for (const c of earlier) found.set(c.seq, c);
    }
    return [...found.values()];
  }

  getCall(runId: string, seq: number): CallDetail | null {
    const row = this.db
      .prepare(`SELECT ${CALL_COLUMNS}, request_body, response_body, request_bytes, response_bytes FROM api_calls WHERE run_id = ? AND seq = ?`)
      .get(runId, seq) as (Omit<CallDetail, 'pks' | 'request_truncated' | 'response_truncated' | 'request_body' | 'response_body'> & StoredBodies) | undefined;
    if (!row) return null;
    const pks = row.batch === null || row.row_offset === null || row.row_count === null ? [] : batchPks(this.db, runId, row.batch, row.row_offset, row.row_count);
    const request = readBody(row.request_body);
    const response = readBody(row.response_body);
    return {
      ...row,
      request_body: request,
      response_body: response,
      request_truncated: request !== null && wasTruncated(request, row.request_bytes),
      response_truncated: response !== null && wasTruncated(response, row.response_bytes),
      pks,
    };
  }

  listOutcomes(
    runId: string,
    options: { results?: readonly RowResultKind[]; afterId?: number; limit?: number } = {},
  ): OutcomeItem[] {
    const run = this.db.prepare('SELECT id, sync, started_at, details_pruned_at FROM runs WHERE id = ?').get(runId) as
      | Pick<RunRow, 'id' | 'sync' | 'started_at' | 'details_pruned_at'>
      | undefined;
    if (run === undefined || run.details_pruned_at !== null) return [];
    return listRunOutcomes(this.db, outcomeRun(run), { results: options.results ?? ROW_RESULTS, afterId: options.afterId ?? 0, limit: options.limit ?? -1 });
  }

  failingRows(sync: string, options: { limit?: number } = {}): FailingRows {
    const reference = this.db
      .prepare(
        `SELECT id, started_at FROM runs WHERE sync = ? AND status IN ('success', 'warning')
         ORDER BY started_at DESC, id DESC LIMIT 1`,
      )
      .get(sync) as { id: string; started_at: string } | undefined;
    // Without a completed run, the null-pk rows of the latest run stand in for the reference's.
    const nullPkRun =
      reference?.id ??
      ((this.db.prepare('SELECT id FROM runs WHERE sync = ? ORDER BY started_at DESC, id DESC LIMIT 1').pluck().get(sync) as
        | string
        | undefined) ??
        null);
    const failing = `
      FROM row_outcomes AS o JOIN runs AS r ON r.id = coalesce(o.last_run_id, o.run_id)
      WHERE o.sync = :sync AND r.started_at >= :since AND o.result IN ('rejected', 'invalid')
        AND (CASE WHEN o.pk IS NULL THEN o.run_id = :nullPkRun
             ELSE NOT EXISTS (SELECT 1 FROM row_outcomes AS n WHERE n.sync = o.sync AND n.pk = o.pk AND n.rowid > o.rowid) END)`;
    const params = { sync, since: reference?.started_at ?? '', nullPkRun };
    const total = this.db.prepare(`SELECT count(*) ${failing}`).pluck().get(params) as number;
    const rows = this.db
      .prepare(
        `WITH latest AS (
           SELECT o.rowid AS id, o.pk, o.class, o.result, o.error, o.participant_id, r.id AS run_id, r.started_at,
             CASE WHEN o.pk IS NULL THEN o.rowid ELSE
               (SELECT min(f.rowid) FROM row_outcomes AS f
                WHERE f.sync = o.sync AND f.pk = o.pk AND f.result IN ('rejected', 'invalid')
                  AND f.rowid > coalesce((SELECT max(s.rowid) FROM row_outcomes AS s
                                          WHERE s.sync = o.sync AND s.pk = o.pk AND s.result IN ('succeeded', 'skipped')), 0))
             END AS first_id
           ${failing}
           ORDER BY r.started_at, r.id, o.rowid LIMIT :limit
         )
         SELECT l.pk, l.class, l.result, l.error, l.participant_id,
           f.run_id AS first_failed_run, fr.started_at AS first_failed_at,
           l.run_id AS last_failed_run, l.started_at AS last_failed_at,
           CASE WHEN l.pk IS NULL THEN 1 ELSE
             (SELECT count(DISTINCT s.run_id) + sum(s.runs) - count(*) FROM row_outcomes AS s
              WHERE s.sync = :sync AND s.pk = l.pk AND s.rowid >= l.first_id AND s.result IN ('rejected', 'invalid'))
           END AS failed_runs
         FROM latest AS l
         JOIN row_outcomes AS f ON f.rowid = l.first_id
         JOIN runs AS fr ON fr.id = f.run_id
         ORDER BY l.started_at, l.run_id, l.id`,
      )
      .all({ ...params, limit: options.limit ?? DEFAULT_FAILING_ROWS_LIMIT }) as FailingRow[];
    return { sync, as_of_run: reference?.id ?? null, total, rows };
  }
}

/** Bodies as stored: Brotli BLOBs, or TEXT recorded before migration 11. */
interface StoredBodies {
  request_body: string | Buffer | null;
  response_body: string | Buffer | null;
}

function outcomeRun(row: Pick<RunRow, 'id' | 'sync' | 'started_at'>): OutcomeRun {
  return { id: row.id, sync: row.sync, startedAt: row.started_at };
}

function toRunListItem(row: RunRow): RunListItem {
  return {
    run_id: row.id,
    sync: row.sync,
    trigger: row.trigger,
    status: row.status,
    started_at: row.started_at,
    finished_at: row.finished_at,
    duration_ms: row.finished_at === null ? null : Date.parse(row.finished_at) - Date.parse(row.started_at),
    summary: row.summary === null ? null : withSummaryDefaults(JSON.parse(row.summary) as RunSummary),
    error: row.error,
    details_pruned_at: row.details_pruned_at,
    options: runOptions(row.options),
    triggered_by: row.triggered_by === null ? null : (JSON.parse(row.triggered_by) as TriggeredBy),
  };
}

function runOptions(stored: string | null): RunListItem['options'] {
  const parsed = stored === null ? {} : (JSON.parse(stored) as Partial<RunListItem['options']>);
  return { full_resync: parsed.full_resync === true, reset_cdc: parsed.reset_cdc === true };
}
