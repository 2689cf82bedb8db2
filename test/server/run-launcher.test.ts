/**
 * The run launcher: what it holds in memory for the API (the queued follow-up, the live progress
 * of the running run), and its stop: the running run is aborted and recorded `interrupted`, the
 * queued follow-up is dropped (never recorded), and later triggers are refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LaunchError, RunLauncher, type LaunchedRun } from '../../src/scheduler/run-launcher.ts';
import { SqliteRunHistory } from '../../src/state/sqlite-run-history.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { createChinookProject, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { loadServerProject, waitFor, writeServerProject } from './server-fixture.ts';

describe('RunLauncher', () => {
  let chinook: ChinookProject | undefined;
  let store: SqliteStateStore | undefined;
  afterEach(async () => {
    store?.close();
    await chinook?.close();
    chinook = store = undefined;
  });

  it('holds the queued run and the live progress, and on stop aborts the running run (recorded interrupted), drops the queued one and refuses new triggers', async () => {
    chinook = await createChinookProject({ destination: { batch_size: 5, concurrency: 1 } });
    writeServerProject(chinook);
    await chinook.knobs({ latency_ms: 100 });
    const project = await loadServerProject(chinook);
    store = new SqliteStateStore(project.statePath);
    const history = new SqliteRunHistory(store.db);
    const launcher = new RunLauncher({ project, store });
    const launched: LaunchedRun[] = [];
    launcher.onRun((run) => launched.push(run));

    const first = launcher.trigger(SYNC, { trigger: 'api' });
    expect(first.queued).toBe(false);
    expect(history.getRun(first.runId)?.status).toBe('running'); // recorded before trigger returned
    const beforeQueue = new Date().toISOString();
    const queued = launcher.trigger(SYNC, { trigger: 'schedule' });
    expect(queued.queued).toBe(true);
    expect(launcher.queuedLaunch(queued.runId)).toEqual({ runId: queued.runId, sync: SYNC, request: { trigger: 'schedule' }, queuedAt: expect.any(String) });
    expect(launcher.queuedLaunch(queued.runId)!.queuedAt >= beforeQueue).toBe(true);
    expect(launcher.queuedLaunch(first.runId)).toBeNull();
    expect(launcher.trigger(SYNC, { trigger: 'api' })).toEqual(queued);
    // A full resync asked for while a plain run is queued would silently not happen: refused instead.
    expect(() => launcher.trigger(SYNC, { trigger: 'api', fullResync: true })).toThrow(
      expect.objectContaining({ code: 'QUEUED_WITH_OTHER_OPTIONS', message: expect.stringContaining(`a run of sync "${SYNC}" is already queued (run ${queued.runId}); trigger the full resync again once it has started`) }),
    );
    expect(launcher.busy(SYNC)).toBe(true);
    expect(() => launcher.trigger('nope', { trigger: 'api' })).toThrow(expect.objectContaining({ code: 'SYNC_UNKNOWN' }));

    await waitFor(() => (history.getRun(first.runId)?.outcomes.succeeded ?? 0) >= 5, 15_000, 'a batch');
    // The progress counts what the stored outcomes and calls hold (both are written in the same tick).
    const stored = history.getRun(first.runId)!;
    expect(launcher.progress(first.runId)).toEqual({
      planned: { queried: 59, added: 59, changed: 0, removed: 0, unchanged: 0, invalid: 0 },
      succeeded: { added: stored.outcomes.succeeded, changed: 0, removed: 0 },
      rejected: { added: 0, changed: 0, removed: 0 },
      skipped: { added: 0, changed: 0, removed: 0 },
      api_calls: stored.calls,
    });
    expect(launcher.progress(queued.runId)).toBeNull();
    await launcher.stop();
    expect(launcher.queuedLaunch(queued.runId)).toBeNull();
    expect(launcher.progress(first.runId)).toBeNull();
    expect(history.getRun(first.runId)).toMatchObject({ status: 'interrupted' });
    expect(history.getRun(queued.runId)).toBeNull();
    expect(launched.map((r) => r.runId)).toEqual([first.runId]);
    expect(await launched[0]!.done).toMatchObject({ summary: { status: 'interrupted' } });
    expect(launcher.busy(SYNC)).toBe(false);
    expect(() => launcher.trigger(SYNC, { trigger: 'api' })).toThrow(LaunchError);
    expect(() => launcher.trigger(SYNC, { trigger: 'api' })).toThrow(expect.objectContaining({ code: 'STOPPING' }));
  });
});
