/**
 * Bounded state (issue 10): call bodies stored compressed and shown as recorded; a row failing the
 * same way run after run stored once; succeeded rows grouped; retention forgetting syncs gone from
 * the project and pruning in short transactions that another process's commits get between;
 * `panelsync state`. On real state database files.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DebugCallJson } from '../../src/cli/debug-command.ts';
import type { ApiCall } from '../../src/http/http-client.ts';
import { SqliteRunHistory } from '../../src/state/sqlite-run-history.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import type { StateSizeReport } from '../../src/state/state-size.ts';
import type { RowOutcome } from '../../src/state/state-store.ts';
import { onlyJson, panelsync } from '../debugger/cli-capture.ts';

const DAY_MS = 86_400_000;
const WRITER = fileURLToPath(new URL('./timed-writer.ts', import.meta.url));

function apiCall(seq: number, tag: string, requestBody: string | null, responseBody: string | null): ApiCall {
  return {
    method: 'POST', url: 'https://www.userinterviews.com/api/participants/batches', status: 200, duration_ms: 40 + seq, attempt: 1,
    started_at: '2026-01-01T00:00:00.000Z', request_body: requestBody, response_body: responseBody, error: null, tag,
  };
}

describe('bounded state', () => {
  let dir: string;
  let store: SqliteStateStore;
  let history: SqliteRunHistory;
  const stored = (sql: string, ...params: unknown[]) => store.db.prepare(sql).pluck().get(...params) as number;
  /** Records run `id` of `sync` started at `startedAt`, with `outcomes`, finished as `warning`. */
  const run = (id: string, sync: string, startedAt: string, outcomes: RowOutcome[]) => {
    store.startRun({ id, sync, trigger: 'manual', startedAt });
    store.recordOutcomes(id, sync, outcomes);
    store.finishRun(id, { status: 'warning', finishedAt: startedAt, summary: { status: 'warning' }, error: null });
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'panelsync-bounded-'));
    store = new SqliteStateStore(join(dir, 'state.db'));
    history = new SqliteRunHistory(store.db);
    writeFileSync(
      join(dir, 'panelsync.yml'),
      'version: 1\nstate: state.db\nsources: {}\ndestinations: {}\nmodels: {}\nsyncs: { kept: {} }\n',
    );
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores call bodies compressed; the debugger shows them as recorded, and bodies stored as text before too', async () => {
    const people = Array.from({ length: 100 }, (_, i) => ({ email: `person${i}@example.com`, first_name: `First${i}`, city: `City ${i % 10}` }));
    const request = JSON.stringify({ participants: people });
    const response = JSON.stringify({ data: people.map((p, i) => ({ id: String(i + 1), type: 'participant', attributes: p })) });
    run('r1', 'kept', '2026-01-01T00:00:00.000Z', []);
    store.recordCall('r1', 1, apiCall(1, 'upsert:b1:0+100', request, response));
    const raw = store.db.prepare('SELECT request_body, response_body FROM api_calls WHERE run_id = ? AND seq = 1').get('r1') as Record<string, unknown>;
    expect(Buffer.isBuffer(raw.request_body) && Buffer.isBuffer(raw.response_body)).toBe(true);
    expect((raw.request_body as Buffer).length + (raw.response_body as Buffer).length).toBeLessThan((request.length + response.length) / 5);

    expect(history.getCall('r1', 1)).toMatchObject({
      request_body: request, response_body: response, request_bytes: request.length, response_bytes: response.length,
      request_truncated: false, response_truncated: false,
    });
    // Recorded before migration 11: TEXT, read as it is.
    store.db
      .prepare(`INSERT INTO api_calls (run_id, seq, method, url, status, duration_ms, attempt, started_at, request_body, response_body, request_bytes, response_bytes)
                VALUES ('r1', 2, 'GET', 'https://x/api/participants', 200, 5, 1, '2026-01-01T00:00:00.000Z', NULL, '{"old":true}', NULL, 12)`)
      .run();
    expect(history.getCall('r1', 2)).toMatchObject({ request_body: null, response_body: '{"old":true}' });

    const shown = onlyJson<DebugCallJson>(await panelsync(dir, ['debug', 'r1', '--call', '1', '--json']));
    expect(shown.call.request_body).toBe(request);
    expect(shown.call.response_body).toBe(response);
    expect((await panelsync(dir, ['debug', 'r1', '--call', '1'])).stdout).toContain('"email": "person99@example.com"');
  });

  it('stores a row skipped, invalid or rejected the same way in consecutive runs once, and groups succeeded rows', () => {
    const failing = (run: number, rejection = 'email: not deliverable'): RowOutcome[] => [
      { pk: 'R', class: 'added', result: 'rejected', error: rejection, participantId: null, batch: { id: 'b1', index: 0 } },
      { pk: 'S', class: 'changed', result: 'skipped', error: 'no participant has this email', participantId: null },
      { pk: 'I', class: 'invalid', result: 'invalid', error: `email is null${run > 9 ? ' (again)' : ''}`, participantId: null },
    ];
    const succeeded: RowOutcome[] = Array.from({ length: 150 }, (_, i) => ({
      pk: `A${i}`, class: 'added', result: 'succeeded', error: null, participantId: String(1000 + i), batch: { id: 'b1', index: i + 1 },
    }));
    run('r1', 'kept', '2026-01-01T00:00:00.000Z', [...failing(1), ...succeeded]);
    store.recordCall('r1', 1, apiCall(1, 'upsert:b1:0+151', '{}', '{}'));
    const rowsAfterFirst = stored('SELECT count(*) FROM row_outcomes');
    expect(rowsAfterFirst).toBe(4); // 3 failing rows + one group of 150 succeeded rows
    run('r2', 'kept', '2026-01-02T00:00:00.000Z', failing(2));
    store.recordCall('r2', 1, apiCall(1, 'upsert:b1:0+1', '{}', '{}'));
    run('r3', 'kept', '2026-01-03T00:00:00.000Z', failing(3));
    expect(stored('SELECT count(*) FROM row_outcomes')).toBe(rowsAfterFirst + 2); // r2 and r3: one group each naming R for its call

    // Each run still shows its outcomes and the rows its calls sent.
    expect(history.getRun('r1')!.outcomes).toEqual({ succeeded: 150, rejected: 1, invalid: 1, skipped: 1, unsent: 0 });
    expect(history.getRun('r2')!.outcomes).toEqual({ succeeded: 0, rejected: 1, invalid: 1, skipped: 1, unsent: 0 });
    expect(history.listOutcomes('r2').map((o) => [o.pk, o.result, o.error])).toEqual([
      ['R', 'rejected', 'email: not deliverable'], ['S', 'skipped', 'no participant has this email'], ['I', 'invalid', 'email is null'],
    ]);
    expect(history.getCall('r1', 1)!.pks).toEqual(['R', ...succeeded.map((o) => o.pk)]);
    expect(history.getCall('r2', 1)!.pks).toEqual(['R']);
    const listed = history.listOutcomes('r1', { results: ['succeeded'] });
    expect(listed.map((o) => [o.pk, o.participant_id, o.batch_index, o.call_seq])).toEqual(succeeded.map((o) => [o.pk, o.participantId, o.batch!.index, 1]));
    // Paged by id, the pages laid end to end are the whole list.
    const paged = [...history.listOutcomes('r1', { limit: 100 }), ...history.listOutcomes('r1', { afterId: history.listOutcomes('r1', { limit: 100 })[99]!.id })];
    expect(paged.map((o) => o.id)).toEqual(history.listOutcomes('r1').map((o) => o.id));
    expect(new Set(paged.map((o) => o.id)).size).toBe(153);

    // The failing rows keep their whole streak.
    expect(history.failingRows('kept').rows.map((r) => [r.pk, r.first_failed_run, r.last_failed_run, r.failed_runs])).toEqual([
      ['R', 'r1', 'r3', 3], ['I', 'r1', 'r3', 3],
    ]);
    // Another error is another outcome; a run without the row breaks the repetition.
    run('r4', 'kept', '2026-01-04T00:00:00.000Z', failing(4, 'email: blocked'));
    run('r5', 'kept', '2026-01-05T00:00:00.000Z', []);
    run('r6', 'kept', '2026-01-06T00:00:00.000Z', failing(10));
    expect(history.listOutcomes('r4').map((o) => o.pk)).toEqual(['S', 'I', 'R']);
    expect(history.listOutcomes('r5')).toEqual([]);
    expect(history.failingRows('kept').rows.map((r) => [r.pk, r.error, r.first_failed_run, r.failed_runs])).toEqual([
      ['R', 'email: not deliverable', 'r1', 5], ['I', 'email is null (again)', 'r1', 5],
    ]);
  });

  it('forgets a sync gone from the project once it has no run since the retention cut-off; details of old runs go', async () => {
    const old = '2026-01-01T00:00:00.000Z';
    for (const sync of ['kept', 'gone', 'paused']) {
      const id = `${sync}-run`;
      store.startRun({ id, sync, trigger: 'manual', startedAt: sync === 'paused' ? '2026-03-01T00:00:00.000Z' : old });
      store.recordCall(id, 1, apiCall(1, 'upsert:b1:0+1', '{}', '{}'));
      store.commitBatch({
        runId: id, sync, forgotten: [],
        synced: [{ pk: '1', email: 'a@example.com', emailKey: 'a@example.com', payload: '{}', participantId: '7' }],
        outcomes: [{ pk: '1', class: 'added', result: 'succeeded', error: null, participantId: '7', batch: { id: 'b1', index: 0 } }],
      });
      store.recordIntents(sync, id, [{ pk: '2', kind: 'upsert', email: 'b@example.com', emailKey: 'b@example.com', participantId: null, payload: '{}' }]);
      store.bindIdentity(sync, { primaryKey: 'id', matchColumn: 'email' }, id);
      store.saveAlertState({ sync, trigger: 'failed_run', state: 'ok', streak: 0, since: old, runId: id, notifiedAt: null });
      store.finishRun(id, { status: 'success', finishedAt: old, summary: { status: 'success' }, error: null });
    }
    const everything = (sync: string) =>
      ['runs', 'row_outcomes', 'snapshot', 'write_intents', 'snapshot_destinations', 'snapshot_identity', 'alert_state'].map((t) =>
        stored(`SELECT count(*) FROM ${t} WHERE sync = ?`, sync),
      ) as number[];
    expect(everything('gone')).toEqual([1, 1, 1, 1, 0, 1, 1]);

    const result = await store.pruneHistory('2026-02-01T00:00:00.000Z', ['kept']);
    expect(result).toMatchObject({ runs: 1, calls: 1, outcomes: 1, removedSyncs: ['gone'] });
    expect(everything('gone')).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(stored(`SELECT count(*) FROM api_calls WHERE run_id = 'gone-run'`)).toBe(0);
    expect(everything('paused')).toEqual([1, 1, 1, 1, 0, 1, 1]); // ran after the cut-off: kept whole
    expect(everything('kept')).toEqual([1, 0, 1, 1, 0, 1, 1]); // in the project: only its old run's details go
    expect(history.getRun('kept-run')).toMatchObject({ calls: 0, details_pruned_at: expect.any(String) });
  });

  it('prunes a large history in short write transactions that another process commits between, and gives the space back', async () => {
    const old = '2026-01-01T00:00:00.000Z';
    store.startRun({ id: 'old', sync: 'kept', trigger: 'manual', startedAt: old });
    store.finishRun('old', { status: 'success', finishedAt: old, summary: {}, error: null });
    store.db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150000)
      INSERT INTO row_outcomes (run_id, sync, pk, class, result, error, participant_id, at, batch, batch_index)
      SELECT 'old', 'kept', 'pk' || i, 'added', 'rejected', 'email: not deliverable', NULL, '${old}', 'b' || (i / 100), i % 100 FROM n;
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 800)
      INSERT INTO api_calls (run_id, seq, method, url, status, duration_ms, attempt, started_at, request_body, response_body)
      SELECT 'old', i, 'POST', 'https://x/api', 200, 5, 1, '${old}', randomblob(8000), randomblob(8000) FROM n;
      CREATE TABLE probe (at INTEGER);`);
    expect(store.db.pragma('auto_vacuum', { simple: true })).toBe(2); // a new file: INCREMENTAL
    const pagesBefore = store.db.pragma('page_count', { simple: true }) as number;

    const writer = spawn(process.execPath, ['--import', 'tsx', WRITER, join(dir, 'state.db')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    writer.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    while (!out.includes('ready')) await once(writer.stdout, 'data');
    const result = await store.pruneHistory('2026-02-01T00:00:00.000Z', ['kept']);
    writer.stdin.write('stop\n');
    await once(writer, 'exit');
    const probe = JSON.parse(out.split('\n')[1]!) as { commits: number; maxMs: number };

    expect(result).toMatchObject({ runs: 1, calls: 800, outcomes: 150_000 });
    // Slices aim at ~25 ms; the bounds leave room for a loaded 2-core CI machine, and stay far
    // below one transaction for the whole history (seconds) and busy_timeout (5 s).
    expect(result.longestSliceMs).toBeLessThan(1_000);
    expect(probe.commits).toBeGreaterThan(10);
    expect(probe.maxMs).toBeLessThan(1_000);
    expect(stored('SELECT count(*) FROM probe')).toBe(probe.commits);
    expect(result.pagesFreed).toBeGreaterThan(pagesBefore * 0.9);
    expect(store.db.pragma('freelist_count', { simple: true })).toBe(0);
  }, 60_000);

  it('panelsync state prints the size by table and what retention would free', async () => {
    const old = new Date(Date.now() - 40 * DAY_MS).toISOString();
    for (const sync of ['kept', 'gone']) {
      run(`${sync}-run`, sync, old, [{ pk: '1', class: 'added', result: 'rejected', error: 'no', participantId: null, batch: { id: 'b1', index: 0 } }]);
      store.recordCall(`${sync}-run`, 1, apiCall(1, 'upsert:b1:0+1', '{"participants":[]}', '{"errors":[]}'));
    }
    run('recent', 'kept', new Date().toISOString(), []);
    const report = onlyJson<StateSizeReport>(await panelsync(dir, ['state', '--json']));
    expect(report).toMatchObject({ path: join(dir, 'state.db'), auto_vacuum: 'incremental', page_size: 4096 });
    expect([report.file_bytes, report.wal_bytes]).toEqual([statSync(report.path).size, statSync(`${report.path}-wal`).size]);
    const calls = report.tables.find((t) => t.table === 'api_calls')!;
    expect(calls.rows).toBe(2);
    expect(calls.bytes).toBeGreaterThan(0);
    expect(report.retention).toMatchObject({ retention_days: 30, runs: 1, removed_syncs: ['gone'], rows: 5 });
    expect(Object.fromEntries(report.retention.tables.map((t) => [t.table, t.rows]))).toEqual({ api_calls: 2, row_outcomes: 2, runs: 1 });

    const text = (await panelsync(dir, ['state'])).stdout;
    expect(text).toMatch(/^State database .*state\.db: [\d.]+ MiB \(file [\d.]+ MiB, write-ahead log [\d.]+ MiB\)$/m);
    expect(text).toMatch(/^ {2}api_calls +2 +[\d.]+ MiB +[\d.]+ MiB$/m);
    expect(text).toContain('Retention (retention_days 30) would remove the calls and row outcomes of 1 run started before');
    expect(text).toContain('and everything of 1 sync no longer in the project (gone): 5 rows');

    const empty = mkdtempSync(join(tmpdir(), 'panelsync-bounded-'));
    try {
      writeFileSync(join(empty, 'panelsync.yml'), 'version: 1\nstate: state.db\n');
      const missing = await panelsync(empty, ['state', '--json']);
      expect(missing.code).toBe(1);
      expect(onlyJson<{ error: { code: string; message: string } }>(missing).error).toEqual({
        code: 'STATE_NOT_FOUND', message: `no state database at ${join(empty, 'state.db')} yet: the first run creates it`,
      });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
