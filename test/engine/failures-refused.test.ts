/**
 * A request refused as a whole (a `404` from a base_url without `/api`, a `403` for a key without
 * permission, a failure below HTTP a retry cannot fix) fails the run at once, like a `401`: what
 * was acknowledged before is committed, rows that got no answer stay planned (not rejected), no
 * further batch is sent, and the run's error says what to check. A single-row request (`POST`,
 * `DELETE`) answered `400`, `409` or `422` is that row's rejection, and the run goes on. Against
 * the emulator's fault knobs.
 */
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiCall } from '../../src/http/http-client.ts';
import { expectAddsUp, runProject as run } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, DELETE_PARTICIPANT, expectStoppedRunAddsUp, PATCH_BATCHES, person, type PeopleProject } from './people-project.ts';

const start = peopleProjectPerTest();

/** Points the destination's base_url somewhere else in the project file (as a user would edit it). */
function setBaseUrl(p: PeopleProject, baseUrl: string): void {
  const file = join(p.dir, 'panelsync.yml');
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(p.emulator.apiUrl);
  writeFileSync(file, text.replace(p.emulator.apiUrl, baseUrl));
}

function writes(calls: ApiCall[]): ApiCall[] {
  return calls.filter((c) => c.method !== 'GET');
}

/** The row outcomes the state database recorded for a run, counted per result (a group of succeeded rows counts its rows). */
function outcomesOf(p: PeopleProject, runId: string): Array<{ result: string; n: number }> {
  const state = new Database(join(p.dir, 'state', 'state.db'), { readonly: true, fileMustExist: true });
  try {
    return state.prepare('SELECT result, sum(coalesce(grouped_count, 1)) AS n FROM row_outcomes WHERE run_id = ? GROUP BY result ORDER BY result').all(runId) as Array<{
      result: string;
      n: number;
    }>;
  } finally {
    state.close();
  }
}

function emails(participants: Array<{ email: string }>): string[] {
  return participants.map((x) => x.email).sort();
}

describe('a request refused as a whole fails the run at once', () => {
  it('404 from a base_url without /api: one call, the run failed, the error names base_url ending in /api', async () => {
    const p = await start({ rows: 500, destination: { concurrency: 1 } });
    setBaseUrl(p, p.emulator.url); // the emulator's root: every API route answers 404
    const { summary, calls } = await run(p);
    expect(calls.map((c) => [c.method, c.status])).toEqual([['PATCH', 404]]);
    expect(summary.status).toBe('failed');
    expect(summary.api_calls).toBe(1);
    expect(summary.error).toMatch(/HTTP 404/);
    expect(summary.error).toMatch(/base_url .*ending in \/api/);
    expectStoppedRunAddsUp(summary);
    expect(p.snapshot().size).toBe(0);
    expect(await p.participants()).toHaveLength(0);
  });

  it('404 with several batches in flight: only the batches already sent, none after the refusal', async () => {
    const p = await start({ rows: 1000, destination: { concurrency: 4 } });
    setBaseUrl(p, p.emulator.url);
    const { summary, calls } = await run(p);
    expect(summary.status).toBe('failed');
    // 10 batches planned; at most the 4 in flight when the first refusal came were sent.
    expect(writes(calls).length).toBeGreaterThanOrEqual(1);
    expect(writes(calls).length).toBeLessThanOrEqual(4);
    const firstAnswered = Math.min(...calls.map((c) => Date.parse(c.started_at) + c.duration_ms));
    for (const c of calls) expect(Date.parse(c.started_at)).toBeLessThanOrEqual(firstAnswered);
    expectStoppedRunAddsUp(summary);
  });

  it('403 after an acknowledged batch: that batch is committed, nothing more is sent, the next run sends the rest', async () => {
    const p = await start({ rows: 500, destination: { concurrency: 1 } });
    await p.knobs({ fail_next: [{ slow_ms: 0 }, { status: 403 }] });
    const { summary, calls } = await run(p);
    expect(calls.map((c) => c.status)).toEqual([200, 403]);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/HTTP 403/);
    expect(summary.error).toMatch(/API key.*permission/);
    expect(summary.succeeded.added).toBe(100);
    expectStoppedRunAddsUp(summary);
    expect(p.snapshot().size).toBe(100);

    const next = await run(p);
    expect(next.summary).toMatchObject({ status: 'success', rows: { added: 400, unchanged: 100 }, succeeded: { added: 400 } });
    expectAddsUp(next.summary);
    expect(await p.participants()).toHaveLength(500);
  });

  it('403 on a half of a split batch: the acknowledged half is committed, the rows without an answer are not rejected, the run fails', async () => {
    const p = await start({
      rows: 10,
      emulator: { rejectEmailPattern: '^user8@', knobs: { fail_next: [{ slow_ms: 0 }, { slow_ms: 0 }, { status: 403 }] } },
    });
    const { summary, calls, rejected } = await run(p);
    expect(calls.map((c) => c.status)).toEqual([422, 200, 403]);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/HTTP 403/);
    expect(summary.succeeded.added).toBe(5);
    // Rows 6-10 got no answer of their own: they stay planned, neither rejected nor recorded.
    expect(summary.rejected).toEqual({ added: 0, changed: 0, removed: 0 });
    expect(rejected).toEqual([]);
    expect(outcomesOf(p, summary.run_id)).toEqual([{ result: 'succeeded', n: 5 }]);
    expectStoppedRunAddsUp(summary);
    expect([...p.snapshot().keys()].sort()).toEqual(['1', '2', '3', '4', '5']);

    const next = await run(p);
    expect(next.summary).toMatchObject({ status: 'warning', rows: { added: 5, unchanged: 5 }, succeeded: { added: 4 }, rejected: { added: 1 } });
    expect(next.rejected.map((r) => r.pk)).toEqual(['8']);
  });

  it('403 on a delete: the row stays in the snapshot, no further delete is sent', async () => {
    const p = await start({ rows: 6, sync: { delete_behavior: 'delete' }, destination: { concurrency: 1 } });
    expect((await run(p)).summary.status).toBe('success');
    p.db.exec('DELETE FROM people WHERE id <= 3');
    await p.knobs({ fail_next: [{ status: 403 }] });
    const { summary, calls } = await run(p);
    expect(calls.map((c) => [c.method, c.status])).toEqual([['DELETE', 403]]);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/HTTP 403/);
    expectStoppedRunAddsUp(summary);
    expect(p.snapshot().size).toBe(6);
    expect(await p.participants()).toHaveLength(6);
    expect((await p.stats())[DELETE_PARTICIPANT]).toBe(1);
  });

  it('a failure below HTTP a retry cannot fix (TLS to a plain HTTP host): one call, the run failed, the error names the host', async () => {
    const p = await start({ rows: 300, destination: { concurrency: 1, max_attempts: 3 } });
    setBaseUrl(p, p.emulator.apiUrl.replace(/^http:/, 'https:'));
    const { summary, calls } = await run(p);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: 'PATCH', status: null });
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/base_url/);
    expect(summary.error).toMatch(/host/);
    expectStoppedRunAddsUp(summary);
    expect(p.snapshot().size).toBe(0);
    expect((await p.stats())[PATCH_BATCHES]).toBeUndefined();
  });
});

describe('a single-row request refused for its row (400, 409, 422) is that row\'s rejection: the run goes on', () => {
  for (const status of [400, 409, 422]) {
    it(`DELETE answered ${status}: that row is rejected with the API's error and kept, the others are deleted; the next run deletes it`, async () => {
      const p = await start({ rows: 6, sync: { delete_behavior: 'delete' }, destination: { concurrency: 1 } });
      expect((await run(p)).summary.status).toBe('success');
      p.db.exec('DELETE FROM people WHERE id <= 3');
      await p.knobs({ fail_next: [{ slow_ms: 0 }, { status }] });
      const { summary, calls, rejected } = await run(p);
      expect(calls.map((c) => [c.method, c.status])).toEqual([
        ['DELETE', 204],
        ['DELETE', status],
        ['DELETE', 204],
      ]);
      expect(summary).toMatchObject({ status: 'warning', succeeded: { removed: 2 }, rejected: { removed: 1 } });
      expect(summary.error).toBeUndefined();
      expectAddsUp(summary);
      expect(rejected).toEqual([{ pk: '2', error: `the emulator injected a ${status} (fault knob)` }]);
      expect([...p.snapshot().keys()].sort()).toEqual(['2', '4', '5', '6']);
      expect(emails(await p.participants())).toEqual([2, 4, 5, 6].map((i) => person(i).email));

      const next = await run(p);
      expect(next.summary).toMatchObject({ status: 'success', rows: { removed: 1 }, succeeded: { removed: 1 } });
      expect(next.calls.map((c) => [c.method, c.status])).toEqual([['DELETE', 204]]);
      expect(emails(await p.participants())).toEqual([4, 5, 6].map((i) => person(i).email));
    });
  }

  for (const status of [400, 409]) {
    it(`insert mode, POST answered ${status}: that row is rejected with the API's error, the others are created; the next run creates it`, async () => {
      const p = await start({ rows: 3, sync: { mode: 'insert' }, destination: { concurrency: 1 } });
      // 1: the directory read, 2: create row 1, 3: create row 2 (refused).
      await p.knobs({ fail_next: [{ slow_ms: 0 }, { slow_ms: 0 }, { status }] });
      const { summary, calls, rejected } = await run(p);
      expect(calls.map((c) => [c.method, c.status])).toEqual([
        ['GET', 200],
        ['POST', 201],
        ['POST', status],
        ['POST', 201],
      ]);
      expect(summary).toMatchObject({ status: 'warning', succeeded: { added: 2 }, rejected: { added: 1 } });
      expectAddsUp(summary);
      expect(rejected).toEqual([{ pk: '2', error: `the emulator injected a ${status} (fault knob)` }]);
      expect([...p.snapshot().keys()].sort()).toEqual(['1', '3']);

      const next = await run(p);
      expect(next.summary).toMatchObject({ status: 'success', rows: { added: 1, unchanged: 2 }, succeeded: { added: 1 } });
      expect(emails(await p.participants())).toEqual([1, 2, 3].map((i) => person(i).email));
    });
  }

  for (const status of [403, 404]) {
    it(`insert mode, POST answered ${status} (the route or the permission): the run fails at once`, async () => {
      const p = await start({ rows: 3, sync: { mode: 'insert' }, destination: { concurrency: 1 } });
      await p.knobs({ fail_next: [{ slow_ms: 0 }, { status }] });
      const { summary, calls, rejected } = await run(p);
      expect(calls.map((c) => [c.method, c.status])).toEqual([
        ['GET', 200],
        ['POST', status],
      ]);
      expect(summary.status).toBe('failed');
      expect(summary.error).toMatch(new RegExp(`^POST /participants was refused with HTTP ${status}: .*base_url`));
      expect(rejected).toEqual([]);
      expectStoppedRunAddsUp(summary);
      expect(p.snapshot().size).toBe(0);
    });
  }

  it('DELETE answered 401: the run fails at once, no further delete is sent', async () => {
    const p = await start({ rows: 6, sync: { delete_behavior: 'delete' }, destination: { concurrency: 1 } });
    expect((await run(p)).summary.status).toBe('success');
    p.db.exec('DELETE FROM people WHERE id <= 3');
    await p.knobs({ fail_next: [{ status: 401 }] });
    const { summary, calls, rejected } = await run(p);
    expect(calls.map((c) => [c.method, c.status])).toEqual([['DELETE', 401]]);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/HTTP 401.*API key/);
    expect(rejected).toEqual([]);
    expectStoppedRunAddsUp(summary);
    expect(p.snapshot().size).toBe(6);
  });
});
