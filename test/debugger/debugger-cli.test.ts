/**
 * `panelsync runs`, `debug` and `rows` on real runs against the emulator: 100 rows with one email
 * the API refuses (split retries), two 500s before the first answer (retries), and a run with a
 * key the API refuses (401). What the commands print is asserted in --json and in text.
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DebugCallJson, DebugExportJson, DebugJson } from '../../src/cli/debug-command.ts';
import type { RunsJson } from '../../src/cli/runs-command.ts';
import { runSync } from '../../src/engine/run-sync.ts';
import type { CallTreeItem, FailingRows, OutcomeItem } from '../../src/state/run-history.ts';
import { createChinookProject, generatedModel, NAME_MAPPINGS, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { expectAddsUp, runProject, SYNC } from '../helpers/run-helpers.ts';
import { onlyJson, panelsync } from './cli-capture.ts';

const ENV = { UI_API_KEY: TEST_API_KEY };
const UNDELIVERABLE = 'email: email is not deliverable';

describe('runs, debug and rows on a run with one bad email in 100 rows', () => {
  let project: ChinookProject;
  let cli: (...args: string[]) => ReturnType<typeof panelsync>;
  /** Run 1: two 500s, then the 422 that split retries take apart; pk 37 rejected. */
  let first: string;
  /** Run 2: the API key refused (401). */
  let refused: string;
  /** Run 3: pk 37 rejected again (the only row planned). */
  let third: string;
  const exportFile = join(tmpdir(), `panelsync-export-${process.pid}.jsonl`);

  beforeAll(async () => {
    project = await createChinookProject({ sql: generatedModel(100), sync: { mappings: NAME_MAPPINGS } });
    cli = (...args) => panelsync(project.dir, args, ENV);
    await project.knobs({ reject_email_pattern: '^user37@', fail_next: [{ status: 500 }, { status: 500 }] });
    const run1 = await runProject(project);
    expect(run1.summary).toMatchObject({ status: 'warning', succeeded: { added: 99 }, rejected: { added: 1 }, api_calls: 17 });
    expectAddsUp(run1.summary);
    first = run1.summary.run_id;

    // The API refuses the key (as it would a revoked one) on the run's first call, its batch.
    await project.knobs({ fail_next: [{ status: 401 }] });
    const run2 = await runSync({ project: await project.load(), sync: SYNC });
    expect(run2.status).toBe('failed');
    refused = run2.run_id;

    const run3 = await runProject(project);
    expect(run3.summary).toMatchObject({ status: 'warning', rows: { added: 1, unchanged: 99 }, rejected: { added: 1 } });
    third = run3.summary.run_id;
  });

  afterAll(async () => {
    rmSync(exportFile, { force: true });
    await project?.close();
  });

  it('runs --json: newest first, with status, counts and the 401 error', async () => {
    const result = await cli('runs', '--json');
    expect(result.code).toBe(0);
    const { runs } = onlyJson<RunsJson>(result);
    expect(runs.map((r) => [r.run_id, r.status])).toEqual([
      [third, 'warning'],
      [refused, 'failed'],
      [first, 'warning'],
    ]);
    expect(runs[2]).toMatchObject({
      sync: SYNC,
      trigger: 'manual',
      error: null,
      details_pruned_at: null,
      summary: { rows: { queried: 100, added: 100, invalid: 0 }, succeeded: { added: 99 }, rejected: { added: 1 }, api_calls: 17 },
    });
    expect(runs[2]!.duration_ms).toBeGreaterThanOrEqual(0);
    expect(runs[1]!.error).toMatch(/^PATCH http:\/\/127\.0\.0\.1:\d+\/api\/participants\/batches was refused with HTTP 401 \(unauthorized\)/);

    expect(onlyJson<RunsJson>(await cli('runs', SYNC, '--json', '--limit', '1')).runs.map((r) => r.run_id)).toEqual([third]);
  });

  it('runs: a table a person reads at a glance, the failed run with its error under it', async () => {
    const { code, stdout } = await cli('runs');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe('3 runs, newest first:');
    expect(lines[1]).toMatch(/^ {2}RUN +SYNC +STATUS +TRIGGER +STARTED \(UTC\) +TOOK +QUERIED +ADDED +CHANGED +REMOVED +INVALID +REJECTED +CALLS$/);
    expect(lines[2]).toMatch(new RegExp(`^  ${third} +${SYNC} +WARNING +manual +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +[\\d.]+ m?s +100 +1 +0 +0 +0 +1 +1$`));
    expect(lines[3]).toMatch(new RegExp(`^  ${refused} +${SYNC} +FAILED +manual .* +100 +1 +0 +0 +0 +0 +1$`));
    expect(lines[4]).toMatch(/^ {4}└ error: PATCH http:\/\/127\.0\.0\.1:\d+\/api\/participants\/batches was refused with HTTP 401/);
    expect(lines[5]).toMatch(new RegExp(`^  ${first} +${SYNC} +WARNING +manual .* +100 +100 +0 +0 +0 +1 +17$`));
    expect(stdout).toContain(`Details of a run: panelsync debug ${third}`);
    // The columns line up: every row's STATUS starts where its header does.
    const at = lines[1]!.indexOf('STATUS');
    for (const line of [lines[2], lines[3], lines[5]]) expect(line!.slice(at)).toMatch(/^(WARNING|FAILED)/);
  });

  it('runs SYNC refuses an unknown sync, naming the known ones', async () => {
    const { code, stdout, stderr } = await cli('runs', 'nope', '--json');
    expect(code).toBe(2);
    expect(onlyJson<{ error: { code: string } }>({ code, stdout, stderr }).error.code).toBe('SYNC_UNKNOWN');
    expect(stderr).toContain(`unknown sync "nope" (known: ${SYNC})`);
  });

  it('debug --json: every call as a tree (retries, then split retries down to the bad row) and the row with the API error', async () => {
    const result = await cli('debug', first, '--json');
    expect(result.code).toBe(0);
    const debug = onlyJson<DebugJson>(result);
    expect(debug.run).toMatchObject({ run_id: first, status: 'warning', calls: 17, outcomes: { succeeded: 99, rejected: 1, invalid: 0, skipped: 0 } });
    const calls = debug.calls!;
    expect(calls.map((c) => c.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    // The whole batch: two 500s and the 422, three attempts of one request at the top.
    expect(calls.slice(0, 3).map((c) => [c.seq, c.status, c.attempt, c.depth, c.request_seq, c.row_offset, c.row_count])).toEqual([
      [1, 500, 1, 0, 1, 0, 100],
      [2, 500, 2, 0, 1, 0, 100],
      [3, 422, 3, 0, 1, 0, 100],
    ]);
    // Every split retry sent part of the rows of the call it is nested under, and halves partition them.
    const byRequest = new Map(calls.map((c) => [c.request_seq, c]));
    for (const call of calls.slice(3)) {
      const parent = byRequest.get(call.parent_seq!)!;
      expect(call.depth).toBe(parent.depth + 1);
      expect(call.row_offset!).toBeGreaterThanOrEqual(parent.row_offset!);
      expect(call.row_offset! + call.row_count!).toBeLessThanOrEqual(parent.row_offset! + parent.row_count!);
      const siblings = calls.filter((c) => c.parent_seq === call.parent_seq);
      expect(siblings.reduce((n, c) => n + c.row_count!, 0)).toBe(parent.row_count);
    }
    const leaf = calls.find((c) => c.row_count === 1 && c.status === 422)!;
    expect(leaf).toMatchObject({ method: 'PATCH', batch: 'b1', row_offset: 36, depth: 7, tag: 'upsert:b1:36+1' });
    expect(debug.rows).toEqual([
      expect.objectContaining({ run_id: first, pk: '37', class: 'added', result: 'rejected', error: UNDELIVERABLE, batch: 'b1', batch_index: 36, call_seq: leaf.seq }),
    ]);
    expect(debug.rows_total).toBe(1);
  });

  it('debug: the split retries as a readable tree, and the one row with the API error', async () => {
    const { code, stdout } = await cli('debug', first);
    expect(code).toBe(0);
    const port = new URL(project.emulator.apiUrl).port;
    const lines = stdout.split('\n');
    expect(lines.slice(0, 6)).toEqual([
      expect.stringMatching(new RegExp(`^${SYNC}: WARNING in [\\d.]+ s \\(run ${first}\\)$`)),
      expect.stringMatching(/^ {2}started {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(manual trigger\)$/),
      '  rows     queried 100 = added 100 + changed 0 + unchanged 0 + invalid 0; removed 0',
      '  result   added 99 ok, 1 rejected · changed 0 ok, 0 rejected · removed 0 done, 0 rejected',
      '  api      17 calls',
      '  panel    99 rows in sync (0 unchanged + 99 written by this run)',
    ]);
    expect(lines[6]).toBe('  first    the snapshot was empty: every row is sent as added; rows removed from the model before now cannot be deleted or cleared');
    lines.splice(5, 2);
    expect(lines[5]).toBe('');
    expect(lines[6]).toBe(`API calls: 17 to http://127.0.0.1:${port} (split retries nested under the call they split, ↻ a retry)`);
    // Durations vary: each becomes T.
    const tree = lines.slice(7, 7 + 18).map((line) => line.replace(/^( *\d+ +\d+) +\d+(\.\d)? m?s {2}/, '$1 T ').replace(/STATUS +TIME/, 'STATUS  TIME'));
    expect(tree).toEqual([
      '   #  STATUS  TIME  CALL',
      '   1  500 T PATCH /api/participants/batches  upsert b1 rows 1-100 → retried',
      '   2  500 T ↻ attempt 2 → retried',
      '   3  422 T ↻ attempt 3 → rejected as a whole: split in 2',
      '   4  422 T ├─ upsert b1 rows 1-50 → rejected as a whole: split in 2',
      '   5  200 T │  ├─ upsert b1 rows 1-25',
      '   6  422 T │  └─ upsert b1 rows 26-50 → rejected as a whole: split in 2',
      '   7  422 T │     ├─ upsert b1 rows 26-38 → rejected as a whole: split in 2',
      '   8  200 T │     │  ├─ upsert b1 rows 26-32',
      '   9  422 T │     │  └─ upsert b1 rows 33-38 → rejected as a whole: split in 2',
      '  10  200 T │     │     ├─ upsert b1 rows 33-35',
      '  11  422 T │     │     └─ upsert b1 rows 36-38 → rejected as a whole: split in 2',
      '  12  422 T │     │        ├─ upsert b1 rows 36-37 → rejected as a whole: split in 2',
      '  13  200 T │     │        │  ├─ upsert b1 row 36',
      `  14  422 T │     │        │  └─ upsert b1 row 37 → pk 37 rejected: ${UNDELIVERABLE}`,
      '  15  200 T │     │        └─ upsert b1 row 38',
      '  16  200 T │     └─ upsert b1 rows 39-50',
      '  17  200 T └─ upsert b1 rows 51-100',
    ]);
    expect(lines.slice(25, 29)).toEqual([
      '',
      "Rejected and invalid rows: 1; ERROR is the API's own error, or why the row was not sent",
      '  PK  RESULT    CLASS  CALL  ERROR',
      `  37  rejected  added   #14  ${UNDELIVERABLE}`,
    ]);
    expect(stdout).toContain(`One call's request and response:  panelsync debug ${first} --call 14`);
  });

  it('debug --calls-limit N: the first N calls, placed as in the whole tree, and how many more there are', async () => {
    const all = onlyJson<DebugJson>(await cli('debug', first, '--json'));
    expect(all.calls).toHaveLength(17);
    expect(all.calls_total).toBe(17);
    const some = onlyJson<DebugJson>(await cli('debug', first, '--json', '--calls-limit', '8'));
    expect(some.calls_total).toBe(17);
    expect(some.calls!.map((c) => c.seq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const place = (c: CallTreeItem) => [c.seq, c.depth, c.parent_seq, c.request_seq];
    expect(some.calls!.map(place)).toEqual(all.calls!.filter((c) => c.seq <= 8).map(place));

    const text = await cli('debug', first, '--calls-limit', '8');
    expect(text.code).toBe(0);
    const port = new URL(project.emulator.apiUrl).port;
    expect(text.stdout).toContain(`API calls: 17 to http://127.0.0.1:${port}, the first 8 shown (split retries nested under the call they split, ↻ a retry)`);
    // Call 7 was split in two, but only its first part is among the 8 calls: no claim beyond them.
    expect(text.stdout).toMatch(/^ +7 +422 .*upsert b1 rows 26-38 → rejected as a whole: split \(1 part shown\)$/m);
    expect(text.stdout).toMatch(/^ +8 +200 .*└─ upsert b1 rows 26-32$/m);
    expect(text.stdout).not.toMatch(/^ +9 +422 /m);
    expect(text.stdout).toContain(`⋯ 9 more calls after #8 not shown; all of them: panelsync debug ${first} --calls-limit 17`);
    // Every call fits: no such line.
    expect((await cli('debug', first, '--calls-limit', '17')).stdout).not.toContain('not shown');

    const bad = await cli('debug', first, '--calls-limit', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--calls-limit takes a whole number from 1 up');
    expect((await cli('debug', first, '--calls-limit', '5', '--rejected')).stderr).toContain("option '--calls-limit <n>' cannot be used with option '--rejected'");
  });

  it('debug --rejected: the rows only, in text and JSON', async () => {
    const text = await cli('debug', first, '--rejected');
    expect(text.code).toBe(0);
    expect(text.stdout).not.toContain('API calls');
    expect(text.stdout).toMatch(new RegExp(`^ {2}37 +rejected +added +#14 +${UNDELIVERABLE}$`, 'm'));
    const json = onlyJson<DebugJson>(await cli('debug', first, '--rejected', '--json'));
    expect(json.calls).toBeUndefined();
    expect(json.rows.map((r) => [r.pk, r.result, r.error])).toEqual([['37', 'rejected', UNDELIVERABLE]]);
  });

  it("debug --call N: one call's full request and response, and the rows it carried", async () => {
    const json = onlyJson<DebugCallJson>(await cli('debug', first, '--call', '14', '--json'));
    expect(json.call).toMatchObject({ seq: 14, method: 'PATCH', status: 422, attempt: 1, pks: ['37'], request_truncated: false, response_truncated: false });
    expect(JSON.parse(json.call.request_body!)).toEqual({
      participants: [{ email: 'user37@example.com', first_name: 'First37', last_name: 'Last37' }],
    });
    expect(JSON.parse(json.call.response_body!)).toEqual({
      errors: [{ status: '422', title: 'Invalid participant', detail: 'email is not deliverable', source: { pointer: '/participants/0/email' } }],
    });
    expect(json.call.request_bytes).toBe(Buffer.byteLength(json.call.request_body!));

    const whole = onlyJson<DebugCallJson>(await cli('debug', first, '--call', '1', '--json')).call;
    expect(whole).toMatchObject({ status: 500, attempt: 1, row_offset: 0, row_count: 100 });
    expect(whole.pks).toEqual(Array.from({ length: 100 }, (_, i) => String(i + 1)));

    const { code, stdout } = await cli('debug', first, '--call', '14');
    expect(code).toBe(0);
    expect(stdout).toContain(`Call #14 of run ${first} (${SYNC})`);
    expect(stdout).toMatch(/^ {2}request {3}PATCH http:\/\/127\.0\.0\.1:\d+\/api\/participants\/batches$/m);
    expect(stdout).toMatch(/^ {2}answer {4}HTTP 422 in \d+ ms \(attempt 1, started .* UTC\)$/m);
    expect(stdout).toContain('  rows      upsert b1 row 37; primary keys 37');
    expect(stdout).toContain(`Request body (${json.call.request_bytes} bytes):\n{\n  "participants": [\n    {\n      "email": "user37@example.com",`);
    expect(stdout).toContain(`Response body (${json.call.response_bytes} bytes):\n{\n  "errors": [`);
    expect(stdout).toContain('"detail": "email is not deliverable"');
  });

  it('debug --export FILE: every row outcome of the run as JSON Lines', async () => {
    const result = await cli('debug', first, '--export', exportFile, '--json');
    expect(result.code).toBe(0);
    expect(onlyJson<DebugExportJson>(result)).toEqual({ run_id: first, file: exportFile, rows: 100 });
    const lines = readFileSync(exportFile, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    const outcomes = lines.map((line) => JSON.parse(line) as OutcomeItem);
    expect(outcomes.map((o) => o.pk).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 100 }, (_, i) => String(i + 1)));
    expect(outcomes.filter((o) => o.result === 'rejected')).toEqual([expect.objectContaining({ pk: '37', error: UNDELIVERABLE, call_seq: 14 })]);
    for (const o of outcomes.filter((x) => x.result === 'succeeded')) {
      expect(o).toMatchObject({ run_id: first, sync: SYNC, class: 'added', batch: 'b1', participant_id: expect.any(String) });
    }
    const text = await cli('debug', first, '--export', exportFile);
    expect(text.stdout).toBe(`Wrote 100 row outcomes of run ${first} to ${exportFile} (JSON Lines: one object a line).\n`);
  });

  it('debug on the 401 run: FAILED with its error, and the refused call', async () => {
    const json = onlyJson<DebugJson>(await cli('debug', refused, '--json'));
    expect(json.run).toMatchObject({ status: 'failed', calls: 1, outcomes: { succeeded: 0, rejected: 0 } });
    expect(json.calls).toEqual([expect.objectContaining({ seq: 1, method: 'PATCH', status: 401, attempt: 1, depth: 0, tag: 'upsert:b1:0+1' })]);
    const { code, stdout } = await cli('debug', refused);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^${SYNC}: FAILED in [\\d.]+ s \\(run ${refused}\\)$`, 'm'));
    expect(stdout).toMatch(/^ {2}error {4}PATCH http:\/\/127\.0\.0\.1:\d+\/api\/participants\/batches was refused with HTTP 401 \(unauthorized\): check the destination's API key/m);
    expect(stdout).toMatch(/^ {2}1 {2}401 +\d+ ms {2}PATCH \/api\/participants\/batches {2}upsert b1 row 1$/m);
    expect(stdout).toContain('Rejected and invalid rows: none');
  });

  it('rows --rejected: the failing row with the runs where it first and last failed', async () => {
    const result = await cli('rows', SYNC, '--rejected', '--json');
    expect(result.code).toBe(0);
    const failing = onlyJson<FailingRows>(result);
    expect(failing).toMatchObject({ sync: SYNC, as_of_run: third, total: 1 });
    expect(failing.rows).toEqual([
      expect.objectContaining({ pk: '37', class: 'added', result: 'rejected', error: UNDELIVERABLE, first_failed_run: first, last_failed_run: third, failed_runs: 2 }),
    ]);
    const { stdout } = await cli('rows', SYNC, '--rejected');
    const lines = stdout.split('\n');
    expect(lines[0]).toBe(`${SYNC}: 1 row failing, as of run ${third} (the latest completed run)`);
    expect(lines[1]).toMatch(/^ {2}PK +RESULT +CLASS +FAILING SINCE \(UTC\) +LAST FAILED \(UTC\) +RUNS +ERROR$/);
    expect(lines[2]).toMatch(new RegExp(`^ {2}37 +rejected +added +\\S+ \\S+ ${first} +\\S+ \\S+ ${third} +2 +${UNDELIVERABLE}$`));
  });

  it('refuses unknown runs and calls and conflicting flags; rows lists the failing rows with or without --rejected', async () => {
    const unknown = await cli('debug', 'r-nope', '--json');
    expect(unknown.code).toBe(2);
    expect(onlyJson<{ error: { code: string; message: string } }>(unknown).error).toEqual({
      code: 'RUN_NOT_FOUND',
      message: `no run r-nope in this project's state database; list the runs with \`panelsync runs --project ${project.dir}\``,
    });
    const call = await cli('debug', first, '--call', '99');
    expect(call.code).toBe(2);
    expect(call.stderr).toBe(`error: run ${first} has no call #99 (it made 17 calls); list them with \`panelsync debug ${first} --project ${project.dir}\`\n`);
    expect((await cli('debug', first, '--call', '0')).code).toBe(2);
    expect((await cli('debug', first, '--call', '3', '--rejected')).stderr).toContain("option '--rejected' cannot be used with option '--call <n>'");
    const unwritable = await cli('debug', first, '--export', join(project.dir, 'no-such-dir', 'out.jsonl'), '--json');
    expect(unwritable.code).toBe(1);
    expect(onlyJson<{ error: { code: string } }>(unwritable).error.code).toBe('EXPORT_FAILED');
    expect(unwritable.stderr).toMatch(/^error: cannot write .*out\.jsonl: ENOENT.*; check that its directory exists and is writable\n$/);
    const rows = await cli('rows', SYNC);
    expect(rows.code).toBe(0);
    expect(rows.stdout).toBe((await cli('rows', SYNC, '--rejected')).stdout);
  });

  it('once the API accepts the row, it is no longer failing', async () => {
    await project.knobs({ reject_email_pattern: null });
    const run4 = await runProject(project);
    expect(run4.summary).toMatchObject({ status: 'success', succeeded: { added: 1 } });
    expect(onlyJson<FailingRows>(await cli('rows', SYNC, '--rejected', '--json'))).toEqual({ sync: SYNC, as_of_run: run4.summary.run_id, total: 0, rows: [] });
    expect((await cli('rows', SYNC, '--rejected')).stdout).toBe(`${SYNC}: no rows are failing, as of run ${run4.summary.run_id} (the latest completed run).\n`);
  });
});

describe('debug on a batch whose attempts ran out', () => {
  let project: ChinookProject;
  beforeAll(async () => {
    project = await createChinookProject({ sql: generatedModel(10), sync: { mappings: NAME_MAPPINGS }, destination: { max_attempts: 2 } });
  });
  afterAll(async () => {
    await project?.close();
  });

  it('shows the failed attempts, that the client gave up, and every row of the batch unsent with why', async () => {
    const cli = (...args: string[]) => panelsync(project.dir, args, ENV);
    expect((await cli('runs')).stdout).toBe('No runs recorded yet.\n');
    expect(onlyJson<RunsJson>(await cli('runs', '--json'))).toEqual({ runs: [] });

    await project.knobs({ fail_next: [{ status: 500 }, { status: 503 }] });
    const { summary } = await runProject(project);
    // The destination stopped answering: the run failed, the rows are unsent (never rejected).
    expect(summary).toMatchObject({ status: 'failed', rejected: { added: 0 }, unsent: { added: 10 }, api_calls: 2 });
    const { stdout } = await cli('debug', summary.run_id);
    expect(stdout).toMatch(/^ {2}1 {2}500 +\d+ ms {2}PATCH \/api\/participants\/batches {2}upsert b1 rows 1-10 → retried$/m);
    expect(stdout).toMatch(/^ {2}2 {2}503 +\d+ ms {2}↻ attempt 2 → gave up after 2 attempts; 10 rows unsent \(pk 1, 2, 3, …\): not answered, the run stopped: PATCH \S+ failed 2 time\(s\) with transient errors \(last: HTTP 503\)/m);
    expect(stdout).toContain('Rejected, invalid and unsent rows: 10;');
    const debug = onlyJson<DebugJson>(await cli('debug', summary.run_id, '--json'));
    expect(debug.rows).toHaveLength(10);
    for (const row of debug.rows) {
      expect(row).toMatchObject({ result: 'unsent', class: 'added', error: expect.stringMatching(/^not answered, the run stopped: PATCH http:\/\/127\.0\.0\.1:\d+\/api\/participants\/batches .*503/) });
    }
  });
});
