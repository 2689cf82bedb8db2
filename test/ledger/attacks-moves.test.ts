/**
 * Adversarial review of the sync ledger: chains and cycles of email moves.
 */
import { describe, expect, it } from 'vitest';
import { expectAddsUp, runProject as run, writeCalls } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, person, type PeopleProject } from '../engine/people-project.ts';

const start = peopleProjectPerTest();

async function ids(p: PeopleProject) {
  return new Map((await p.participants()).map((x) => [x.email, String(x.id)]));
}

describe('email moves', () => {
  it('a chain of four (1->2->3->4->new) goes through in one run, batch size 1, concurrency 3', async () => {
    const p = await start({ rows: 5, destination: { batch_size: 1, concurrency: 3 } });
    await run(p);
    const before = await ids(p);
    for (const i of [4, 3, 2, 1]) p.db.prepare(`UPDATE people SET email = ? WHERE id = ?`).run(i === 4 ? 'new4@example.com' : person(i + 1).email, i);
    // and a new key takes user1@, freed by key 1
    p.db.prepare(`INSERT INTO people VALUES (0, ?, 'Zero', 'New')`).run(person(1).email);
    const { summary } = await run(p);
    expectAddsUp(summary);
    expect(summary).toMatchObject({ status: 'success', succeeded: { changed: 4, added: 1 } });
    const after = await ids(p);
    expect(after.get(person(2).email)).toBe(before.get(person(1).email));
    expect(after.get(person(3).email)).toBe(before.get(person(2).email));
    expect(after.get('new4@example.com')).toBe(before.get(person(4).email));
    expect(after.get(person(1).email)).not.toBe(before.get(person(1).email));
    expect(writeCalls((await run(p)).calls)).toEqual([]);
  });

  it('a cycle of three waits, sends nothing, and the summary adds up', async () => {
    const p = await start({ rows: 3 });
    await run(p);
    const before = await p.participants();
    p.db.prepare(`UPDATE people SET email = CASE id WHEN 1 THEN 'user2@example.com' WHEN 2 THEN 'user3@example.com' ELSE 'user1@example.com' END`).run();
    const { summary, calls } = await run(p);
    expectAddsUp(summary);
    expect(summary).toMatchObject({ status: 'warning', unsent: { changed: 3 }, rejected: { changed: 0 } });
    expect(writeCalls(calls)).toEqual([]);
    expect(await p.participants()).toEqual(before);
  });

  it('a case-only change to the email of a key taking another key’s old email', async () => {
    const p = await start({ rows: 2 });
    await run(p);
    const before = await ids(p);
    // Key 1 moves to new1@; key 2 takes "USER1@example.com" (key 1's old email, other case).
    p.db.prepare(`UPDATE people SET email = 'new1@example.com' WHERE id = 1`).run();
    p.db.prepare(`UPDATE people SET email = 'USER1@Example.com' WHERE id = 2`).run();
    const { summary } = await run(p);
    expectAddsUp(summary);
    const after = new Map((await p.participants()).map((x) => [x.email.toLowerCase(), String(x.id)]));
    expect(after.get('new1@example.com')).toBe(before.get(person(1).email));
    expect(after.get('user1@example.com')).toBe(before.get(person(2).email));
  });

  it('update mode: a move and a new key taking the freed email', async () => {
    const p = await start({ rows: 2, sync: { mode: 'update' } });
    await p.seed([1, 2].map((i) => ({ email: person(i).email })));
    await run(p);
    const before = await ids(p);
    p.db.prepare(`UPDATE people SET email = 'new1@example.com' WHERE id = 1`).run();
    p.db.prepare(`INSERT INTO people VALUES (3, ?, 'Three', 'New')`).run(person(1).email);
    const { summary } = await run(p);
    expectAddsUp(summary);
    expect(summary).toMatchObject({ succeeded: { changed: 1 }, skipped: { added: 1 } });
    expect((await ids(p)).get('new1@example.com')).toBe(before.get(person(1).email));
  });
});
