/**
 * One example per defect of the sync ledger found from outside (issue "The sync ledger: exact under
 * every failure"), each against the real emulator over loopback. The randomized test
 * (test/ledger/) covers the sequences these are instances of.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSync } from '../../src/engine/plan-sync.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { expectAddsUp, runProject as run, SYNC, writeCalls } from '../helpers/run-helpers.ts';
import { PATCH_BATCHES, peopleProjectPerTest, person, PEOPLE_MODEL, type PeopleProject, participantByEmail as byEmail } from './people-project.ts';

const start = peopleProjectPerTest();


function stateDb(p: PeopleProject): Database.Database {
  return new Database(join(p.dir, 'state', 'state.db'), { readonly: true, fileMustExist: true });
}

describe('1. a write applied but never answered', () => {
  it('is settled by the next run, so a model that goes back to the old value is written back', async () => {
    const p = await start({ rows: 3, destination: { max_attempts: 2, timeout_ms: 2_000 } });
    await run(p);
    p.db.prepare(`UPDATE people SET first_name = 'Changed' WHERE id = 1`).run();
    // Both attempts are applied, and neither is answered.
    await p.knobs({ apply_then_drop_next: 2 });
    const doubtful = await run(p);
    expect(doubtful.summary).toMatchObject({ status: 'failed', rejected: { changed: 0 }, unsent: { changed: 1 } });
    expectAddsUp(doubtful.summary);
    expect(await byEmail(p, person(1).email)).toMatchObject({ first_name: 'Changed' });
    expect((await planSync({ project: await p.load(), sync: SYNC })).in_doubt).toBe(1);
    // The model goes back to the value the snapshot still holds.
    p.db.prepare(`UPDATE people SET first_name = 'First1' WHERE id = 1`).run();
    const settled = await run(p);
    expect(settled.summary).toMatchObject({ status: 'success', rows: { changed: 1, unchanged: 2 }, succeeded: { changed: 1 } });
    expect(settled.calls.filter((c) => c.method === 'GET').length).toBeGreaterThan(0); // the directory read that settles it
    expect(await byEmail(p, person(1).email)).toMatchObject(person(1));
    // Settled and written: the next run sends nothing.
    expect(writeCalls((await run(p)).calls)).toEqual([]);
  });
});

describe('2. an email move the API refuses', () => {
  it('never lets a new key with the old email overwrite the moving key’s participant', async () => {
    const p = await start({ rows: 2 });
    await run(p);
    const id1 = (await byEmail(p, person(1).email))!.id;
    await p.knobs({ reject_email_pattern: '@refused\\.example$' });
    p.db.prepare(`UPDATE people SET email = 'a@refused.example' WHERE id = 1`).run();
    p.db.prepare(`INSERT INTO people VALUES (3, ?, 'Three', 'New')`).run(person(1).email);
    for (let i = 0; i < 2; i++) {
      const { summary } = await run(p);
      expect(summary).toMatchObject({ status: 'warning', rejected: { changed: 1, added: 0 }, unsent: { added: 1 } });
      expect(await byEmail(p, person(1).email)).toMatchObject({ id: id1, first_name: 'First1' });
    }
    expect(p.snapshot().has('3')).toBe(false);
  });
});

describe('3. a changed primary key', () => {
  it('stops before any call (run and plan) and says how to go on; --full-resync re-matches by email', async () => {
    const p = await start({ rows: 4 });
    await run(p);
    const before = await p.participants();
    // Another column whose values overlap the old keys: row i gets key 5 - i.
    p.writeModel(PEOPLE_MODEL.replace('SELECT id AS CustomerId', 'SELECT 5 - id AS RowKey, id AS CustomerId'), 'RowKey');
    const refused = await run(p);
    expect(refused.summary.status).toBe('failed');
    expect(refused.summary.error).toMatch(/identity of sync "customers-to-panel" changed .*primary_key CustomerId -> RowKey.*--full-resync.*--reset-cdc/);
    expect(refused.calls).toEqual([]);
    const plan = await planSync({ project: await p.load(), sync: SYNC });
    expect(plan.refused).toMatchObject({ code: 'IDENTITY_CHANGED' });

    const resync = await run(p, { fullResync: true });
    expect(resync.summary).toMatchObject({ status: 'success', succeeded: { added: 4 } });
    // Every person is still on their own participant, with their own values.
    const after = await p.participants();
    expect(after).toHaveLength(4);
    for (const x of before) expect(after.find((y) => y.id === x.id)).toMatchObject({ email: x.email, first_name: x.first_name });
  });

  it('keys reassigned under the same column: a mass email move is refused like a mass delete', async () => {
    const p = await start({ rows: 12 });
    await run(p);
    const before = await p.stats();
    p.writeModel(PEOPLE_MODEL.replace('SELECT id AS CustomerId', 'SELECT 13 - id AS CustomerId'));
    const { summary, calls } = await run(p);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/would move the email of 12 of 12 synced participants.*--allow-mass-delete/);
    expect(writeCalls(calls)).toEqual([]);
    expect((await p.stats())[PATCH_BATCHES]).toBe(before[PATCH_BATCHES]);
  });
});

describe('4. a removed key whose email a new key takes, when that key’s write is rejected', () => {
  it('still gets its delete behaviour', async () => {
    const p = await start({ rows: 5, sync: { delete_behavior: 'delete' } });
    await run(p);
    const id5 = (await byEmail(p, person(5).email))!.id;
    p.db.prepare('DELETE FROM people WHERE id = 5').run();
    p.db.prepare(`INSERT INTO people VALUES (6, ?, 'Six', 'New')`).run(person(5).email);
    await p.knobs({ reject_email_pattern: '^user5@' });
    const { summary, rejected } = await run(p);
    expect(summary).toMatchObject({ status: 'warning', rejected: { added: 1 }, succeeded: { removed: 1 } });
    expect(rejected.map((r) => r.pk)).toEqual(['6']);
    expect((await p.participants()).find((x) => x.id === id5)).toBeUndefined();
    expect(p.snapshot().has('5')).toBe(false);
  });
});

describe('5. delete behaviour clear', () => {
  it('leaves an email changed in User Interviews alone', async () => {
    const p = await start({ rows: 3, sync: { delete_behavior: 'clear' } });
    await run(p);
    const id3 = (await byEmail(p, person(3).email))!.id;
    await p.seed([{ id: id3, email: 'changed-by-hand@example.com' }]);
    p.db.prepare('DELETE FROM people WHERE id = 3').run();
    const { summary } = await run(p);
    expect(summary).toMatchObject({ status: 'success', succeeded: { removed: 1 } });
    expect((await p.participants()).find((x) => x.id === id3)).toMatchObject({
      email: 'changed-by-hand@example.com',
      first_name: null,
      last_name: null,
    });
  });
});

describe('6. an interrupted --full-resync', () => {
  it('is finished by the next plain run', async () => {
    const p = await start({ rows: 300, destination: { concurrency: 1, batch_size: 20 } });
    await run(p);
    await fetch(`${p.emulator.url}/_emulator/reset`, { method: 'POST' }); // the panel is emptied
    await p.knobs({ latency_ms: 60 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 400);
    const stopped = await run(p, { fullResync: true, signal: controller.signal });
    expect(stopped.summary.status).toBe('interrupted');
    const arrived = (await p.participants()).length;
    expect(arrived).toBeGreaterThan(0);
    expect(arrived).toBeLessThan(300);
    await p.knobs({ latency_ms: 0 });
    const next = await run(p);
    expect(next.summary).toMatchObject({ status: 'success', rows: { changed: 300 - arrived, unchanged: arrived } });
    expectAddsUp(next.summary);
    expect(await p.participants()).toHaveLength(300);
    expect(writeCalls((await run(p)).calls)).toEqual([]);
  });
});

describe('7. a model with two columns of the same name', () => {
  it('is refused before any call, naming the column and suggesting an alias', async () => {
    const p = await start({ rows: 3 });
    await run(p);
    p.writeModel(PEOPLE_MODEL.replace('email AS Email,', 'email AS Email, first_name || \'@x.com\' AS Email,'));
    const { summary, calls } = await run(p);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/column "Email" 2 times.*AS/);
    expect(calls).toEqual([]);
  });
});

describe('8. a destination that goes away mid-run', () => {
  it('fails the run at once; the rows never answered are unsent, not rejected, and the next run sends them', async () => {
    const p = await start({ rows: 500, destination: { concurrency: 1, max_attempts: 2, timeout_ms: 2_000 } });
    // The first batch is answered; then every connection is dropped.
    await p.knobs({ fail_next: [{ slow_ms: 0 }, ...Array.from({ length: 40 }, () => ({ drop: true }))] });
    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({
      status: 'failed',
      succeeded: { added: 100 },
      rejected: { added: 0 },
      unsent: { added: 400 },
    });
    expectAddsUp(summary);
    expect(summary.error).toMatch(/failed 2 time\(s\)/);
    // It stopped starting batches: the second batch's two attempts, nothing more.
    expect(calls.filter((c) => c.method === 'PATCH')).toHaveLength(3);
    await p.knobs({ fail_next: [] });
    const next = await run(p);
    expect(next.summary).toMatchObject({ status: 'success', rows: { unchanged: 100 } });
    expect(next.summary.rows.added + next.summary.rows.changed).toBe(400);
    expect(await p.participants()).toHaveLength(500);
  });
});

describe('9. a run that lost its lock', () => {
  it('commits nothing after the lock is broken, and ends failed', async () => {
    const p = await start({ rows: 100, destination: { concurrency: 1, batch_size: 10 } });
    await p.knobs({ latency_ms: 150 });
    const store = new SqliteStateStore(join(p.dir, 'state', 'state.db'));
    try {
      const running = run(p);
      // Break the lock once a batch was committed; the batch in flight then must not commit.
      let committed = 0;
      while (committed === 0) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        committed = p.snapshot().size;
      }
      expect(store.breakLock(store.readLock(SYNC)!)).toBe(true);
      const atBreak = p.snapshot().size;
      const { summary } = await running;
      expect(summary.status).toBe('failed');
      expect(summary.error).toMatch(/run lock was broken/);
      expect(p.snapshot().size).toBe(atBreak);
    } finally {
      store.close();
    }
    const db = stateDb(p);
    try {
      // The batch answered after the break is in doubt, for the next run to settle.
      expect(db.prepare('SELECT count(*) FROM write_intents').pluck().get()).toBeGreaterThan(0);
    } finally {
      db.close();
    }
    await p.knobs({ latency_ms: 0 });
    expect((await run(p)).summary.status).toBe('success');
    expect(await p.participants()).toHaveLength(100);
  });
});

describe('the cost of settling', () => {
  it('10 writes in doubt on a 1,000-row sync: one directory read (5 pages of 200) and one batch', async () => {
    const p = await start({ rows: 1_000, destination: { max_attempts: 1 } });
    await run(p);
    p.db.prepare(`UPDATE people SET last_name = 'Doubt' WHERE id <= 10`).run();
    await p.knobs({ apply_then_drop_next: 1 });
    expect((await run(p)).summary).toMatchObject({ status: 'failed', unsent: { changed: 10 } });
    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({ status: 'success', rows: { changed: 10, unchanged: 990 }, succeeded: { changed: 10 } });
    expect(calls.map((c) => `${c.method} ${c.status}`)).toEqual([...Array(5).fill('GET 200'), 'PATCH 200']);
    expect(writeCalls((await run(p)).calls)).toEqual([]);
  });
});

describe('every kind of run resumes', () => {
  it('a --reset-cdc that failed is finished by the next plain run: rows recorded, nothing sent', async () => {
    const p = await start({ rows: 5 });
    await p.seed([1, 2, 3, 4, 5].map((i) => person(i))); // the panel was loaded by hand
    await p.knobs({ fail_next: [{ status: 401 }] });
    expect((await run(p, { resetCdc: true })).summary.status).toBe('failed');
    expect(p.snapshot().size).toBe(0);
    expect((await planSync({ project: await p.load(), sync: SYNC })).finishes_reset_cdc).toMatch(/^r/);
    const next = await run(p);
    expect(next.summary).toMatchObject({ status: 'success', succeeded: { added: 5 } });
    expect(writeCalls(next.calls)).toEqual([]);
    const ids = new Map((await p.participants()).map((x) => [x.email, x.id]));
    for (const [pk, row] of p.snapshot()) expect(row.participantId).toBe(ids.get(person(Number(pk)).email));
    // Finished: the run after it is an ordinary one.
    p.db.prepare(`UPDATE people SET first_name = 'Again' WHERE id = 1`).run();
    expect((await run(p)).summary).toMatchObject({ rows: { changed: 1 }, succeeded: { changed: 1 } });
  });
});
