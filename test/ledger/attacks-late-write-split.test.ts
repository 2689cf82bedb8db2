/**
 * Review 2: the late-write horizon counts from the intent's sent_at, which is refreshed only on
 * retries (attempt > 1). A split half goes on the wire later than the intent was recorded (after the
 * whole batch's 422), as its own first attempt: its sent_at stays at the time of the whole batch.
 */
import { describe, expect, it } from 'vitest';
import { runProject as run } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, person, participantByEmail as byEmail } from '../engine/people-project.ts';

const start = peopleProjectPerTest();


describe('a split half that got no answer, the horizon counted from the whole batch', () => {
  it('its late landing does not overwrite the next run’s write', async () => {
    // timeout 2 s, so the documented horizon is timeout + 1 s = 3 s.
    const p = await start({ rows: 2, destination: { batch_size: 2, max_attempts: 1, timeout_ms: 2_000, late_write_ms: 3_000 } });
    await run(p);
    await p.knobs({ latency_ms: 1_500, reject_email_pattern: '@refused\\.example$' });
    // Row 1 changes (V1); new key 3 has an email the API refuses: the batch [1, 3] gets a 422 and is split.
    p.db.prepare(`UPDATE people SET first_name = 'V1' WHERE id = 1`).run();
    p.db.prepare(`INSERT INTO people VALUES (3, 'bad@refused.example', 'Three', 'Bad')`).run();
    // The whole batch: answered 422 (t = 1.5 s). Half [1]: held 6 s more by the server, then applied (t ≈ 9 s);
    // the client gives up at t ≈ 3.5 s.
    await p.knobs({ fail_next: [{ slow_ms: 0 }, { slow_ms: 6_000 }] });
    expect((await run(p)).summary.status).toBe('failed');
    p.db.prepare(`UPDATE people SET first_name = 'V2' WHERE id = 1`).run();
    await run(p); // starts at t ≈ 3.5 s: the intent (sent_at t = 0) is already past the 3 s horizon
    await new Promise((r) => setTimeout(r, 6_500)); // V1 lands at t ≈ 9 s
    await p.knobs({ latency_ms: 0 });
    await run(p);
    await run(p);
    expect(await byEmail(p, person(1).email)).toMatchObject({ first_name: 'V2' });
  });
});
