/**
 * The run lock is a lease: a random owner token and an expiry that the running run's heartbeat
 * renews. A holder that stopped renewing loses the lock when its lease runs out, whatever its pid
 * (a restarted container gets pid 1 again); a holder on this host whose process is gone loses it at
 * once; a live lease refuses other runs with a message saying who holds it, since when, and how to
 * break it (`panelsync unlock`).
 */
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { SYNC, runProject, writeCalls } from '../helpers/run-helpers.ts';
import { createPeopleProject, runCli, type PeopleProject } from '../engine/people-project.ts';

/** This process's pid namespace, as the store records it (Linux), else null. */
const PID_NAMESPACE = (() => {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
})();
/** A lease and heartbeat short enough for a test to outlast the lease many times over. */
const SHORT = { lockLeaseMs: 600, lockHeartbeatMs: 100 };

/** Writes a lock row for SYNC as another process would have left it. */
function writeLock(
  store: SqliteStateStore,
  lock: { runId: string; pid: number; host?: string; pidNamespace?: string | null; acquiredAt?: string; expiresAt: string | null; owner?: string | null },
): void {
  store.db
    .prepare(
      `INSERT OR REPLACE INTO locks (sync, run_id, owner, pid, host, pid_namespace, acquired_at, renewed_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      SYNC,
      lock.runId,
      lock.owner === undefined ? 'a1b2c3' : lock.owner,
      lock.pid,
      lock.host ?? hostname(),
      lock.pidNamespace === undefined ? PID_NAMESPACE : lock.pidNamespace,
      lock.acquiredAt ?? '2020-01-01T00:00:00.000Z',
      lock.expiresAt === null ? null : lock.acquiredAt ?? '2020-01-01T00:00:00.000Z',
      lock.expiresAt,
    );
}

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe('the run lock (a lease renewed by a heartbeat)', () => {
  let p: PeopleProject | undefined;
  let store: SqliteStateStore | undefined;
  afterEach(async () => {
    store?.close();
    await p?.close();
    p = store = undefined;
  });

  async function project(rows = 3, latencyMs = 0): Promise<{ p: PeopleProject; store: SqliteStateStore }> {
    p = await createPeopleProject({ rows, destination: { batch_size: 5, concurrency: 1 }, emulator: { latencyMs } });
    store = new SqliteStateStore(join(p.dir, 'state', 'state.db'), SHORT);
    return { p, store };
  }

  it('takes over a lock whose lease ran out although its pid is alive on this host (a pid reused after a restart)', async () => {
    const { p, store } = await project();
    // process.ppid (the vitest main process) is alive here: the old rule trusted this lock forever.
    writeLock(store, { runId: 'rdead', pid: process.ppid, expiresAt: '2020-01-01T00:01:00.000Z' });
    const run = await runProject(p, { store });
    expect(run.summary.status).toBe('success');
    expect(store.readLock(SYNC)).toBeNull(); // released at the end
  });

  it('takes over at once a lock recorded under this very pid that this process did not take (pid 1 of a restarted container)', async () => {
    const { p, store } = await project();
    writeLock(store, { runId: 'rbefore', pid: process.pid, acquiredAt: new Date().toISOString(), expiresAt: inSeconds(60) });
    expect((await runProject(p, { store })).summary.status).toBe('success');
  });

  it('takes over a lock left by a version without leases once one lease has passed since it was taken', async () => {
    const { p, store } = await project();
    // As the review reproduced it: pid 1 is alive on this host.
    writeLock(store, { runId: 'rlegacy', pid: 1, owner: null, pidNamespace: null, expiresAt: null, acquiredAt: '2020-01-01T00:00:00Z' });
    expect((await runProject(p, { store })).summary.status).toBe('success');
  });

  it('refuses while another run holds a live lease, saying which run, since when and how to break it', async () => {
    const { p, store } = await project();
    // Another host: its pid cannot be looked up, the lease decides.
    writeLock(store, { runId: 'rother', pid: 4242, host: 'worker-7', acquiredAt: '2020-03-01T10:00:00.000Z', expiresAt: inSeconds(45) });
    const refused = runProject(p, { store });
    await expect(refused).rejects.toMatchObject({ code: 'SYNC_ALREADY_RUNNING' });
    const message = ((await refused.catch((e: unknown) => e)) as Error).message;
    expect(message).toContain('run rother (pid 4242 on host worker-7) has held it since 2020-03-01T10:00:00.000Z');
    expect(message).toMatch(/its heartbeat last renewed the lease \d+ s ago, until \S+ \(in 4\d s\)/);
    expect(message).toContain('panelsync unlock customers-to-panel');
    expect(await p.stats()).toEqual({}); // nothing was called
  });

  it('renews the lease from its own thread while the run lasts, even while the run blocks its event loop, and releases it at the end', async () => {
    const { p, store } = await project(20, 60);
    const other = new SqliteStateStore(join(p.dir, 'state', 'state.db'), SHORT);
    try {
      const running = runProject(p, { store });
      await new Promise((resolve) => setTimeout(resolve, 150));
      const first = other.readLock(SYNC)!;
      expect(first).toMatchObject({ sync: SYNC, pid: process.pid, host: hostname(), owner: expect.stringMatching(/^[0-9a-f]{32}$/) });
      // Block this thread (the run's) for twice the lease: only a heartbeat on another thread keeps it.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2 * SHORT.lockLeaseMs);
      const after = other.readLock(SYNC)!;
      expect(after.owner).toBe(first.owner);
      expect(Date.parse(after.expiresAt)).toBeGreaterThan(Date.now());
      expect(Date.parse(after.renewedAt!)).toBeGreaterThan(Date.parse(first.renewedAt!));
      expect(other.acquireLock(SYNC, 'rintruder')).toMatchObject({ ok: false, heldBy: first.runId });
      const run = await running;
      expect(run.summary).toMatchObject({ status: 'success', rows: { added: 20 } });
      expect(other.readLock(SYNC)).toBeNull();
    } finally {
      other.close();
    }
  });

  it('stops sending when its lock is broken mid-run (panelsync unlock --force) and ends failed; the next run completes', async () => {
    // 40 batches of 5, one at a time, 400 ms each: far longer than the unlock command takes to start.
    const { p, store } = await project(200, 400);
    const running = runProject(p, { store });
    const forced = await runCli(['unlock', SYNC, '--project', p.dir, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^broke the lock of sync "customers-to-panel": run r\S+ \(pid \d+ on host .+\) has held it since .*--force/);
    const run = await running;
    expect(run.summary.status).toBe('failed');
    expect(run.summary.error).toMatch(/^the run lock was broken \(panelsync unlock\) or taken over .*; this run stopped sending/);
    expect(writeCalls(run.calls).length).toBeLessThan(40);
    await p.knobs({ latency_ms: 0 });
    const next = await runProject(p, { store });
    const acknowledged = run.summary.succeeded.added;
    // A batch answered after the lock was lost is not recorded by the losing run: in doubt, settled
    // by the next run (found in the panel: sent again as changed), never counted as unchanged.
    expect(next.summary).toMatchObject({ status: 'success', rows: { unchanged: acknowledged } });
    expect(next.summary.rows.added + next.summary.rows.changed).toBe(200 - acknowledged);
    expect(await p.participants()).toHaveLength(200);
  });

  it('panelsync unlock: not locked, a lease that ran out, a holder gone from this host, an unknown sync', async () => {
    const { p, store } = await project();
    expect(await runCli(['unlock', SYNC, '--project', p.dir])).toEqual({ code: 0, stdout: `sync "${SYNC}" is not locked.\n`, stderr: '' });

    // A live lease on another host: refused, saying who holds it and how to force it.
    writeLock(store, { runId: 'rlive', pid: 4242, host: 'worker-7', acquiredAt: new Date().toISOString(), expiresAt: inSeconds(50) });
    const live = await runCli(['unlock', SYNC, '--project', p.dir]);
    expect(live).toMatchObject({ code: 1, stdout: '' });
    expect(live.stderr).toMatch(/^error: sync "customers-to-panel" is locked: run rlive \(pid 4242 on host worker-7\) has held it since .*its heartbeat last renewed the lease \d+ s ago, until/);
    expect(live.stderr).toContain('panelsync unlock customers-to-panel --force');
    expect(store.readLock(SYNC)).toMatchObject({ runId: 'rlive' });

    writeLock(store, { runId: 'rexpired', pid: 4242, host: 'worker-7', expiresAt: '2020-01-01T00:01:00.000Z' });
    const expired = await runCli(['unlock', SYNC, '--project', p.dir]);
    expect(expired.code).toBe(0);
    expect(expired.stdout).toMatch(/^broke the lock of sync "customers-to-panel": run rexpired \(pid 4242 on host worker-7\) .* its lease ran out at 2020-01-01T00:01:00.000Z .*; its run stopped renewing it \(its process is gone or stuck\)\.\n$/);
    expect(store.readLock(SYNC)).toBeNull();

    // A pid that no process has on this host (beyond the kernel's pid_max of 2^22).
    writeLock(store, { runId: 'rgone', pid: 2 ** 22 + 1, acquiredAt: new Date().toISOString(), expiresAt: inSeconds(50) });
    const gone = await runCli(['unlock', SYNC, '--project', p.dir]);
    expect(gone.stdout).toContain(`its process (pid ${2 ** 22 + 1}) is no longer running on this host`);
    expect(store.readLock(SYNC)).toBeNull();

    expect(await runCli(['unlock', 'nope', '--project', p.dir])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown sync "nope" (known: customers-to-panel)') });
  });
});
