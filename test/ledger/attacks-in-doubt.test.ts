/**
 * Adversarial review of the sync ledger: writes in doubt and the unanswered / notApplied paths.
 */
import { describe, expect, it } from 'vitest';
import { expectAddsUp, runProject as run } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, person, participantByEmail as byEmail } from '../engine/people-project.ts';

const start = peopleProjectPerTest();

/**
 * Two runs of 2 rows: the account's rate gate lets a second request in flight once three were
 * accepted (it starts at one: see src/http/rate-limit-gate.ts), so the next run has both in flight.
 */
async function warmUp(p: Awaited<ReturnType<typeof start>>): Promise<void> {
  await run(p);
  p.db.prepare(`UPDATE people SET last_name = 'Warm' || id`).run();
  await run(p);
}


describe('two batches in flight: one refused whole (401), the other applied but never answered', () => {
  it('keeps the applied one in doubt, so a model that goes back to the old value is written back', async () => {
    const p = await start({ rows: 2, destination: { batch_size: 1, concurrency: 2, max_attempts: 1, timeout_ms: 2_000 } });
    await warmUp(p);
    p.db.prepare(`UPDATE people SET first_name = 'Changed' || id`).run();
    // Row 1's batch: 401 at once. Row 2's batch: held 300 ms, applied, then its connection dropped.
    await p.knobs({ fail_next: [{ status: 401 }, { slow_ms: 300 }], apply_then_drop_next: 1 });
    const failed = await run(p);
    expect(failed.summary.status).toBe('failed');
    expectAddsUp(failed.summary);
    expect(await byEmail(p, person(2).email)).toMatchObject({ first_name: 'Changed2' }); // applied
    // The model goes back to what the snapshot holds.
    p.db.prepare(`UPDATE people SET first_name = 'First' || id`).run();
    await run(p);
    expect(await byEmail(p, person(2).email)).toMatchObject({ first_name: 'First2' });
  });
});

describe('Ctrl-C while one batch waits on a 429 and another, applied but unanswered, waits to retry', () => {
  it('keeps the applied one in doubt', async () => {
    const p = await start({ rows: 2, destination: { batch_size: 1, concurrency: 2, max_attempts: 3, timeout_ms: 2_000 } });
    await warmUp(p);
    p.db.prepare(`UPDATE people SET first_name = 'Changed' || id`).run();
    await p.knobs({ fail_next: [{ status: 429, retry_after: 2 }, { slow_ms: 200 }], apply_then_drop_next: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const stopped = await run(p, { signal: controller.signal });
    expect(stopped.summary.status).toBe('interrupted');
    expect(await byEmail(p, person(2).email)).toMatchObject({ first_name: 'Changed2' }); // applied
    p.db.prepare(`UPDATE people SET first_name = 'First' || id`).run();
    await run(p);
    expect(await byEmail(p, person(2).email)).toMatchObject({ first_name: 'First2' });
  });
});

describe('a write that timed out, was retried and acknowledged, and whose first attempt lands later', () => {
  it('the panel converges to the model (the late first attempt is not taken for the truth)', async () => {
    const p = await start({ rows: 2, destination: { max_attempts: 2, timeout_ms: 400, late_write_ms: 1_600 } });
    await run(p);
    p.db.prepare(`UPDATE people SET first_name = 'V1' WHERE id = 1`).run();
    // First attempt: held 1.5 s by the server (then applied); the client gives up at 400 ms and retries.
    await p.knobs({ fail_next: [{ slow_ms: 1_500 }] });
    const first = await run(p);
    expect(first.summary).toMatchObject({ status: 'success', succeeded: { changed: 1 } });
    p.db.prepare(`UPDATE people SET first_name = 'V2' WHERE id = 1`).run();
    // The first attempt may still land: V2 waits rather than be overwritten by it.
    expect((await run(p)).summary).toMatchObject({ unsent: { changed: 1 } });
    await new Promise((r) => setTimeout(r, 1_600)); // the first attempt of V1 lands now
    await run(p);
    await run(p);
    expect(await byEmail(p, person(1).email)).toMatchObject({ first_name: 'V2' });
  });
});
