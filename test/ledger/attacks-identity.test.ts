/**
 * Adversarial review of the sync ledger: identity (a participant belongs to one primary key).
 */
import { describe, expect, it } from 'vitest';
import { expectAddsUp, runProject as run } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, person, type PeopleProject, participantByEmail as byEmail } from '../engine/people-project.ts';

const start = peopleProjectPerTest();

async function byId(p: PeopleProject, id: string) {
  return (await p.participants()).find((x) => String(x.id) === String(id));
}

describe('update mode: a new key with the email of a key whose move the API refused', () => {
  it('never writes the new key onto the moving key’s participant', async () => {
    const p = await start({ rows: 2, sync: { mode: 'update' } });
    await p.seed([1, 2].map((i) => ({ email: person(i).email, first_name: 'Seed' })));
    await run(p);
    const id1 = (await byEmail(p, person(1).email))!.id;
    await p.knobs({ reject_email_pattern: '@refused\\.example$' });
    p.db.prepare(`UPDATE people SET email = 'a@refused.example' WHERE id = 1`).run();
    p.db.prepare(`INSERT INTO people VALUES (3, ?, 'Three', 'Intruder')`).run(person(1).email);
    const { summary } = await run(p);
    expectAddsUp(summary);
    // Key 1's participant still holds key 1's values, not key 3's.
    expect(await byId(p, id1)).toMatchObject({ email: person(1).email, first_name: 'First1', last_name: 'Last1' });
    // Key 3 waits (unsent), it is not "rejected": the API never refused it.
    expect(summary.rejected.added).toBe(0);
  });
});

describe('upsert: a participant renamed by hand to the email of a new key', () => {
  // The first write by email lands on that participant (only a directory read could tell before):
  // the ledger notices at the commit and converges from there.
  it('(convergence) after two more runs each key has its own participant with its own values', async () => {
    const p = await start({ rows: 2 });
    await run(p);
    const id2 = (await byEmail(p, person(2).email))!.id;
    await p.seed([{ id: id2, email: 'new3@example.com' }]);
    p.db.prepare(`INSERT INTO people VALUES (3, 'new3@example.com', 'Three', 'Newcomer')`).run();
    for (let i = 0; i < 3; i++) expectAddsUp((await run(p)).summary);
    const parts = await p.participants();
    expect(parts.find((x) => x.first_name === 'First2')).toBeDefined();
    expect(parts.find((x) => x.first_name === 'Three')).toBeDefined();
    const snap = p.snapshot();
    expect(snap.get('3')).toBeDefined();
  });
});

describe('a key handed over, the run stopped before the old key was forgotten, then the old key comes back', () => {
  it('never moves the new key’s participant to the returning key’s email', async () => {
    const p = await start({ rows: 3, destination: { batch_size: 1, concurrency: 1, max_attempts: 1 } });
    await run(p);
    const id3 = (await byEmail(p, person(3).email))!.id;
    // Key 3 leaves; new key 0 (first in plan order) takes user3@; key 10 is added after it.
    p.db.prepare('DELETE FROM people WHERE id = 3').run();
    p.db.prepare(`INSERT INTO people VALUES (0, ?, 'Zero', 'Heir')`).run(person(3).email);
    p.db.prepare(`INSERT INTO people VALUES (10, 'user10@example.com', 'Ten', 'Later')`).run();
    // Key 0's batch is answered, key 10's gets a 500: the run stops before the removed phase.
    await p.knobs({ fail_next: [{ slow_ms: 0 }, { status: 500 }] });
    const stopped = await run(p);
    expect(stopped.summary.status).toBe('failed');
    expect(p.snapshot().get('0')?.participantId).toBe(id3);
    // Key 3 comes back, under another email.
    p.db.prepare(`INSERT INTO people VALUES (3, 'user3-back@example.com', 'Three', 'Back')`).run();
    const back = await run(p);
    expectAddsUp(back.summary);
    // Key 0 is the owner of participant id3 now: it must still hold key 0's email and values.
    expect(await byId(p, id3)).toMatchObject({ email: person(3).email, first_name: 'Zero', last_name: 'Heir' });
  });
});

describe('upsert: a participant whose email was changed by hand in User Interviews', () => {
  it('keeps its id with its key: a change of values is written to it, not to a second participant', async () => {
    const p = await start({ rows: 2 });
    await run(p);
    const id2 = (await byEmail(p, person(2).email))!.id;
    await p.seed([{ id: id2, email: 'by-hand@example.com' }]);
    p.db.prepare(`UPDATE people SET first_name = 'Changed' WHERE id = 2`).run();
    const { summary } = await run(p);
    expectAddsUp(summary);
    expect(p.snapshot().get('2')!.participantId).toBe(id2);
    expect(await p.participants()).toHaveLength(2);
  });
});

describe('a key handed over, the run stopped before the old key was forgotten, then the keys swap back', () => {
  it('the snapshot never claims the old key’s values on a participant that holds the new key’s', async () => {
    const p = await start({ rows: 3, destination: { batch_size: 1, concurrency: 1, max_attempts: 1 } });
    await run(p);
    const id3 = (await byEmail(p, person(3).email))!.id;
    p.db.prepare('DELETE FROM people WHERE id = 3').run();
    p.db.prepare(`INSERT INTO people VALUES (0, ?, 'Zero', 'Heir')`).run(person(3).email);
    p.db.prepare(`INSERT INTO people VALUES (10, 'user10@example.com', 'Ten', 'Later')`).run();
    await p.knobs({ fail_next: [{ slow_ms: 0 }, { status: 500 }] });
    expect((await run(p)).summary.status).toBe('failed');
    // Key 0 leaves again, key 3 comes back as it was.
    p.db.prepare('DELETE FROM people WHERE id = 0').run();
    p.db.prepare(`INSERT INTO people VALUES (3, ?, 'First3', 'Last3')`).run(person(3).email);
    for (let i = 0; i < 2; i++) expectAddsUp((await run(p)).summary);
    expect(await byId(p, id3)).toMatchObject({ email: person(3).email, first_name: 'First3', last_name: 'Last3' });
  });
});
