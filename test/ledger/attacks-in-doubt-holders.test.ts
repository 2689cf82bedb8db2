/**
 * Review 2: writes in doubt that may still land (the late-write horizon) are not taken into
 * account by the identity rules (emailHolder, removed rows' heldBy).
 */
import { describe, expect, it } from 'vitest';
import { expectAddsUp, runProject as run, writeCalls } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, person, type PeopleProject, participantByEmail as byEmail } from '../engine/people-project.ts';

const start = peopleProjectPerTest();

async function byId(p: PeopleProject, id: string) {
  return (await p.participants()).find((x) => String(x.id) === String(id));
}

describe('a move in doubt (may still land) and a new key taking the email moved to', () => {
  it('never writes the new key onto the moving key’s participant', async () => {
    const p = await start({ rows: 2, destination: { max_attempts: 1, late_write_ms: 8_000 } });
    await run(p);
    const id1 = String((await byEmail(p, person(1).email))!.id);
    // Key 1 moves to mid@: applied, the answer lost (in doubt, young).
    p.db.prepare(`UPDATE people SET email = 'mid@example.com' WHERE id = 1`).run();
    await p.knobs({ apply_then_drop_next: 1 });
    expect((await run(p)).summary.status).toBe('failed');
    expect(await byId(p, id1)).toMatchObject({ email: 'mid@example.com' });
    // Key 1 moves on to final@; new key 3 takes mid@ (free in the model).
    p.db.prepare(`UPDATE people SET email = 'final@example.com' WHERE id = 1`).run();
    p.db.prepare(`INSERT INTO people VALUES (3, 'mid@example.com', 'Three', 'Intruder')`).run();
    const second = await run(p);
    expectAddsUp(second.summary);
    // Key 1's participant must never receive key 3's values.
    expect(await byId(p, id1)).toMatchObject({ first_name: 'First1', last_name: 'Last1' });
  });
});

describe('delete behaviour: a key handed over whose new owner’s write is in doubt (may still land)', () => {
  it('does not delete the participant the new key’s write may have landed on', async () => {
    const p = await start({ rows: 2, sync: { delete_behavior: 'delete' }, destination: { max_attempts: 1, late_write_ms: 8_000 } });
    await run(p);
    const id2 = String((await byEmail(p, person(2).email))!.id);
    // Key 2 leaves; new key 3 takes user2@ (the same person under a new key).
    p.db.prepare('DELETE FROM people WHERE id = 2').run();
    p.db.prepare(`INSERT INTO people VALUES (3, ?, 'Three', 'Heir')`).run(person(2).email);
    await p.knobs({ apply_then_drop_next: 1 });
    expect((await run(p)).summary.status).toBe('failed');
    expect(await byId(p, id2)).toMatchObject({ first_name: 'Three' }); // key 3's write landed on id2
    const next = await run(p);
    expectAddsUp(next.summary);
    expect(writeCalls(next.calls).map((c) => `${c.method} ${c.url}`)).toEqual([]);
    expect(await byId(p, id2)).toBeDefined();
  });
});

describe('a delete that may still land, and a new key taking the removed key’s email', () => {
  it('the new key is not recorded on a participant the late delete then removes (its write is not lost)', async () => {
    const p = await start({ rows: 2, sync: { delete_behavior: 'delete' }, destination: { max_attempts: 1, timeout_ms: 800, late_write_ms: 4_000 } });
    await run(p);
    // Key 2 leaves: its DELETE is held 2.5 s by the server (then applied); the client gives up at 0.8 s.
    p.db.prepare('DELETE FROM people WHERE id = 2').run();
    await p.knobs({ fail_next: [{ slow_ms: 2_500 }] });
    expect((await run(p)).summary.status).toBe('failed');
    // New key 3 takes user2@ (the same person back under a new key), while the delete may still land.
    p.db.prepare(`INSERT INTO people VALUES (3, ?, 'Three', 'Back')`).run(person(2).email);
    expectAddsUp((await run(p)).summary);
    await new Promise((r) => setTimeout(r, 4_200)); // the delete landed; its intent is past the horizon
    await run(p);
    await run(p);
    expect(await byEmail(p, person(2).email)).toMatchObject({ first_name: 'Three', last_name: 'Back' });
  });
});
