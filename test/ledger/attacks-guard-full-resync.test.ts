/**
 * Review 2: MASS_EMAIL_MOVE_GUARD and --full-resync.
 */
import { describe, expect, it } from 'vitest';
import { runProject as run } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, type PeopleProject } from '../engine/people-project.ts';

const start = peopleProjectPerTest();

async function idsByEmail(p: PeopleProject) {
  return new Map((await p.participants()).map((x) => [x.email, String(x.id)]));
}

describe('keys reassigned (a shift: key i now names person i+1), stopped by MASS_EMAIL_MOVE_GUARD, then --full-resync', () => {
  it('the full resync does not rename every participant to another person’s email', async () => {
    const p = await start({ rows: 12 });
    await run(p);
    const before = await idsByEmail(p);
    // The table reloaded with shifted surrogate keys: key i holds person i+1; key 12 a new person.
    p.db.prepare(`UPDATE people SET email = CASE WHEN id = 12 THEN 'user13@example.com' ELSE 'user' || (id + 1) || '@example.com' END,
      first_name = CASE WHEN id = 12 THEN 'First13' ELSE 'First' || (id + 1) END, last_name = CASE WHEN id = 12 THEN 'Last13' ELSE 'Last' || (id + 1) END`).run();
    const guarded = await run(p);
    expect(guarded.summary.error ?? '').toMatch(/move the email/);
    await run(p, { fullResync: true });
    const after = await idsByEmail(p);
    // Person 2's participant (it holds user2@ and person 2's history) still holds user2@.
    for (let i = 2; i <= 12; i++) expect(after.get(`user${i}@example.com`)).toBe(before.get(`user${i}@example.com`));
  });
});
