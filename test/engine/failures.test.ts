/**
 * Failure paths against the emulator's knobs: split retries on whole-batch rejection, rejected
 * rows retried on later runs, transient failures (429, 5xx, dropped connections, timeouts),
 * exhausted attempts, a refused API key.
 */
import { describe, expect, it } from 'vitest';
import type { ApiCall } from '../../src/http/http-client.ts';
import { TEST_API_KEY } from '../helpers/chinook-project.ts';
import { expectAddsUp, runProject as run, sentInBatches, writeCalls } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, expectStoppedRunAddsUp, person } from './people-project.ts';

const start = peopleProjectPerTest();

const UNDELIVERABLE = 'email: email is not deliverable';

/**
 * API calls that halving makes for one batch (1-based row numbers): one call, and when the batch
 * holds both bad and good rows, the calls of each half (the first half takes the extra row).
 */
function halvingCalls(rows: number[], bad: ReadonlySet<number>): number {
  const hasBad = rows.some((r) => bad.has(r));
  const hasGood = rows.some((r) => !bad.has(r));
  if (!hasBad || !hasGood || rows.length <= 1) return 1;
  const middle = Math.ceil(rows.length / 2);
  return 1 + halvingCalls(rows.slice(0, middle), bad) + halvingCalls(rows.slice(middle), bad);
}

/** Batches of 100 of rows 1..n. */
function batchesOf(n: number): number[][] {
  return Array.from({ length: Math.ceil(n / 100) }, (_, b) => Array.from({ length: Math.min(100, n - b * 100) }, (_, i) => b * 100 + i + 1));
}

function patches(calls: ApiCall[]): ApiCall[] {
  return calls.filter((c) => c.method === 'PATCH');
}

describe('split retries', () => {
  for (const { rows, bad } of [
    { rows: 100, bad: [42] },
    { rows: 1000, bad: [37, 250, 512, 777, 999] },
  ]) {
    it(`rejects only the ${bad.length} bad row(s) of ${rows}, each with its own error, within the halving bound`, async () => {
      const p = await start({ rows, emulator: { rejectEmailPattern: `^user(${bad.join('|')})@` } });
      const { summary, calls, rejected } = await run(p);
      const apiCalls = patches(calls).length;
      console.log(`split retries: ${bad.length} bad row(s) in ${rows}: ${apiCalls} API calls (summary api_calls ${summary.api_calls})`);

      expect(summary).toMatchObject({
        status: 'warning',
        rows: { queried: rows, added: rows },
        succeeded: { added: rows - bad.length },
        rejected: { added: bad.length },
      });
      expectAddsUp(summary);
      expect(rejected.map((r) => r.pk).sort()).toEqual(bad.map(String).sort());
      for (const r of rejected) expect(r.error).toBe(UNDELIVERABLE);
      // Exactly the halving count, and within its bound: per batch of 100 holding one bad row,
      // 1 + 2·ceil(log2 100) = 15 calls; a clean batch takes 1.
      const badSet = new Set(bad);
      const expected = batchesOf(rows).reduce((sum, batch) => sum + halvingCalls(batch, badSet), 0);
      const bound = batchesOf(rows).length + bad.length * 2 * Math.ceil(Math.log2(100));
      expect(apiCalls).toBe(expected);
      expect(apiCalls).toBeLessThanOrEqual(bound);
      expect(summary.api_calls).toBe(apiCalls);
      // Nothing of a rejected batch was written; every good row was written once, in the end.
      const participants = await p.participants();
      expect(participants).toHaveLength(rows - bad.length);
      const counts = await p.writeCounts();
      expect(Object.values(counts).every((n) => n === 1)).toBe(true);
      const snapshot = p.snapshot();
      expect(snapshot.size).toBe(rows - bad.length);
      for (const b of bad) expect(snapshot.has(String(b))).toBe(false);
    });
  }

  it('with split_retries off rejects every row of the batch with the batch errors', async () => {
    const p = await start({
      rows: 20,
      sync: { split_retries: false },
      destination: { batch_size: 10 },
      emulator: { rejectEmailPattern: '^user(3|7)@' },
    });
    const { summary, calls, rejected } = await run(p);
    expect(summary).toMatchObject({ status: 'warning', succeeded: { added: 10 }, rejected: { added: 10 } });
    expectAddsUp(summary);
    expect(patches(calls)).toHaveLength(2);
    const errors = new Map(rejected.map((r) => [r.pk, r.error]));
    expect([...errors.keys()].sort((a, b) => Number(a) - Number(b))).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    expect(errors.get('3')).toBe(UNDELIVERABLE);
    expect(errors.get('7')).toBe(UNDELIVERABLE);
    for (const pk of ['1', '2', '4', '5', '6', '8', '9', '10']) {
      expect(errors.get(pk)).toBe(
        `batch rejected as a whole (split_retries is off): primary key 3: ${UNDELIVERABLE}; primary key 7: ${UNDELIVERABLE}`,
      );
    }
    expect((await p.participants()).map((x) => x.email).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => person(i + 11).email).sort(),
    );
  });

  for (const status of [400, 403, 404]) {
    it(`does not split a batch refused whole with ${status}: one call, the run fails (failures-refused.test.ts), sent again next run`, async () => {
      // Enough refusals for every call that halving 100 rows would make (2·100 - 1).
      const p = await start({ rows: 100, emulator: { knobs: { fail_next: Array.from({ length: 199 }, () => ({ status })) } } });
      const { summary, calls, rejected } = await run(p);
      expect(patches(calls).map((c) => c.status)).toEqual([status]);
      expect(summary).toMatchObject({ status: 'failed', succeeded: { added: 0 }, rejected: { added: 0 }, api_calls: 1 });
      expect(summary.error).toContain(`HTTP ${status}: the emulator injected a ${status} (fault knob)`);
      expectStoppedRunAddsUp(summary);
      expect(rejected).toEqual([]);
      expect(p.snapshot().size).toBe(0);

      await p.knobs({ fail_next: [] });
      const next = await run(p);
      expect(next.summary).toMatchObject({ status: 'success', rows: { added: 100 }, succeeded: { added: 100 } });
      expectAddsUp(next.summary);
      expect(patches(next.calls)).toHaveLength(1);
      expect(await p.participants()).toHaveLength(100);
    });
  }

  it('with split_retries off, a batch refused whole (403) fails the run with the refusal itself', async () => {
    const p = await start({ rows: 10, sync: { split_retries: false }, emulator: { knobs: { fail_next: [{ status: 403 }] } } });
    const { summary, calls, rejected } = await run(p);
    expect(patches(calls)).toHaveLength(1);
    expect(summary).toMatchObject({ status: 'failed', rejected: { added: 0 } });
    expect(summary.error).toMatch(/^PATCH \/participants\/batches was refused with HTTP 403: the emulator injected a 403 \(fault knob\); check/);
    expectStoppedRunAddsUp(summary);
    expect(rejected).toEqual([]);
  });

  it('keeps the halves acknowledged before a split batch ran out of attempts, and only those; the run fails', async () => {
    const p = await start({
      rows: 10,
      destination: { max_attempts: 2 },
      emulator: {
        rejectEmailPattern: '^user8@',
        // 1: the whole batch (422), 2: rows 1-5 (accepted), 3-4: rows 6-10, failing twice.
        knobs: { fail_next: [{ slow_ms: 0 }, { slow_ms: 0 }, { status: 503 }, { status: 503 }] },
      },
    });
    const { summary, calls, rejected } = await run(p);
    expect(patches(calls).map((c) => c.status)).toEqual([422, 200, 503, 503]);
    // The destination stopped answering: the run fails; the half never answered is unsent, not rejected.
    expect(summary).toMatchObject({ status: 'failed', succeeded: { added: 5 }, rejected: { added: 0 }, unsent: { added: 5 } });
    expect(summary.error).toMatch(/failed 2 time\(s\) with transient errors \(last: HTTP 503\)/);
    expectAddsUp(summary);
    expect(rejected).toEqual([]);
    expect([...p.snapshot().keys()].sort()).toEqual(['1', '2', '3', '4', '5']);

    await p.knobs({ reject_email_pattern: null });
    const next = await run(p);
    expect(next.summary).toMatchObject({ status: 'success', rows: { added: 5, unchanged: 5 }, succeeded: { added: 5 } });
    expectAddsUp(next.summary);
    // The acknowledged half was not sent again.
    expect(sentInBatches(next.calls).map((x) => x.email)).toEqual([6, 7, 8, 9, 10].map((i) => person(i).email));
    const counts = await p.writeCounts();
    expect(Array.from({ length: 10 }, (_, i) => counts[person(i + 1).email])).toEqual(Array(10).fill(1));
  });

  it('commits the acknowledged half when the API key is refused part-way, then fails the run', async () => {
    const p = await start({
      rows: 10,
      emulator: { rejectEmailPattern: '^user8@', knobs: { fail_next: [{ slow_ms: 0 }, { slow_ms: 0 }, { status: 401 }] } },
    });
    const { summary, calls } = await run(p);
    expect(patches(calls).map((c) => c.status)).toEqual([422, 200, 401]);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/HTTP 401.*API key/);
    expect(summary.succeeded.added).toBe(5);
    expectStoppedRunAddsUp(summary);
    expect([...p.snapshot().keys()].sort()).toEqual(['1', '2', '3', '4', '5']);
  });
});

describe('rejected rows', () => {
  it('are retried on every later run with their current values until they succeed; one that leaves the model is not deleted', async () => {
    const p = await start({ rows: 6, sync: { delete_behavior: 'delete' }, emulator: { rejectEmailPattern: '^(user2|user5|bad)' } });
    const first = await run(p);
    expect(first.summary).toMatchObject({ status: 'warning', succeeded: { added: 4 }, rejected: { added: 2 } });
    expectAddsUp(first.summary);
    // The batch partly failed: its failed rows are not in the snapshot.
    expect([...p.snapshot().keys()].sort()).toEqual(['1', '3', '4', '6']);

    // Row 2 changes and is tried again with its new values; row 5 leaves the model: it was never
    // synced, so nothing is deleted. Row 3 (synced) changes to an email the API refuses.
    p.db.prepare(`UPDATE people SET last_name = 'Changed' WHERE id = 2`).run();
    p.db.prepare('DELETE FROM people WHERE id = 5').run();
    p.db.prepare(`UPDATE people SET email = 'bad3@example.com', first_name = 'New3' WHERE id = 3`).run();
    const second = await run(p);
    expect(second.summary).toMatchObject({
      status: 'warning',
      rows: { queried: 5, added: 1, changed: 1, removed: 0, unchanged: 3 },
      rejected: { added: 1, changed: 1 },
    });
    expectAddsUp(second.summary);
    expect(writeCalls(second.calls).some((c) => c.method === 'DELETE')).toBe(false);
    // Both rows were refused on their own: nothing of this run was written.
    expect(sentInBatches(second.calls)).toEqual([]);
    const bodies = patches(second.calls).flatMap((c) => (JSON.parse(c.request_body!) as { participants: Array<Record<string, unknown>> }).participants);
    expect(bodies).toContainEqual({ email: 'user2@example.com', first_name: 'First2', last_name: 'Changed' });
    // The rejected change left the snapshot as the API last acknowledged it.
    expect(p.snapshot().get('3')!.email).toBe('user3@example.com');

    await p.knobs({ reject_email_pattern: null });
    const third = await run(p);
    expect(third.summary).toMatchObject({ status: 'success', rows: { added: 1, changed: 1 }, succeeded: { added: 1, changed: 1 } });
    expectAddsUp(third.summary);
    const participants = await p.participants();
    expect(participants.find((x) => x.email === 'user2@example.com')).toMatchObject({ last_name: 'Changed' });
    expect(participants.find((x) => x.email === 'bad3@example.com')).toMatchObject({ first_name: 'New3' });
    expect(participants).toHaveLength(5);
    const fourth = await run(p);
    expect(fourth.summary.rows).toMatchObject({ added: 0, changed: 0, removed: 0, unchanged: 5 });
    expectAddsUp(fourth.summary);
    expect(writeCalls(fourth.calls)).toEqual([]);
  });
});

describe('transient failures', () => {
  it('honours Retry-After on 429 without using up attempts', async () => {
    const p = await start({
      rows: 5,
      destination: { max_attempts: 1 },
      emulator: { knobs: { fail_next: [{ status: 429, retry_after: 1 }, { status: 429, retry_after: 0 }, { status: 429, retry_after: 0 }] } },
    });
    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({ status: 'success', succeeded: { added: 5 } });
    expectAddsUp(summary);
    expect(calls.map((c) => c.status)).toEqual([429, 429, 429, 200]);
    expect(Date.parse(calls[1]!.started_at) - Date.parse(calls[0]!.started_at)).toBeGreaterThanOrEqual(990);
    expect(await p.participants()).toHaveLength(5);
  });

  it('keeps to the emulator rate limit: every row arrives, no attempt is used up', async () => {
    const p = await start({ rows: 12, destination: { batch_size: 1, concurrency: 4, max_attempts: 1 }, emulator: { rateLimit: 6 } });
    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({ status: 'success', succeeded: { added: 12 }, rejected: { added: 0 } });
    expectAddsUp(summary);
    expect(calls.filter((c) => c.status === 429).length).toBeGreaterThan(0);
    expect(calls.filter((c) => c.status === 200)).toHaveLength(12);
    expect(await p.participants()).toHaveLength(12);
  });

  it('retries a 500, a dropped connection and a timeout', async () => {
    const p = await start({
      rows: 5,
      destination: { timeout_ms: 400 },
      emulator: { knobs: { fail_next: [{ status: 500 }, { drop: true }, { slow_ms: 1_500 }] } },
    });
    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({ status: 'success', succeeded: { added: 5 }, rejected: { added: 0 } });
    expectAddsUp(summary);
    expect(calls.map((c) => c.status)).toEqual([500, null, null, 200]);
    expect(calls[2]!.error).toMatch(/timed out after 400 ms/);
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
    expect((await p.participants()).map((x) => x.email).sort()).toEqual([1, 2, 3, 4, 5].map((i) => person(i).email).sort());
  });

  it('fails the run when attempts run out: the rows are unsent, not rejected, and the next run sends them', async () => {
    const p = await start({ rows: 5, destination: { max_attempts: 2 }, emulator: { knobs: { fail_next: [{ status: 503 }, { drop: true }] } } });
    const { summary, rejected } = await run(p);
    expect(summary).toMatchObject({ status: 'failed', succeeded: { added: 0 }, rejected: { added: 0 }, unsent: { added: 5 } });
    expect(summary.error).toMatch(/failed 2 time\(s\) with transient errors/);
    expectAddsUp(summary);
    expect(rejected).toHaveLength(0);
    expect(p.snapshot().size).toBe(0);
    const next = await run(p);
    expect(next.summary).toMatchObject({ status: 'success', rows: { added: 5 }, succeeded: { added: 5 } });
    expectAddsUp(next.summary);
    expect(await p.participants()).toHaveLength(5);
  });

  it('fails the run at once on 401, saying to check the API key and the environment', async () => {
    const p = await start({ rows: 5, emulator: { apiKeys: [`production:${TEST_API_KEY}`] } });
    const { summary, calls } = await run(p);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/401.*check the destination's API key, and that its environment \/ base_url point at the User Interviews account/);
    expect(summary.error).not.toContain(TEST_API_KEY);
    expectStoppedRunAddsUp(summary);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ status: 401, attempt: 1 });
    expect(await p.participants()).toHaveLength(0);
  });
});
