/**
 * A run's options (full resync, reset-cdc) are kept with the run: recorded by runSync, read back in
 * the run history (`options`), marked in `panelsync runs`, and a state database made before they
 * were kept upgrades with its old runs read as normal runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunsJson } from '../../src/cli/runs-command.ts';
import { MIGRATIONS } from '../../src/state/migrations.ts';
import { SqliteRunHistory } from '../../src/state/sqlite-run-history.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { onlyJson, panelsync } from '../debugger/cli-capture.ts';
import { createChinookProject, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { runProject, SYNC } from '../helpers/run-helpers.ts';

describe("a run's options", () => {
  let chinook: ChinookProject | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await chinook?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    chinook = dir = undefined;
  });

  it('are recorded with each run and marked in `panelsync runs`', async () => {
    chinook = await createChinookProject();
    const normal = (await runProject(chinook)).summary.run_id;
    const full = (await runProject(chinook, { fullResync: true })).summary.run_id;
    const reset = (await runProject(chinook, { resetCdc: true })).summary.run_id;
    const cli = (...args: string[]) => panelsync(chinook!.dir, args, { UI_API_KEY: TEST_API_KEY });

    const { runs } = onlyJson<RunsJson>(await cli('runs', '--json'));
    expect(runs.map((r) => [r.run_id, r.options])).toEqual([
      [reset, { full_resync: false, reset_cdc: true }],
      [full, { full_resync: true, reset_cdc: false }],
      [normal, { full_resync: false, reset_cdc: false }],
    ]);

    const { code, stdout } = await cli('runs');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[1]).toMatch(/^ {2}RUN +SYNC +STATUS +TRIGGER +STARTED \(UTC\)/);
    const trigger = (line: string) => line.slice(lines[1]!.indexOf('TRIGGER'), lines[1]!.indexOf('STARTED')).trimEnd();
    expect(lines[2]).toContain(reset);
    expect(trigger(lines[2]!)).toBe('manual +reset-cdc');
    expect(lines[3]).toContain(full);
    expect(trigger(lines[3]!)).toBe('manual +full-resync');
    expect(lines[4]).toContain(normal);
    expect(trigger(lines[4]!)).toBe('manual');
    // The started time starts right after the trigger column on every line.
    for (const line of lines.slice(2, 5)) expect(line.slice(lines[1]!.indexOf('STARTED'))).toMatch(/^\d{4}-\d\d-\d\d /);
  });

  it('read as none for runs stored before they were kept (a state database of schema version 3, upgraded)', () => {
    dir = mkdtempSync(join(tmpdir(), 'panelsync-options-'));
    const path = join(dir, 'state.db');
    const old = new Database(path);
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const migration of MIGRATIONS.filter((m) => m.version <= 3)) {
      old.exec(migration.sql);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(migration.version, migration.name, '2026-01-01T00:00:00.000Z');
    }
    old.prepare(`INSERT INTO runs (id, sync, trigger, status, started_at, finished_at) VALUES ('rold', ?, 'manual', 'success', ?, ?)`).run(
      SYNC,
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:01.000Z',
    );
    old.close();

    const store = new SqliteStateStore(path);
    try {
      const history = new SqliteRunHistory(store.db);
      expect(history.getRun('rold')).toMatchObject({ run_id: 'rold', status: 'success', options: { full_resync: false, reset_cdc: false } });
      store.startRun({ id: 'rnew', sync: SYNC, trigger: 'api', startedAt: '2026-01-02T00:00:00.000Z', options: { full_resync: true, reset_cdc: false } });
      expect(history.listRuns().map((r) => [r.run_id, r.options])).toEqual([
        ['rnew', { full_resync: true, reset_cdc: false }],
        ['rold', { full_resync: false, reset_cdc: false }],
      ]);
      expect(store.db.prepare('SELECT max(version) FROM schema_migrations').pluck().get()).toBeGreaterThanOrEqual(4);
    } finally {
      store.close();
    }
  });
});
