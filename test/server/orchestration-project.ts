/**
 * A project of several small syncs for run-after chains and inbound webhooks, served over
 * loopback against the emulator: each sync's model is `rows` generated people with emails of its
 * own (`{sync}-{i}@example.com`); a sync on destination `refused` sends with an API key the
 * emulator refuses (401), so its every run fails at once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadProject } from '../../src/config/load-project.ts';
import { startServer } from '../../src/server/start-server.ts';
import { createChinookProject, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { apiClient, ENV, waitFor } from './server-fixture.ts';

export const HOOK_SECRET = 'hook-secret-4b9e21c7d05a';
export const DBT_SECRET = 'dbt-cloud-secret-77aa0c31e5';
const PROJECT_ENV = { ...ENV, HOOK_SECRET, DBT_SECRET };

/** A sync of the test project: its destination (default `panel`) and schedule. */
export interface TestSync {
  destination?: 'panel' | 'refused';
  schedule?: Record<string, unknown>;
}

/** Writes the project (syncs, hooks) into a new Chinook project's directory and serves it. */
export async function serveOrchestration(syncs: Record<string, TestSync>, hooks: Record<string, unknown> = {}) {
  const chinook: ChinookProject = await createChinookProject();
  const destination = (apiKey: string) => ({ type: 'user-interviews', api_key: apiKey, environment: 'sandbox', base_url: chinook.emulator.apiUrl, late_write_ms: 0 });
  const project = {
    version: 1,
    state: 'state/state.db',
    sources: { db: { type: 'sqlite', path: 'chinook.sqlite' } },
    destinations: { panel: destination('${UI_API_KEY}'), refused: destination('a-key-the-emulator-refuses') },
    models: Object.fromEntries(
      Object.keys(syncs).map((name) => [
        name,
        {
          source: 'db',
          primary_key: 'id',
          sql: `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i AS id, '${name}-' || i || '@example.com' AS email FROM n`,
        },
      ]),
    ),
    syncs: Object.fromEntries(
      Object.entries(syncs).map(([name, sync]) => [
        name,
        { model: name, destination: sync.destination ?? 'panel', match: 'email', ...(sync.schedule ? { schedule: sync.schedule } : {}) },
      ]),
    ),
    server: { api_token: '${PANELSYNC_API_TOKEN}' },
    ...(Object.keys(hooks).length > 0 ? { hooks } : {}),
  };
  writeFileSync(join(chinook.dir, 'panelsync.yml'), stringify(project));
  const server = await startServer({ project: await loadProject({ projectDir: chinook.dir, env: PROJECT_ENV }), port: 0 });
  const seen: string[] = [];
  const api = apiClient(server.url, seen);
  return {
    chinook,
    server,
    api,
    /** Every body the API answered (none may hold a secret). */
    seen,
    /** The runs of `sync`, newest first. */
    runs: async (sync: string) => (await api(`/api/v1/syncs/${sync}/runs`)).body.runs as Array<Record<string, any>>,
    /** Waits until `sync` has `count` runs that ended, and returns them, newest first. */
    ended: (sync: string, count = 1) =>
      waitFor(async () => {
        const runs = (await api(`/api/v1/syncs/${sync}/runs`)).body.runs as Array<Record<string, any>>;
        return runs.filter((r) => r.status !== 'running').length >= count ? runs : undefined;
      }, 20_000, `${count} ended run(s) of ${sync}`),
    async close() {
      await server.close();
      await chinook.close();
      for (const body of seen) for (const secret of [TEST_API_KEY, HOOK_SECRET, DBT_SECRET]) if (body.includes(secret)) throw new Error(`a response held a secret: ${body}`);
    },
  };
}
