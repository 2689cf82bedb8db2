/**
 * Aborting a run reaches the HTTP client: a run waiting at the rate-limit gate (`429
 * Retry-After`) or in a retry's backoff stops at once, recorded `interrupted`, and the next run
 * resumes. An exchange already on the wire is never cut: its answer is committed. Stopped in the
 * middle of split retries, only the acknowledged halves are committed: rows that got no answer
 * are not rejected.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SyncEvents } from '../../src/engine/events.ts';
import { runSync } from '../../src/engine/run-sync.ts';
import { SqliteRunHistory } from '../../src/state/sqlite-run-history.ts';
import { expectAddsUp, runProject as run, SYNC } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, expectStoppedRunAddsUp } from './people-project.ts';

const start = peopleProjectPerTest();

/** An AbortSignal aborted `ms` after the call. */
function abortAfter(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), ms);
  return controller.signal;
}

describe('an aborted run stops waiting', () => {
  it('at the gate of a 429 Retry-After: at once, recorded interrupted, nothing rejected; the next run waits out the rest, then sends every row', async () => {
    const p = await start({ rows: 5 });
    await p.knobs({ fail_next: [{ status: 429, retry_after: 4 }] });
    const t0 = Date.now();
    const { summary, calls } = await run(p, { signal: abortAfter(300) });
    expect(Date.now() - t0).toBeLessThan(2_500);
    expect(calls.map((c) => c.status)).toEqual([429]);
    expect(summary.status).toBe('interrupted');
    expect(summary.rejected).toEqual({ added: 0, changed: 0, removed: 0 });
    expect(summary.succeeded.added).toBe(0);
    expectStoppedRunAddsUp(summary);
    expect(p.snapshot().size).toBe(0);

    // The API's Retry-After still holds for the account: the next run in this process waits it out.
    const limitedAt = Date.parse(calls[0]!.started_at) + calls[0]!.duration_ms;
    const next = await run(p);
    expect(next.summary).toMatchObject({ status: 'success', rows: { added: 5 }, succeeded: { added: 5 } });
    expectAddsUp(next.summary);
    expect(next.calls.map((c) => c.status)).toEqual([200]);
    expect(Date.parse(next.calls[0]!.started_at) - limitedAt).toBeGreaterThanOrEqual(3_850);
    expect(await p.participants()).toHaveLength(5);
  });

  it('in the backoff after a 503 with Retry-After 30 s: at once, recorded interrupted, nothing rejected; the next run sends every row', async () => {
    const p = await start({ rows: 5 });
    await p.knobs({ fail_next: [{ status: 503, retry_after: 30 }] });
    const t0 = Date.now();
    const { summary, calls } = await run(p, { signal: abortAfter(300) });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(calls.map((c) => c.status)).toEqual([503]);
    expect(summary.status).toBe('interrupted');
    expect(summary.rejected).toEqual({ added: 0, changed: 0, removed: 0 });
    expectStoppedRunAddsUp(summary);
    expect(p.snapshot().size).toBe(0);

    const next = await run(p);
    expect(next.summary).toMatchObject({ status: 'success', rows: { added: 5 }, succeeded: { added: 5 } });
    expectAddsUp(next.summary);
    expect(await p.participants()).toHaveLength(5);
  });

  it('while every batch waits at the gate of one 429: none of them is sent after the abort', async () => {
    const p = await start({ rows: 400, destination: { concurrency: 4 } });
    // Each of the 4 batches in flight gets a 429; the first closes the gate for 30 s.
    await p.knobs({ fail_next: Array.from({ length: 4 }, () => ({ status: 429, retry_after: 30 })) });
    const t0 = Date.now();
    const { summary, calls } = await run(p, { signal: abortAfter(500) });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(calls.every((c) => c.status === 429)).toBe(true);
    expect(summary.status).toBe('interrupted');
    expect(summary.rejected.added).toBe(0);
    expect(p.snapshot().size).toBe(0);
  });

  it('never cuts an exchange on the wire: its answer is committed, then the run stops', async () => {
    const p = await start({ rows: 150, destination: { concurrency: 1, timeout_ms: 5_000 } });
    await p.knobs({ fail_next: [{ slow_ms: 1_000 }] });
    const t0 = Date.now();
    const { summary, calls } = await run(p, { signal: abortAfter(200) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    expect(calls.map((c) => c.status)).toEqual([200]);
    expect(summary).toMatchObject({ status: 'interrupted', succeeded: { added: 100 }, rejected: { added: 0 } });
    expectStoppedRunAddsUp(summary);
    expect(p.snapshot().size).toBe(100);
  });

  it('in the middle of split retries: the acknowledged half is committed, the rows without an answer are neither rejected nor recorded; the next run sends them', async () => {
    const p = await start({
      rows: 10,
      destination: { concurrency: 1 },
      // 1: the whole batch (422, user8), 2: rows 1-5 (accepted), 3: rows 6-10 -> 429, Retry-After 1 s.
      emulator: { rejectEmailPattern: '^user8@', knobs: { fail_next: [{ slow_ms: 0 }, { slow_ms: 0 }, { status: 429, retry_after: 1 }] } },
    });
    const controller = new AbortController();
    const events = new SyncEvents();
    const statuses: Array<number | null> = [];
    const rejected: string[] = [];
    events.on('row:rejected', (e) => rejected.push(e.pk));
    events.on('call:done', ({ call }) => {
      statuses.push(call.status);
      if (call.status === 429) controller.abort(); // Ctrl-C while that half waits out the 429
    });
    const summary = await runSync({ project: await p.load(), sync: SYNC, events, signal: controller.signal });
    expect(statuses).toEqual([422, 200, 429]);
    expect(summary).toMatchObject({ status: 'interrupted', succeeded: { added: 5 }, rejected: { added: 0, changed: 0, removed: 0 } });
    expectStoppedRunAddsUp(summary);
    expect(rejected).toEqual([]);
    const state = new Database(join(p.dir, 'state', 'state.db'), { readonly: true, fileMustExist: true });
    try {
      const outcomes = new SqliteRunHistory(state).listOutcomes(summary.run_id!).map(({ pk, result }) => ({ pk, result }));
      expect(outcomes.sort((a, b) => Number(a.pk) - Number(b.pk))).toEqual(['1', '2', '3', '4', '5'].map((pk) => ({ pk, result: 'succeeded' })));
    } finally {
      state.close();
    }
    expect([...p.snapshot().keys()].sort()).toEqual(['1', '2', '3', '4', '5']);

    await p.knobs({ reject_email_pattern: null });
    const next = await run(p);
    expect(next.summary).toMatchObject({ status: 'success', rows: { added: 5, unchanged: 5 }, succeeded: { added: 5 } });
    expectAddsUp(next.summary);
    expect(await p.participants()).toHaveLength(10);
  });
});
