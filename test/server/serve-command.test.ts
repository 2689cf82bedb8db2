/**
 * `panelsync serve` as a process: it prints where it listens, and SIGTERM mid-run lets the batch
 * in flight finish, records the run `interrupted`, exits 0; the next run sends the rest.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { SqliteRunHistory } from '../../src/state/sqlite-run-history.ts';
import { createChinookProject, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { API_TOKEN, apiClient, spawnServe, waitFor, writeServerProject } from './server-fixture.ts';

describe('panelsync serve (process)', () => {
  let chinook: ChinookProject | undefined;
  let stopChild: (() => void) | undefined;
  afterEach(async () => {
    stopChild?.();
    await chinook?.close();
    chinook = stopChild = undefined;
  });

  it('on SIGTERM mid-run finishes the batch in flight, records the run interrupted, exits 0; the next run completes it', async () => {
    // 59 rows in batches of 5, one at a time, 250 ms per call: about 3 s of sending.
    chinook = await createChinookProject({ destination: { batch_size: 5, concurrency: 1 } });
    writeServerProject(chinook);
    await chinook.knobs({ latency_ms: 250 });
    const serve = await spawnServe(chinook);
    stopChild = () => serve.child.kill('SIGKILL');
    expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const api = apiClient(serve.url);

    const trigger = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' });
    expect(trigger.status).toBe(202);
    const runId = trigger.body.run_id as string;
    await waitFor(async () => (await api(`/api/v1/runs/${runId}`)).body.outcomes.succeeded >= 10, 15_000, 'two batches');

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    const stderr = serve.stderr();
    expect(stderr).toContain(`run ${runId} of ${SYNC} started (api)`);
    expect(stderr).toContain(`run ${runId} of ${SYNC} ended interrupted`);
    expect(stderr).not.toContain(TEST_API_KEY);
    expect(stderr).not.toContain(API_TOKEN);

    const opened = SqliteRunHistory.open(`${chinook.dir}/state/state.db`)!;
    const run = opened.history.getRun(runId)!;
    opened.close();
    expect(run.status).toBe('interrupted');
    const sent = run.summary!.succeeded.added;
    expect(sent).toBeGreaterThanOrEqual(10);
    expect(sent).toBeLessThan(59);
    expect(sent % 5).toBe(0); // whole batches: the one in flight finished
    // Exactly what the run recorded as sent reached User Interviews.
    expect(await chinook.participants()).toHaveLength(sent);

    // The next run, through a new server, sends the rest.
    await chinook.knobs({ latency_ms: 0 });
    const again = await spawnServe(chinook);
    stopChild = () => again.child.kill('SIGKILL');
    const api2 = apiClient(again.url);
    const nextId = (await api2(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' })).body.run_id as string;
    const next = await waitFor(async () => {
      const detail = (await api2(`/api/v1/runs/${nextId}`)).body;
      return detail.status === 'running' ? undefined : detail;
    }, 15_000, 'the next run');
    expect(next.status).toBe('success');
    expect(next.summary.rows).toMatchObject({ queried: 59, added: 59 - sent, unchanged: sent });
    expect(await chinook.participants()).toHaveLength(59);
    again.child.kill('SIGINT');
    expect(await again.exited).toBe(0);
  });

  it('marks a run left running by a server that was killed as interrupted when it starts again', async () => {
    chinook = await createChinookProject({ destination: { batch_size: 5, concurrency: 1 } });
    writeServerProject(chinook);
    await chinook.knobs({ latency_ms: 250 });
    const killed = await spawnServe(chinook);
    stopChild = () => killed.child.kill('SIGKILL');
    const runId = (await apiClient(killed.url)(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' })).body.run_id as string;
    await waitFor(async () => (await apiClient(killed.url)(`/api/v1/runs/${runId}`)).body.outcomes.succeeded >= 5, 15_000, 'a batch');
    killed.child.kill('SIGKILL');
    await killed.exited;

    const serve = await spawnServe(chinook);
    stopChild = () => serve.child.kill('SIGKILL');
    const api = apiClient(serve.url);
    expect((await api(`/api/v1/runs/${runId}`)).body).toMatchObject({ status: 'interrupted', error: expect.stringContaining('stopped') });
    expect((await api('/api/v1/syncs')).body.syncs[0]).toMatchObject({ running: null, health: 'failed', last_run: { run_id: runId } });
  });

  it('refuses to start without server.api_token, saying what to add (exit 2)', async () => {
    chinook = await createChinookProject();
    vi.stubEnv('UI_API_KEY', TEST_API_KEY);
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (written.push(String(chunk)), true));
    let code: number;
    try {
      code = await main(['node', 'panelsync', 'serve', '--project', chinook.dir, '--port', '0']);
    } finally {
      spy.mockRestore();
      vi.unstubAllEnvs();
    }
    expect(code).toBe(2);
    expect(written.join('')).toContain('server.api_token: missing: panelsync serve needs an API token');
  });
});
