/**
 * The triggers for when something goes quiet or changes size, end to end with a real webhook
 * receiver (./fake-services.ts) and the emulator: a full resync's notice and its end; a volume
 * change against the median of the last runs; an empty model (the mass-delete guard's failed run
 * included) and its recovery; and, in `panelsync serve`, a schedule missed while the server was
 * down (found at start-up) and one missed because the run lock is held elsewhere (found on the
 * timer), each cleared when a run starts. One notice per change of state.
 */
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchRun } from '../../src/alerts/index.ts';
import { loadProject, type Project } from '../../src/config/load-project.ts';
import { SyncEvents } from '../../src/engine/events.ts';
import { runSync } from '../../src/engine/run-sync.ts';
import { startServer } from '../../src/server/start-server.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { CHINOOK_SQLITE_MODEL, createChinookProject, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { waitFor } from '../server/server-fixture.ts';
import { startFakeWebhook, type FakeService } from './fake-services.ts';

const HOOK_TOKEN = 'h00k-t0ken-quiet-7c2d';
const ENV = { UI_API_KEY: TEST_API_KEY, HOOK_TOKEN, PANELSYNC_API_TOKEN: 'test-api-token-quiet-91ab' };

describe('alerts when something goes quiet', () => {
  let chinook: ChinookProject;
  let webhook: FakeService<Record<string, unknown>>;

  beforeEach(async () => {
    [chinook, webhook] = await Promise.all([createChinookProject(), startFakeWebhook(HOOK_TOKEN)]);
  });
  afterEach(async () => {
    await Promise.all([chinook.close(), webhook.close()]);
    expect(webhook.invalid).toEqual([]);
  });

  /** Writes the webhook channel and `rules` as the sync's alerts (and `extra` at the top level). */
  let rewrite = () => {};
  const writeAlerts = (rules: Record<string, unknown>, sync: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => {
    rewrite = () => writeAlerts(rules, sync, extra);
    const file = join(chinook.dir, 'panelsync.yml');
    const config = parse(readFileSync(file, 'utf8')) as Record<string, any>;
    config.alerts = {
      channels: { hook: { type: 'webhook', url: `${webhook.origin}/hooks/panelsync`, headers: { 'X-Token': '${HOOK_TOKEN}' } } },
      delivery: { max_attempts: 2, retry_backoff_ms: 20, timeout_ms: 5_000 },
    };
    Object.assign(config.syncs[SYNC], sync, { alerts: { recipients: [{ channel: 'hook', levels: ['warning', 'critical'] }], ...rules } });
    writeFileSync(file, stringify({ ...config, ...extra }));
  };
  /** Rewrites the model's SQL (the helper rewrites the whole file: the alerts are written again). */
  const writeModel = (sql: string) => {
    chinook.writeModel(sql);
    rewrite();
  };
  const load = (): Promise<Project> => loadProject({ projectDir: chinook.dir, env: ENV });
  /** The notices the webhook got of `triggers`, as [kind, trigger, level]. */
  const notices = (...triggers: string[]) =>
    webhook.received.map((r) => r.body).filter((n) => triggers.includes(n.trigger as string)).map((n) => [n.kind, n.trigger, n.level]);

  /** Runs the sync in-process with alerts watching, as `panelsync run` does, and waits for the notices. */
  const run = async (options: { fullResync?: boolean } = {}) => {
    const project = await load();
    const store = new SqliteStateStore(project.statePath);
    const events = new SyncEvents();
    const watcher = watchRun({ project, store, events, log: () => {} });
    try {
      const summary = await runSync({ project, sync: SYNC, events, store, ...options });
      await watcher.settled();
      return summary;
    } finally {
      watcher.stop();
      store.close();
    }
  };

  it('tells of a full resync, a volume change and an empty model, once per change, and of each recovery', async () => {
    writeAlerts({ full_resync: { level: 'warning' }, volume_change: { share: 0.5, runs: 2 }, empty_model: {} });
    const triggers = ['full_resync', 'volume_change', 'empty_model'];
    expect((await run()).rows.queried).toBe(59);
    expect(notices(...triggers)).toEqual([]);

    const resync = await run({ fullResync: true });
    const [started, ended] = webhook.received.map((r) => r.body);
    expect(notices(...triggers)).toEqual([['alert', 'full_resync', 'warning'], ['recovery', 'full_resync', 'warning']]);
    expect(started).toMatchObject({ sync: SYNC, from: 'ok', to: 'warning', run: null, reason: expect.stringContaining('a full resync started: every row') });
    expect(ended).toMatchObject({ to: 'ok', run: { id: resync.run_id, status: 'success' } });

    writeModel(`${CHINOOK_SQLITE_MODEL} LIMIT 10`);
    expect((await run()).status).toBe('success');
    expect(notices(...triggers).slice(2)).toEqual([['alert', 'volume_change', 'warning']]);
    expect(webhook.received.at(-1)!.body.reason).toBe(
      'the model returned 10 rows; the median of the last 2 completed runs is 59 (83.1% away; alert above 50%)',
    );

    // The mass-delete guard stops the run; the empty model is told (and the failed run, by its own trigger).
    writeModel(`${CHINOOK_SQLITE_MODEL} LIMIT 0`);
    const empty = await run();
    expect(empty).toMatchObject({ status: 'failed', model_read: true, rows: { queried: 0 } });
    expect(notices(...triggers).slice(3)).toEqual([['alert', 'empty_model', 'critical']]);
    expect(notices('failed_run')).toEqual([['alert', 'failed_run', 'critical']]);
    // Still empty: no second notice.
    await run();
    expect(notices(...triggers)).toHaveLength(4);

    writeModel(CHINOOK_SQLITE_MODEL);
    await run();
    expect(notices(...triggers).slice(4)).toEqual([['recovery', 'empty_model', 'critical']]);
  });

  it('tells serve of a schedule missed while it was down and of one a held run lock keeps from starting, each cleared by a run', async () => {
    writeAlerts({ missed_schedule: { grace_minutes: 0.02, level: 'critical' } }, { schedule: { interval: '2s' } }, { server: { api_token: '${PANELSYNC_API_TOKEN}' } });
    const first = await run();
    const db = new Database(join(chinook.dir, 'state', 'state.db'));
    try {
      // The last run started an hour ago, and no server ran since.
      db.prepare('UPDATE runs SET started_at = ? WHERE id = ?').run(new Date(Date.now() - 3_600_000).toISOString(), first.run_id);
      const server = await startServer({ project: await load(), port: 0, log: () => {} });
      try {
        await waitFor(() => notices('missed_schedule').length === 2, 15_000, 'the missed schedule and its recovery');
        expect(notices('missed_schedule')).toEqual([['alert', 'missed_schedule', 'critical'], ['recovery', 'missed_schedule', 'critical']]);
        expect(webhook.received[0]!.body).toMatchObject({ run: null, reason: expect.stringMatching(/^no scheduled run started since it was due at \d\d:\d\d:\d\d UTC on \d+ \w+ \d{4} \(grace 0\.02 min\); its last run started at \d\d:\d\d:\d\d UTC on /) });

        // Another host holds the run lock with a live lease: the next scheduled run cannot start.
        const now = Date.now();
        db.prepare(
          `INSERT OR REPLACE INTO locks (sync, run_id, pid, host, acquired_at, owner, renewed_at, expires_at, pid_namespace)
           VALUES (?, 'r-elsewhere', 4242, 'another-host', ?, 'feed', ?, ?, NULL)`,
        ).run(SYNC, new Date(now).toISOString(), new Date(now).toISOString(), new Date(now + 600_000).toISOString());
        await waitFor(() => notices('missed_schedule').length === 3, 15_000, 'the schedule missed behind the lock');
        expect(webhook.received.at(-1)!.body.reason).toMatch(/its run lock is held by pid 4242 on host another-host until \d\d:\d\d:\d\d UTC on .*panelsync unlock customers-to-panel/);
        expect(hostname()).not.toBe('another-host');
        db.prepare('DELETE FROM locks WHERE run_id = ?').run('r-elsewhere');
        await waitFor(() => notices('missed_schedule').length === 4, 15_000, 'the recovery once a run started');
        expect(notices('missed_schedule').at(-1)).toEqual(['recovery', 'missed_schedule', 'critical']);
      } finally {
        await server.close();
      }
    } finally {
      db.close();
    }
  });

  it('refuses missed_schedule on a sync without a schedule, naming the key', async () => {
    writeAlerts({ missed_schedule: { grace_minutes: 5 } });
    await expect(load()).rejects.toThrow(/syncs\.customers-to-panel\.alerts\.missed_schedule: this sync has no schedule/);
  });
});
