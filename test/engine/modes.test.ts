/**
 * Sync modes (insert, update, upsert), email changes, delete behaviours, full resync, the
 * mass-delete guard and reset-cdc, against the emulator on loopback.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.ts';
import { SyncEvents } from '../../src/engine/events.ts';
import type { PlanReport } from '../../src/engine/plan-sync.ts';
import { runSync } from '../../src/engine/run-sync.ts';
import type { ApiCall } from '../../src/http/http-client.ts';
import { expectAddsUp, runProject as run, sentInBatches, SYNC, writeCalls } from '../helpers/run-helpers.ts';
import {
  peopleProjectPerTest,
  DELETE_PARTICIPANT,
  expectStoppedRunAddsUp,
  GET_PARTICIPANTS,
  PATCH_BATCHES,
  person,
  POST_PARTICIPANTS,
  runCli,
  PEOPLE_MODEL,
} from './people-project.ts';

const start = peopleProjectPerTest();

describe('insert mode', () => {
  it('creates with POST only, rejects an existing email as "already exists" without touching it, skips changes', async () => {
    const p = await start({ rows: 5, sync: { mode: 'insert' } });
    await p.seed([{ email: 'USER3@example.com', first_name: 'Hand', last_name: 'Made' }]);
    const first = await run(p);
    expect(first.summary).toMatchObject({
      status: 'warning',
      rows: { queried: 5, added: 5 },
      succeeded: { added: 4 },
      rejected: { added: 1 },
    });
    expectAddsUp(first.summary);
    expect(first.rejected).toEqual([{ pk: '3', error: expect.stringMatching(/^already exists/) }]);
    // Only creates: one POST per new participant, never a batch upsert.
    expect(writeCalls(first.calls).map((c) => `${c.method} ${new URL(c.url).pathname}`)).toEqual(
      Array.from({ length: 4 }, () => 'POST /api/participants'),
    );
    const byEmail = new Map((await p.participants()).map((x) => [x.email.toLowerCase(), x]));
    expect(byEmail.size).toBe(5);
    expect(byEmail.get('user3@example.com')).toMatchObject({ first_name: 'Hand', last_name: 'Made' });
    expect(byEmail.get('user1@example.com')).toMatchObject(person(1));

    // A synced row that changed is never overwritten; the rejected row is tried again.
    p.db.prepare(`UPDATE people SET first_name = 'Changed' WHERE id = 1`).run();
    const second = await run(p);
    expect(second.summary).toMatchObject({
      rows: { queried: 5, added: 1, changed: 1, unchanged: 3 },
      skipped: { changed: 1 },
      rejected: { added: 1 },
    });
    expectAddsUp(second.summary);
    expect(writeCalls(second.calls)).toEqual([]);
    expect((await p.participants()).find((x) => x.email === 'user1@example.com')!.first_name).toBe('First1');
    // The only batch upsert is the seed's.
    expect((await p.stats())[PATCH_BATCHES]).toBe(1);

    // Only changes, which insert mode skips whatever the directory says: no directory read.
    p.writeModel(`SELECT * FROM (${PEOPLE_MODEL}) WHERE CustomerId <> 3`);
    p.db.prepare(`UPDATE people SET first_name = 'Again' WHERE id = 2`).run();
    const third = await run(p);
    expect(third.summary).toMatchObject({ rows: { added: 0, changed: 2 }, skipped: { changed: 2 } });
    expect(third.calls.filter((c) => c.method === 'GET' && new URL(c.url).pathname === '/api/participants')).toEqual([]);
  });

  it('creates no second participant when a create was applied but its response was lost', async () => {
    const p = await start({ rows: 3, sync: { mode: 'insert' }, destination: { concurrency: 1 } });
    await p.knobs({ apply_then_drop_next: 1 });
    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({ status: 'success', succeeded: { added: 3 }, rejected: { added: 0 } });
    expectAddsUp(summary);
    // The first create was applied, its connection dropped, and it was sent again.
    const posts = calls.filter((c) => c.method === 'POST');
    expect(posts).toHaveLength(4);
    expect(posts[0]).toMatchObject({ status: null });
    expect(posts[1]).toMatchObject({ status: 422 });
    const participants = await p.participants();
    expect(participants.map((x) => x.email).sort()).toEqual([1, 2, 3].map((i) => person(i).email).sort());
    expect((await p.writeCounts())['user1@example.com']).toBe(1);
    // The snapshot holds the participant the lost response created.
    const user1 = participants.find((x) => x.email === 'user1@example.com')!;
    expect(p.snapshot().get('1')!.participantId).toBe(user1.id);
    const again = await run(p);
    expect(again.summary.rows).toMatchObject({ unchanged: 3, added: 0 });
    expectAddsUp(again.summary);
    expect(writeCalls(again.calls)).toEqual([]);
  });

  it('rejects as "already exists" an email someone else took while a create waited out a 429 (a 429 was never applied)', async () => {
    // The run's first request reads the directory; its first create is answered 429, Retry-After 1 s.
    const p = await start({ rows: 2, sync: { mode: 'insert' }, destination: { concurrency: 1 } });
    await p.knobs({ fail_next: [{ slow_ms: 0 }, { status: 429, retry_after: 1 }] });
    const events = new SyncEvents();
    const calls: ApiCall[] = [];
    const rejected: Array<{ pk: string; error: string }> = [];
    let handMade: Promise<void> | null = null;
    events.on('call:done', ({ call }) => {
      calls.push(call);
      // While the create waits out the 429, someone else creates the same participant.
      if (call.method === 'POST' && call.status === 429) handMade = p.seed([{ email: 'user1@example.com', first_name: 'Someone', last_name: 'Else' }]);
    });
    events.on('row:rejected', (e) => rejected.push({ pk: e.pk, error: e.error }));
    const summary = await runSync({ project: await p.load(), sync: SYNC, events });
    await handMade;
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.status)).toEqual([429, 422, 201]);
    expect(summary).toMatchObject({ status: 'warning', succeeded: { added: 1 }, rejected: { added: 1 } });
    expectAddsUp(summary);
    expect(rejected).toEqual([{ pk: '1', error: expect.stringMatching(/^already exists/) }]);
    // The participant someone else made is not claimed as ours, and not touched.
    expect([...p.snapshot().keys()]).toEqual(['2']);
    expect((await p.participants()).find((x) => x.email === 'user1@example.com')).toMatchObject({ first_name: 'Someone', last_name: 'Else' });
  });

  it('recovers several lost creates in flight at once, reading the directory again once for all of them', async () => {
    const p = await start({ rows: 8, sync: { mode: 'insert' }, destination: { concurrency: 4 }, emulator: { latencyMs: 150 } });
    await p.knobs({ apply_then_drop_next: 4 });
    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({ status: 'success', succeeded: { added: 8 }, rejected: { added: 0 } });
    expectAddsUp(summary);
    expect(calls.filter((c) => c.method === 'POST' && c.status === null)).toHaveLength(4);
    // One read before the creates, one after them for the 4 lost ones (each read is one page).
    expect(calls.filter((c) => c.method === 'GET').map((c) => c.tag)).toEqual(['directory', 'directory']);
    const participants = await p.participants();
    expect(participants).toHaveLength(8);
    const snapshot = p.snapshot();
    for (const x of participants) expect(snapshot.get(x.email.replace(/^user(\d+)@.*$/, '$1'))!.participantId).toBe(x.id);
  });
});

describe('insert mode: creates that got no answer', () => {
  it('adopts on a later run a create applied by attempts that all got no answer', async () => {
    // Directory read, then both attempts of the first create wait 800 ms > timeout: each is
    // applied (the first creates user1, the second meets it) after the client gave up.
    const p = await start({ rows: 2, sync: { mode: 'insert' }, destination: { timeout_ms: 300, max_attempts: 2, concurrency: 1 } });
    await p.knobs({ fail_next: [{ slow_ms: 0 }, { slow_ms: 800 }, { slow_ms: 800 }] });
    // No answer is no rejection: the run fails, both rows unsent; the create stays in doubt.
    const first = await run(p);
    expect(first.summary).toMatchObject({ status: 'failed', succeeded: { added: 0 }, rejected: { added: 0 }, unsent: { added: 2 } });
    expect(first.summary.error).toMatch(/timed out|timeout/i);
    expect(first.rejected).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the emulator applies the slow attempts
    const user1 = (await p.participants()).find((x) => x.email === 'user1@example.com')!;
    expect(user1).toMatchObject(person(1));

    // The next run settles the create in doubt (one directory read): user1 is adopted, not created again.
    const second = await run(p);
    expect(second.rejected).toEqual([]);
    expect(second.summary).toMatchObject({ status: 'success', rows: { added: 1, unchanged: 1 }, succeeded: { added: 1 } });
    expectAddsUp(second.summary);
    expect(writeCalls(second.calls).map((c) => JSON.parse(c.request_body!).participant.email)).toEqual([person(2).email]);
    expect(p.snapshot().get('1')!.participantId).toBe(user1.id);
    expect(await p.participants()).toHaveLength(2);
  });

  it('does not adopt a participant with another email than the lost create was sent with', async () => {
    const p = await start({ rows: 1, sync: { mode: 'insert' }, destination: { timeout_ms: 300, max_attempts: 1 } });
    // The only attempt gets no answer and is never applied (the connection is dropped first).
    await p.knobs({ fail_next: [{ slow_ms: 0 }, { drop: true }] });
    expect((await run(p)).summary).toMatchObject({ status: 'failed', rejected: { added: 0 }, unsent: { added: 1 } });
    // The row's email changes to one someone else holds: a real conflict, not our create.
    await p.seed([{ email: 'other@example.com', first_name: 'Someone' }]);
    p.db.prepare(`UPDATE people SET email = 'other@example.com' WHERE id = 1`).run();
    const { summary, rejected, calls } = await run(p);
    expect(summary).toMatchObject({ status: 'warning', rejected: { added: 1 } });
    expect(rejected).toEqual([{ pk: '1', error: expect.stringMatching(/^already exists/) }]);
    expect(writeCalls(calls)).toEqual([]);
    expect(p.snapshot().size).toBe(0);
  });
});

describe('update mode', () => {
  it('writes by the participant id, so a participant whose email changed in User Interviews is updated, never duplicated', async () => {
    const p = await start({ rows: 3, sync: { mode: 'update' } });
    await p.seed([1, 2, 3].map((i) => ({ email: person(i).email })));
    expectAddsUp((await run(p)).summary);
    const id2 = (await p.participants()).find((x) => x.email === 'user2@example.com')!.id;
    // The person changes their email in User Interviews; our model changes their last name.
    await p.seed([{ id: id2, email: 'user2-new@example.com' }]);
    p.db.prepare(`UPDATE people SET last_name = 'Changed' WHERE id = 2`).run();
    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({ status: 'success', rows: { changed: 1 }, succeeded: { changed: 1 } });
    expectAddsUp(summary);
    expect(sentInBatches(calls)).toEqual([{ id: id2, email: 'user2@example.com', first_name: 'First2', last_name: 'Changed' }]);
    const participants = await p.participants();
    expect(participants).toHaveLength(3);
    expect(participants.find((x) => x.id === id2)).toMatchObject({ last_name: 'Changed' });
  });

  it('pages the directory 200 at a time, updates existing participants and skips unknown emails', async () => {
    const p = await start({ rows: 260, sync: { mode: 'update' } });
    await p.seed(Array.from({ length: 250 }, (_, i) => ({ email: `user${i + 1}@example.com`, first_name: 'Old' })));
    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({
      status: 'success',
      rows: { queried: 260, added: 260 },
      succeeded: { added: 250 },
      skipped: { added: 10 },
    });
    expectAddsUp(summary);
    const pages = calls.filter((c) => c.method === 'GET').map((c) => new URL(c.url).searchParams);
    expect(pages.map((q) => [q.get('page[size]'), q.get('page[number]')])).toEqual([
      ['200', '1'],
      ['200', '2'],
    ]);
    const participants = await p.participants();
    expect(participants).toHaveLength(250);
    expect(participants.find((x) => x.email === 'user250@example.com')).toMatchObject(person(250));
    expect(participants.some((x) => x.email === 'user251@example.com')).toBe(false);
    expect(sentInBatches(calls).map((x) => x.email)).not.toContain('user251@example.com');

    // Skipped rows stay skipped (never created), run after run.
    const again = await run(p);
    expect(again.summary).toMatchObject({ rows: { added: 10, unchanged: 250 }, skipped: { added: 10 } });
    expectAddsUp(again.summary);
    expect(writeCalls(again.calls)).toEqual([]);
    expect(await p.participants()).toHaveLength(250);
  });
});

describe('update mode: keys no participant matched', () => {
  it('skips them again without reading the directory for 24 hours, unless their email changes or another row needs the directory', async () => {
    const p = await start({ rows: 6, sync: { mode: 'update' } });
    await p.seed([1, 2, 3].map((i) => ({ email: person(i).email, first_name: 'Old' })));
    const directoryReads = (calls: ApiCall[]) => calls.filter((c) => c.method === 'GET' && new URL(c.url).pathname.endsWith('/participants')).length;
    const first = await run(p);
    expect(first.summary).toMatchObject({ succeeded: { added: 3 }, skipped: { added: 3 } });
    expect(directoryReads(first.calls)).toBe(1);

    // Nothing changed: the three unmatched keys are skipped from what the last read showed.
    const second = await run(p);
    expect(second.summary).toMatchObject({ rows: { added: 3, unchanged: 3 }, skipped: { added: 3 } });
    expectAddsUp(second.summary);
    expect(directoryReads(second.calls)).toBe(0);
    expect(second.calls.filter((c) => c.method !== 'GET')).toEqual([]);
    const plan = JSON.parse((await runCli(['plan', SYNC, '--project', p.dir, '--json'])).stdout) as PlanReport;
    expect(plan).toMatchObject({ api_calls: 0, skipped: { added: 3 } });
    expect(plan.sample.find((r) => r.pk === '4')?.outcome?.reason).toMatch(/as of the directory read at .*; read again after/);

    // A participant signs up for key 4's email: found once the read is 24 hours old.
    await p.seed([{ email: person(4).email }]);
    expect((await run(p)).summary).toMatchObject({ skipped: { added: 3 } });
    const state = new Database(join(p.dir, 'state', 'state.db'));
    state.prepare(`UPDATE unmatched_rows SET looked_up_at = ?`).run(new Date(Date.now() - 25 * 3_600_000).toISOString());
    state.close();
    const later = await run(p);
    expect(later.summary).toMatchObject({ succeeded: { added: 1 }, skipped: { added: 2 } });
    expect(directoryReads(later.calls)).toBe(1);
    expect((await p.participants()).find((x) => x.email === person(4).email)).toMatchObject(person(4));

    // Key 5 changes to an email a participant holds: looked up at once.
    await p.seed([{ email: 'taken@example.com' }]);
    p.db.prepare(`UPDATE people SET email = 'taken@example.com' WHERE id = 5`).run();
    const moved = await run(p);
    expect(moved.summary).toMatchObject({ succeeded: { added: 1 }, skipped: { added: 1 } });
    expect(directoryReads(moved.calls)).toBe(1);
    expect((await p.participants()).find((x) => x.email === 'taken@example.com')).toMatchObject({ first_name: 'First5' });
  });

  it('looks every unmatched key up again on a full resync', async () => {
    const p = await start({ rows: 3, sync: { mode: 'update' } });
    const directoryReads = (calls: ApiCall[]) => calls.filter((c) => c.method === 'GET' && new URL(c.url).pathname.endsWith('/participants')).length;
    expect(directoryReads((await run(p)).calls)).toBe(1);
    expect(directoryReads((await run(p)).calls)).toBe(0);
    await p.seed([{ email: person(2).email }]);
    const plan = JSON.parse((await runCli(['plan', SYNC, '--project', p.dir, '--json', '--full-resync'])).stdout) as PlanReport;
    expect(plan.skipped).toMatchObject({ added: 2 });
    const full = await run(p, { fullResync: true });
    expect(full.summary).toMatchObject({ succeeded: { added: 1 }, skipped: { added: 2 } });
    expect(directoryReads(full.calls)).toBe(1);
  });
});

describe('upsert mode and email changes', () => {
  it('updates the same participant when the email of a primary key changes; case and spaces alone are no change', async () => {
    const p = await start({ rows: 4 });
    const first = await run(p);
    expectAddsUp(first.summary);
    const before = await p.participants();
    const id2 = before.find((x) => x.email === 'user2@example.com')!.id;

    p.db.prepare(`UPDATE people SET email = 'renamed2@example.org' WHERE id = 2`).run();
    const second = await run(p);
    expect(second.summary).toMatchObject({ rows: { changed: 1, unchanged: 3 }, succeeded: { changed: 1 } });
    expectAddsUp(second.summary);
    expect(sentInBatches(second.calls)).toEqual([{ id: id2, email: 'renamed2@example.org', first_name: 'First2', last_name: 'Last2' }]);
    const after = await p.participants();
    expect(after).toHaveLength(4);
    expect(after.find((x) => x.id === id2)!.email).toBe('renamed2@example.org');

    p.db.prepare(`UPDATE people SET email = '  USER3@Example.COM ' WHERE id = 3`).run();
    p.db.prepare(`UPDATE people SET email = 'Renamed2@EXAMPLE.org' WHERE id = 2`).run();
    const third = await run(p);
    expect(third.summary.rows).toMatchObject({ queried: 4, changed: 0, added: 0, unchanged: 4 });
    expectAddsUp(third.summary);
    expect(writeCalls(third.calls)).toEqual([]);
  });
});

describe('delete behaviours', () => {
  it('do_nothing forgets a removed row and leaves its participant alone', async () => {
    const p = await start({ rows: 5 });
    await run(p);
    p.db.prepare('DELETE FROM people WHERE id = 5').run();
    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({ rows: { removed: 1, unchanged: 4 }, succeeded: { removed: 1 } });
    expectAddsUp(summary);
    expect(writeCalls(calls)).toEqual([]);
    expect((await p.participants()).find((x) => x.email === 'user5@example.com')).toMatchObject(person(5));
    const again = await run(p);
    expect(again.summary.rows.removed).toBe(0);
    expectAddsUp(again.summary);
  });

  for (const mode of ['upsert', 'update'] as const) {
    it(`clear (${mode} mode) nulls every mapped field and characteristic but the email`, async () => {
      const mappings = [
        { from: 'FirstName', to: 'first_name' },
        { from: 'LastName', to: 'last_name' },
        { static: 'people', to: 'characteristics.source' },
      ];
      const p = await start({ rows: 5, sync: { mode, delete_behavior: 'clear', mappings } });
      if (mode === 'update') await p.seed([1, 2, 3, 4, 5].map((i) => ({ email: person(i).email, company: 'Keep Inc' })));
      const first = await run(p);
      expect(first.summary.succeeded.added).toBe(5);
      expectAddsUp(first.summary);
      const id4 = (await p.participants()).find((x) => x.email === 'user4@example.com')!.id;
      p.db.prepare('DELETE FROM people WHERE id = 4').run();
      const { summary, calls } = await run(p);
      expect(summary).toMatchObject({ status: 'success', rows: { removed: 1 }, succeeded: { removed: 1 } });
      expectAddsUp(summary);
      expect(writeCalls(calls)).toHaveLength(1);
      expect(sentInBatches(calls)).toEqual([
        { id: id4, first_name: null, last_name: null, characteristics: { source: null } },
      ]);
      const cleared = (await p.participants()).find((x) => x.id === id4)!;
      expect(cleared).toMatchObject({ email: 'user4@example.com', first_name: null, last_name: null, characteristics: {} });
      // Fields the sync does not map are not touched.
      if (mode === 'update') expect(cleared.company).toBe('Keep Inc');
      expect(await p.participants()).toHaveLength(5);
      const again = await run(p);
      expect(again.summary.rows.removed).toBe(0);
      expect(writeCalls(again.calls)).toEqual([]);
    });
  }

  it('delete (upsert mode) deletes the participant by its stored id', async () => {
    const p = await start({ rows: 5, sync: { delete_behavior: 'delete' } });
    await run(p);
    const id3 = (await p.participants()).find((x) => x.email === 'user3@example.com')!.id;
    p.db.prepare('DELETE FROM people WHERE id = 3').run();
    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({ status: 'success', rows: { removed: 1 }, succeeded: { removed: 1 } });
    expectAddsUp(summary);
    expect(writeCalls(calls).map((c) => `${c.method} ${new URL(c.url).pathname}`)).toEqual([`DELETE /api/participants/${id3}`]);
    expect((await p.participants()).map((x) => x.email).sort()).toEqual([1, 2, 4, 5].map((i) => person(i).email).sort());
    expect(p.snapshot().has('3')).toBe(false);
  });

  for (const behavior of ['delete', 'clear'] as const) {
    it(`${behavior}: a primary key that changes hands (same email) keeps its participant, with no call for the old key`, async () => {
      const p = await start({ rows: 3, sync: { delete_behavior: behavior } });
      await run(p);
      const id2 = (await p.participants()).find((x) => x.email === 'user2@example.com')!.id;
      p.db.prepare('UPDATE people SET id = 102 WHERE id = 2').run();
      const { summary, calls } = await run(p);
      expect(summary).toMatchObject({ status: 'success', rows: { added: 1, removed: 1 }, succeeded: { added: 1, removed: 1 } });
      expectAddsUp(summary);
      // Only the new key's upsert (by email): no DELETE, no clearing batch for the old key.
      expect(writeCalls(calls)).toHaveLength(1);
      expect(sentInBatches(calls)).toEqual([{ email: 'user2@example.com', first_name: 'First2', last_name: 'Last2' }]);
      expect((await p.participants()).find((x) => x.id === id2)).toMatchObject(person(2));
      const snapshot = p.snapshot();
      expect(snapshot.get('102')!.participantId).toBe(id2);
      expect(snapshot.has('2')).toBe(false);
      const again = await run(p);
      expect(again.summary.rows).toMatchObject({ unchanged: 3, added: 0, changed: 0, removed: 0 });
      expect(writeCalls(again.calls)).toEqual([]);
    });
  }

  it('delete: a mass re-key (most primary keys change hands, same emails) is no mass delete: the guard lets it through', async () => {
    const p = await start({ rows: 4, sync: { delete_behavior: 'delete' } });
    await run(p);
    const before = await p.participants();
    p.db.prepare('UPDATE people SET id = id + 100 WHERE id <= 3').run();
    const { summary, calls } = await run(p);
    // 3 of 4 synced rows left the model (75% > max_delete_share 0.5), but every one's participant is
    // held by its new key: nothing is deleted, so the guard does not stop the run.
    expect(summary).toMatchObject({ status: 'success', rows: { added: 3, removed: 3 }, succeeded: { added: 3, removed: 3 } });
    expectAddsUp(summary);
    expect(calls.filter((c) => c.method === 'DELETE')).toEqual([]);
    expect((await p.participants()).map((x) => x.id).sort()).toEqual(before.map((x) => x.id).sort());
    // A real mass delete is still refused.
    p.db.prepare('DELETE FROM people WHERE id > 100').run();
    const refused = await run(p);
    expect(refused.summary).toMatchObject({ status: 'failed', error: expect.stringContaining('this run would delete 3 of 4 synced rows') });
    expect(writeCalls(refused.calls)).toEqual([]);
  });

  it('delete: a participant handed over to another key is never deleted, even when the handover run stopped before its removed phase', async () => {
    const p = await start({ rows: 3, sync: { delete_behavior: 'delete' } });
    await run(p);
    const id2 = (await p.participants()).find((x) => x.email === 'user2@example.com')!.id;
    p.db.prepare('UPDATE people SET id = 102 WHERE id = 2').run();
    // The handover run stops after its first batch (pk 102 synced), before the removed phase.
    const controller = new AbortController();
    const events = new SyncEvents();
    events.on('batch:done', () => controller.abort());
    const stopped = await runSync({ project: await p.load(), sync: SYNC, events, signal: controller.signal });
    expect(stopped).toMatchObject({ status: 'interrupted', succeeded: { added: 1, removed: 0 } });
    // The commit that tied pk 102 to the participant dropped the old key's row with it.
    expect(p.snapshot().has('2')).toBe(false);
    expect(p.snapshot().get('102')!.participantId).toBe(id2);
    // Now pk 102 also changes its email: the old key is gone, nothing can delete its participant.
    p.db.prepare(`UPDATE people SET email = 'user2-new@example.com' WHERE id = 102`).run();
    const { summary, calls } = await run(p);
    expect(summary).toMatchObject({ status: 'success', rows: { changed: 1, removed: 0 }, succeeded: { changed: 1, removed: 0 } });
    expectAddsUp(summary);
    expect(writeCalls(calls).map((c) => c.method)).toEqual(['PATCH']);
    expect((await p.participants()).find((x) => x.id === id2)).toMatchObject({ email: 'user2-new@example.com', first_name: 'First2' });
    expect([...p.snapshot().keys()].sort()).toEqual(['1', '102', '3']);
  });

  it('the project file refuses a delete behaviour the mode does not allow, naming the allowed ones', async () => {
    const p = await start({ rows: 1, sync: { mode: 'update', delete_behavior: 'delete' } });
    const refused = await p.load().then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).issues).toEqual([
      {
        path: 'syncs.customers-to-panel.delete_behavior',
        message: expect.stringContaining('delete is not allowed in update mode (allowed in update mode: do_nothing, clear'),
      },
    ]);
    p.writeSync({ mode: 'insert', delete_behavior: 'clear' });
    await expect(p.load()).rejects.toThrow(/clear is not allowed in insert mode \(allowed in insert mode: do_nothing;/);
    p.writeSync({ mode: 'update', delete_behavior: 'clear' });
    await expect(p.load()).resolves.toBeTruthy();
  });
});

describe('full resync', () => {
  it('sends every current row as added and applies no delete behaviour', async () => {
    const p = await start({ rows: 6, sync: { delete_behavior: 'delete' } });
    await run(p);
    p.db.prepare('DELETE FROM people WHERE id = 6').run();
    const { summary, calls } = await run(p, { fullResync: true });
    expect(summary).toMatchObject({
      status: 'success',
      rows: { queried: 5, added: 5, changed: 0, unchanged: 0, removed: 0 },
      succeeded: { added: 5, removed: 0 },
    });
    expectAddsUp(summary);
    expect(sentInBatches(calls).map((x) => x.email).sort()).toEqual([1, 2, 3, 4, 5].map((i) => person(i).email).sort());
    expect((await p.stats())[DELETE_PARTICIPANT]).toBeUndefined();
    expect(await p.participants()).toHaveLength(6);
    // The removed row is still known, so the next ordinary run applies the delete behaviour.
    const next = await run(p);
    expect(next.summary).toMatchObject({ rows: { removed: 1, unchanged: 5 }, succeeded: { removed: 1 } });
    expectAddsUp(next.summary);
    expect(await p.participants()).toHaveLength(5);
  });
});

describe('mass-delete guard', () => {
  it('stops a model that suddenly returns 0 rows, sending nothing, unless allowed', async () => {
    const p = await start({ rows: 4, sync: { delete_behavior: 'delete' } });
    await run(p);
    p.db.prepare('DELETE FROM people').run();
    const stopped = await run(p);
    expect(stopped.summary.status).toBe('failed');
    expect(stopped.summary.error).toMatch(/returned 0 rows while 4 rows are synced.*--allow-mass-delete/);
    expect(stopped.summary.rows).toMatchObject({ queried: 0, removed: 4 });
    expectStoppedRunAddsUp(stopped.summary);
    expect(writeCalls(stopped.calls)).toEqual([]);
    expect(await p.participants()).toHaveLength(4);
    expect(p.snapshot().size).toBe(4);

    const allowed = await run(p, { allowMassDelete: true });
    expect(allowed.summary).toMatchObject({ status: 'success', succeeded: { removed: 4 } });
    expectAddsUp(allowed.summary);
    expect(await p.participants()).toHaveLength(0);
  });

  it('stops a run that would clear more than max_delete_share of the synced rows', async () => {
    const p = await start({ rows: 10, sync: { delete_behavior: 'clear' } });
    await run(p);
    p.db.prepare('DELETE FROM people WHERE id > 4').run();
    const stopped = await run(p);
    expect(stopped.summary.status).toBe('failed');
    expect(stopped.summary.error).toMatch(/would clear 6 of 10 synced rows \(60%.*max_delete_share 0\.5.*--allow-mass-delete/);
    expectStoppedRunAddsUp(stopped.summary);
    expect(writeCalls(stopped.calls)).toEqual([]);
    expect((await p.participants()).every((x) => x.first_name !== null)).toBe(true);

    // At the share exactly, the run goes ahead.
    p.addPeople(5, 5);
    const half = await run(p);
    expect(half.summary).toMatchObject({ status: 'success', rows: { removed: 5 }, succeeded: { removed: 5 } });
    expectAddsUp(half.summary);

    p.writeSync({ max_delete_share: 0.1 });
    p.db.prepare('DELETE FROM people WHERE id > 3').run();
    expect((await run(p)).summary.status).toBe('failed');
    const allowed = await run(p, { allowMassDelete: true });
    expect(allowed.summary).toMatchObject({ status: 'success', rows: { removed: 2 }, succeeded: { removed: 2 } });
    expectAddsUp(allowed.summary);
    expect((await p.participants()).filter((x) => x.first_name === null)).toHaveLength(7);
  });
});

describe('run --reset-cdc', () => {
  it('records every current row as synced without sending; later changes find the participants loaded by hand', async () => {
    const p = await start({ rows: 10, sync: { delete_behavior: 'clear' } });
    // The panel was loaded by hand with 8 of the 10 people.
    await p.seed(Array.from({ length: 8 }, (_, i) => person(i + 1)));
    const reset = await run(p, { resetCdc: true });
    expect(reset.summary).toMatchObject({ status: 'success', rows: { added: 10 }, succeeded: { added: 10 } });
    expectAddsUp(reset.summary);
    expect(writeCalls(reset.calls)).toEqual([]);
    expect(p.snapshot().size).toBe(10);

    const quiet = await run(p);
    expect(quiet.summary.rows).toMatchObject({ unchanged: 10, added: 0, changed: 0 });
    expectAddsUp(quiet.summary);
    expect(writeCalls(quiet.calls)).toEqual([]);

    // An email change updates the participant loaded by hand (its id came from the directory).
    const id2 = (await p.participants()).find((x) => x.email === 'user2@example.com')!.id;
    p.db.prepare(`UPDATE people SET email = 'new2@example.com' WHERE id = 2`).run();
    // Row 3 leaves the model and is cleared; row 9 never reached the panel: nothing to clear, nothing created.
    p.db.prepare('DELETE FROM people WHERE id IN (3, 9)').run();
    const changed = await run(p);
    expect(changed.summary).toMatchObject({ status: 'success', rows: { changed: 1, removed: 2 }, succeeded: { changed: 1, removed: 2 } });
    expectAddsUp(changed.summary);
    const participants = await p.participants();
    expect(participants).toHaveLength(8);
    expect(participants.find((x) => x.id === id2)!.email).toBe('new2@example.com');
    expect(participants.find((x) => x.email === 'user3@example.com')).toMatchObject({ first_name: null, last_name: null });
    expect(participants.some((x) => x.email === 'user9@example.com')).toBe(false);
    expect((await p.stats())[GET_PARTICIPANTS]).toBeGreaterThanOrEqual(1);
    expect((await p.stats())[POST_PARTICIPANTS]).toBeUndefined();
  });
});

describe('plan and run --dry-run', () => {
  it('print the counts (a run summary\'s shape) and field-level changes, calling no write endpoint', async () => {
    const p = await start({ rows: 5 });
    p.db.prepare(`UPDATE people SET last_name = 'Kohler' WHERE id = 2`).run();
    const first = await run(p);
    expectAddsUp(first.summary);
    p.db.prepare(`UPDATE people SET last_name = 'Köhler' WHERE id = 2`).run();
    p.db.prepare('DELETE FROM people WHERE id = 5').run();
    p.addPeople(6, 6);
    const before = await p.stats();

    const plan = await runCli(['plan', SYNC, '--project', p.dir, '--json']);
    expect(plan.code).toBe(0);
    const report = JSON.parse(plan.stdout) as PlanReport;
    expect(report).toMatchObject({
      run_id: null,
      status: 'planned',
      rows: { queried: 5, added: 1, changed: 1, removed: 1, unchanged: 3, invalid: 0 },
      succeeded: { added: 0, changed: 0, removed: 0 },
    });
    // Every key of a run's summary, with the same kind of value.
    for (const [key, value] of Object.entries(first.summary)) {
      expect(report, key).toHaveProperty(key);
      if (key !== 'run_id' && key !== 'status') expect(typeof (report as Record<string, unknown>)[key], key).toBe(typeof value);
    }
    expect(report.sample).toContainEqual({ pk: '2', class: 'changed', changes: [{ field: 'last_name', from: 'Kohler', to: 'Köhler' }] });
    expect(report.sample).toContainEqual({
      pk: '6',
      class: 'added',
      changes: [
        { field: 'email', from: null, to: 'user6@example.com' },
        { field: 'first_name', from: null, to: 'First6' },
        { field: 'last_name', from: null, to: 'Last6' },
      ],
    });

    const dryRun = await runCli(['run', SYNC, '--project', p.dir, '--dry-run']);
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toContain('PLAN (nothing was sent)');
    expect(dryRun.stdout).toContain('queried 5 = added 1 + changed 1 + unchanged 3 + invalid 0; removed 1');
    expect(dryRun.stdout).toContain('last_name: "Kohler" -> "Köhler"');

    // No write endpoint was called, and the snapshot did not move: a run still has it all to do.
    expect(await p.stats()).toEqual(before);
    const real = await run(p);
    expect(real.summary.rows).toEqual(report.rows);
    expectAddsUp(real.summary);
  });
});
