/**
 * The run launcher: what it holds in memory for the API (the queued follow-up, the live progress
 * of the running run), and its stop: the running run is aborted and recorded `interrupted`, the
 * queued follow-up is dropped (never recorded), and later triggers are refused. And a state
 * database busy for longer than busy_timeout (a second connection holding its write lock) when a
 * run releases its lock or a queued run starts: nothing is lost, both are tried again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LaunchError, RunLauncher, type LaunchedRun } from '../../src/scheduler/run-launcher.ts';
import { SqliteRunHistory } from '../../src/state/sqlite-run-history.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import type { LockAttempt } from '../../src/state/state-store.ts';
import { createChinookProject, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { loadServerProject, waitFor, writeServerProject } from './server-fixture.ts';
import { WriteLockHolder } from './write-lock-holder.ts';

/** The real state store, with a hook called before each lock is taken (to make the database busy at that point). */
class HookedStateStore extends SqliteStateStore {
  beforeAcquire: ((sync: string, runId: string) => void) | null = null;
  override acquireLock(sync: string, runId: string): LockAttempt {
    this.beforeAcquire?.(sync, runId);
    return super.acquireLock(sync, runId);
  }
}

describe('RunLauncher', () => {
  let chinook: ChinookProject | undefined;
  let store: SqliteStateStore | undefined;
  let launcher: RunLauncher | undefined;
  let holder: WriteLockHolder | undefined;
  afterEach(async () => {
    await launcher?.stop();
    await holder?.close();
    store?.close();
    await chinook?.close();
    chinook = store = launcher = holder = undefined;
  });

  /** A launcher on a Chinook project (59 rows) and its state file, with the lines it logs. */
  async function busyableLauncher() {
    chinook = await createChinookProject();
    writeServerProject(chinook);
    const project = await loadServerProject(chinook);
    const hooked = new HookedStateStore(project.statePath);
    store = hooked;
    const log: string[] = [];
    launcher = new RunLauncher({ project, store: hooked, log: (line, level) => log.push(`${level}: ${line}`) });
    return { project, store: hooked, launcher, history: new SqliteRunHistory(hooked.db), log };
  }

  it('survives a state database busy for over 10 s as a run releases its lock: the release is retried and the queued run then runs', async () => {
    const { project, launcher, history, log } = await busyableLauncher();
    // Held from the end of the first run (recorded) for 10.5 s: runSync's lock release fails after
    // busy_timeout (5 s), so does the launcher's first try (10 s); the next try, 1 s later, frees it.
    holder = await WriteLockHolder.open(project.statePath, 10_500);
    const busy = holder;
    const launched: LaunchedRun[] = [];
    launcher.onRun((run) => {
      launched.push(run);
      if (launched.length === 1) run.events.on('run:end', () => busy.take());
    });

    const first = launcher.trigger(SYNC, { trigger: 'api' });
    const queued = launcher.trigger(SYNC, { trigger: 'api' });
    expect(queued.queued).toBe(true);
    await holder.released;
    const second = await waitFor(() => (history.getRun(queued.runId)?.status === 'success' ? history.getRun(queued.runId) : undefined), 15_000, 'the queued run');
    expect(second).toMatchObject({ trigger: 'api', status: 'success' });
    expect(history.getRun(first.runId)).toMatchObject({ status: 'success' }); // recorded before the database got busy
    expect(await launched[0]!.done).toEqual({ error: expect.objectContaining({ message: expect.stringContaining('database is locked') }) });
    expect(launched.map((r) => r.runId)).toEqual([first.runId, queued.runId]);
    await waitFor(() => !launcher.busy(SYNC), 5_000, 'the sync to be idle');
    expect(store!.readLock(SYNC)).toBeNull();
    expect(log).toEqual([
      expect.stringMatching(new RegExp(`^warn: run ${first.runId} of ${SYNC} ended, but .*database is locked; trying again in 1 s`)),
    ]);
  });

  it('survives a state database busy for over 5 s as the queued run starts: it waits, queued, and starts once the database is free', async () => {
    const { project, store, launcher, history, log } = await busyableLauncher();
    holder = await WriteLockHolder.open(project.statePath, 6_000);
    const busy = holder;
    const first = launcher.trigger(SYNC, { trigger: 'api' });
    const queued = launcher.trigger(SYNC, { trigger: 'schedule' });
    // Busy from just before the queued run takes the lock: that fails after busy_timeout (5 s).
    store.beforeAcquire = (_sync, runId) => {
      if (runId !== queued.runId) return;
      store.beforeAcquire = null;
      busy.take();
    };
    await waitFor(() => history.getRun(first.runId)?.status === 'success', 10_000, 'the first run');
    await waitFor(() => log.length > 0, 10_000, 'the failed start');
    expect(log).toEqual([expect.stringMatching(new RegExp(`^warn: run ${queued.runId} of ${SYNC} could not start: its run lock could not be taken: database is locked; trying again in 1 s$`))]);
    // Still queued until the next try (1 s later): a trigger meanwhile joins it.
    expect(launcher.queuedRun(SYNC)).toBe(queued.runId);
    expect(launcher.trigger(SYNC, { trigger: 'api' })).toEqual({ runId: queued.runId, queued: true });
    const second = await waitFor(() => (history.getRun(queued.runId)?.status === 'success' ? history.getRun(queued.runId) : undefined), 15_000, 'the queued run');
    expect(second).toMatchObject({ trigger: 'schedule' });
    expect(history.listRuns({ sync: SYNC, limit: 10 }).map((r) => r.run_id)).toEqual([queued.runId, first.runId]);
  });

  /**
   * Starts a run and queues a follow-up on a launcher whose state database turns read-only (a
   * failing database: writes fail at once, SQLITE_READONLY) once the run's first batch is done,
   * so that the run's end is not recorded and its lock not released; resolves once the launcher
   * has logged that it tries again.
   */
  async function runOnFailingDatabase() {
    const setup = await busyableLauncher();
    const launched: LaunchedRun[] = [];
    setup.launcher.onRun((run) => {
      launched.push(run);
      if (launched.length === 1) run.events.on('batch:done', () => setup.store.db.pragma('query_only = ON'));
    });
    const first = setup.launcher.trigger(SYNC, { trigger: 'api' });
    const queued = setup.launcher.trigger(SYNC, { trigger: 'api' });
    await waitFor(() => setup.log.length > 0, 10_000, 'a failed clean-up');
    expect(setup.log).toEqual([expect.stringMatching(new RegExp(`^warn: run ${first.runId} of ${SYNC} ended, but .*readonly database; trying again in 1 s`))]);
    expect(setup.history.getRun(first.runId)?.status).toBe('running');
    expect(setup.launcher.busy(SYNC)).toBe(true);
    return { ...setup, launched, first, queued };
  }

  it('records a run whose end a failing state database did not record as failed once it can, releases its lock, then runs the queued run', async () => {
    const { store, launcher, history, launched, first, queued } = await runOnFailingDatabase();
    store.db.pragma('query_only = OFF');
    await waitFor(() => history.getRun(queued.runId)?.status === 'success', 15_000, 'the queued run');
    expect(history.getRun(first.runId)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^the run stopped on an error of the state database \(.*readonly database\); the next run resumes from what was recorded$/),
    });
    expect(await launched[0]!.done).toHaveProperty('error');
    await waitFor(() => !launcher.busy(SYNC), 5_000, 'the sync to be idle');
    expect(store.readLock(SYNC)).toBeNull();
  });

  it('ends the retries of a lock release at once on stop', async () => {
    const { store, launcher, history, launched, first } = await runOnFailingDatabase();
    const stopping = Date.now();
    await launcher.stop();
    expect(Date.now() - stopping).toBeLessThan(500);
    expect(await launched[0]!.done).toHaveProperty('error');
    expect(launched).toHaveLength(1); // the queued run was dropped
    store.db.pragma('query_only = OFF');
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // past the next try
    // Left as they were: the next server marks the run interrupted; the lock frees itself.
    expect(history.getRun(first.runId)?.status).toBe('running');
    expect(store.readLock(SYNC)?.runId).toBe(first.runId);
  });

  it('keeps a scheduled run that meets the lock of another process queued, retried, and drops it at once on stop', async () => {
    const { store, launcher, history, log } = await busyableLauncher();
    const now = new Date().toISOString();
    store.db
      .prepare(`INSERT INTO locks (sync, run_id, owner, pid, host, acquired_at, renewed_at, expires_at) VALUES (?, 'relsewhere', 'f00d', 4242, 'another-host', ?, ?, ?)`)
      .run(SYNC, now, now, new Date(Date.now() + 60_000).toISOString());
    const scheduled = launcher.trigger(SYNC, { trigger: 'schedule' });
    expect(scheduled.queued).toBe(true);
    // An API trigger while it waits joins it.
    expect(launcher.trigger(SYNC, { trigger: 'api' })).toEqual(scheduled);
    await waitFor(() => log.length >= 2, 5_000, 'a second try');
    expect(log[1]).toMatch(new RegExp(`^warn: run ${scheduled.runId} of ${SYNC} could not start: another process holds its run lock: run relsewhere .*; trying again in 2 s$`));
    const stopping = Date.now();
    await launcher.stop();
    expect(Date.now() - stopping).toBeLessThan(500);
    expect(launcher.busy(SYNC)).toBe(false);
    store.db.prepare('DELETE FROM locks').run();
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // past the next try
    expect(history.listRuns({ sync: SYNC, limit: 10 })).toEqual([]);
    expect(log).toHaveLength(2);
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
