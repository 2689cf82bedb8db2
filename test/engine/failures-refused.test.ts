/**
 * A request refused as a whole (a `404` from a base_url without `/api`, a `403` for a key without
 * permission, a failure below HTTP a retry cannot fix) fails the run at once, like a `401`: what
 * was acknowledged before is committed, no further batch is sent, and the run's error says what to
 * check. Against the emulator's fault knobs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiCall } from '../../src/http/http-client.ts';
import { expectAddsUp, runProject as run } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest, DELETE_PARTICIPANT, expectStoppedRunAddsUp, PATCH_BATCHES, type PeopleProject } from './people-project.ts';

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

  it('403 on a half of a split batch: the acknowledged half is committed, the run fails', async () => {
    const p = await start({
      rows: 10,
      emulator: { rejectEmailPattern: '^user8@', knobs: { fail_next: [{ slow_ms: 0 }, { slow_ms: 0 }, { status: 403 }] } },
    });
    const { summary, calls } = await run(p);
    expect(calls.map((c) => c.status)).toEqual([422, 200, 403]);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/HTTP 403/);
    expect(summary.succeeded.added).toBe(5);
    expectStoppedRunAddsUp(summary);
    expect([...p.snapshot().keys()].sort()).toEqual(['1', '2', '3', '4', '5']);
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
