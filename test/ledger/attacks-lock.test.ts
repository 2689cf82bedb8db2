/**
 * Adversarial review of the sync ledger: the run lock broken while a write is on the wire.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { runProject as run, SYNC, writeCalls } from '../helpers/run-helpers.ts';
import { PATCH_BATCHES, peopleProjectPerTest, person, participantByEmail as byEmail } from '../engine/people-project.ts';

const start = peopleProjectPerTest();


describe('unlock --force while a write is on the wire, and the next run starts at once', () => {
  it('the write that lands after the next run settled is still settled: the panel converges to the model', async () => {
    // The server holds the write 1.5 s; a write may land up to 1.6 s after it was sent.
    const p = await start({ rows: 2, destination: { max_attempts: 1, timeout_ms: 5_000, late_write_ms: 1_600 } });
    await run(p);
    p.db.prepare(`UPDATE people SET first_name = 'Changed' WHERE id = 1`).run();
    await p.knobs({ fail_next: [{ slow_ms: 1_500 }] });
    const patches = (await p.stats())[PATCH_BATCHES] ?? 0;
    const first = run(p);
    while (((await p.stats())[PATCH_BATCHES] ?? 0) === patches) await new Promise((r) => setTimeout(r, 20));
    const store = new SqliteStateStore(join(p.dir, 'state', 'state.db'));
    try {
      expect(store.breakLock(store.readLock(SYNC)!)).toBe(true); // panelsync unlock --force
    } finally {
      store.close();
    }
    // The model goes back; the next run starts at once.
    p.db.prepare(`UPDATE people SET first_name = 'First1' WHERE id = 1`).run();
    const second = await run(p);
    const firstDone = await first;
    expect(firstDone.summary.status).toBe('failed');
    // The first run's write may still land: the row waits instead of being written now.
    expect(second.summary).toMatchObject({ status: 'warning', rows: { changed: 1 }, unsent: { changed: 1 } });
    expect(writeCalls(second.calls)).toEqual([]);
    // Once it can no longer land, later runs settle it and converge to the model.
    await new Promise((r) => setTimeout(r, 1_700));
    await run(p);
    await run(p);
    expect(await byEmail(p, person(1).email)).toMatchObject({ first_name: 'First1' });
  });
});

describe('kill -9 while a write is on the wire, and the next run starts at once', () => {
  it('the panel converges to the model once the dead process’s write has landed', async () => {
    const { spawn } = await import('node:child_process');
    const { REPO } = await import('../engine/people-project.ts');
    const { TEST_API_KEY } = await import('../helpers/chinook-project.ts');
    // The server holds the write 1.5 s; a write may land up to 1.6 s after it was sent.
    const p = await start({ rows: 2, destination: { max_attempts: 1, timeout_ms: 5_000, late_write_ms: 1_600 } });
    await run(p);
    p.db.prepare(`UPDATE people SET first_name = 'Changed' WHERE id = 1`).run();
    await p.knobs({ fail_next: [{ slow_ms: 1_500 }] });
    const patches = (await p.stats())[PATCH_BATCHES] ?? 0;
    const child = spawn(process.execPath, [join(REPO, 'bin', 'panelsync.js'), 'run', SYNC, '--project', p.dir, '--json'], {
      cwd: REPO,
      env: { ...process.env, UI_API_KEY: TEST_API_KEY },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    while (((await p.stats())[PATCH_BATCHES] ?? 0) === patches) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await exited;
    p.db.prepare(`UPDATE people SET first_name = 'First1' WHERE id = 1`).run();
    const next = await run(p); // takes the dead process's lock over at once; its write may still land
    expect(next.summary).toMatchObject({ unsent: { changed: 1 } });
    await new Promise((r) => setTimeout(r, 1_800)); // the dead process's write lands
    await run(p);
    expect(await byEmail(p, person(1).email)).toMatchObject({ first_name: 'First1' });
  });
});
