/**
 * Emails that move between primary keys: a key changes its email and another key takes the old
 * one in the same run; a key moves to the email of a key that left the model; an insert whose
 * create got no answer, then changes its email. One participant per primary key, always, against
 * the emulator on loopback.
 */
import { describe, expect, it } from 'vitest';
import { expectAddsUp, runProject as run, writeCalls } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, person, type PeopleProject, participantByEmail as byEmail } from './people-project.ts';

const start = peopleProjectPerTest();

/** Key 5 moves from user5@ to user5-new@; a new key 0 (first in plan order) takes user5@. */
function handEmailToNewKey(p: PeopleProject): void {
  p.db.prepare(`UPDATE people SET email = 'user5-new@example.com' WHERE id = 5`).run();
  p.db.prepare(`INSERT INTO people VALUES (0, 'user5@example.com', 'Zero', 'Newcomer')`).run();
}


describe('an email left by one key and taken by another in the same run', () => {
  it('upsert: the email change is written first, so the new key gets a participant of its own', async () => {
    const p = await start({ rows: 5 });
    await run(p);
    const id5 = (await byEmail(p, 'user5@example.com'))!.id;
    handEmailToNewKey(p);

    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({ status: 'success', rows: { added: 1, changed: 1 }, succeeded: { added: 1, changed: 1 } });
    expectAddsUp(summary);
    // Key 5's change, by its participant's id, is a call of its own, before key 0's.
    const bodies = writeCalls(calls).map((c) => JSON.parse(c.request_body!) as { participants: Array<Record<string, unknown>> });
    expect(bodies.map((b) => b.participants)).toEqual([
      [{ id: id5, email: 'user5-new@example.com', first_name: 'First5', last_name: 'Last5' }],
      [{ email: 'user5@example.com', first_name: 'Zero', last_name: 'Newcomer' }],
    ]);
    expect(await byEmail(p, 'user5-new@example.com')).toMatchObject({ id: id5, first_name: 'First5' });
    const zero = await byEmail(p, 'user5@example.com');
    expect(zero).toMatchObject({ first_name: 'Zero', last_name: 'Newcomer' });
    expect(zero!.id).not.toBe(id5);
    const snapshot = p.snapshot();
    expect(snapshot.get('5')!.participantId).toBe(id5);
    expect(snapshot.get('0')!.participantId).toBe(zero!.id);

    const again = await run(p);
    expect(again.summary.rows).toMatchObject({ added: 0, changed: 0, unchanged: 6 });
    expect(writeCalls(again.calls)).toEqual([]);
  });

  it('update: the directory is read again after the email change, so the new key is skipped, not written onto the old participant', async () => {
    const p = await start({ rows: 5, sync: { mode: 'update' } });
    await p.seed([1, 2, 3, 4, 5].map((i) => ({ email: person(i).email, first_name: 'Seed' })));
    await run(p);
    const id5 = (await byEmail(p, 'user5@example.com'))!.id;
    handEmailToNewKey(p);

    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({
      status: 'success',
      rows: { added: 1, changed: 1 },
      succeeded: { added: 0, changed: 1 },
      skipped: { added: 1, changed: 0 },
    });
    expectAddsUp(summary);
    expect(calls.filter((c) => c.method === 'GET' && c.tag === 'directory').length).toBe(2);
    expect(await byEmail(p, 'user5-new@example.com')).toMatchObject({ id: id5, first_name: 'First5', last_name: 'Last5' });
    expect(await byEmail(p, 'user5@example.com')).toBeUndefined();
    expect(p.snapshot().has('0')).toBe(false);
    expect(p.snapshot().get('5')!.participantId).toBe(id5);
  });

  it('a row whose email another key of the model still holds waits, is never written there, and succeeds once the email is free', async () => {
    const p = await start({ rows: 5 });
    await run(p);
    const id5 = (await byEmail(p, 'user5@example.com'))!.id;
    const writesBefore = (await p.writeCounts())['user5@example.com'];
    handEmailToNewKey(p);
    // Key 5's change is refused by the API, so user5@ stays on participant 5 for this run.
    await p.knobs({ reject_email_pattern: '^user5-new@' });

    const refused = await run(p);
    expect(refused.summary).toMatchObject({
      status: 'warning',
      rejected: { added: 0, changed: 1 },
      unsent: { added: 1, changed: 0 },
      succeeded: { added: 0, changed: 0 },
    });
    expectAddsUp(refused.summary);
    // Key 0's values never landed on key 5's participant: it waits, with a reason naming key 5.
    expect((await p.writeCounts())['user5@example.com']).toBe(writesBefore);
    expect(await byEmail(p, 'user5@example.com')).toMatchObject({ id: id5, first_name: 'First5' });
    const waiting = p.outcomes(refused.summary.run_id).find((o) => o.pk === '0')!;
    expect(waiting).toMatchObject({ result: 'unsent', error: expect.stringMatching(/^waits: .*primary key 5\b/) });
    expect(refused.rejected.map((r) => r.pk)).toEqual(['5']);
    expect(p.snapshot().has('0')).toBe(false);
    expect(p.snapshot().get('5')).toMatchObject({ participantId: id5, email: 'user5@example.com' });

    await p.knobs({ reject_email_pattern: null });
    const healed = await run(p);
    expect(healed.summary).toMatchObject({ status: 'success', succeeded: { added: 1, changed: 1 } });
    expectAddsUp(healed.summary);
    expect(await byEmail(p, 'user5-new@example.com')).toMatchObject({ id: id5, first_name: 'First5' });
    const zero = await byEmail(p, 'user5@example.com');
    expect(zero).toMatchObject({ first_name: 'Zero' });
    expect(p.snapshot().get('0')!.participantId).toBe(zero!.id);
    expect(zero!.id).not.toBe(id5);
  });
});

describe('a key that moves to the email of a key that left the model', () => {
  it('delete: the old key is deleted (the moving key keeps its own participant), and the move succeeds next run', async () => {
    const p = await start({ rows: 5, sync: { delete_behavior: 'delete' } });
    await run(p);
    const id4 = (await byEmail(p, 'user4@example.com'))!.id;
    const id5 = (await byEmail(p, 'user5@example.com'))!.id;
    p.db.prepare('DELETE FROM people WHERE id = 5').run();
    p.db.prepare(`UPDATE people SET email = 'user5@example.com' WHERE id = 4`).run();

    // Key 4 is written first, while participant 5 still has the email; then participant 5 goes.
    const first = await run(p);
    expect(first.summary).toMatchObject({ status: 'warning', rejected: { changed: 1 }, succeeded: { removed: 1 } });
    expectAddsUp(first.summary);
    expect(first.rejected).toEqual([{ pk: '4', error: expect.stringContaining('email has already been taken') }]);
    expect(first.calls.filter((c) => c.method === 'DELETE').map((c) => new URL(c.url).pathname)).toEqual([`/api/participants/${id5}`]);

    const second = await run(p);
    expect(second.summary).toMatchObject({ status: 'success', rows: { changed: 1, removed: 0 }, succeeded: { changed: 1 } });
    expectAddsUp(second.summary);
    expect(await byEmail(p, 'user5@example.com')).toMatchObject({ id: id4, first_name: 'First4' });
    expect((await p.participants()).map((x) => x.email).sort()).toEqual(['user1@example.com', 'user2@example.com', 'user3@example.com', 'user5@example.com']);
    expect([...p.snapshot().keys()].sort()).toEqual(['1', '2', '3', '4']);
  });
});

describe('insert mode: a create that got no answer, then the row changes its email', () => {
  it('adopts the participant that create made instead of creating a second one for the same key', async () => {
    const p = await start({ rows: 1, sync: { mode: 'insert' }, destination: { timeout_ms: 300, max_attempts: 1, concurrency: 1 } });
    // The directory read answers at once; the create is applied after the client gave up on it.
    await p.knobs({ fail_next: [{ slow_ms: 0 }, { slow_ms: 800 }] });
    const first = await run(p);
    expect(first.summary).toMatchObject({ status: 'failed', rejected: { added: 0 }, unsent: { added: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the slow create is applied by now
    const created = (await p.participants()).map((x) => x.id);
    expect(created).toHaveLength(1);
    p.db.prepare(`UPDATE people SET email = 'USER1.new@example.com' WHERE id = 1`).run();

    // The create in doubt is settled first: the participant it made is the key's (insert mode
    // never updates it, so the row's new email is skipped).
    const second = await run(p);
    expect(second.summary).toMatchObject({ status: 'success', rows: { added: 0, changed: 1 }, skipped: { changed: 1 } });
    expectAddsUp(second.summary);
    expect(writeCalls(second.calls)).toEqual([]);
    expect((await p.participants()).map((x) => x.id)).toEqual(created);
    // The snapshot holds the email the participant has (insert mode never updates it).
    expect(p.snapshot().get('1')).toMatchObject({ participantId: created[0], email: 'user1@example.com' });

    const third = await run(p);
    expect(third.summary).toMatchObject({ rows: { changed: 1 }, skipped: { changed: 1 } });
    expect(writeCalls(third.calls)).toEqual([]);
  });
});
