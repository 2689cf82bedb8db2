/**
 * Operator actions from a shell are in the audit log with token kind `cli`: the CLI (its `main`,
 * in-process: a child process per command takes seconds on a loaded machine) runs a full resync and
 * a reset CDC, refuses a full resync while another host holds the lock, and breaks (or refuses to
 * break) a run lock.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { SqliteAuditLog } from '../../src/state/sqlite-audit-log.ts';
import { createChinookProject, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';

describe('the audit log of CLI actions', () => {
  let chinook: ChinookProject;
  beforeEach(async () => {
    chinook = await createChinookProject();
    vi.stubEnv('UI_API_KEY', TEST_API_KEY);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    await chinook.close();
  });

  /** Runs `panelsync ARGS --project DIR`; returns its exit code and what it printed on stdout. */
  const cli = async (...args: string[]): Promise<{ code: number; stdout: string }> => {
    let stdout = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      return { code: await main(['node', 'panelsync', ...args, '--project', chinook.dir]), stdout };
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  };

  it('records full resyncs, reset CDCs and unlocks with their results; a plain run is no operator action', async () => {
    expect((await cli('run', SYNC, '--json')).code).toBe(0);
    const resync = JSON.parse((await cli('run', SYNC, '--full-resync', '--json')).stdout);
    const reset = JSON.parse((await cli('run', SYNC, '--reset-cdc', '--json')).stdout);
    expect((await cli('unlock', SYNC)).code).toBe(0);

    const db = new Database(join(chinook.dir, 'state', 'state.db'));
    try {
      const now = Date.now();
      db.prepare(
        `INSERT INTO locks (sync, run_id, pid, host, acquired_at, owner, renewed_at, expires_at, pid_namespace)
         VALUES (?, 'r-elsewhere', 4242, 'another-host', ?, 'feed', ?, ?, NULL)`,
      ).run(SYNC, new Date(now).toISOString(), new Date(now).toISOString(), new Date(now + 600_000).toISOString());
      expect((await cli('run', SYNC, '--full-resync', '--json')).code).toBe(1);
      expect((await cli('unlock', SYNC)).code).toBe(1);
      expect((await cli('unlock', SYNC, '--force')).code).toBe(0);

      const entries = new SqliteAuditLog(db).list();
      expect(entries.map((e) => [e.token_kind, e.action, e.sync, e.run_id, e.result])).toEqual([
        ['cli', 'unlock', SYNC, null, 'succeeded'],
        ['cli', 'unlock', SYNC, null, 'refused'],
        ['cli', 'full_resync', SYNC, null, 'refused'],
        ['cli', 'unlock', SYNC, null, 'succeeded'],
        ['cli', 'reset_cdc', SYNC, reset.run_id, 'started'],
        ['cli', 'full_resync', SYNC, resync.run_id, 'started'],
      ]);
      expect(entries[0]!.detail).toContain('broke the lock of run r-elsewhere (pid 4242 on host another-host)');
      expect(entries[2]!.detail).toContain('is already running');
      expect(entries[3]!.detail).toBe('the sync was not locked: nothing to break');
    } finally {
      db.close();
    }
  });
});
