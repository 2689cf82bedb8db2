/**
 * `panelsync plan` / `run --dry-run` report what the run would do in update and insert modes (the
 * rows it skips or rejects, known from the directory it reads with GET only) and whether the
 * mass-delete guard would refuse it; the run that follows does exactly that. Against the emulator.
 */
import { describe, expect, it } from 'vitest';
import { formatPlan } from '../../src/cli/plan-command.ts';
import { planSync, type PlanReport } from '../../src/engine/plan-sync.ts';
import { onlyJson, panelsync } from '../debugger/cli-capture.ts';
import { TEST_API_KEY } from '../helpers/chinook-project.ts';
import { expectAddsUp, runProject as run, SYNC } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, GET_PARTICIPANTS, type PeopleProject } from './people-project.ts';

const start = peopleProjectPerTest();

async function plan(p: PeopleProject, options: { allowMassDelete?: boolean } = {}): Promise<PlanReport> {
  return planSync({ project: await p.load(), sync: SYNC, ...options });
}

/** Requests the emulator answered, by route, with only reads expected. */
async function expectOnlyReads(p: PeopleProject, before: Record<string, number>): Promise<void> {
  const after = await p.stats();
  const grown = Object.keys(after).filter((route) => after[route] !== before[route]);
  expect(grown.every((route) => route.startsWith('GET '))).toBe(true);
}

describe('plan in update mode', () => {
  it('reads the directory and reports the rows without a participant as skipped, as the run then does', async () => {
    const p = await start({ rows: 5, sync: { mode: 'update' } });
    await p.seed([1, 2, 3].map((i) => ({ email: `user${i}@example.com` })));
    const before = await p.stats();

    const report = await plan(p);
    expect(report).toMatchObject({
      status: 'planned',
      rows: { queried: 5, added: 5 },
      skipped: { added: 2, changed: 0, removed: 0 },
      already_exists: 0,
      refused: null,
    });
    const reason = 'no participant with this email exists (update mode never creates one)';
    expect(report.sample.filter((s) => s.outcome !== undefined).map((s) => [s.pk, s.outcome])).toEqual([
      ['4', { result: 'skipped', reason }],
      ['5', { result: 'skipped', reason }],
    ]);
    expect(report.api_calls).toBeGreaterThanOrEqual(1);
    expect((await p.stats())[GET_PARTICIPANTS]).toBe((before[GET_PARTICIPANTS] ?? 0) + 1);
    await expectOnlyReads(p, before);
    expect(formatPlan(report)).toContain(`  skipped  added 2 (${reason})`);
    expect(formatPlan(report)).toContain(`  added    4  email: null -> "user4@example.com", first_name: null -> "First4", last_name: null -> "Last4"  [skipped: ${reason}]`);

    const real = await run(p);
    expectAddsUp(real.summary);
    expect(real.summary.skipped).toEqual(report.skipped);
    expect(real.summary.rows).toEqual(report.rows);
  });
});

describe('plan in insert mode', () => {
  it('reports rows already synced as skipped and emails a participant already has as rejected, as the run then does', async () => {
    const p = await start({ rows: 3, sync: { mode: 'insert' } });
    expect((await run(p)).summary.succeeded.added).toBe(3);
    p.db.prepare(`UPDATE people SET first_name = 'Changed' WHERE id = 2`).run();
    p.addPeople(4, 5);
    await p.seed([{ email: 'USER4@example.com', first_name: 'Hand' }]);
    const before = await p.stats();

    const report = await plan(p);
    expect(report).toMatchObject({
      rows: { queried: 5, added: 2, changed: 1, unchanged: 2 },
      skipped: { added: 0, changed: 1, removed: 0 },
      already_exists: 1,
      refused: null,
    });
    const sampled = new Map(report.sample.map((s) => [s.pk, s.outcome]));
    expect(sampled.get('2')).toEqual({ result: 'skipped', reason: 'already synced (insert mode never updates a participant)' });
    expect(sampled.get('4')).toEqual({ result: 'rejected', reason: expect.stringMatching(/^already exists: participant \d+ has this email$/) });
    expect(sampled.get('5')).toBeUndefined();
    await expectOnlyReads(p, before);
    expect(formatPlan(report)).toContain('  exists   1 added row would be rejected: a participant already has the email (insert mode never overwrites one)');

    const real = await run(p);
    expectAddsUp(real.summary);
    expect(real.summary).toMatchObject({ succeeded: { added: 1 }, rejected: { added: report.already_exists }, skipped: report.skipped });
  });
});

describe('plan and the mass-delete guard', () => {
  it('says the run would be refused and why, and plans the run that --allow-mass-delete allows', async () => {
    const p = await start({ rows: 10, sync: { delete_behavior: 'delete' } });
    expect((await run(p)).summary.succeeded.added).toBe(10);
    p.db.prepare('DELETE FROM people WHERE id > 4').run();

    const report = await plan(p);
    expect(report.rows).toMatchObject({ queried: 4, removed: 6 });
    expect(report.refused).toEqual({
      code: 'MASS_DELETE_GUARD',
      message: expect.stringContaining('this run would delete 6 of 10 synced rows (60%, more than max_delete_share 0.5)'),
    });
    expect(formatPlan(report)).toContain(`  REFUSED  a run would stop before sending anything: ${report.refused!.message}`);
    expect((await plan(p, { allowMassDelete: true })).refused).toBeNull();

    // The CLI: plan and run --dry-run say the same, and --allow-mass-delete reaches the plan.
    const env = { UI_API_KEY: TEST_API_KEY };
    const cliPlan = onlyJson<PlanReport>(await panelsync(p.dir, ['plan', SYNC, '--json'], env));
    expect(cliPlan.refused).toEqual(report.refused);
    const dryRun = await panelsync(p.dir, ['run', SYNC, '--dry-run'], env);
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toContain('REFUSED  a run would stop before sending anything: this run would delete 6 of 10');
    expect((await panelsync(p.dir, ['run', SYNC, '--dry-run', '--allow-mass-delete'], env)).stdout).not.toContain('REFUSED');
    expect(onlyJson<PlanReport>(await panelsync(p.dir, ['plan', SYNC, '--json', '--allow-mass-delete'], env)).refused).toBeNull();

    // The run is refused with the same reason, and nothing is deleted.
    const real = await run(p);
    expect(real.summary.status).toBe('failed');
    expect(real.summary.error).toBe(report.refused!.message);
    expect(await p.participants()).toHaveLength(10);
  });

  it('says so when the model suddenly returns no rows', async () => {
    const p = await start({ rows: 3 });
    await run(p);
    p.db.prepare('DELETE FROM people').run();
    const report = await plan(p);
    expect(report.refused).toEqual({ code: 'MASS_DELETE_GUARD', message: expect.stringContaining('the model returned 0 rows while 3 rows are synced') });
  });
});
