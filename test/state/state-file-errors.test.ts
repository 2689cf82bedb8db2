/**
 * A state database that cannot be used (issue 11, item 15), through the real CLI: a read-only
 * file is named with the fix, without a stack trace, and leaves no read-only `-wal`/`-shm` that
 * would keep failing once the file is fixed; a damaged file is named, with what to do.
 * File permissions do not bind root: as root, the CLI runs as `nobody`.
 */
import { chmodSync, chownSync, closeSync, existsSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProject, SYNC } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, runCli } from '../engine/people-project.ts';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

/** Runs the CLI as `nobody` when the tests run as root (so that file permissions apply), else as this user. */
const cli = (args: string[]) => runCli(args, asRoot ? { uid: NOBODY, gid: NOBODY } : {});

/** Gives the project's folder to `nobody` when running as root. */
function handOver(dir: string): void {
  if (!asRoot) return;
  const walk = (path: string) => {
    chownSync(path, NOBODY, NOBODY);
    if (statSync(path).isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
}

const start = peopleProjectPerTest();

describe('a state database that cannot be used', () => {
  it('read-only: names the file and the fix, prints no stack trace, and works once the file is made writable', async () => {
    const project = await start({ rows: 2 });
    const state = join(project.dir, 'state', 'state.db');
    expect((await runProject(project)).summary.status).toBe('success');
    handOver(project.dir);
    chmodSync(state, 0o444);
    project.db.prepare(`UPDATE people SET first_name = 'Changed' WHERE id = 1`).run();

    const refused = await cli(['run', SYNC, '--project', project.dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`the state database ${state} is read-only`);
    expect(refused.stderr).toContain(`chmod u+w ${state}`);
    expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(refused.stderr).not.toContain('releaseLock');
    // No read-only companions were created that would keep failing after the fix.
    expect(existsSync(`${state}-shm`)).toBe(false);
    expect(existsSync(`${state}-wal`)).toBe(false);

    const json = await cli(['run', SYNC, '--project', project.dir, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'STATE_FILE_READ_ONLY' } });

    chmodSync(state, 0o644);
    const fixed = await cli(['run', SYNC, '--project', project.dir, '--json']);
    expect(fixed.code).toBe(0);
    expect(JSON.parse(fixed.stdout)).toMatchObject({ status: 'success', rows: { changed: 1 } });
  });

  it('read-only -shm left by an older version: named, with the fix', async () => {
    const project = await start({ rows: 1 });
    const state = join(project.dir, 'state', 'state.db');
    expect((await runProject(project)).summary.status).toBe('success');
    const shm = openSync(`${state}-shm`, 'w');
    closeSync(shm);
    handOver(project.dir);
    chmodSync(`${state}-shm`, 0o444);
    const refused = await cli(['run', SYNC, '--project', project.dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`the state database ${state}-shm is read-only: make them writable (chmod u+w ${state}-shm), or delete them`);
  });

  it('damaged: names the file and what to do, not "INTERNAL: database disk image is malformed"', async () => {
    const project = await start({ rows: 1 });
    const state = join(project.dir, 'state', 'state.db');
    expect((await runProject(project)).summary.status).toBe('success');
    // Overwrite the schema page past the file header.
    const fd = openSync(state, 'r+');
    writeSync(fd, Buffer.alloc(3000, 0xff), 0, 3000, 100);
    closeSync(fd);
    handOver(project.dir);

    const damaged = await cli(['run', SYNC, '--project', project.dir, '--json']);
    expect(damaged.code).toBe(1);
    const { error } = JSON.parse(damaged.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe('STATE_FILE_DAMAGED');
    expect(error.message).toContain(`the state database ${state} is damaged`);
    expect(error.message).toMatch(/Restore it from a backup/);
    expect(damaged.stderr).not.toMatch(/\n\s+at /);
  });
});
