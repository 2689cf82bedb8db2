/**
 * The live `progress` of a run in progress, over real HTTP: planned counts as soon as the model is
 * diffed, then rows and API calls as batches finish, the same on every route that lists the run,
 * and `null` once the run has ended (its summary holds the counts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChinookProject, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { apiClient, startTestServer, waitFor, writeServerProject } from './server-fixture.ts';

const ZERO = { added: 0, changed: 0, removed: 0 };

describe('panelsync serve: live progress of a run in progress', () => {
  let chinook: ChinookProject;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ReturnType<typeof apiClient>;

  beforeEach(async () => {
    // 12 batches of 5 rows, one at a time, 100 ms per call: the run lasts over a second.
    chinook = await createChinookProject({ destination: { batch_size: 5, concurrency: 1 } });
    writeServerProject(chinook);
    await chinook.knobs({ latency_ms: 100 });
    server = await startTestServer(chinook);
    api = apiClient(server.url);
  });
  afterEach(async () => {
    await server.close();
    await chinook.close();
  });

  it('counts planned rows, rows done and API calls while the run is in progress, on every route that shows it', async () => {
    const runId = (await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' })).body.run_id as string;

    // Part-way: the plan is known and some batches (not all) are done.
    const partWay = await waitFor(async () => {
      const run = (await api(`/api/v1/runs/${runId}`)).body;
      return run.status === 'running' && run.progress?.succeeded.added >= 10 ? run : undefined;
    }, 15_000, 'two batches done');
    expect(partWay.summary).toBeNull();
    expect(partWay.progress).toEqual({
      planned: { queried: 59, added: 59, changed: 0, removed: 0, unchanged: 0, invalid: 0 },
      succeeded: { added: expect.any(Number), changed: 0, removed: 0 },
      rejected: ZERO,
      skipped: ZERO,
      api_calls: expect.any(Number),
    });
    const done = partWay.progress.succeeded.added as number;
    expect(done % 5).toBe(0); // counted per finished batch
    expect(done).toBeLessThan(59);
    // Counted from the run's events in the same tick as the stored outcomes and calls were written.
    expect(done).toBe(partWay.outcomes.succeeded);
    expect(partWay.progress.api_calls).toBe(partWay.calls);

    // The same run, listed: in the sync's `running`, its recent runs and its run list.
    const sync = (await api(`/api/v1/syncs/${SYNC}`)).body;
    expect(sync.running).toMatchObject({ run_id: runId, status: 'running', progress: { planned: { added: 59 } } });
    expect(sync.running.progress.succeeded.added).toBeGreaterThanOrEqual(done);
    expect(sync.recent_runs[0]).toMatchObject({ run_id: runId, progress: { planned: { added: 59 } } });
    const listed = (await api(`/api/v1/syncs/${SYNC}/runs`)).body.runs[0];
    expect(listed).toMatchObject({ run_id: runId, status: 'running', summary: null, progress: { planned: { queried: 59 } } });
    const all = (await api('/api/v1/syncs')).body.syncs[0];
    expect(all.running.progress.planned.added).toBe(59);

    // A later poll sees more rows done (or the run over).
    const later = await waitFor(async () => {
      const run = (await api(`/api/v1/runs/${runId}`)).body;
      return run.status !== 'running' || run.progress.succeeded.added > done ? run : undefined;
    }, 15_000, 'more rows done');
    if (later.status === 'running') expect(later.progress.api_calls).toBeGreaterThan(partWay.progress.api_calls);

    // Ended: no progress, the summary holds the counts.
    const ended = await waitFor(async () => {
      const run = (await api(`/api/v1/runs/${runId}`)).body;
      return run.status !== 'running' ? run : undefined;
    }, 15_000, 'the run to end');
    expect(ended).toMatchObject({ status: 'success', progress: null, summary: { succeeded: { added: 59 } } });
    // The run is recorded as ended a moment before the server lets go of it (its lock released).
    const after = await waitFor(async () => {
      const sync = (await api(`/api/v1/syncs/${SYNC}`)).body;
      return sync.running === null ? sync : undefined;
    }, 15_000, 'the sync to be idle');
    expect(after).toMatchObject({ running: null, last_run: { run_id: runId, progress: null } });
  });
});
