/**
 * Adversarial review of the sync ledger: modes, --full-resync and --reset-cdc.
 */
import { describe, expect, it } from 'vitest';
import { expectAddsUp, runProject as run, writeCalls } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, person, participantByEmail as byEmail } from '../engine/people-project.ts';

const start = peopleProjectPerTest();


describe('insert mode after a --full-resync', () => {
  it('plans nothing once nothing changed', async () => {
    const p = await start({ rows: 3, sync: { mode: 'insert' } });
    await run(p);
    const resync = await run(p, { fullResync: true });
    expectAddsUp(resync.summary);
    const next = await run(p);
    expectAddsUp(next.summary);
    expect(next.summary.rows).toMatchObject({ added: 0, changed: 0, unchanged: 3 });
  });
});

describe('update mode: a key whose participant was renamed by hand, then its values change', () => {
  it('is written by its id', async () => {
    const p = await start({ rows: 2, sync: { mode: 'update' } });
    await p.seed([1, 2].map((i) => ({ email: person(i).email, first_name: 'Seed' })));
    await run(p);
    const id2 = (await byEmail(p, person(2).email))!.id;
    await p.seed([{ id: id2, email: 'by-hand@example.com' }]);
    p.db.prepare(`UPDATE people SET first_name = 'Changed' WHERE id = 2`).run();
    const { summary } = await run(p);
    expectAddsUp(summary);
    expect(summary.succeeded.changed).toBe(1);
  });
});

describe('--reset-cdc after a key’s email changed and the panel holds the new email on another participant', () => {
  it('records the participant id read from the panel, not the stale stored one', async () => {
    const p = await start({ rows: 2 });
    await run(p);
    // The person moved to new1@ in the panel by hand (a participant of its own), and in the model.
    await p.seed([{ email: 'new1@example.com', first_name: 'First1', last_name: 'Last1' }]);
    const q = (await byEmail(p, 'new1@example.com'))!.id;
    p.db.prepare(`UPDATE people SET email = 'new1@example.com' WHERE id = 1`).run();
    const reset = await run(p, { resetCdc: true });
    expectAddsUp(reset.summary);
    expect(writeCalls(reset.calls)).toEqual([]);
    expect(p.snapshot().get('1')!.participantId).toBe(String(q));
  });
});
