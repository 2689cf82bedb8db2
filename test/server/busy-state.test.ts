/**
 * `panelsync serve` when the state database is busy for longer than its busy_timeout (a second
 * connection holding its write lock) or a sync's run lock is held by another process: the server
 * starts and answers, and a scheduled run that cannot start waits, queued, and is tried again
 * until it runs, instead of being skipped to its next slot (a day later for a daily cron); a
 * trigger meanwhile joins it rather than starting a second run.
 */
import Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCron } from '../../src/scheduler/sync-schedule.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { createChinookProject, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { apiClient, ManualClock, startTestServer, waitFor, writeServerProject } from './server-fixture.ts';
import { WriteLockHolder } from './write-lock-holder.ts';

const DAILY = '0 6 * * *';

describe('panelsync serve with a busy state database or a sync locked elsewhere', () => {
  let chinook: ChinookProject | undefined;
  let server: Awaited<ReturnType<typeof startTestServer>> | undefined;
  let holder: WriteLockHolder | undefined;
  afterEach(async () => {
    await server?.close();
    await holder?.close();
    await chinook?.close();
    chinook = server = holder = undefined;
  });

  type Run = { run_id: string; trigger: string; status: string };
  const runsOf = async (api: ReturnType<typeof apiClient>): Promise<Run[]> => (await api(`/api/v1/syncs/${SYNC}/runs?limit=100`)).body.runs;

  /** A server on a project whose sync runs daily at 06:00 (never ran), with a clock moved by hand; `slot` is its first 06:00. */
  async function dailyServer() {
    chinook = await createChinookProject();
    writeServerProject(chinook, { cron: DAILY });
    const clock = new ManualClock(Date.now());
    server = await startTestServer(chinook, { clock });
    const slot = parseCron(DAILY).nextRun(new Date(clock.now()))!.getTime();
    return { chinook, server, api: apiClient(server.url), clock, slot, statePath: join(chinook.dir, 'state/state.db') };
  }

  /** Asserts that the sync's scheduled run waits, queued (not running), and that a trigger joins it; returns its id. */
  async function expectScheduledRunQueued(api: ReturnType<typeof apiClient>): Promise<string> {
    expect((await api(`/api/v1/syncs/${SYNC}`)).body).toMatchObject({ running: null, queued: true });
    const joined = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' });
    expect(joined.status).toBe(202);
    expect(joined.body.queued).toBe(true);
    expect((await api(`/api/v1/runs/${joined.body.run_id}`)).body).toMatchObject({ status: 'queued', trigger: 'schedule' });
    return joined.body.run_id as string;
  }

  /** Asserts that run `runId` runs: the sync's only run, trigger `schedule`; the sync is next due at the slot after `slot`. */
  async function expectRanOnce(api: ReturnType<typeof apiClient>, runId: string, slot: number): Promise<void> {
    await waitFor(async () => (await runsOf(api)).some((r) => r.status === 'success'), 15_000, 'the scheduled run');
    expect((await runsOf(api)).map((r) => [r.run_id, r.trigger, r.status])).toEqual([[runId, 'schedule', 'success']]);
    expect((await api(`/api/v1/syncs/${SYNC}`)).body.next_run_at).toBe(parseCron(DAILY).nextRun(new Date(slot))!.toISOString());
  }

  it('retries a scheduled run that meets a state database busy for over 5 s, and answers meanwhile', async () => {
    const { server, api, clock, slot, statePath } = await dailyServer();
    holder = await WriteLockHolder.open(statePath, 7_000);
    holder.take();
    // The scheduler fires; taking the run lock fails after busy_timeout (5 s). The next try is 1 s later.
    clock.advanceTo(slot + 5);
    expect((await api('/api/v1/healthz', { token: null })).body).toEqual({ status: 'ok' });
    const runId = await expectScheduledRunQueued(api);
    expect(server.log).toContainEqual(
      expect.stringMatching(new RegExp(`^run ${runId} of ${SYNC} could not start: its run lock could not be taken: database is locked; trying again in 1 s$`)),
    );
    await expectRanOnce(api, runId, slot);
  });

  it('retries a scheduled run that meets the live lock of another process (a server restarted within the lease) until it is released', async () => {
    const { server, api, clock, slot, statePath } = await dailyServer();
    const db = new Database(statePath);
    try {
      const now = new Date().toISOString();
      const lease = new Date(Date.now() + 60_000).toISOString();
      db.prepare(
        `INSERT INTO locks (sync, run_id, owner, pid, host, pid_namespace, acquired_at, renewed_at, expires_at)
         VALUES (?, 'rbefore', 'f00dfeed', 4242, ?, NULL, ?, ?, ?)`,
      ).run(SYNC, `not-${hostname()}`, now, now, lease);
      clock.advanceTo(slot + 5);
      const runId = await expectScheduledRunQueued(api);
      expect(server.log).toContainEqual(expect.stringContaining(`run ${runId} of ${SYNC} could not start: another process holds its run lock: run rbefore (pid 4242`));
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // a try or two more
      expect(await runsOf(api)).toEqual([]);
      db.prepare('DELETE FROM locks WHERE sync = ?').run(SYNC);
      await expectRanOnce(api, runId, slot);
    } finally {
      db.close();
    }
  });

  it('starts while the state database is busy for over 5 s, and answers', async () => {
    chinook = await createChinookProject();
    writeServerProject(chinook);
    const statePath = join(chinook.dir, 'state/state.db');
    new SqliteStateStore(statePath).close(); // created, as by an earlier run
    holder = await WriteLockHolder.open(statePath, 6_000);
    holder.take();
    server = await startTestServer(chinook);
    expect((await apiClient(server.url)('/api/v1/healthz', { token: null })).body).toEqual({ status: 'ok' });
    expect(server.log).toEqual([expect.stringMatching(`^could not mark runs of ${SYNC} left running by a stopped process as interrupted: database is locked; its next run will$`)]);
  });
});
