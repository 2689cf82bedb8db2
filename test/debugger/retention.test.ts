/**
 * Retention: the API calls and row outcomes of runs older than `retention_days` are pruned at the
 * start of a run; the run record (status, summary) stays, with `details_pruned_at` set. Real runs
 * at faked dates (vi.setSystemTime mocks Date only; timers and sockets run for real).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import type { DebugJson } from '../../src/cli/debug-command.ts';
import type { RunsJson } from '../../src/cli/runs-command.ts';
import { SqliteRunHistory } from '../../src/state/sqlite-run-history.ts';
import { createChinookProject, generatedModel, NAME_MAPPINGS, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { runProject } from '../helpers/run-helpers.ts';
import { onlyJson, panelsync } from './cli-capture.ts';

const DAY_MS = 86_400_000;

describe('retention_days', () => {
  let project: ChinookProject;
  let statePath: string;
  const cli = (...args: string[]) => panelsync(project.dir, args, { UI_API_KEY: TEST_API_KEY });

  /** A real run of `rows` generated people, as if it started `daysAgo` days ago. */
  const runAt = async (daysAgo: number, rows: number) => {
    project.writeModel(generatedModel(rows));
    if (daysAgo > 0) vi.setSystemTime(new Date(Date.now() - daysAgo * DAY_MS));
    try {
      return (await runProject(project)).summary;
    } finally {
      vi.useRealTimers();
    }
  };
  /** Calls and row outcomes the debugger holds for a run. */
  const details = (runId: string) => {
    const opened = SqliteRunHistory.open(statePath)!;
    try {
      const run = opened.history.getRun(runId)!;
      return { calls: run.calls, outcomes: Object.values(run.outcomes).reduce((a, b) => a + b, 0) };
    } finally {
      opened.close();
    }
  };

  beforeAll(async () => {
    project = await createChinookProject({ sql: generatedModel(5), sync: { mappings: NAME_MAPPINGS } });
    statePath = (await project.load()).statePath;
    await project.knobs({ reject_email_pattern: '^user2@' });
  });
  afterEach(() => vi.useRealTimers());
  afterAll(async () => {
    await project?.close();
  });

  it('prunes calls and outcomes of runs older than 30 days (the default), keeps the run record, and the debugger says so', async () => {
    const old = await runAt(40, 5); // 5 added, user2 rejected
    const recent = await runAt(20, 7); // user2 again, and 2 more rows
    expect(details(old.run_id)).toEqual({ calls: 7, outcomes: 5 });
    expect(details(recent.run_id)).toEqual({ calls: 5, outcomes: 3 });

    const before = new Date().toISOString();
    const now = await runAt(0, 8);
    expect(details(old.run_id)).toEqual({ calls: 0, outcomes: 0 });
    expect(details(recent.run_id)).toEqual({ calls: 5, outcomes: 3 });
    expect(details(now.run_id)).toEqual({ calls: 3, outcomes: 2 });

    const { runs } = onlyJson<RunsJson>(await cli('runs', '--json'));
    expect(runs.map((r) => r.run_id)).toEqual([now.run_id, recent.run_id, old.run_id]);
    const pruned = runs[2]!;
    expect(pruned).toMatchObject({ status: 'warning', summary: { rows: { added: 5 }, succeeded: { added: 4 }, rejected: { added: 1 } } });
    expect(pruned.details_pruned_at! >= before).toBe(true);
    expect(Date.parse(pruned.started_at)).toBeLessThan(Date.now() - 39 * DAY_MS);
    expect(runs[0]!.details_pruned_at).toBeNull();
    expect(runs[1]!.details_pruned_at).toBeNull();

    const debug = onlyJson<DebugJson>(await cli('debug', old.run_id, '--json'));
    expect(debug.run).toMatchObject({ calls: 0, outcomes: { succeeded: 0, rejected: 0, invalid: 0, skipped: 0 } });
    expect(debug.calls).toEqual([]);
    expect(debug.rows_total).toBe(0);
    const text = await cli('debug', old.run_id);
    expect(text.stdout).toMatch(/^ {2}pruned {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: this run's API calls and row outcomes were removed \(older than retention_days\)$/m);
    expect(text.stdout).toContain('API calls: none');

    const call = await cli('debug', old.run_id, '--call', '1', '--json');
    expect(call.code).toBe(1);
    expect(onlyJson<{ error: { code: string } }>(call).error.code).toBe('DETAILS_PRUNED');
    const exported = await cli('debug', old.run_id, '--export', join(project.dir, 'out.jsonl'));
    expect(exported.code).toBe(1);
    expect(exported.stderr).toMatch(/row outcomes were pruned on .* nothing was written/);

    // The row rejected in every run is one stored outcome, kept while its streak goes on.
    const rows = onlyJson<{ rows: Array<{ pk: string; first_failed_run: string; failed_runs: number }> }>(await cli('rows', 'customers-to-panel', '--rejected', '--json'));
    expect(rows.rows).toEqual([expect.objectContaining({ pk: '2', first_failed_run: old.run_id, failed_runs: 3 })]);
  });

  it('honours retention_days from the project file', async () => {
    const file = join(project.dir, 'panelsync.yml');
    writeFileSync(file, stringify({ ...parse(readFileSync(file, 'utf8')), retention_days: 10 }));
    const { runs } = onlyJson<RunsJson>(await cli('runs', '--json'));
    const twentyDaysOld = runs[1]!.run_id;
    expect(details(twentyDaysOld)).toEqual({ calls: 5, outcomes: 3 });
    await runProject(project);
    expect(details(twentyDaysOld)).toEqual({ calls: 0, outcomes: 0 });
    expect(details(runs[0]!.run_id)).toEqual({ calls: 3, outcomes: 2 });
  });
});
