/**
 * Which rows `panelsync rows SYNC --rejected` lists as currently failing, across real runs:
 * rejected and invalid rows, a row that leaves the model, a failed run in between, a row that
 * succeeds and later fails again (a new streak).
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DebugJson } from '../../src/cli/debug-command.ts';
import { runSync } from '../../src/engine/run-sync.ts';
import type { FailingRow, FailingRows } from '../../src/state/run-history.ts';
import { createChinookProject, NAME_MAPPINGS, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { runProject, SYNC } from '../helpers/run-helpers.ts';
import { onlyJson, panelsync } from './cli-capture.ts';

/** People 1..rows; person 5 has no email (invalid); FirstName gets `suffix`. */
function model(rows: number, suffix = ''): string {
  return `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
    SELECT i AS CustomerId, CASE WHEN i = 5 THEN NULL ELSE 'user' || i || '@example.com' END AS Email,
           'First' || i || '${suffix}' AS FirstName, 'Last' || i AS LastName FROM n`;
}

describe('rows currently failing', () => {
  let project: ChinookProject;
  const cli = (...args: string[]) => panelsync(project.dir, args, { UI_API_KEY: TEST_API_KEY });
  const failing = async () => onlyJson<FailingRows>(await cli('rows', SYNC, '--rejected', '--json'));
  /** pk, result, class, first and last failed run, failed runs. */
  const brief = (rows: FailingRow[]) => rows.map((r) => [r.pk, r.result, r.class, r.first_failed_run, r.last_failed_run, r.failed_runs]);
  const run = async (sql: string, rejectPattern: string | null) => {
    project.writeModel(sql);
    await project.knobs({ reject_email_pattern: rejectPattern });
    return (await runProject(project)).summary;
  };

  beforeAll(async () => {
    project = await createChinookProject({ sql: model(10), sync: { mappings: NAME_MAPPINGS } });
  });
  afterAll(async () => {
    await project?.close();
  });

  it('follows rows across runs', async () => {
    // Nothing ran yet: the state database is not even created by reading.
    expect(await failing()).toEqual({ sync: SYNC, as_of_run: null, total: 0, rows: [] });
    expect((await cli('rows', SYNC, '--rejected')).stdout).toBe(`${SYNC}: no rows are failing, no run has completed yet.\n`);
    expect(existsSync((await project.load()).statePath)).toBe(false);

    const r1 = await run(model(10), '^user(3|7)@');
    expect(r1).toMatchObject({ status: 'warning', rows: { invalid: 1 }, rejected: { added: 2 } });
    let now = await failing();
    expect(now).toMatchObject({ as_of_run: r1.run_id, total: 3 });
    expect(brief(now.rows)).toEqual([
      ['5', 'invalid', 'invalid', r1.run_id, r1.run_id, 1],
      ['3', 'rejected', 'added', r1.run_id, r1.run_id, 1],
      ['7', 'rejected', 'added', r1.run_id, r1.run_id, 1],
    ]);
    expect(now.rows[0]!.error).toBe('email is null');

    // The debugger lists the invalid row with its reason, sent by no call.
    const debug = onlyJson<DebugJson>(await cli('debug', r1.run_id, '--rejected', '--json'));
    expect(debug.rows.map((r) => [r.pk, r.result, r.error, r.call_seq])).toEqual([
      ['5', 'invalid', 'email is null', null],
      ['3', 'rejected', 'email: email is not deliverable', expect.any(Number)],
      ['7', 'rejected', 'email: email is not deliverable', expect.any(Number)],
    ]);
    expect((await cli('debug', r1.run_id, '--rejected')).stdout).toMatch(/^ {2}5 +invalid +invalid +- +email is null$/m);

    // Person 7 leaves the model: no longer failing. Person 3 still is.
    const r2 = await run(model(6), '^user3@');
    now = await failing();
    expect(now).toMatchObject({ as_of_run: r2.run_id, total: 2 });
    expect(brief(now.rows)).toEqual([
      ['5', 'invalid', 'invalid', r1.run_id, r2.run_id, 2],
      ['3', 'rejected', 'added', r1.run_id, r2.run_id, 2],
    ]);

    // A failed run (the API key refused) does not hide them: the reference stays the last completed run.
    await project.knobs({ fail_next: [{ status: 401 }] });
    const r3 = await runSync({ project: await project.load(), sync: SYNC });
    expect(r3.status).toBe('failed');
    now = await failing();
    expect(now.as_of_run).toBe(r2.run_id);
    // In the order of the latest failure: the failed run still read the model and found person 5 invalid again.
    expect(brief(now.rows)).toEqual([
      ['3', 'rejected', 'added', r1.run_id, r2.run_id, 2],
      ['5', 'invalid', 'invalid', r1.run_id, r3.run_id, 3],
    ]);

    // Person 3 gets through; later an update of it is rejected: a new streak.
    const r4 = await run(model(6), null);
    expect(brief((await failing()).rows)).toEqual([['5', 'invalid', 'invalid', r1.run_id, r4.run_id, 4]]);
    const r5 = await run(model(6, 'b'), '^user3@');
    expect(r5).toMatchObject({ rows: { changed: 5 }, rejected: { changed: 1 } });
    now = await failing();
    expect(brief(now.rows)).toEqual([
      ['5', 'invalid', 'invalid', r1.run_id, r5.run_id, 5],
      ['3', 'rejected', 'changed', r5.run_id, r5.run_id, 1],
    ]);

    const limited = onlyJson<FailingRows>(await cli('rows', SYNC, '--rejected', '--json', '--limit', '1'));
    expect(limited.total).toBe(2);
    expect(limited.rows).toHaveLength(1);
    const text = (await cli('rows', SYNC, '--rejected', '--limit', '1')).stdout;
    expect(text.split('\n')[0]).toBe(`${SYNC}: 2 rows failing, as of run ${r5.run_id} (the latest completed run) (the first 1 shown; raise --limit for more)`);
  });
});
