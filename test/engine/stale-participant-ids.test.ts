/**
 * Participants deleted by hand in User Interviews after we synced them: the snapshot still holds
 * their ids. A changed row falls back to matching by email (upsert: matched or created by email;
 * update: looked up in the directory, skipped when unknown); clearing or deleting a participant
 * that no longer exists has nothing to do, and the row leaves the snapshot. None of them may be
 * rejected run after run.
 */
import { describe, expect, it } from 'vitest';
import type { ApiCall } from '../../src/http/http-client.ts';
import { expectAddsUp, runProject as run, sentInBatches, writeCalls } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, person, type PeopleProject } from './people-project.ts';

const start = peopleProjectPerTest();

async function idOf(p: PeopleProject, email: string): Promise<string> {
  return (await p.participants()).find((x) => x.email === email)!.id;
}

function patchBodies(calls: ApiCall[]): Array<Array<Record<string, unknown>>> {
  return calls
    .filter((c) => c.method === 'PATCH')
    .map((c) => (JSON.parse(c.request_body!) as { participants: Array<Record<string, unknown>> }).participants);
}

describe('a participant deleted by hand', () => {
  it('upsert: an email change is matched by its new email, a change by email, a cleared row has nothing to do', async () => {
    const p = await start({ rows: 5, sync: { delete_behavior: 'clear' } });
    expectAddsUp((await run(p)).summary);
    const oldId2 = await idOf(p, 'user2@example.com');
    const oldId3 = await idOf(p, 'user3@example.com');
    const oldId4 = await idOf(p, 'user4@example.com');
    const id5 = await idOf(p, 'user5@example.com');
    for (const i of [2, 3, 4]) await p.deleteByHand(person(i).email);

    p.db.prepare(`UPDATE people SET email = 'new2@example.com' WHERE id = 2`).run();
    p.db.prepare('DELETE FROM people WHERE id = 3').run();
    p.db.prepare(`UPDATE people SET first_name = 'Changed4' WHERE id = 4`).run();
    p.db.prepare(`UPDATE people SET email = 'new5@example.com' WHERE id = 5`).run();
    const { summary, calls, rejected } = await run(p);
    expect(rejected).toEqual([]);
    expect(summary).toMatchObject({
      status: 'success',
      rows: { changed: 3, removed: 1, unchanged: 1 },
      succeeded: { changed: 3, removed: 1 },
      rejected: { changed: 0, removed: 0 },
    });
    expectAddsUp(summary);
    // The email changes first: refused for the unknown id, sent again at once with row 2 matched
    // by email. Then the other change, by its stored id: refused the same way, sent again by email.
    // The clear: refused for the unknown id, nothing left to send.
    const bodies = patchBodies(calls);
    expect(bodies).toHaveLength(5);
    expect(bodies[0]).toContainEqual({ id: oldId2, email: 'new2@example.com', first_name: 'First2', last_name: 'Last2' });
    expect(bodies[1]).toEqual([
      { email: 'new2@example.com', first_name: 'First2', last_name: 'Last2' },
      { id: id5, email: 'new5@example.com', first_name: 'First5', last_name: 'Last5' },
    ]);
    expect(bodies[2]).toEqual([{ id: oldId4, email: 'user4@example.com', first_name: 'Changed4', last_name: 'Last4' }]);
    expect(bodies[3]).toEqual([{ email: 'user4@example.com', first_name: 'Changed4', last_name: 'Last4' }]);
    expect(bodies[4]).toEqual([{ id: oldId3, first_name: null, last_name: null }]);
    expect(calls.filter((c) => c.method === 'PATCH').map((c) => c.status)).toEqual([422, 200, 422, 200, 422]);

    const participants = await p.participants();
    expect(participants.map((x) => x.email).sort()).toEqual(['new2@example.com', 'new5@example.com', 'user1@example.com', 'user4@example.com']);
    expect(participants.find((x) => x.email === 'user4@example.com')).toMatchObject({ first_name: 'Changed4' });
    expect(participants.find((x) => x.email === 'new5@example.com')!.id).toBe(id5);
    // Clearing never re-creates the participant deleted by hand; the snapshot follows the new ids.
    const snapshot = p.snapshot();
    expect(snapshot.has('3')).toBe(false);
    expect(snapshot.get('2')!.participantId).toBe(await idOf(p, 'new2@example.com'));
    expect(snapshot.get('4')!.participantId).toBe(await idOf(p, 'user4@example.com'));

    const again = await run(p);
    expect(again.summary).toMatchObject({ status: 'success', rows: { added: 0, changed: 0, removed: 0, unchanged: 4 } });
    expectAddsUp(again.summary);
    expect(writeCalls(again.calls)).toEqual([]);
  });

  it('upsert: deleting a removed row whose participant is gone succeeds with nothing to do', async () => {
    const p = await start({ rows: 3, sync: { delete_behavior: 'delete' } });
    await run(p);
    await p.deleteByHand('user2@example.com');
    p.db.prepare('DELETE FROM people WHERE id = 2').run();
    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({ status: 'success', rows: { removed: 1 }, succeeded: { removed: 1 } });
    expectAddsUp(summary);
    expect(writeCalls(calls).map((c) => [c.method, c.status])).toEqual([['DELETE', 404]]);
    expect(p.snapshot().has('2')).toBe(false);
    expect(writeCalls((await run(p)).calls)).toEqual([]);
  });

  it('update: a changed row is found by email in the directory (skipped when unknown), a cleared row has nothing to do', async () => {
    const p = await start({ rows: 4, sync: { mode: 'update', delete_behavior: 'clear' } });
    await p.seed([1, 2, 3, 4].map((i) => ({ email: person(i).email, first_name: 'Old' })));
    expectAddsUp((await run(p)).summary);
    const id4 = await idOf(p, 'user4@example.com');
    for (const i of [1, 2, 3]) await p.deleteByHand(person(i).email);
    // Participant 2 is made again by hand: a new id for the same email.
    await p.seed([{ email: 'user2@example.com', first_name: 'Hand' }]);
    const newId2 = await idOf(p, 'user2@example.com');

    p.db.prepare(`UPDATE people SET first_name = 'Changed1' WHERE id = 1`).run();
    p.db.prepare(`UPDATE people SET first_name = 'Changed2' WHERE id = 2`).run();
    p.db.prepare('DELETE FROM people WHERE id = 3').run();
    p.db.prepare(`UPDATE people SET email = 'new4@example.com' WHERE id = 4`).run();
    const { summary, calls, rejected } = await run(p);
    expect(rejected).toEqual([]);
    expect(summary).toMatchObject({
      status: 'success',
      rows: { changed: 3, removed: 1 },
      succeeded: { changed: 2, removed: 1 },
      skipped: { changed: 1 },
    });
    expectAddsUp(summary);
    // update mode writes by id only (the directory's id, the stored one gone), never by email;
    // the email change first.
    expect(sentInBatches(calls)).toEqual([
      { id: id4, email: 'new4@example.com', first_name: 'First4', last_name: 'Last4' },
      { id: newId2, email: 'user2@example.com', first_name: 'Changed2', last_name: 'Last2' },
    ]);
    const participants = await p.participants();
    expect(participants.map((x) => x.email).sort()).toEqual(['new4@example.com', 'user2@example.com']);
    expect(participants.find((x) => x.id === newId2)).toMatchObject({ first_name: 'Changed2', last_name: 'Last2' });
    const snapshot = p.snapshot();
    expect(snapshot.get('2')!.participantId).toBe(newId2);
    expect(snapshot.has('3')).toBe(false);

    // Row 1 has no participant: skipped again, never created, never rejected.
    const again = await run(p);
    expect(again.summary).toMatchObject({ status: 'success', rows: { changed: 1, unchanged: 2, removed: 0 }, skipped: { changed: 1 } });
    expectAddsUp(again.summary);
    expect(writeCalls(again.calls)).toEqual([]);
  });
});
