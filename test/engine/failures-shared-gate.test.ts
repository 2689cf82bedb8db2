/**
 * `panelsync serve` runs several syncs in one process. Syncs on one API account (base_url and
 * key) share one rate-limit gate: a `429 Retry-After` met by one run holds back the other's
 * requests too. Stopping the server while a run waits at that gate ends the wait at once.
 */
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { SYNC } from '../helpers/run-helpers.ts';
import { apiClient, startTestServer, waitFor, writeServerProject } from '../server/server-fixture.ts';
import { createPeopleProject, type PeopleProject } from './people-project.ts';

const OTHER_SYNC = 'people-copy-to-panel';

interface CallView {
  status: number | null;
  started_at: string;
  duration_ms: number;
}

let project: PeopleProject | undefined;
let server: Awaited<ReturnType<typeof startTestServer>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  await project?.close();
  project = undefined;
});

/** A people project for `serve` with a second sync, {@link OTHER_SYNC}, on the same destination. */
async function twoSyncProject(): Promise<PeopleProject> {
  project = await createPeopleProject({ rows: 5 });
  writeServerProject(project);
  const file = join(project.dir, 'panelsync.yml');
  const config = parse(readFileSync(file, 'utf8')) as { syncs: Record<string, unknown> };
  config.syncs[OTHER_SYNC] = structuredClone(config.syncs[SYNC]);
  writeFileSync(file, stringify(config));
  return project;
}

describe('panelsync serve: one rate-limit gate per API account', () => {
  it("a run waits out another run's 429 Retry-After on the same key", async () => {
    const p = await twoSyncProject();
    await p.knobs({ fail_next: [{ status: 429, retry_after: 2 }] });
    server = await startTestServer(p);
    const api = apiClient(server.url);
    const calls = async (runId: string): Promise<CallView[]> => (await api(`/api/v1/runs/${runId}/calls`)).body.calls;
    const finished = (runId: string) =>
      waitFor(async () => {
        const run = await api(`/api/v1/runs/${runId}`);
        return run.status === 200 && run.body.status !== 'running' ? run.body : undefined;
      }, 20_000, `run ${runId} to end`);

    const first = (await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' })).body.run_id as string;
    const limited = await waitFor(async () => (await calls(first)).find((c) => c.status === 429), 10_000, 'the 429');
    const limitedAt = Date.parse(limited.started_at) + limited.duration_ms;
    const second = (await api(`/api/v1/syncs/${OTHER_SYNC}/trigger`, { method: 'POST' })).body.run_id as string;

    expect((await finished(first)).status).toBe('success');
    expect((await finished(second)).status).toBe('success');
    const firstCalls = await calls(first);
    const secondCalls = await calls(second);
    expect(firstCalls.map((c) => c.status)).toEqual([429, 200]);
    expect(secondCalls.map((c) => c.status)).toEqual([200]);
    // Retry-After 2 s holds both runs; 150 ms of slack for the rounding of started_at and duration.
    expect(Date.parse(firstCalls[1]!.started_at) - limitedAt).toBeGreaterThanOrEqual(1_850);
    expect(Date.parse(secondCalls[0]!.started_at) - limitedAt).toBeGreaterThanOrEqual(1_850);
  });

  it('stopping the server while a run waits at the gate ends the wait at once; the run is recorded interrupted', async () => {
    const p = await twoSyncProject();
    await p.knobs({ fail_next: [{ status: 429, retry_after: 30 }] });
    server = await startTestServer(p);
    const api = apiClient(server.url);
    const runId = (await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' })).body.run_id as string;
    await waitFor(async () => ((await api(`/api/v1/runs/${runId}/calls`)).body.calls as CallView[]).some((c) => c.status === 429), 10_000, 'the 429');

    const t0 = Date.now();
    await server.close();
    server = undefined;
    expect(Date.now() - t0).toBeLessThan(5_000);
    const state = new Database(join(p.dir, 'state', 'state.db'), { readonly: true });
    try {
      expect(state.prepare('SELECT status FROM runs WHERE id = ?').pluck().get(runId)).toBe('interrupted');
    } finally {
      state.close();
    }
  });
});
